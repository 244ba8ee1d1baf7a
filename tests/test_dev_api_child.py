"""The API child of `jobhunter dev` (devserver/api_child.py) on its own: a reload's drain
answers every request on a connection it accepted, closing it after, and accepts no more;
Ctrl-C from `dev` stops it at once without a traceback; it stops when `dev` is gone.

Each case sends raw HTTP/1.1 on a socket, so when a request is sent (before or after the
child was told to stop) is exact, not left to a client's connection pool."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from jobhunter_compiler.devserver import api_child
from jobhunter_compiler.devserver.serve import log_config

APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = f"answered by {__import__('os').getpid()}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""
REQUEST = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
WAIT_S = 30.0
SETTLE_S = 0.3
"""Time for the child to accept a connection, or to act on a signal (it looks every 0.1 s)."""


class Child:
    """`python -m jobhunter_compiler.devserver.api_child` as `dev` starts it."""

    def __init__(
        self, folder: Path, listener: socket.socket, parent_read: int, app: str = APP
    ) -> None:
        (folder / "tiny_app.py").write_text(app, encoding="utf-8")
        logging = folder / "log-config.json"
        logging.write_text(json.dumps(log_config()), encoding="utf-8")
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the fixture
        fd = listener.fileno()
        command = [sys.executable, "-m", api_child.__name__, "tiny_app:app", "--fd", str(fd)]
        self.process = subprocess.Popen(
            [*command, "--parent-fd", str(parent_read), "--log-config", str(logging)],
            cwd=folder,
            pass_fds=(fd, parent_read),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_started(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while "Application startup complete." not in self.output():
            assert self.process.poll() is None and time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait(self) -> int:
        return self.process.wait(WAIT_S)


class Setup:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.set_inheritable(True)
        self.port = self.listener.getsockname()[1]
        self.parent_read, self.parent_write = os.pipe()
        self.children: list[Child] = []

    def child(self, app: str = APP, started: bool = True) -> Child:
        child = Child(self.folder, self.listener, self.parent_read, app)
        self.children.append(child)
        if started:
            child.wait_started()
        return child

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=WAIT_S)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = Setup(tmp_path)
    yield made
    for child in made.children:
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait()
        child.log.close()
    made.listener.close()
    os.close(made.parent_read)
    os.close(made.parent_write)


def response(connection: socket.socket) -> bytes:
    """One response read to the end of its body ("" if the server closed first)."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < body_length(data):
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def body_length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            return int(value)
    return 0


def closed_by_server(connection: socket.socket) -> bool:
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_draining_child_answers_the_connections_it_accepted_and_accepts_no_more(
    setup: Setup,
) -> None:
    old = setup.child()
    old_pid = f"answered by {old.process.pid}".encode()
    fresh = setup.connect()  # accepted, no request yet
    idle = setup.connect()  # keep-alive, idle after a first request
    idle.sendall(REQUEST)
    first = response(idle)
    assert first.startswith(b"HTTP/1.1 200") and old_pid in first
    assert b"connection: close" not in first.lower()
    time.sleep(SETTLE_S)

    old.process.send_signal(signal.SIGTERM)  # a reload: a newer child serves the socket
    time.sleep(SETTLE_S)
    late = setup.connect()  # queued on the socket: not the draining child's any more
    for connection in (fresh, idle):
        connection.sendall(REQUEST)
        answer = response(connection)
        assert answer.startswith(b"HTTP/1.1 200") and old_pid in answer, answer
        assert b"connection: close" in answer.lower(), answer
        assert closed_by_server(connection)
    assert old.wait() == 0, old.output()

    new = setup.child()
    late.sendall(REQUEST)
    answer = response(late)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert f"answered by {new.process.pid}".encode() in answer
    assert "Traceback" not in old.output() + new.output()


def test_a_draining_child_closes_an_idle_connection_after_the_drain(setup: Setup) -> None:
    """A connection that never sends a request does not keep the child alive."""
    child = setup.child()
    idle = setup.connect()
    time.sleep(SETTLE_S)
    started = time.monotonic()
    child.process.send_signal(signal.SIGTERM)
    assert child.wait() == 0, child.output()
    assert time.monotonic() - started < api_child.DRAIN_S + 5
    assert closed_by_server(idle)


def test_sigint_stops_a_child_at_once_even_while_it_drains(setup: Setup) -> None:
    child = setup.child()
    idle = setup.connect()
    time.sleep(SETTLE_S)
    child.process.send_signal(signal.SIGTERM)
    time.sleep(SETTLE_S)
    started = time.monotonic()
    child.process.send_signal(signal.SIGINT)
    child.process.send_signal(signal.SIGINT)
    assert child.wait() == 0, child.output()
    assert time.monotonic() - started < api_child.DRAIN_S
    assert closed_by_server(idle)
    assert "Traceback" not in child.output()


def test_a_child_stops_when_its_parent_is_gone(setup: Setup) -> None:
    child = setup.child()
    os.close(setup.parent_write)  # what the kernel does when `dev` dies, however it dies
    setup.parent_write = os.open(os.devnull, os.O_WRONLY)  # for the fixture to close
    assert child.wait() == 0, child.output()
    assert "Traceback" not in child.output()


def test_a_child_stopped_while_it_imports_the_app_prints_no_traceback(setup: Setup) -> None:
    """`dev` gives up on a new child that takes too long to start."""
    child = setup.child("import time\nprint('importing', flush=True)\ntime.sleep(60)\n", False)
    deadline = time.monotonic() + WAIT_S
    while "importing" not in child.output():
        assert time.monotonic() < deadline, child.output()
        time.sleep(0.05)
    child.process.send_signal(signal.SIGINT)
    assert child.wait() == -signal.SIGINT
    assert "Traceback" not in child.output()
