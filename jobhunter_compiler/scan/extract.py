"""libcst -> `ModuleSummary`: the only code that reads syntax trees.

Speed matters here (it runs once per changed file, in worker processes). Measured on the
2,000 files of the 1,000-model benchmark project, per file: `libcst.parse_module` 2.0 ms,
`ast.parse` 0.2 ms. Two choices keep the rest small:

* The tree is walked by hand, statement by statement, only where declarations can live
  (module body, `if`/`try` blocks, class bodies, signatures). A generic `CSTVisitor` over
  every node cost more than parsing itself.
* libcst trees carry no positions; its `PositionProvider` runs a code-generation pass over
  the whole module (~3.5 ms per file, ~1.2 ms even with a minimal state of our own). CPython
  has them for free: the file is also parsed with `ast` (which also words syntax errors
  best: "'(' was never closed"), and each libcst node we keep is paired with the `ast` node
  of the same construct, walking both trees in step.
"""

from __future__ import annotations

import ast
import inspect
import io
import pickle
import sys
import tokenize
import warnings
from collections.abc import Iterable, Iterator, Sequence

import libcst as cst

from .summary import (
    Assignment,
    ClassSummary,
    Expr,
    ExprKind,
    FunctionSummary,
    ImportBinding,
    Keyword,
    ModuleSummary,
    Parameter,
    SettingsSummary,
    SyntaxProblem,
)

# Deeper than any real annotation or decorator argument; deeper parts are kept as text.
MAX_EXPR_DEPTH = 32
# Both parsers recurse once per nesting level; `1 + 1 + ... + 1` with 800 terms is valid
# Python 800 levels deep.
RECURSION_LIMIT = 20_000


def summarise(source: bytes) -> ModuleSummary:
    """Summarise one file's bytes. Never raises: a file that cannot be read becomes a
    summary carrying only its problem."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return _problem(f"cannot decode: {exc}", code="JH003")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        try:
            with warnings.catch_warnings():  # "invalid escape sequence" is the user's business
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except SyntaxError as error:
            return _problem(error.msg, error.lineno or 1, error.offset or 1)
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError as error:  # grammar CPython accepts but libcst does not
            return _problem(error.message.strip(), error.editor_line, error.editor_column)
        return _ModuleReader(module, tree, text).read()
    except (RecursionError, MemoryError, ValueError) as error:
        return _problem(f"cannot analyse this file: {error}", code="JH003")
    finally:
        sys.setrecursionlimit(limit)


def summarise_pickled(source: bytes) -> bytes:
    """`summarise`, pickled: what worker processes send back and the cache stores."""
    return pickle.dumps(summarise(source), protocol=pickle.HIGHEST_PROTOCOL)


def _problem(message: str, line: int = 1, col: int = 1, code: str = "JH001") -> ModuleSummary:
    return ModuleSummary(syntax_error=SyntaxProblem(message=message, line=line, col=col, code=code))


SETTINGS_READ = frozenset({"name", "indexes", "is_root", "union_doc"})
"""The `Settings` attributes the compiler reads (see `SettingsSummary`)."""


class _ModuleReader:
    def __init__(self, module: cst.Module, tree: ast.Module, text: str) -> None:
        self.module = module
        self.tree = tree
        self.lines = text.splitlines()
        self.summary = ModuleSummary()
        self.depth = 0

    def read(self) -> ModuleSummary:
        self._statements(self.module.body, self.tree.body)
        return self.summary

    def pos(self, node: ast.AST | None, fallback: tuple[int, int] = (1, 1)) -> tuple[int, int]:
        """1-based line and character column of an `ast` node."""
        if node is None or not hasattr(node, "lineno"):
            return fallback
        line, offset = node.lineno, node.col_offset
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if not text.isascii():  # ast counts UTF-8 bytes; we report characters
            offset = len(text.encode("utf-8")[:offset].decode("utf-8", "replace"))
        return line, offset + 1

    def name_pos(
        self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    ) -> tuple[int, int]:
        """Where the class or function name is (ast points at the keyword)."""
        line, col = self.pos(node)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        found = text.find(node.name, col - 1)
        return (line, found + 1) if found >= 0 else (line, col)

    # -- statements -------------------------------------------------------------------

    def _statements(self, body: Sequence[cst.CSTNode], ast_body: list[ast.stmt]) -> None:
        """Walk a suite in step with its `ast` twin: one ast statement per small statement
        of a `SimpleStatementLine`, one per compound statement."""
        pairs = iter(ast_body)
        for statement in body:
            if type(statement) is cst.SimpleStatementLine:
                for small in statement.body:
                    self._small_statement(small, next(pairs, None))
                continue
            twin = next(pairs, None)
            if isinstance(statement, cst.BaseSmallStatement):
                self._small_statement(statement, twin)
            elif type(statement) is cst.ClassDef and isinstance(twin, ast.ClassDef):
                self.summary.classes.append(self._class(statement, twin))
            elif type(statement) is cst.FunctionDef and isinstance(
                twin, ast.FunctionDef | ast.AsyncFunctionDef
            ):
                self.summary.functions.append(self._function(statement, twin))
            elif type(statement) is cst.If and isinstance(twin, ast.If):
                # `if TYPE_CHECKING:` imports and version-dependent definitions.
                self._statements(statement.body.body, twin.body)
                orelse = statement.orelse
                if type(orelse) is cst.If:
                    self._statements([orelse], twin.orelse)
                elif orelse is not None:
                    self._statements(orelse.body.body, twin.orelse)
            elif type(statement) in (cst.Try, cst.TryStar) and isinstance(
                twin, ast.Try | ast.TryStar
            ):
                self._statements(statement.body.body, twin.body)
                for handler, ast_handler in zip(statement.handlers, twin.handlers, strict=False):
                    self._statements(handler.body.body, ast_handler.body)
                if statement.orelse is not None:
                    self._statements(statement.orelse.body.body, twin.orelse)
                if statement.finalbody is not None:
                    self._statements(statement.finalbody.body.body, twin.finalbody)

    def _small_statement(self, node: cst.CSTNode, twin: ast.stmt | None) -> None:
        line = self.pos(twin)[0]
        if type(node) is cst.Import:
            for alias in node.names:
                dotted = _dotted(alias.name) or ""
                asname = _asname(alias)
                local = asname or dotted.split(".")[0]
                module = dotted if asname else local
                self.summary.imports.append(ImportBinding(local=local, module=module, line=line))
        elif type(node) is cst.ImportFrom:
            self._import_from(node, line)
        elif type(node) in (cst.Assign, cst.AnnAssign):
            for assignment in self._assignments(node, twin):
                if assignment.name == "__all__":
                    self.summary.all_names = _string_list(assignment.value)
                self.summary.assignments.append(assignment)
        elif type(node) is cst.AugAssign and isinstance(twin, ast.AugAssign):
            target = node.target
            if type(target) is cst.Name and target.value == "__all__":
                extra = _string_list(self._expr(node.value, twin.value)) or []
                self.summary.all_names = [*(self.summary.all_names or []), *extra]

    def _import_from(self, node: cst.ImportFrom, line: int) -> None:
        module = (_dotted(node.module) or "") if node.module is not None else ""
        level = len(node.relative)
        if type(node.names) is cst.ImportStar:
            self.summary.imports.append(
                ImportBinding(local="*", module=module, level=level, line=line)
            )
            return
        for alias in node.names:
            name = _dotted(alias.name) or ""
            binding = ImportBinding(
                local=_asname(alias) or name, module=module, name=name, level=level, line=line
            )
            self.summary.imports.append(binding)

    def _assignments(
        self, node: cst.Assign | cst.AnnAssign, twin: ast.stmt | None
    ) -> Iterator[Assignment]:
        if type(node) is cst.AnnAssign:
            if type(node.target) is cst.Name and isinstance(twin, ast.AnnAssign):
                line, col = self.pos(twin.target)
                annotation = self._expr(node.annotation.annotation, twin.annotation, True)
                # `X: TypeAlias = "dict[str, Any]"`: the value is a type, strings included.
                is_alias = (annotation.name or "").rsplit(".", 1)[-1] == "TypeAlias"
                value = node.value
                yield Assignment(
                    name=node.target.value,
                    line=line,
                    col=col,
                    annotation=annotation,
                    value=self._expr(value, twin.value, is_alias) if value is not None else None,
                )
            return
        if not isinstance(twin, ast.Assign):
            return
        value = self._expr(node.value, twin.value)
        for target, ast_target in zip(node.targets, twin.targets, strict=False):
            if type(target.target) is cst.Name:
                line, col = self.pos(ast_target)
                yield Assignment(name=target.target.value, line=line, col=col, value=value)

    def _class(self, node: cst.ClassDef, twin: ast.ClassDef) -> ClassSummary:
        line, col = self.name_pos(twin)
        summary = ClassSummary(
            name=node.name.value,
            line=line,
            col=col,
            docstring=_docstring(node.body),
            bases=[
                self._expr(arg.value, ast_base)
                for arg, ast_base in zip(
                    [a for a in node.bases if not a.star],
                    [b for b in twin.bases if not isinstance(b, ast.Starred)],
                    strict=False,
                )
            ],
            decorators=self._decorators(node.decorators, twin.decorator_list),
        )
        for statement, ast_statement in _flat_statements(node.body.body, twin.body):
            if type(statement) in (cst.Assign, cst.AnnAssign):
                summary.attributes.extend(self._assignments(statement, ast_statement))
            elif (
                type(statement) is cst.ClassDef
                and isinstance(ast_statement, ast.ClassDef)
                and statement.name.value == "Settings"
            ):
                summary.settings = self._settings(statement, ast_statement)
            elif (
                type(statement) is cst.ClassDef
                and isinstance(ast_statement, ast.ClassDef)
                and statement.name.value == "Collection"
            ):
                summary.collection_class = self.name_pos(ast_statement)
        return summary

    def _settings(self, node: cst.ClassDef, twin: ast.ClassDef) -> SettingsSummary:
        settings = SettingsSummary()
        for statement, ast_statement in _flat_statements(node.body.body, twin.body):
            if type(statement) in (cst.Assign, cst.AnnAssign):
                for assignment in self._assignments(statement, ast_statement):
                    if assignment.name in SETTINGS_READ:
                        setattr(settings, assignment.name, assignment.value)
        return settings

    def _function(
        self, node: cst.FunctionDef, twin: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> FunctionSummary:
        line, col = self.name_pos(twin)
        params, ast_args = node.params, twin.args
        pairs = [
            *zip(params.posonly_params, ast_args.posonlyargs, strict=False),
            *zip(params.params, ast_args.args, strict=False),
            *zip(params.kwonly_params, ast_args.kwonlyargs, strict=False),
        ]
        return FunctionSummary(
            name=node.name.value,
            line=line,
            col=col,
            is_async=node.asynchronous is not None,
            docstring=_docstring(node.body),
            decorators=self._decorators(node.decorators, twin.decorator_list),
            parameters=[
                Parameter(
                    name=param.name.value,
                    annotation=(
                        self._expr(param.annotation.annotation, arg.annotation, True)
                        if param.annotation is not None
                        else None
                    ),
                )
                for param, arg in pairs
            ],
            returns=(
                self._expr(node.returns.annotation, twin.returns, True)
                if node.returns is not None
                else None
            ),
        )

    def _decorators(
        self, decorators: Sequence[cst.Decorator], ast_decorators: list[ast.expr]
    ) -> list[Expr]:
        return [
            self._expr(d.decorator, a) for d, a in zip(decorators, ast_decorators, strict=False)
        ]

    # -- expressions ------------------------------------------------------------------

    def _expr(
        self,
        node: cst.BaseExpression,
        twin: ast.AST | None,
        annotation: bool = False,
        at: tuple[int, int] | None = None,
    ) -> Expr:
        """Reduce an expression, positioned by its `ast` twin (or at `at`, inside a parsed
        forward reference). Past `MAX_EXPR_DEPTH` levels only the text is kept, so later
        stages (and pickling the cache) never recurse without bound."""
        line, col = at or self.pos(twin)
        if self.depth >= MAX_EXPR_DEPTH:
            return Expr(kind="other", text=_code(node), line=line, col=col)
        self.depth += 1
        try:
            return self._reduce(node, twin, annotation, at, line, col)
        finally:
            self.depth -= 1

    def _reduce(
        self,
        node: cst.BaseExpression,
        twin: ast.AST | None,
        annotation: bool,
        at: tuple[int, int] | None,
        line: int,
        col: int,
    ) -> Expr:
        """Strings in annotations may be forward references (`Link["Job"]`): see
        `_forward_reference`. Call arguments are never annotations."""

        def sub(child: cst.BaseExpression, child_twin: ast.AST | None, types: bool) -> Expr:
            return self._expr(child, child_twin, types, at)

        if type(node) is cst.Name:
            if node.value in _CONSTANTS:
                return Expr(kind="const", value=_CONSTANTS[node.value], line=line, col=col)
            return Expr(kind="name", name=node.value, line=line, col=col)
        if type(node) is cst.Attribute:
            dotted = _dotted(node)
            if dotted is not None:
                return Expr(kind="name", name=dotted, line=line, col=col)
        elif type(node) in (cst.SimpleString, cst.ConcatenatedString):
            value = twin.value if type(twin) is ast.Constant else _string_value(node)
            if isinstance(value, str):
                if annotation:
                    return self._forward_reference(value, line, col)
                return Expr(kind="const", value=value, line=line, col=col)
        elif type(node) in (cst.Integer, cst.Float):
            value = twin.value if type(twin) is ast.Constant else node.evaluated_value
            return Expr(kind="const", value=value, line=line, col=col)
        elif type(node) is cst.UnaryOperation and isinstance(
            node.expression, cst.Integer | cst.Float
        ):
            if type(node.operator) in (cst.Minus, cst.Plus):
                sign = -1 if type(node.operator) is cst.Minus else 1
                value = sign * node.expression.evaluated_value
                return Expr(kind="const", value=value, line=line, col=col)
        elif type(node) is cst.Ellipsis:
            return Expr(kind="ellipsis", line=line, col=col)
        elif type(node) in (cst.List, cst.Tuple, cst.Set):
            if not any(type(e) is cst.StarredElement for e in node.elements):
                kind: ExprKind = {cst.List: "list", cst.Tuple: "tuple", cst.Set: "set"}[type(node)]
                twins = _elements(twin, len(node.elements))
                items = [
                    sub(e.value, t, annotation) for e, t in zip(node.elements, twins, strict=True)
                ]
                return Expr(kind=kind, items=items, line=line, col=col)
        elif type(node) is cst.Dict:
            if all(type(e) is cst.DictElement for e in node.elements):
                keys = twin.keys if isinstance(twin, ast.Dict) else []
                values = twin.values if isinstance(twin, ast.Dict) else []
                count = len(node.elements)
                return Expr(
                    kind="dict",
                    items=[
                        sub(e.key, t, False)
                        for e, t in zip(node.elements, _pad(keys, count), strict=True)
                    ],
                    values=[
                        sub(e.value, t, False)
                        for e, t in zip(node.elements, _pad(values, count), strict=True)
                    ],
                    line=line,
                    col=col,
                )
        elif type(node) is cst.Call:
            callee = _dotted(node.func)
            if callee is not None and not any(arg.star for arg in node.args):
                positional = [a for a in node.args if a.keyword is None]
                named = [a for a in node.args if a.keyword is not None]
                ast_args = twin.args if isinstance(twin, ast.Call) else []
                ast_keywords = twin.keywords if isinstance(twin, ast.Call) else []
                return Expr(
                    kind="call",
                    name=callee,
                    items=[
                        sub(a.value, t, False)
                        for a, t in zip(positional, _pad(ast_args, len(positional)), strict=True)
                    ],
                    keywords=[
                        Keyword(name=a.keyword.value, value=sub(a.value, t and t.value, False))
                        for a, t in zip(named, _pad(ast_keywords, len(named)), strict=True)
                        if a.keyword is not None
                    ],
                    line=line,
                    col=col,
                )
        elif type(node) is cst.Subscript:
            base = _dotted(node.value)
            if base is not None and all(type(e.slice) is cst.Index for e in node.slice):
                twins = _subscript_elements(node, twin)
                return Expr(
                    kind="subscript",
                    name=base,
                    items=[
                        sub(e.slice.value, t, annotation)  # type: ignore[union-attr]
                        for e, t in zip(node.slice, twins, strict=True)
                    ],
                    line=line,
                    col=col,
                )
        elif type(node) is cst.BinaryOperation and type(node.operator) is cst.BitOr:
            is_binop = isinstance(twin, ast.BinOp)
            left = sub(node.left, twin.left if is_binop else None, annotation)
            right = sub(node.right, twin.right if is_binop else None, annotation)
            members = [*(left.items if left.kind == "union" else [left]), right]
            return Expr(kind="union", items=members, line=line, col=col)
        return Expr(kind="other", text=_code(node), line=line, col=col)

    def _forward_reference(self, text: str, line: int, col: int) -> Expr:
        """A string in an annotation: kept as its value (it may be a `Literal` value; only
        the resolver knows) with the expression it spells parsed into `items`, every part
        placed at the string."""
        parsed: list[Expr] = []
        try:
            node = cst.parse_expression(text.strip())
        except Exception:
            pass  # not an expression: only usable as a Literal value
        else:
            parsed.append(self._expr(node, None, True, at=(line, col)))
        return Expr(kind="forward", value=text, items=parsed, line=line, col=col)


def _flat_statements(
    body: Sequence[cst.CSTNode], ast_body: list[ast.stmt]
) -> Iterator[tuple[cst.CSTNode, ast.stmt | None]]:
    """(statement, ast twin) pairs of a class body, small statements flattened."""
    pairs = iter(ast_body)
    for statement in body:
        smalls = statement.body if type(statement) is cst.SimpleStatementLine else [statement]
        for small in smalls:
            yield small, next(pairs, None)


def _elements(twin: ast.AST | None, count: int) -> list[ast.AST | None]:
    elements = twin.elts if isinstance(twin, ast.List | ast.Tuple | ast.Set) else []
    return _pad(elements, count)


def _subscript_elements(node: cst.Subscript, twin: ast.AST | None) -> list[ast.AST | None]:
    """`x[a, b]` has one ast slice, a Tuple of both; `x[a]` and `x[(a, b)]` have one."""
    if not isinstance(twin, ast.Subscript):
        return [None] * len(node.slice)
    slice_ = twin.slice
    count = len(node.slice)
    has_trailing_comma = count == 1 and node.slice[0].comma is not cst.MaybeSentinel.DEFAULT
    if isinstance(slice_, ast.Tuple) and (count > 1 or has_trailing_comma):
        return _pad(slice_.elts, count)
    return _pad([slice_], count)


def _pad(items: Iterable[ast.AST], count: int) -> list[ast.AST | None]:
    padded: list[ast.AST | None] = list(items)[:count]
    return padded + [None] * (count - len(padded))


def _dotted(node: cst.CSTNode | None) -> str | None:
    """`a.b.c` for a chain of names, else None."""
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    return _dotted(alias.asname.name)


def _string_value(node: cst.SimpleString | cst.ConcatenatedString) -> str | bytes | None:
    try:
        return node.evaluated_value
    except Exception:  # f-strings inside concatenations have no static value
        return None


def _string_list(expr: Expr | None) -> list[str] | None:
    if expr is None or expr.kind not in ("list", "tuple"):
        return None
    if not all(item.kind == "const" and isinstance(item.value, str) for item in expr.items):
        return None
    return [str(item.value) for item in expr.items]


def _docstring(body: cst.BaseSuite) -> str | None:
    statements = body.body
    if not statements:
        return None
    first = statements[0]
    small = first.body[0] if type(first) is cst.SimpleStatementLine and first.body else first
    if type(small) is cst.Expr and isinstance(
        small.value, cst.SimpleString | cst.ConcatenatedString
    ):
        value = _string_value(small.value)
        if isinstance(value, str):
            return inspect.cleandoc(value)
    return None


_EMPTY_MODULE = cst.Module(body=[])
_CONSTANTS = {"True": True, "False": False, "None": None}


def _code(node: cst.CSTNode) -> str:
    try:
        return " ".join(_EMPTY_MODULE.code_for_node(node).split())
    except RecursionError:
        return "<expression nested too deeply>"
