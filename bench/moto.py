"""moto's server on a free port of 127.0.0.1 for a benchmark's run (``ob1_gateway.devstack``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from ob1_gateway import devstack


@contextmanager
def running_moto() -> Iterator[str]:
    """The endpoint URL of a moto server that stops when the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = devstack.moto_server("127.0.0.1", port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
