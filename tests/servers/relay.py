"""A TCP relay that notes when the client hangs up, to watch a real server's connections.

Against a real server (llama-cpp-python's) a test cannot ask the server whether the
client closed the connection, so the client talks to this relay instead, which pumps
bytes both ways to the server and records, per connection, when the client side closed.
When the client hangs up the relay hangs up on the server too, as the client would have.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Connection:
    """One client connection through the relay."""

    opened_at: float
    to_client: int = 0
    closed: threading.Event = field(default_factory=threading.Event, repr=False)
    closed_at: float | None = None


class Relay:
    """Listens on 127.0.0.1 (ephemeral port) and forwards to ``target`` (host, port)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.connections: list[Connection] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> Relay:
        self._accepter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._listener.close()
        for thread in [self._accepter, *self._threads]:
            thread.join(5)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._listener], [], [], 0.05)
            if not ready:
                continue
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            connection = Connection(opened_at=time.monotonic())
            self.connections.append(connection)
            thread = threading.Thread(target=self._pump, args=(client, connection), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _pump(self, client: socket.socket, connection: Connection) -> None:
        with client, socket.create_connection(self.target) as upstream:
            peers = {client: upstream, upstream: client}
            while not self._stopping.is_set():
                ready, _, _ = select.select(list(peers), [], [], 0.05)
                for sock in ready:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        if sock is client:
                            connection.closed_at = time.monotonic()
                            connection.closed.set()
                        return
                    if sock is upstream:
                        connection.to_client += len(data)
                    with contextlib.suppress(OSError):
                        peers[sock].sendall(data)
