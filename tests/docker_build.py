"""A Docker build of the API image, simulated without an engine: the build context as the
emitted ignore file leaves it, and a fresh virtual environment that installs exactly what
the Dockerfile's `pip install` does. Every value is read from the emitted files."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lockfile import VENV_TOOLS
from packaging.utils import canonicalize_name

IMAGE_ROOT = PurePosixPath("/app")
"""The API image's WORKDIR, where the build context is copied."""


def _segment_regex(segment: str) -> str:
    """One path segment of a pattern: `*`, `?` and `[...]` classes, as Go's Match reads them."""
    out, i = [], 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and "]" in segment[i + 1 :]:
            end = segment.index("]", i + 1)
            body = segment[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body[:1] in "^!" and body else body) + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's ignore pattern (Go's filepath.Match, plus `**` for any number of folders),
    anchored at the context root."""
    segments = [
        "(?:[^/]+/)*" if segment == "**" else _segment_regex(segment) + "/"
        for segment in PurePosixPath(pattern.strip("/")).parts
    ]
    return re.compile("".join(segments).removesuffix("/") + r"\Z")


def ignore_rules(dockerignore: Path) -> Callable[[str], bool]:
    """Whether a context-relative POSIX path is left out: the last rule that matches the
    path or one of its parent folders decides (`!` rules bring paths back)."""
    rules = []
    for line in dockerignore.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            rules.append((keep, _pattern_regex(line.removeprefix("!"))))

    def ignored(path: str) -> bool:
        parts = PurePosixPath(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        verdict = False
        for keep, regex in rules:
            if any(regex.match(prefix) for prefix in prefixes):
                verdict = not keep
        return verdict

    return ignored


def copy_context(root: Path, dockerignore: Path, target: Path) -> list[str]:
    """Copy the build context at `root` to `target` as `COPY . /app` would take it; return
    the copied files' relative paths."""
    ignored = ignore_rules(dockerignore)
    copied = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and not ignored(relative):
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied.append(relative)
    return copied


@dataclass(frozen=True)
class ImageEnvironment:
    python: Path
    """The fresh environment's interpreter, standing in for the image's `python`."""
    env: dict[str, str]
    """The Dockerfile's ENV, with paths under /app moved to the copied context."""

    def distributions(self) -> dict[str, str]:
        """Canonical name -> version of everything installed in the environment but what
        a new environment (or the Python image) brings along."""
        listing = subprocess.run(
            [str(self.python), "-m", "pip", "list", "--format=freeze", "--exclude", "pip"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        pairs = (line.partition("==") for line in listing.splitlines())
        return {
            canonicalize_name(name): version
            for name, _, version in pairs
            if canonicalize_name(name) not in VENV_TOOLS
        }


def install_like_the_image(
    rows: list[tuple[str, str]], context: Path, target: Path
) -> ImageEnvironment:
    """A fresh virtual environment at `target` that runs the Dockerfile's `pip install`
    (the first command of the RUN that calls pip) on the files its COPY put in place."""
    copies = {}
    for word, args in rows:
        if word == "COPY":
            source, destination = shlex.split(args)
            if source != ".":  # `COPY . /app` is the context itself
                copies[destination] = context / source
    install = next(args for word, args in rows if word == "RUN" and "pip install" in args)
    argv = shlex.split(install.split("&&")[0])
    assert argv[:2] == ["pip", "install"], argv
    argv = [str(copies.get(arg, arg)) for arg in argv[2:] if arg != "--no-cache-dir"]
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    python = target / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *argv],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    env = {}
    for word, args in rows:
        if word == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                env[key] = value.replace(str(IMAGE_ROOT), str(context))
    return ImageEnvironment(python=python, env=env)
