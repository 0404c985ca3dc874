"""Web: the archive as a local web page (`search serve`), on the same index as the terminal.

Stage: presentation, beside cli.py. Needs the `web` extra (Starlette, Jinja2, uvicorn), imported
only here, when a page is served, so the terminal tool stays light: without it, `serve` and
`create_app` raise WebUnavailableError with the command that installs it. The pages call the
library (`searchlib.Index`) and share `render` with the CLI; see app.py.
"""
from __future__ import annotations

import importlib
import ipaddress
import os
import socket
from pathlib import Path
from typing import Callable

from ..errors import ListenError, WebUnavailableError

REQUIRED = ("starlette", "jinja2", "uvicorn")  # the web extra's packages, by import name
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")  # Host headers a local page answers


def require() -> None:
    """Raise WebUnavailableError naming the first package of the web extra that is missing."""
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError:
            raise WebUnavailableError(name) from None


def create_app(index_path: str | os.PathLike, **options):
    """The ASGI application serving the index at `index_path` (see app.create_app)."""
    require()
    from .app import create_app as make
    return make(Path(index_path), **options)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free one), or ListenError saying why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ListenError(host, port, f"no such host here ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (not over a listening socket)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        problem = ("the port is taken; choose another with --port" if exc.errno == 98
                   else f"{exc.strerror or exc}")
        raise ListenError(host, port, problem) from None
    return sock


def is_local(sock: socket.socket) -> bool:
    """Whether the socket listens on a loopback address only (this machine alone can reach it)."""
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def serve(index_path: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, *,
          ready: Callable[[str, bool], None] | None = None) -> None:
    """Serve the index's web page until interrupted. The port is taken first (ListenError), then
    the index opened (a missing one is IndexNotFoundError); then `ready(url, local)` is called,
    so the caller can say where it listens and whether only this machine can reach it."""
    require()
    import uvicorn
    sock = listen(host, port)
    try:
        local = is_local(sock)
        # A page on localhost is reachable by other sites' pages through DNS rebinding unless the
        # Host header is checked; bound beyond localhost, the user chose who may reach it.
        app = create_app(index_path, hosts=LOCAL_HOSTS if local else ("*",))
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        if ready:
            ready(f"http://{shown}:{bound_port}/", local)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
