"""Deterministic synthetic jobhunter projects for the compile benchmark.

`generate(root, n)` writes a project of `n` model modules and `n` operation modules shaped
like a real user's: domain packages that re-export their models, an undecorated base
document, shared enums and schemas, links between models, and the common field spellings
(`Optional`/`| None`, `Field(...)`, `Annotated`, `Indexed`, `Link`, Enum, `Literal` and its
aliases, `ClassVar`, private attributes). The same `n` always gives the same bytes (seeded
RNGs, no clock, sorted output), so timings of two runs compare like with like.

Usage: python tests/bench/synth.py OUT_DIR --n 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

from synth_models import BASE_MODULE, build_model, render_domain_init, render_enums, render_model
from synth_operations import (
    COMMON_SCHEMAS,
    build_operation,
    domains_of,
    render_domain_schemas,
    render_operation,
)

CONFIG = """# Synthetic project written by tests/bench/synth.py.
project: {name}
models:
  - models
operations:
  - operations
"""
TOUCH_PREFIX = "bench_note_"


def project_files(n: int) -> dict[str, str]:
    """Every file of the `n`-model project, by path relative to its root."""
    models = [build_model(i) for i in range(n)]
    files: dict[str, str] = {
        ".jobhunter.yml": CONFIG.format(name=f"synth_{n}"),
        "models/__init__.py": '"""The project\'s Beanie documents, one domain per package."""\n',
        "models/base.py": BASE_MODULE,
        "models/enums.py": render_enums(),
        "operations/__init__.py": '"""The project\'s operations, one domain per package."""\n',
        "operations/schemas/__init__.py": '"""Schemas shared by several operations."""\n',
        "operations/schemas/common.py": COMMON_SCHEMAS,
    }
    for domain in domains_of(models):
        files[f"models/{domain}/__init__.py"] = render_domain_init(domain, models)
        files[f"operations/{domain}/__init__.py"] = f'"""Operations of the {domain} domain."""\n'
        files[f"operations/schemas/{domain}.py"] = render_domain_schemas(domain)
    for model in models:
        files[model.path] = render_model(model)
        path, text = render_operation(build_operation(model))
        files[path] = text
    return dict(sorted(files.items()))


def generate(root: Path, n: int) -> None:
    """Write the `n`-model project under `root` (created if missing)."""
    for rel, text in project_files(n).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")


def touch_one_model(root: Path, n: int) -> Path:
    """Add one optional field to a model in the middle of the project, as a user would.

    Each call adds a new field (`bench_note_1`, `bench_note_2`, ...), so every call is a
    real change that no content-hash cache has seen. Returns the edited file.
    """
    model = build_model(n // 2)
    path = root / model.path
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    count = sum(line.startswith(f"    {TOUCH_PREFIX}") for line in lines)
    # The document class ends the file: its last field is just before `class Settings`'s
    # blank line, or is the file's last line.
    at = next(
        (k - 1 for k, line in enumerate(lines) if line == "    class Settings:\n"), len(lines)
    )
    lines.insert(at, f"    {TOUCH_PREFIX}{count + 1}: str | None = None\n")
    path.write_text("".join(lines), encoding="utf-8", newline="\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n", type=int, default=100, help="number of models and operations")
    args = parser.parse_args()
    generate(args.out_dir, args.n)
    print(f"wrote {len(project_files(args.n))} files to {args.out_dir}")


if __name__ == "__main__":
    main()
