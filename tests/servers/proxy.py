"""A small threaded TCP proxy on loopback for fault injection: forward, freeze (stop forwarding silently), cut.

``freeze()`` models a NAT or firewall that forgot the connection: the sockets stay open, bytes in either
direction vanish, nobody is told. Connections opened after a freeze are forwarded normally.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class _Pipe:
    """One client connection and its upstream connection, pumped by one thread."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.frozen = False
        self.closed = False
        self.thread = threading.Thread(target=self.pump, daemon=True)

    def pump(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.client, selectors.EVENT_READ, self.upstream)
        sel.register(self.upstream, selectors.EVENT_READ, self.client)
        try:
            while not self.closed:
                for key, _ in sel.select(timeout=0.2):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst: socket.socket = key.data
                    data = src.recv(65536)
                    if not data:
                        return
                    if not self.frozen:
                        dst.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            self.close()

    def close(self) -> None:
        self.closed = True
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.close()


class TcpProxy:
    """Listens on 127.0.0.1:``port`` and forwards each connection to ``target``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.host = "127.0.0.1"
        self.port: int = self.listener.getsockname()[1]
        self.pipes: list[_Pipe] = []
        self.accepted = 0
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            pipe = _Pipe(client, upstream)
            with self._lock:
                self.pipes.append(pipe)
                self.accepted += 1
            pipe.thread.start()

    def live(self) -> list[_Pipe]:
        """Connections still open and forwarding."""
        with self._lock:
            return [p for p in self.pipes if not p.closed and not p.frozen]

    def freeze(self) -> int:
        """Stop forwarding on every current connection without closing it; the number frozen."""
        with self._lock:
            pipes = [p for p in self.pipes if not p.closed and not p.frozen]
            for p in pipes:
                p.frozen = True
        return len(pipes)

    def cut(self) -> None:
        """Close every current connection."""
        with self._lock:
            for p in self.pipes:
                p.close()

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._running = False
        with contextlib.suppress(OSError):
            self.listener.close()
        self.cut()
