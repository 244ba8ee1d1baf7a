"""Same input -> byte-identical output, whatever the folder, file-system order,
PYTHONHASHSEED, time zone or clock: committed output must not churn between machines."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from jobhunter_compiler.pipeline import compile_project

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"
OUTPUT = ".run_cache"
IGNORED = shutil.ignore_patterns("__pycache__", ".run_cache", ".jobhunter_cache")


def source_files(root: Path) -> list[Path]:
    """Every file of the demo project (relative), in a stable order."""
    return sorted(
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and not {"__pycache__", ".run_cache", ".jobhunter_cache"} & set(p.parts)
    )


def copy_in_order(source: Path, destination: Path, order: list[Path], mtime_seed: int) -> None:
    """Create the files of `source` under `destination` in `order`, each with its own
    pseudo-random mtime, so directory order and timestamps differ between copies."""
    rng = random.Random(mtime_seed)
    for relative in order:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((source / relative).read_bytes())
        stamp = rng.randint(1_000_000_000, 1_900_000_000)
        os.utime(target, ns=(stamp * 10**9, stamp * 10**9 + rng.randint(0, 10**9 - 1)))


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def compile_in_subprocess(
    project: Path, *, hashseed: str, cwd: Path, tz: str, project_arg: str, locale: str = "C.UTF-8"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONHASHSEED": hashseed,
        "TZ": tz,
        "LC_ALL": locale,
        "LANG": locale,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobhunter_compiler",
            "compile",
            "--project",
            project_arg,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"compile of {project} failed:\n{proc.stdout}\n{proc.stderr}"
    assert (project / OUTPUT / "manifest.json").is_file()
    return proc


def test_two_folders_two_hash_seeds_identical_bytes(tmp_path: Path) -> None:
    files = source_files(DEMO)
    assert len(files) >= 10, files

    first = tmp_path / "a" / "demo"
    copy_in_order(DEMO, first, files, mtime_seed=1)
    # Deeper, differently named, files created in reverse order with other mtimes.
    second = tmp_path / "some where" / "much" / "deeper" / "ProjectCopy-2"
    copy_in_order(DEMO, second, list(reversed(files)), mtime_seed=2)

    # Relative --project from its parent vs absolute --project from elsewhere.
    compile_in_subprocess(first, hashseed="0", cwd=first.parent, tz="UTC", project_arg="demo")
    compile_in_subprocess(
        second,
        hashseed="12345",
        cwd=tmp_path,
        tz="Asia/Kathmandu",
        project_arg=str(second),
        locale="C",
    )

    a, b = tree(first / OUTPUT), tree(second / OUTPUT)
    assert "manifest.json" in a
    assert "core_docs/metadata.json" in a
    assert sorted(a) == sorted(b), "the two compiles produced different file sets"
    different = [path for path in a if a[path] != b[path]]
    assert not different, f"files differ between the two folders: {different}"


def test_output_does_not_depend_on_the_in_process_hash_seed_or_parse_order(
    tmp_path: Path,
) -> None:
    """The in-process compile (what tests and `watch` use) matches a fresh subprocess."""
    files = source_files(DEMO)
    here = tmp_path / "inproc"
    copy_in_order(DEMO, here, files, mtime_seed=3)
    there = tmp_path / "subproc"
    copy_in_order(DEMO, there, list(reversed(files)), mtime_seed=4)

    assert compile_project(here).ok
    compile_in_subprocess(there, hashseed="987654", cwd=tmp_path, tz="UTC", project_arg="subproc")

    assert tree(here / OUTPUT) == tree(there / OUTPUT)


def test_second_compile_in_place_changes_nothing(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(DEMO, project, ignore=IGNORED)

    first = compile_project(project)
    assert first.ok, first.diagnostics
    assert first.plan is not None and first.plan.added, "the first compile wrote nothing"
    before = tree(project / OUTPUT)
    stats = {p: os.stat(project / OUTPUT / p) for p in before}

    time.sleep(0.01)  # a rewrite would show in mtime_ns
    second = compile_project(project)
    assert second.ok
    assert second.plan is not None
    assert (second.plan.added, second.plan.changed, second.plan.removed) == ([], [], [])
    assert sorted(second.plan.unchanged) == sorted(before)
    assert not second.stale
    assert tree(project / OUTPUT) == before
    for path, stat in stats.items():
        now = os.stat(project / OUTPUT / path)
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), path

    check = compile_project(project, mode="check")
    assert check.ok and not check.stale and check.diff == ""


def test_output_has_no_absolute_path_and_no_timestamp(tmp_path: Path) -> None:
    project = tmp_path / "unusual-Dir_name" / "demo"
    shutil.copytree(DEMO, project, ignore=IGNORED)
    assert compile_project(project).ok

    outputs = tree(project / OUTPUT)
    assert outputs
    now_local, now_utc = dt.datetime.now(), dt.datetime.now(dt.UTC)
    dates = set()
    for now in (now_local, now_utc):
        for fmt in (
            "%Y-%m-%d",
            "%Y%m%d",
            "%d/%m/%Y",
            "%m/%d/%Y",
            "%d.%m.%Y",
            "%b %d %Y",
            "%d %b %Y",
        ):
            dates.add(now.strftime(fmt))
    epoch = int(time.time())
    forbidden_paths = {
        str(tmp_path),
        str(project),
        str(project.resolve()),
        str(REPO_ROOT),
        "unusual-Dir_name",
        os.path.expanduser("~"),
    }
    iso_timestamp = re.compile(rb"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
    for path, content in outputs.items():
        text = content.decode("utf-8")
        for needle in forbidden_paths:
            assert needle not in text, f"{path} contains the path {needle!r}"
        for date in dates:
            assert date not in text, f"{path} contains today's date {date!r}"
        assert not iso_timestamp.search(content), f"{path} contains a timestamp"
        for number in re.findall(r"(?<![\w.])\d{10}(?![\w.])", text):
            assert (
                not epoch - 3 * 86400 < int(number) < epoch + 86400
            ), f"{path} contains a current unix time {number}"


def _many_models(project: Path, count: int) -> None:
    """`count` model files (with enums, links and a shared base): enough to parse in a
    process pool."""
    models = project / "models"
    models.mkdir(parents=True)
    (models / "__init__.py").write_text("")
    (models / "base.py").write_text(
        "from beanie import Document\n\nclass Base(Document):\n    tenant: str = 'main'\n"
    )
    for i in range(count):
        link = f"    previous: Optional[Link['M{i - 1}']] = None\n" if i else ""
        imports = f"from .m{i - 1} import M{i - 1}\n" if i else ""
        (models / f"m{i}.py").write_text(
            "from enum import Enum\nfrom typing import Literal, Optional\n"
            "from beanie import Link\nfrom pydantic import Field\n"
            "from jobhunter_compiler import datamodel\nfrom .base import Base\n"
            + imports
            + f"\n\nclass Kind{i}(str, Enum):\n    A = 'a{i}'\n    B = 'b{i}'\n\n\n"
            f"@datamodel(name='M{i}', tags=['t{i % 7}'])\nclass M{i}(Base):\n"
            f"    name: str = Field(min_length=1, description='Model {i}')\n"
            f"    kind: Kind{i} = Kind{i}.A\n"
            f"    mode: Literal['x', 'y'] = 'x'\n" + link
        )


def test_parallel_and_serial_parsing_give_identical_bytes(tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    _many_models(serial, 70)
    _many_models(parallel, 70)
    first = compile_project(serial, jobs=1)
    second = compile_project(parallel, jobs=2)
    assert first.ok, first.diagnostics
    assert second.ok, second.diagnostics
    assert len(first.ir.models) == 70
    assert first.analysis.files_parsed == second.analysis.files_parsed == 72
    assert tree(serial / OUTPUT) == tree(parallel / OUTPUT)
