"""`jobhunter dev` with the admin on Vite's dev server, from a fresh project: the first `dev`
installs the admin's dependencies itself (`npm ci`, from npm's cache and registry as the
other frontend tests install them), and Vite, in a session of its own like the API
children, stops with `dev` however it stops: Ctrl-C twice at the terminal, or killed
outright."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest
from frontend_app import frontend_dir
from test_init_run import (
    Runner,
    port_free,
    process_group,
    process_tree,
    scaffolded,
    wait_gone,
)

from jobhunter_compiler.devserver.embedded_mongo import free_port
from jobhunter_compiler.pipeline import compile_project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm"),
]

INSTALL_TIMEOUT_S = 600.0
"""`npm ci` takes about 12 s from a warm cache on a quiet machine; a loaded one is slower."""


def serving_admin(runner: Runner, admin: str) -> None:
    """Wait until Vite's dev server answers (after `dev`'s `npm ci`, on a first run)."""
    deadline = time.monotonic() + INSTALL_TIMEOUT_S
    while time.monotonic() < deadline:
        assert runner.process.poll() is None, runner.output()
        try:
            if httpx.get(admin, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{admin} never answered:\n{runner.output()}")


def test_first_dev_installs_the_admin_and_vite_stops_with_dev(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    assert compile_project(project).ok
    node_modules = frontend_dir(project) / "node_modules"
    assert not node_modules.exists()

    # First `dev`: it runs `npm ci`, then Vite serves the admin and forwards /api.
    admin_port = free_port()
    admin = f"http://127.0.0.1:{admin_port}"
    command = ("dev", "--frontend-port", str(admin_port))
    first = Runner(project, free_port(), free_port(), command=command)
    try:
        first.wait_healthy()
        serving_admin(first, admin)
        assert node_modules.is_dir() and not node_modules.is_symlink()
        installed = (node_modules / ".package-lock.json").stat().st_mtime_ns
        assert httpx.get(f"{admin}/api/", timeout=10).status_code == 200
        assert f"frontend  {admin}/" in first.output()
        children = process_tree(first.process.pid)
        # A Ctrl-C at the terminal (to the foreground process group) reaches `dev` alone.
        assert [process_group(pid) for pid in children].count(first.process.pid) == 0
        before_stop = len(first.output())
        os.killpg(first.process.pid, signal.SIGINT)  # Ctrl-C twice: the second one is ignored
        assert first.stop(signal.SIGINT, group=True) == 0, first.output()
        assert "Traceback" not in first.output()[before_stop:], first.output()
        assert wait_gone(children) == [], first.output()
        assert port_free(admin_port) and port_free(first.port) and port_free(first.mongo_port)
    finally:
        first.kill()

    # Second `dev`: no install; killed outright, it leaves no Vite (nor anything) behind.
    second = Runner(project, first.port, first.mongo_port, command=command)
    try:
        second.wait_healthy()
        serving_admin(second, admin)
        assert (node_modules / ".package-lock.json").stat().st_mtime_ns == installed
        children = process_tree(second.process.pid)
        assert second.stop(signal.SIGKILL) == -signal.SIGKILL
        assert wait_gone(children) == [], "a child outlived a killed `jobhunter dev`"
        assert port_free(admin_port) and port_free(second.port) and port_free(second.mongo_port)
    finally:
        second.kill()
