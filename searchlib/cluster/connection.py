"""Connection: a Dask client for a scheduler address, with the failures a user can act on.

`connect(address)` checks first that something listens at the address (a refused or silent port
is reported at once, without building a Client that would then try to close a connection it
never had), then opens a `distributed.Client` that is not made Dask's default, so a program's own
Dask work is not sent to it. A missing `distributed` package is a ClusterUnavailableError.
"""
from __future__ import annotations

import gc
import socket
import threading
from typing import Any

from ..errors import ArgumentError, ClusterUnavailableError, ClusterUnreachableError

DEFAULT_PORT = 8786  # `dask scheduler`'s


def require_distributed():
    """The `distributed` module, or ClusterUnavailableError when it is not installed."""
    try:
        import distributed
    except ImportError:
        raise ClusterUnavailableError("Dask's distributed package") from None
    return distributed


def is_client(value: Any) -> bool:
    """Whether `value` is a `distributed.Client` (without importing Dask when it cannot be one)."""
    module = type(value).__module__ or ""
    if not module.startswith("distributed"):
        return False
    return isinstance(value, require_distributed().Client)


def host_and_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a tcp:// address (or a bare HOST[:PORT]); None for the other schemes
    Dask knows (tls://, ws://, ...), which are left to Dask to reach."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        return None
    rest = rest.rstrip("/")
    if rest.startswith("["):  # [::1]:8786
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port_text = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if not host:
        raise ArgumentError("cluster", address, "not a scheduler address such as tcp://HOST:8786")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ArgumentError("cluster", address, "its port is not a number from 1 to 65535")
    return host, int(port_text)


def probe(address: str, target: tuple[str, int], timeout: float) -> None:
    """Raise ClusterUnreachableError unless something at `target` accepts a connection and
    speaks first, as a Dask scheduler does (its handshake): a port that accepts and stays silent
    would otherwise keep a Client waiting past its own timeout."""
    try:
        with socket.create_connection(target, timeout=timeout) as sock:
            sock.settimeout(timeout)
            if not sock.recv(1):
                raise ClusterUnreachableError(address, "the connection was closed at once "
                                                       "(is that a Dask scheduler's port?)")
    except socket.timeout:
        raise ClusterUnreachableError(address, f"no answer in {timeout:g} s") from None
    except OSError as exc:
        raise ClusterUnreachableError(address, exc.strerror or str(exc)) from None


def connect(address: str, *, timeout: float = 10.0):
    """A `distributed.Client` connected to the scheduler at `address`, not Dask's default client.
    The caller closes it. Raises ClusterUnavailableError, ClusterUnreachableError, ArgumentError."""
    if not isinstance(address, str) or not address.strip():
        raise ArgumentError("cluster", address, "not a scheduler address such as tcp://HOST:8786")
    address = address.strip()
    target = host_and_port(address)
    distributed = require_distributed()
    if target is not None:
        probe(address, target, timeout)
    made: list = []
    settled = threading.Lock()  # (the caller takes what was made, or gives up: not both)
    given_up: list = []

    def make() -> None:
        try:
            client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except BaseException as exc:  # (raised in the caller's thread below)
            exc.__traceback__ = None
            with settled:
                made.append(exc)
            del exc
            # the half-made Client is in a reference cycle, and its __del__ stops its IO loop
            # under a lock all of Dask's loop runners share: collected later, inside another
            # Client's start (which holds that lock), it would deadlock that thread. Now.
            gc.collect()
            return
        with settled:
            if not given_up:
                made.append(client)
                return
        client.close()  # (made after the caller gave up: nobody else would close it)

    # a port that answers the probe and then stalls keeps Dask's Client waiting past its own
    # timeout: it is made in a thread of its own, and given up on a little after the timeout
    maker = threading.Thread(target=make, name="searchlib-cluster-connect", daemon=True)
    maker.start()
    maker.join(timeout + 2)
    with settled:
        given_up.append(True)
    if not made:
        raise ClusterUnreachableError(address, f"no scheduler answered in {timeout:g} s")
    outcome = made[0]
    if isinstance(outcome, ValueError):  # an unknown scheme, a malformed address
        said = str(outcome) if "scheme" in str(outcome) or "address" in str(outcome) else ""
        # (Dask's own words when they are about the address; not e.g. inproc://'s unpacking error)
        raise ArgumentError("cluster", address, "not a scheduler address such as tcp://HOST:8786"
                                                + (f" ({said})" if said else "")) from None
    if isinstance(outcome, (OSError, TimeoutError)):  # something listens, but no scheduler answered
        raise ClusterUnreachableError(address, str(outcome) or "no scheduler answered") from None
    if isinstance(outcome, (MemoryError, EOFError, TypeError, KeyError, IndexError)):
        # (what answered speaks, but not Dask: e.g. a web server's reply read as a frame length)
        raise ClusterUnreachableError(address, "what answered there is not a Dask scheduler "
                                               f"({type(outcome).__name__})") from None
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


class Connection:
    """A cluster as an Index holds it: a scheduler address, connected on first use (so an index
    that never needs the cluster never loads Dask), or a Client the caller made and closes."""

    def __init__(self, cluster, *, timeout: float = 10.0):
        if isinstance(cluster, str):
            if not cluster.strip():
                raise ArgumentError("cluster", cluster, "not a scheduler address such as tcp://HOST:8786")
            host_and_port(cluster.strip())  # a malformed address: ArgumentError now, not at first use
            self.address, self._client, self._own = cluster.strip(), None, True
        elif is_client(cluster):
            self.address, self._client, self._own = cluster.scheduler.address, cluster, False
        else:
            raise ArgumentError("cluster", cluster, "a scheduler address such as tcp://HOST:8786 "
                                                    "or a distributed.Client")
        self.timeout = timeout

    @property
    def client(self):
        if self._client is None:
            self._client = connect(self.address, timeout=self.timeout)
        return self._client

    def close(self) -> None:
        """Close the client if it was made here (the next use connects again)."""
        if self._own and self._client is not None:
            client, self._client = self._client, None
            client.close()

    def __repr__(self) -> str:
        return f"Connection({self.address!r})"
