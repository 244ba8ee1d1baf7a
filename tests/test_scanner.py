"""Scanner + resolver on small inline projects: every way user code spells a model, a field,
an operation or an import that the compiler understands, asserted on the IR that `analyse()`
builds."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jobhunter_compiler.ir import FieldIR, ModelIR, OperationIR, ProjectIR
from jobhunter_compiler.pipeline import Analysis, analyse, compile_project

DOC_IMPORTS = """\
from beanie import Document
from jobhunter_compiler import datamodel
"""


def make(tmp_path: Path, files: dict[str, str], config: str | None = None) -> Path:
    project = tmp_path / "project"
    for rel, text in files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    if config is not None:
        (project / ".jobhunter.yml").write_text(textwrap.dedent(config))
    project.mkdir(exist_ok=True)
    return project


def scan(tmp_path: Path, files: dict[str, str], config: str | None = None) -> Analysis:
    return analyse(make(tmp_path, files, config))


def ok_ir(analysis: Analysis) -> ProjectIR:
    errors = [d for d in analysis.diagnostics if d.severity.value == "error"]
    assert not errors, [f"{d.location}: {d.code} {d.message}" for d in errors]
    assert analysis.ir is not None
    return analysis.ir


def model(ir: ProjectIR, name: str) -> ModelIR:
    found = ir.model(name)
    assert found is not None, f"model {name} not in {[m.name for m in ir.models]}"
    return found


def operation(ir: ProjectIR, name: str) -> OperationIR:
    found = next((o for o in ir.operations if o.name == name), None)
    assert found is not None, f"operation {name} not in {[o.name for o in ir.operations]}"
    return found


def field(m: ModelIR, name: str) -> FieldIR:
    found = next((f for f in m.fields if f.name == name), None)
    assert found is not None, f"field {name} not in {[f.name for f in m.fields]}"
    return found


def names(m: ModelIR) -> list[str]:
    return [f.name for f in m.fields]


def codes(analysis: Analysis) -> list[str]:
    return [d.code for d in analysis.diagnostics]


# -- decorator spellings ----------------------------------------------------------------


def test_decorator_imported_under_an_alias(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/job.py": """\
                from beanie import Document
                from jobhunter_compiler import datamodel as register

                @register(name="Job", tags=["a"])
                class Job(Document):
                    title: str
                """,
            },
        )
    )
    assert [m.name for m in ir.models] == ["Job"]
    assert model(ir, "Job").tags == ["a"]


def test_package_alias_and_attribute_decorators(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/job.py": """\
                import beanie
                import jobhunter_compiler as jh

                @jh.datamodel(name="Job", description="d")
                class Job(beanie.Document):
                    title: str
                """,
                "operations/ops.py": """\
                import jobhunter_compiler as jh
                from pydantic import BaseModel

                class In(BaseModel):
                    q: str

                @jh.operation(name="find", models_in=["Job"])
                async def find(payload: In) -> None: ...
                """,
            },
        )
    )
    assert model(ir, "Job").description == "d"
    assert operation(ir, "find").models_in == ["Job"]


def test_bare_decorator_without_call(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/job.py": DOC_IMPORTS
                + "\n@datamodel\nclass Job(Document):\n    title: str\n",
                "operations/ops.py": "from jobhunter_compiler import operation\n\n"
                "@operation\nasync def ping() -> None: ...\n",
            },
        )
    )
    assert model(ir, "Job").class_name == "Job"
    assert operation(ir, "ping").function == "ping"


def test_an_unrelated_decorator_of_the_same_name_is_ignored(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/job.py": """\
            from beanie import Document
            from jobhunter_compiler import datamodel
            from other_lib import datamodel as other

            @other(name="Nope")
            class Nope(Document):
                x: int

            @datamodel(name="Job")
            class Job(Document):
                title: str
            """,
        },
    )
    assert [m.name for m in ok_ir(analysis).models] == ["Job"]


LEGACY_MODEL = """\
from beanie import Document
from core.decorators import datamodel

@datamodel(name="Job")
class Job(Document):
    title: str
"""


def test_legacy_decorator_module_in_the_project_reexporting(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "core/__init__.py": "",
                "core/decorators.py": "from jobhunter_compiler import datamodel, operation\n",
                "models/job.py": LEGACY_MODEL,
            },
            config="decorator_modules: [core.decorators]\n",
        )
    )
    assert [m.name for m in ir.models] == ["Job"]


def test_legacy_decorator_module_defining_its_own_wrappers(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "core/__init__.py": "",
                "core/decorators.py": """\
                def datamodel(**kwargs):
                    def wrap(cls):
                        return cls
                    return wrap

                def operation(**kwargs):
                    return lambda f: f
                """,
                "models/job.py": LEGACY_MODEL,
                "operations/ops.py": """\
                from core.decorators import operation

                @operation(name="ping")
                def ping() -> None: ...
                """,
            },
            config="decorator_modules: [core.decorators]\n",
        )
    )
    assert [m.name for m in ir.models] == ["Job"]
    assert [o.name for o in ir.operations] == ["ping"]


def test_legacy_decorator_module_not_in_the_project(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/job.py": LEGACY_MODEL,
                "operations/ops.py": """\
                import core.decorators as legacy

                @legacy.operation(name="ping")
                async def ping() -> None: ...
                """,
            },
            config="decorator_modules: [core.decorators]\n",
        )
    )
    assert [m.name for m in ir.models] == ["Job"]
    assert [o.name for o in ir.operations] == ["ping"]


def test_legacy_decorator_module_is_ignored_unless_configured(tmp_path: Path) -> None:
    analysis = scan(tmp_path, {"models/job.py": LEGACY_MODEL})
    assert analysis.ir is not None and analysis.ir.models == []
    assert "JH004" in codes(analysis)


# -- decorator arguments ----------------------------------------------------------------


def test_module_constants_as_decorator_arguments(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/__init__.py": "",
                "models/constants.py": """\
                JOB_TAGS = ["jobs", "core"]
                ICON = "briefcase"
                UI = {"icon": ICON, "list_fields": ["title"]}
                """,
                "models/job.py": """\
                from beanie import Document
                from jobhunter_compiler import datamodel
                from .constants import JOB_TAGS, UI
                from . import constants

                NAME = "Job"
                DESCRIPTION = "A posting."

                @datamodel(name=NAME, description=DESCRIPTION, tags=JOB_TAGS, ui=UI)
                class Job(Document):
                    title: str

                @datamodel(name="Other", tags=constants.JOB_TAGS)
                class Other(Document):
                    x: int
                """,
                "operations/ops.py": """\
                from jobhunter_compiler import operation
                from models.constants import JOB_TAGS

                CATEGORY = "jobs"
                RETRIES = 3

                @operation(name="ping", category=CATEGORY, tags=JOB_TAGS, retries=RETRIES)
                async def ping() -> None: ...
                """,
            },
        )
    )
    job = model(ir, "Job")
    assert job.description == "A posting."
    assert job.tags == ["jobs", "core"]
    assert job.ui.icon == "briefcase"
    assert job.ui.list_fields == ["title"]
    assert model(ir, "Other").tags == ["jobs", "core"]
    ping = operation(ir, "ping")
    assert (ping.category, ping.tags, ping.retries) == ("jobs", ["jobs", "core"], 3)


def test_non_literal_argument_is_jh101_at_the_argument(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/job.py": DOC_IMPORTS
            + "\n\ndef tags():\n    return []\n\n"
            + "@datamodel(name='Job', tags=tags())\nclass Job(Document):\n    title: str\n",
        },
    )
    jh101 = [d for d in analysis.diagnostics if d.code == "JH101"]
    assert len(jh101) == 1
    assert (jh101[0].path, jh101[0].line, jh101[0].col) == ("models/job.py", 8, 29)


# -- modules, packages, relative imports ------------------------------------------------


def test_init_reexports_and_relative_imports(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "app/__init__.py": "",
                "app/shared/__init__.py": "from .types import Priority, Money\n",
                "app/shared/types.py": """\
                from typing import Literal
                from pydantic import BaseModel

                Priority = Literal["low", "high"]

                class Money(BaseModel):
                    amount: int
                    currency: str = "EUR"
                """,
                "app/models/__init__.py": "from .base import Base\n",
                "app/models/base.py": """\
                from beanie import Document

                class Base(Document):
                    created_by: str
                """,
                "app/models/sales/__init__.py": "",
                "app/models/sales/order.py": """\
                from jobhunter_compiler import datamodel
                from .. import Base
                from ...shared import Priority, Money

                @datamodel(name="Order")
                class Order(Base):
                    priority: Priority = "low"
                    total: Money
                """,
            },
            config="models: [app/models]\noperations: []\n",
        )
    )
    order = model(ir, "Order")
    assert order.module == "app.models.sales.order"
    assert names(order) == ["created_by", "priority", "total"]
    assert field(order, "created_by").inherited_from == "app.models.base.Base"
    assert field(order, "priority").type_info.kind == "literal"
    assert field(order, "priority").type_info.values == ["low", "high"]
    total = field(order, "total").type_info
    assert (total.kind, total.ref) == ("schema", "app.shared.types.Money")
    assert ir.schema("app.shared.types.Money") is not None
    assert order.bases == ["app.models.base.Base"]


def test_star_import_reexport(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/__init__.py": "",
                "models/enums/__init__.py": "from .status import *\n",
                "models/enums/status.py": """\
                from enum import Enum

                __all__ = ["Status"]

                class Status(str, Enum):
                    OPEN = "open"
                    DONE = "done"
                """,
                "models/task.py": DOC_IMPORTS
                + "from .enums import Status\n\n"
                + "@datamodel()\nclass Task(Document):\n    status: Status = Status.OPEN\n",
            },
        )
    )
    status = field(model(ir, "Task"), "status")
    assert status.type_info.kind == "enum"
    assert status.type_info.values == ["open", "done"]
    assert status.default is not None and status.default.value == "open"


# -- inheritance ------------------------------------------------------------------------


def test_inherited_fields_from_an_undecorated_base_in_another_file(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "lib/__init__.py": "",
                "lib/base.py": """\
                from datetime import datetime
                from typing import Optional
                from beanie import Document
                from pydantic import Field

                class Timestamped(Document):
                    created_at: datetime
                    updated_at: Optional[datetime] = None
                    version: int = 1
                """,
                "models/job.py": """\
                from datetime import datetime, timezone
                from pydantic import Field
                from jobhunter_compiler import datamodel
                from lib.base import Timestamped

                @datamodel(name="Job")
                class Job(Timestamped):
                    title: str
                    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
                """,
            },
        )
    )
    job = model(ir, "Job")
    # Base fields first, in base order; the override keeps its position.
    assert names(job) == ["created_at", "updated_at", "version", "title"]
    assert field(job, "created_at").required is False
    assert field(job, "updated_at").inherited_from == "lib.base.Timestamped"
    assert field(job, "version").default is not None
    assert field(job, "version").default.value == 1
    assert field(job, "title").inherited_from is None
    assert job.bases == ["lib.base.Timestamped"]


def test_multi_level_and_multiple_inheritance(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/job.py": """\
                from beanie import Document
                from pydantic import BaseModel
                from jobhunter_compiler import datamodel

                class A(Document):
                    a: int
                    shared: str = "a"

                class B(A):
                    b: int

                class Mixin(BaseModel):
                    m: int
                    shared: str = "mixin"

                @datamodel()
                class C(B, Mixin):
                    c: int
                """,
            },
        )
    )
    c = model(ir, "C")
    # As pydantic's model_fields (checked by hand): Mixin's fields first, then A's and
    # B's; `shared` keeps Mixin's position with A's default (A comes first in the MRO).
    assert names(c) == ["m", "shared", "a", "b", "c"]
    assert field(c, "shared").default.value == "a"


def test_inheriting_from_another_datamodel_adds_an_inherits_edge(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/job.py": DOC_IMPORTS
                + """
@datamodel()
class Job(Document):
    title: str

@datamodel()
class RemoteJob(Job):
    timezone: str

    class Settings:
        name = "remote_jobs"
""",
            },
        )
    )
    assert names(model(ir, "RemoteJob")) == ["title", "timezone"]
    edges = {(e.source, e.target, e.kind) for e in ir.edges}
    assert ("model:RemoteJob", "model:Job", "inherits") in edges


# -- field types ------------------------------------------------------------------------


def test_optional_spellings_are_nullable(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
import typing
from typing import Optional, Union

@datamodel()
class M(Document):
    a: Optional[int]
    b: int | None = None
    c: Union[int, None] = None
    d: typing.Optional[str] = None
    e: None | str = None
    f: Union[int, str]
    g: Optional[Union[int, str]] = None
    h: int
""",
            },
        )
    )
    m = model(ir, "M")
    for name, kind in (("a", "int"), ("b", "int"), ("c", "int"), ("d", "str"), ("e", "str")):
        info = field(m, name).type_info
        assert (info.kind, info.nullable) == (kind, True), name
    assert field(m, "a").required is True, "Optional without a default is required"
    assert field(m, "b").required is False
    f = field(m, "f").type_info
    assert (f.kind, f.nullable, [a.kind for a in f.args]) == ("union", False, ["int", "str"])
    g = field(m, "g").type_info
    assert (g.kind, g.nullable, [a.kind for a in g.args]) == ("union", True, ["int", "str"])
    assert field(m, "h").type_info.nullable is False


def test_annotated_field_constraints(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
from typing import Annotated
from pydantic import Field

MAX = 10

@datamodel()
class M(Document):
    count: Annotated[int, Field(ge=0)]
    name: Annotated[str, Field(min_length=1, max_length=MAX, description="The name")] = "x"
    ratio: float = Field(default=0.5, gt=0, le=1, description="Share")
    code: str = Field(pattern=r"^[A-Z]{3}$")
""",
            },
        )
    )
    m = model(ir, "M")
    count = field(m, "count")
    assert count.constraints == {"ge": 0}
    assert count.type_info.kind == "int"
    assert count.required is True
    name = field(m, "name")
    assert name.constraints == {"min_length": 1, "max_length": 10}
    assert name.description == "The name"
    assert name.required is False and name.default.value == "x"
    ratio = field(m, "ratio")
    assert ratio.constraints == {"gt": 0, "le": 1}
    assert ratio.default.value == 0.5 and ratio.description == "Share"
    assert field(m, "code").constraints == {"pattern": "^[A-Z]{3}$"}


def test_indexed_fields(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": """\
                import beanie
                from typing import Annotated
                from beanie import Document, Indexed
                from jobhunter_compiler import datamodel

                @datamodel()
                class M(Document):
                    email: Indexed(str, unique=True)
                    city: Indexed(str)
                    score: Annotated[int, Indexed()] = 0
                    plain: str = ""
                    full: beanie.Indexed(int, unique=False) = 1
                """,
            },
        )
    )
    m = model(ir, "M")
    email = field(m, "email")
    assert (email.type_info.kind, email.indexed, email.unique) == ("str", True, True)
    city = field(m, "city")
    assert (city.type_info.kind, city.indexed, city.unique) == ("str", True, False)
    score = field(m, "score")
    assert (score.type_info.kind, score.indexed) == ("int", True)
    assert (field(m, "plain").indexed, field(m, "plain").unique) == (False, False)
    full = field(m, "full")
    assert (full.type_info.kind, full.indexed, full.unique) == ("int", True, False)


def test_links_and_backlinks_with_edges(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/__init__.py": "",
                "models/company.py": """\
                from typing import TYPE_CHECKING
                from beanie import BackLink, Document
                from pydantic import Field
                from jobhunter_compiler import datamodel

                if TYPE_CHECKING:
                    from .job import Job

                @datamodel(name="Company")
                class Company(Document):
                    name: str
                    jobs: list[BackLink["Job"]] = Field(default=[], original_field="company")
                """,
                "models/job.py": """\
                from typing import Optional
                from beanie import Document, Link
                from jobhunter_compiler import datamodel
                from .company import Company

                @datamodel(name="Job")
                class Job(Document):
                    company: Link[Company]
                    backup: Optional[Link["Company"]] = None
                    related: list[Link["Job"]] = []
                """,
            },
        )
    )
    job = model(ir, "Job")
    company = field(job, "company").type_info
    assert (company.kind, company.ref) == ("link", "Company")
    backup = field(job, "backup").type_info
    assert (backup.kind, backup.ref, backup.nullable) == ("link", "Company", True)
    related = field(job, "related").type_info
    assert related.kind == "list"
    assert (related.args[0].kind, related.args[0].ref) == ("link", "Job")
    jobs = field(model(ir, "Company"), "jobs").type_info
    assert jobs.kind == "list" and (jobs.args[0].kind, jobs.args[0].ref) == ("backlink", "Job")
    edges = {(e.source, e.target, e.kind, e.field) for e in ir.edges}
    assert ("model:Job", "model:Company", "link", "company") in edges
    assert ("model:Job", "model:Company", "link", "backup") in edges
    assert ("model:Job", "model:Job", "link", "related") in edges
    assert ("model:Company", "model:Job", "backlink", "jobs") in edges


def test_link_to_a_class_that_is_not_a_datamodel_is_jh206(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/job.py": DOC_IMPORTS
            + "from beanie import Link\n\nclass Plain(Document):\n    x: int\n\n"
            + "@datamodel()\nclass Job(Document):\n    other: Link[Plain]\n",
        },
    )
    jh206 = [d for d in analysis.diagnostics if d.code == "JH206"]
    assert len(jh206) == 1 and jh206[0].line == 10


def test_enums(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
import enum
from enum import Enum, IntEnum, StrEnum, auto

class Color(str, Enum):
    RED = "red"
    GREEN = "green"

class Level(IntEnum):
    LOW = auto()
    MID = auto()
    HIGH = 10
    TOP = auto()

class Mode(StrEnum):
    FAST = auto()
    SLOW_AND_STEADY = auto()
    CUSTOM = "Custom!"

class Plain(enum.Enum):
    A = 1
    B = "b"

@datamodel()
class M(Document):
    color: Color = Color.GREEN
    level: Level = Level.MID
    mode: Mode
    plain: Plain | None = None
    colors: list[Color] = []
""",
            },
        )
    )
    m = model(ir, "M")
    color = field(m, "color")
    assert (color.type_info.kind, color.type_info.ref) == ("enum", "models.m.Color")
    assert color.type_info.values == ["red", "green"]
    assert (color.default.kind, color.default.value) == ("enum", "green")
    level = field(m, "level")
    assert level.type_info.values == [1, 2, 10, 11]
    assert level.default.value == 2
    assert field(m, "mode").type_info.values == ["fast", "slow_and_steady", "Custom!"]
    plain = field(m, "plain").type_info
    assert (plain.kind, plain.nullable, plain.values) == ("enum", True, [1, "b"])
    colors = field(m, "colors").type_info
    assert colors.kind == "list" and colors.args[0].ref == "models.m.Color"
    enums = {e.id: e for e in ir.enums}
    assert set(enums) == {"models.m.Color", "models.m.Level", "models.m.Mode", "models.m.Plain"}
    assert [(x.name, x.value) for x in enums["models.m.Level"].members] == [
        ("LOW", 1),
        ("MID", 2),
        ("HIGH", 10),
        ("TOP", 11),
    ]


def test_enum_aliases_are_not_members(tmp_path: Path) -> None:
    """`Red = RED` and a repeated value are aliases: `list(Color)` and pydantic's allowed
    values leave them out, and a default spelled through an alias has the canonical value."""
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
from enum import Enum, IntEnum

class Color(str, Enum):
    RED = "red"
    GREEN = "green"
    Red = RED

class Num(IntEnum):
    ONE = 1
    UNO = 1
    TWO = 2

@datamodel()
class M(Document):
    color: Color = Color.Red
    num: Num = Num.UNO
""",
            },
        )
    )
    m = model(ir, "M")
    assert field(m, "color").type_info.values == ["red", "green"]
    assert field(m, "color").default.value == "red"
    assert field(m, "num").type_info.values == [1, 2]
    assert field(m, "num").default.value == 1


def test_flag_auto_values_are_powers_of_two(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
from enum import Flag, IntFlag, auto

class Perm(Flag):
    R = auto()
    W = auto()
    X = auto()

class Bits(IntFlag):
    A = 1
    B = auto()
    C = 8
    D = auto()

@datamodel()
class M(Document):
    perm: Perm
    bits: Bits
""",
            },
        )
    )
    m = model(ir, "M")
    assert field(m, "perm").type_info.values == [1, 2, 4]
    assert field(m, "bits").type_info.values == [1, 2, 8, 16]


def test_literals_directly_via_module_alias_and_type_alias(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/__init__.py": "",
                "models/types.py": """\
                from typing import Literal, TypeAlias

                Size = Literal["s", "m", "l"]
                Priority: TypeAlias = Literal["low", "high"]
                """,
                "models/m.py": DOC_IMPORTS
                + """\
import typing
import typing as t
from typing import Literal, Optional
from .types import Priority, Size
from . import types

Kind = Literal["a", "b"]

@datamodel()
class M(Document):
    direct: Literal["x", "y"] = "x"
    numbers: Literal[1, 2, 3]
    via_typing: typing.Literal["p"]
    via_alias_module: t.Literal["q", "r"]
    local_alias: Kind
    imported_alias: Size = "m"
    type_alias: Priority
    module_attr: types.Priority
    optional: Optional[Literal["on", "off"]] = None
    with_none: Literal["a", None] = None
""",
            },
        )
    )
    m = model(ir, "M")
    expected = {
        "direct": ["x", "y"],
        "numbers": [1, 2, 3],
        "via_typing": ["p"],
        "via_alias_module": ["q", "r"],
        "local_alias": ["a", "b"],
        "imported_alias": ["s", "m", "l"],
        "type_alias": ["low", "high"],
        "module_attr": ["low", "high"],
        "optional": ["on", "off"],
        "with_none": ["a"],
    }
    for name, values in expected.items():
        info = field(m, name).type_info
        assert (info.kind, info.values) == ("literal", values), name
    assert field(m, "optional").type_info.nullable is True
    assert field(m, "with_none").type_info.nullable is True
    assert field(m, "direct").type_info.nullable is False


def test_literal_imported_under_another_name(tmp_path: Path) -> None:
    """`from typing import Literal as L`: the names resolve to typing.Literal, so the
    strings inside are values, not forward references."""
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "from typing import Literal as L\n\n"
            + "@datamodel()\nclass M(Document):\n    size: L['s', 'm'] = 's'\n",
        },
    )
    info = field(model(ok_ir(analysis), "M"), "size").type_info
    assert (info.kind, info.values) == ("literal", ["s", "m"])
    assert "JH205" not in codes(analysis)


def test_typing_extensions_module_import(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "import typing_extensions\nimport typing_extensions as te\n\n"
            + "@datamodel()\nclass M(Document):\n"
            + "    a: typing_extensions.Literal['x'] = 'x'\n"
            + "    b: te.Annotated[int, 'meta'] = 0\n",
        },
    )
    m = model(ok_ir(analysis), "M")
    assert field(m, "a").type_info.kind == "literal"
    assert field(m, "b").type_info.kind == "int"
    assert "JH205" not in codes(analysis)


def test_inputs_that_are_not_a_basemodel_are_jh304(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "operations/ops.py": "from jobhunter_compiler import operation\n\n"
            "@operation(name='raw')\nasync def raw(data: dict) -> dict: ...\n",
        },
    )
    jh304 = [d for d in analysis.diagnostics if d.code == "JH304"]
    assert [(d.path, d.line, d.col) for d in jh304] == [("operations/ops.py", 4, 21)]


def test_nested_models_become_schemas(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
from typing import Optional
from pydantic import BaseModel

class Address(BaseModel):
    street: str
    city: str = "Paris"
    geo: Optional["Geo"] = None

class Geo(BaseModel):
    lat: float
    lon: float

@datamodel()
class Person(Document):
    home: Address
    others: list[Address] = []
    by_name: dict[str, Geo] = {}
""",
            },
        )
    )
    person = model(ir, "Person")
    home = field(person, "home").type_info
    assert (home.kind, home.ref) == ("schema", "models.m.Address")
    others = field(person, "others").type_info
    assert others.kind == "list" and (others.args[0].kind, others.args[0].ref) == (
        "schema",
        "models.m.Address",
    )
    by_name = field(person, "by_name").type_info
    assert by_name.kind == "dict" and [a.kind for a in by_name.args] == ["str", "schema"]
    address = ir.schema("models.m.Address")
    assert address is not None
    assert [f.name for f in address.fields] == ["street", "city", "geo"]
    geo_ref = address.fields[2].type_info
    assert (geo_ref.kind, geo_ref.ref, geo_ref.nullable) == ("schema", "models.m.Geo", True)
    assert ir.schema("models.m.Geo") is not None


def test_classvar_private_and_model_config_are_not_fields(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
from typing import ClassVar
import typing
from pydantic import ConfigDict, PrivateAttr

@datamodel()
class M(Document):
    model_config = ConfigDict(extra="forbid")
    KIND: ClassVar[str] = "m"
    LIMIT: typing.ClassVar[int] = 3
    _cache: dict = {}
    _secret: str = PrivateAttr(default="x")
    __dunder: int = 0
    name: str

    def method(self) -> int:
        local: int = 1
        return local
""",
            },
        )
    )
    assert names(model(ir, "M")) == ["name"]


def test_field_defaults(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
from datetime import datetime
from pydantic import Field

@datamodel()
class M(Document):
    a: int = 3
    b: str = Field("x")
    c: list[str] = Field(default_factory=list)
    d: datetime = Field(default_factory=datetime.utcnow)
    e: int = Field(...)
    f: float = -1.5
    g: bool = Field(default=True)
    h: dict = {"k": [1, 2]}
    i: str = "a" "b"
""",
            },
        )
    )
    m = model(ir, "M")
    simple = {
        name: (field(m, name).default.kind, field(m, name).default.value) for name in "abfghi"
    }
    assert simple == {
        "a": ("literal", 3),
        "b": ("literal", "x"),
        "f": ("literal", -1.5),
        "g": ("literal", True),
        "h": ("literal", {"k": [1, 2]}),
        "i": ("literal", "ab"),
    }
    assert (field(m, "c").default.kind, field(m, "c").default.text) == ("factory", "list")
    assert field(m, "d").default.text == "datetime.utcnow"
    assert field(m, "c").required is False
    assert field(m, "e").required is True and field(m, "e").default is None


# -- Settings ---------------------------------------------------------------------------


def test_settings_name_and_indexes(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
import pymongo
from pymongo import ASCENDING, IndexModel

COLLECTION = "people"

@datamodel()
class Person(Document):
    name: str
    city: str
    age: int

    class Settings:
        name = COLLECTION
        indexes = [
            "name",
            [("city", ASCENDING), ("age", pymongo.DESCENDING)],
            IndexModel([("name", pymongo.TEXT)], name="name_text", unique=True),
            pymongo.IndexModel("age", name="by_age"),
        ]

@datamodel()
class Defaulted(Document):
    x: int
""",
            },
        )
    )
    person = model(ir, "Person")
    assert person.collection == "people"
    indexes = [(i.keys, i.name, i.unique) for i in person.indexes]
    assert indexes == [
        ([("name", 1)], None, False),
        ([("city", 1), ("age", -1)], None, False),
        ([("name", "text")], "name_text", True),
        ([("age", 1)], "by_age", False),
    ]
    assert all(i.text for i in person.indexes)
    defaulted = model(ir, "Defaulted")
    assert defaulted.collection == "Defaulted", "Beanie's default is the class name"
    assert defaulted.indexes == []


def test_settings_are_inherited_from_a_base(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
class Base(Document):
    class Settings:
        name = "things"
        indexes = ["kind"]

@datamodel()
class Thing(Base):
    kind: str
""",
            },
        )
    )
    thing = model(ir, "Thing")
    assert thing.collection == "things"
    assert [i.keys for i in thing.indexes] == [[("kind", 1)]]


# -- operations -------------------------------------------------------------------------


OP_SCHEMAS = {
    "models/__init__.py": "",
    "models/job.py": DOC_IMPORTS + "\n@datamodel()\nclass Job(Document):\n    title: str\n",
    "operations/__init__.py": "",
    "operations/schemas.py": """\
    from pydantic import BaseModel

    class SearchIn(BaseModel):
        query: str
        limit: int = 10

    class SearchOut(BaseModel):
        ids: list[str] = []
    """,
}


def test_operation_io_from_the_decorator(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                **OP_SCHEMAS,
                "operations/search.py": """\
                from jobhunter_compiler import operation
                from .schemas import SearchIn, SearchOut

                @operation(name="search", inputs=SearchIn, outputs=SearchOut, models_in=["Job"])
                async def search(payload):
                    ...
                """,
            },
        )
    )
    op = operation(ir, "search")
    assert op.inputs.schema_id == "operations.schemas.SearchIn"
    assert [f.name for f in op.inputs.fields] == ["query", "limit"]
    assert op.outputs.schema_id == "operations.schemas.SearchOut"
    assert [f.name for f in op.outputs.fields] == ["ids"]
    assert op.models_in == ["Job"] and op.module == "operations.search"
    assert {s.id for s in ir.schemas} >= {
        "operations.schemas.SearchIn",
        "operations.schemas.SearchOut",
    }
    edges = {(e.source, e.target, e.kind) for e in ir.edges}
    assert ("model:Job", "operation:search", "reads") in edges


def test_operation_io_inferred_from_the_signature(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                **OP_SCHEMAS,
                "operations/search.py": """\
                from jobhunter_compiler import operation
                from operations import schemas
                from operations.schemas import SearchOut

                @operation(name="search", models_out=["Job"])
                async def search(payload: schemas.SearchIn) -> SearchOut:
                    ...

                @operation(name="nothing")
                async def nothing() -> None:
                    ...
                """,
            },
        )
    )
    op = operation(ir, "search")
    assert op.inputs.schema_id == "operations.schemas.SearchIn"
    assert [f.name for f in op.inputs.fields] == ["query", "limit"]
    assert op.outputs.schema_id == "operations.schemas.SearchOut"
    assert op.models_out == ["Job"]
    nothing = operation(ir, "nothing")
    assert nothing.inputs.schema_id is None and nothing.outputs.schema_id is None


def test_inputs_class_not_found_is_jh303(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "operations/ops.py": "from jobhunter_compiler import operation\n\n"
            "@operation(name='x', inputs=Missing)\nasync def x(): ...\n",
        },
    )
    jh303 = [d for d in analysis.diagnostics if d.code == "JH303"]
    assert [(d.path, d.line) for d in jh303] == [("operations/ops.py", 3)]


def test_sync_operation_and_async_flags(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "operations/ops.py": """\
                from jobhunter_compiler import operation

                @operation(name="sync_one", async_enabled=False, retries=2, timeout_s=1.5)
                def sync_one() -> None:
                    return None

                @operation(name="async_one")
                async def async_one() -> None:
                    return None
                """,
            },
        )
    )
    sync_one = operation(ir, "sync_one")
    assert (sync_one.is_async, sync_one.async_enabled) == (False, False)
    assert (sync_one.retries, sync_one.timeout_s) == (2, 1.5)
    async_one = operation(ir, "async_one")
    assert (async_one.is_async, async_one.async_enabled) == (True, True)


def test_dotted_operation_name_is_accepted(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "operations/ops.py": "from jobhunter_compiler import operation\n\n"
            "@operation(name='jobs.archive_old')\nasync def archive() -> None: ...\n",
        },
    )
    ir = ok_ir(analysis)
    assert operation(ir, "jobs.archive_old").function == "archive"
    assert "JH203" not in codes(analysis)


@pytest.mark.parametrize("name", ["jobs..archive", "jobs.class", "1jobs", "jobs-archive", ""])
def test_invalid_operation_names_are_jh203(tmp_path: Path, name: str) -> None:
    analysis = scan(
        tmp_path,
        {
            "operations/ops.py": "from jobhunter_compiler import operation\n\n"
            f"@operation(name={name!r})\nasync def archive() -> None: ...\n",
        },
    )
    assert "JH203" in codes(analysis)


def test_string_forward_references(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + """\
from typing import Optional
from beanie import Link

@datamodel(name="Application")
class Application(Document):
    job: Link["Job"]
    maybe: "Optional[Link[Job]]" = None
    count: "int" = 0

@datamodel(name="Job")
class Job(Document):
    title: str
""",
            },
        )
    )
    app = model(ir, "Application")
    job = field(app, "job").type_info
    assert (job.kind, job.ref) == ("link", "Job")
    maybe = field(app, "maybe").type_info
    assert (maybe.kind, maybe.ref, maybe.nullable) == ("link", "Job", True)
    assert field(app, "count").type_info.kind == "int"


def test_model_name_differs_from_class_name(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "models/m.py": DOC_IMPORTS
                + "from beanie import Link\n\n"
                + "@datamodel(name='Posting')\nclass JobDoc(Document):\n    title: str\n\n"
                + "@datamodel()\nclass Apply(Document):\n    job: Link[JobDoc]\n",
            },
        )
    )
    posting = model(ir, "Posting")
    assert (posting.class_name, posting.collection) == ("JobDoc", "JobDoc")
    assert field(model(ir, "Apply"), "job").type_info.ref == "Posting"


# -- diagnostics ------------------------------------------------------------------------


def test_syntax_error_in_one_file_others_still_analysed(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/good.py": DOC_IMPORTS + "\n@datamodel()\nclass Good(Document):\n    x: int\n",
            "models/bad.py": DOC_IMPORTS
            + "\n@datamodel()\nclass Bad(Document):\n    x: int = (1,\n    y: str\n",
        },
    )
    assert not analysis.ok
    jh001 = [d for d in analysis.diagnostics if d.code == "JH001"]
    assert len(jh001) == 1
    d = jh001[0]
    assert (d.path, d.line, d.col) == ("models/bad.py", 6, 14)
    assert "never closed" in d.message
    assert analysis.ir is not None
    assert [m.name for m in analysis.ir.models] == ["Good"]


def test_syntax_error_position_inside_a_line(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {"models/bad.py": DOC_IMPORTS + "\n\nclass Bad(Document):\n    x: int = = 3\n"},
    )
    d = next(d for d in analysis.diagnostics if d.code == "JH001")
    assert (d.path, d.line, d.col) == ("models/bad.py", 6, 14)


def test_undecodable_file_is_jh003(tmp_path: Path) -> None:
    project = make(
        tmp_path,
        {"models/good.py": DOC_IMPORTS + "\n@datamodel()\nclass Good(Document):\n    x: int\n"},
    )
    (project / "models" / "latin.py").write_bytes(b"# \xe9t\xe9\nX = '\xff'\n")
    analysis = analyse(project)
    assert ("models/latin.py", "JH003") in {(d.path, d.code) for d in analysis.diagnostics}
    assert [m.name for m in analysis.ir.models] == ["Good"]


def test_unannotated_assignment_in_a_document_is_jh202(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "\n@datamodel()\nclass M(Document):\n    x: int\n    title = 'x'\n"
        },
    )
    jh202 = [d for d in analysis.diagnostics if d.code == "JH202"]
    assert [(d.path, d.line, d.col) for d in jh202] == [("models/m.py", 7, 5)]
    assert "title" in jh202[0].message
    assert not analysis.ok


def test_unresolved_type_is_a_jh205_warning(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "from somewhere_else import Thing\n\n"
            + "@datamodel()\nclass M(Document):\n"
            + "    thing: Thing\n    missing: NotImported\n    ok: int\n",
        },
    )
    ir = ok_ir(analysis)  # warnings only
    jh205 = sorted((d.line, d.severity.value) for d in analysis.diagnostics if d.code == "JH205")
    assert jh205 == [(7, "warning"), (8, "warning")]
    m = model(ir, "M")
    assert field(m, "thing").type_info.kind == "unknown"
    assert field(m, "missing").type_info.kind == "unknown"
    assert field(m, "ok").type_info.kind == "int"


def test_a_known_but_unsupported_type_says_so(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "from ipaddress import IPv4Network\nfrom somewhere_else import Thing\n\n"
            + "@datamodel()\nclass M(Document):\n    net: IPv4Network\n    thing: Thing\n",
        },
    )
    by_line = {d.line: d for d in analysis.diagnostics if d.code == "JH205"}
    assert sorted(by_line) == [8, 9]
    assert "ipaddress.IPv4Network is not supported as a field type yet" in by_line[8].message
    assert by_line[8].hint is not None and "scanner" not in by_line[8].hint
    assert by_line[9].hint is not None and "scanner can read" in by_line[9].hint
    assert field(model(ok_ir(analysis), "M"), "net").type_info.kind == "unknown"


def test_duplicate_model_names_across_files_are_jh201(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/a.py": DOC_IMPORTS
            + "\n@datamodel(name='Job')\nclass A(Document):\n    x: int\n",
            "models/b.py": DOC_IMPORTS
            + "\n@datamodel(name='Job')\nclass B(Document):\n    x: int\n",
        },
    )
    jh201 = [d for d in analysis.diagnostics if d.code == "JH201"]
    assert [(d.path, d.line) for d in jh201] == [("models/b.py", 5)]
    assert "models/a.py:5" in jh201[0].message


def test_unknown_model_in_models_in_is_jh302(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/a.py": DOC_IMPORTS
            + "\n@datamodel(name='Job')\nclass A(Document):\n    x: int\n",
            "operations/o.py": "from jobhunter_compiler import operation\n\n"
            "@operation(name='o', models_in=['Job', 'Jbo'])\nasync def o(): ...\n",
        },
    )
    jh302 = [d for d in analysis.diagnostics if d.code == "JH302"]
    assert [(d.path, d.line, d.col) for d in jh302] == [("operations/o.py", 3, 40)]
    assert "Jbo" in jh302[0].message


# -- a few broader properties -----------------------------------------------------------


def test_files_outside_the_configured_folders_are_not_collected(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/a.py": DOC_IMPORTS + "\n@datamodel()\nclass A(Document):\n    x: int\n",
            "scripts/b.py": DOC_IMPORTS + "\n@datamodel()\nclass B(Document):\n    x: int\n",
            "models/.venv/lib/c.py": DOC_IMPORTS
            + "\n@datamodel()\nclass C(Document):\n    x: int\n",
        },
    )
    assert [m.name for m in ok_ir(analysis).models] == ["A"]


def test_src_layout_module_names(tmp_path: Path) -> None:
    ir = ok_ir(
        scan(
            tmp_path,
            {
                "src/shop/__init__.py": "",
                "src/shop/models/__init__.py": "",
                "src/shop/models/item.py": DOC_IMPORTS
                + "from shop.models.base import Base\n\n"
                + "@datamodel()\nclass Item(Base):\n    x: int\n",
                "src/shop/models/base.py": "from beanie import Document\n\n"
                "class Base(Document):\n    sku: str\n",
            },
            config="models: [src/shop/models]\noperations: []\n",
        )
    )
    item = model(ir, "Item")
    assert item.module == "shop.models.item"
    assert item.source.path == "src/shop/models/item.py"
    assert names(item) == ["sku", "x"]


def test_unchanged_files_are_not_parsed_again(tmp_path: Path) -> None:
    project = make(
        tmp_path,
        {
            "models/a.py": DOC_IMPORTS + "\n@datamodel()\nclass A(Document):\n    x: int\n",
            "models/b.py": DOC_IMPORTS + "\n@datamodel()\nclass B(Document):\n    x: int\n",
        },
    )
    first = analyse(project)
    assert first.files_parsed == first.files_scanned == 2
    second = analyse(project)
    assert second.files_parsed == 0 and second.files_scanned == 2
    (project / "models" / "b.py").write_text(
        DOC_IMPORTS + "\n@datamodel()\nclass B(Document):\n    y: int\n"
    )
    third = analyse(project)
    assert third.files_parsed == 1
    assert names(model(ok_ir(third), "B")) == ["y"]
    assert first.ir == second.ir


def test_compile_of_an_inline_project_writes_docs(tmp_path: Path) -> None:
    project = make(
        tmp_path,
        {"models/a.py": DOC_IMPORTS + "\n@datamodel()\nclass A(Document):\n    x: int\n"},
    )
    result = compile_project(project)
    assert result.ok
    assert '"name":"A"' in (project / ".run_cache" / "core_docs" / "metadata.json").read_text()


def test_caret_lines_up_with_the_error_when_the_line_has_tabs(tmp_path: Path) -> None:
    from jobhunter_compiler.diagnostics import render_text

    project = make(tmp_path, {})
    (project / "models").mkdir()
    (project / "models" / "m.py").write_text(
        DOC_IMPORTS + "\n@datamodel()\nclass M(Document):\n\tx: int = = 3\n"
    )
    analysis = analyse(project)
    d = next(d for d in analysis.diagnostics if d.code == "JH001")
    assert (d.line, d.col) == (6, 11)  # the second `=`, counting the tab as one character
    lines = render_text([d], project).splitlines()
    source = next(line for line in lines if line.startswith("6 | "))
    caret = next(line for line in lines if line.rstrip().endswith("^"))
    position = len(caret.rstrip()) - 1
    assert source[position] == "=" and source[position - 2] == "=", f"\n{source}\n{caret}"
