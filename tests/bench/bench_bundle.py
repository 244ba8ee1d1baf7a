"""The admin's JavaScript as the build ships it (`make bench`): the demo's total, its largest
file, and how much the first screens fetch.

Scaffolds the demo as `make demo` does, and the same demo with `api.auth: users`, compiles
both and builds their admins (`npm run build`, with Vite's manifest). A first screen's bytes
are those of the entry and the page with every chunk they import statically (what the
browser fetches: tests/test_frontend_browser.py checks the two agree): the dashboard of the
demo, and the sign-in page of the demo with sign-in. Sizes are raw bytes, not gzipped,
against the target of a third of the 1.88 MB single file the admin used to be. Prints one
JSON document; a missed target is a finding to report, not a failure.

Usage: python tests/bench/bench_bundle.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
for _path in (REPO, REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from frontend_app import build, built_js, first_load, frontend_dir  # noqa: E402

JOBHUNTER = [sys.executable, "-m", "jobhunter_compiler"]
TARGET_BYTES = 627_000
SCREENS = {"demo": ("dashboard", "pages/Dashboard.tsx"), "users": ("sign_in", "pages/SignIn.tsx")}


def compiled_demo(folder: Path, extra_config: str = "") -> Path:
    subprocess.run([*JOBHUNTER, "demo", "--force", str(folder)], check=True, capture_output=True)
    if extra_config:
        with (folder / ".jobhunter.yml").open("a", encoding="utf-8") as config:
            config.write(extra_config)
    subprocess.run([*JOBHUNTER, "compile"], cwd=folder, check=True, capture_output=True)
    return frontend_dir(folder)


def figures(frontend: Path, screen: str, page: str) -> dict[str, Any]:
    build(frontend)
    files = built_js(frontend)
    largest = max(files, key=lambda name: files[name])
    loaded = first_load(frontend, page)
    first = sum(loaded.values())
    return {
        "total_js_bytes": sum(files.values()),
        "js_files": len(files),
        "largest_file": {"name": largest, "bytes": files[largest]},
        f"first_load_{screen}": {
            "bytes": first,
            "files": len(loaded),
            "target_bytes": TARGET_BYTES,
            "pass": first <= TARGET_BYTES,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build in this folder and leave it there")
    args = parser.parse_args()
    if shutil.which("npm") is None:
        print("bench_bundle: needs node and npm (make system-deps)", file=sys.stderr)
        return 1
    work = args.keep or Path(tempfile.mkdtemp(prefix="jobhunter-bench-bundle-"))
    try:
        report: dict[str, Any] = {"benchmark": "admin_bundle"}
        for name, extra_config in (("demo", ""), ("users", "\napi:\n  auth: users\n")):
            screen, page = SCREENS[name]
            frontend = compiled_demo(work / name, extra_config)
            report[name] = figures(frontend, screen, page)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
