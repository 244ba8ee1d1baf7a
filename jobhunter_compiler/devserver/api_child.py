"""One API child of `jobhunter dev`: uvicorn serving the generated app on the listening
socket `dev` holds and hands down, stopped by `dev` alone.

`dev` starts each child in a session of its own, so a Ctrl-C at the terminal reaches only
`dev`, and tells it how to stop:
- SIGTERM, when a newer child serves the same socket (a reload): stop accepting at once
  (connections still queued on the socket go to the newer child) and drain the connections
  already accepted: every request on them is answered, with `Connection: close` so the
  client's next request opens a connection to the newer child. Once none is left (at most
  DRAIN_S: a keep-alive connection that stays idle closes by uvicorn's keep-alive timeout,
  as it would without a reload), the server shuts down as uvicorn does. What remains is
  HTTP/1.1's own race: a request the client sends on an idle keep-alive connection just as
  the server closes it gets no answer (browsers send an idempotent one again; other
  clients may not).
- SIGINT, when `dev` stops: uvicorn's graceful shutdown right away (requests in progress
  finish within GRACEFUL_S); it also cuts a drain short.
- The read end of a pipe whose write end only `dev` holds: when it closes, `dev` is gone
  (killed outright, even), so the child stops as on SIGINT and leaves no port held.

Usage: python -m jobhunter_compiler.devserver.api_child MODULE:APP --fd N --parent-fd N
           --log-config FILE
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from types import FrameType
from typing import Any

import uvicorn

DRAIN_S = 6.0
"""Longest wait for the accepted connections to close (uvicorn's keep-alive timeout, 5 s,
closes an idle one)."""
GRACEFUL_S = 5
"""How long requests still in progress at shutdown (a stream, say) may run before they are
cancelled."""
POLL_S = 0.05

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClosingWhenDraining:
    """ASGI middleware: while the child drains, every response closes its connection."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.draining:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_closing)


class DrainingServer(uvicorn.Server):
    """uvicorn's server, stopped as the module's docstring says."""

    def __init__(self, config: uvicorn.Config, app: ClosingWhenDraining, parent_fd: int) -> None:
        super().__init__(config)
        self.middleware = app
        self.parent_fd = parent_fd

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's: it would raise the signal again once stopped (a traceback for SIGINT).
        self.middleware.draining = sig == signal.SIGTERM and not self.should_exit
        self.should_exit = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().add_reader(self.parent_fd, self._parent_gone)
        await super().startup(sockets)

    def _parent_gone(self) -> None:
        asyncio.get_running_loop().remove_reader(self.parent_fd)
        self.middleware.draining = False
        self.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.middleware.draining:
            for server in self.servers:
                server.close()
            deadline = asyncio.get_running_loop().time() + DRAIN_S
            while (
                self.middleware.draining
                and self.server_state.connections
                and asyncio.get_running_loop().time() < deadline
            ):
                await asyncio.sleep(POLL_S)
        await super().shutdown(sockets)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobhunter_compiler.devserver.api_child")
    parser.add_argument("app", help="MODULE:ATTRIBUTE of the ASGI app")
    parser.add_argument("--fd", type=int, required=True, help="the listening socket")
    parser.add_argument("--parent-fd", type=int, required=True, help="closes when `dev` exits")
    parser.add_argument("--log-config", required=True)
    args = parser.parse_args(argv)
    module, _, attribute = args.app.partition(":")
    # Until it serves, a signal from `dev` ends the child quietly: no KeyboardInterrupt
    # traceback from the middle of the app's import.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # An app that fails to import: its traceback on `dev`'s terminal says why.
    app = ClosingWhenDraining(getattr(importlib.import_module(module), attribute))
    config = uvicorn.Config(
        app,
        fd=args.fd,
        log_config=args.log_config,
        timeout_graceful_shutdown=GRACEFUL_S,
    )
    DrainingServer(config, app, args.parent_fd).run()


if __name__ == "__main__":
    main()
