"""A small threaded TCP proxy on loopback for fault injection: forward, freeze, cut, aimed resets, latency.

``freeze()`` models a NAT or firewall that forgot the connection: the sockets stay open, bytes in either
direction vanish, nobody is told. Connections opened after a freeze are forwarded normally.

``arm(Fault(...))`` aims a connection reset (TCP RST to both ends) at one IMAP command: the proxy watches what
the client sends, and when the command's regex matches it forwards the command and then resets the connection
at the chosen moment: at once, after N more bytes of the request (inside an APPEND literal), after N bytes of
the server's answer, part-way through the first literal of the answer (mid-FETCH), instead of the server's
answer to a complete request (an APPEND stored but its OK lost), or some seconds later (while the client
idles). Every reset is recorded in ``fired`` so a test can prove the fault really happened.

``latency`` delays every chunk, in each direction, by that many seconds (order kept): a slow link.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n")


@dataclass(frozen=True)
class Fault:
    """A reset aimed at the client command matching ``command`` (a bytes regex, searched in what the client
    sends; end it with ``\\r\\n`` so the whole command line is forwarded before the fault takes effect).

    At most one of the "when" fields may be set; with none, the connection is reset right after the command.
    """

    command: bytes
    skip: int = 0  # matches to let through untouched first (aim at the third APPEND, the second FETCH ...)
    times: int = 1  # matches to act on after the skipped ones (each on whichever connection it is seen)
    request_bytes: int | None = None  # reset after forwarding this many more client bytes (inside a literal)
    response_bytes: int | None = None  # reset after forwarding this many bytes of the server's answer
    literal_fraction: float | None = None  # reset this far (0..1) into a literal of the server's answer ...
    literal: int = 0  # ... the first one, or the one after this many (the third message of a FETCH: 2)
    lose_reply: bool = False  # forward the whole request (and its literal), reset instead of the server's answer
    delay: float | None = None  # reset this many seconds after the command (e.g. while the client idles)

    def __post_init__(self) -> None:
        modes = [self.request_bytes is not None, self.response_bytes is not None,
                 self.literal_fraction is not None, self.lose_reply, self.delay is not None]
        if sum(modes) > 1:
            raise ValueError("a Fault takes at most one of request_bytes, response_bytes, literal_fraction, "
                             "lose_reply, delay")
        if self.literal_fraction is not None and not 0 < self.literal_fraction < 1:
            raise ValueError("literal_fraction must be strictly between 0 and 1")


@dataclass
class Fired:
    """One reset the proxy carried out."""

    command: str  # the matched command line as the client sent it (truncated)
    mode: str
    request_bytes: int = 0  # client bytes forwarded after the command, before the reset
    response_bytes: int = 0  # server bytes forwarded after the command, before the reset
    literal: int | None = None  # the size of the literal the reset landed in (literal_fraction, request literal)
    at: float = field(default_factory=time.monotonic)


class _Armed:
    """A fault that matched on one connection and has not reset it yet."""

    def __init__(self, fault: Fault, line: bytes) -> None:
        self.fault = fault
        self.request = 0  # client bytes forwarded since the command
        self.response = 0  # server bytes forwarded since the command
        self.search = b""  # the server's answer so far, until the literal to cut is found
        self.search_from = 0  # where in ``search`` to look for the next literal
        self.literals_left = fault.literal  # literals to let through before the one to cut
        self.cut_at: int | None = fault.response_bytes  # reset when this many answer bytes are forwarded
        literal = _LITERAL.search(line)
        self.request_literal = int(literal.group(1)) if literal else 0
        self.record = Fired(command=line.decode("ascii", "replace").strip()[:160], mode=_mode(fault))
        if fault.request_bytes is not None or fault.lose_reply:
            self.record.literal = self.request_literal or None


def _mode(fault: Fault) -> str:
    for name in ("request_bytes", "response_bytes", "literal_fraction", "delay"):
        if getattr(fault, name) is not None:
            return name
    return "lose_reply" if fault.lose_reply else "at_once"


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST (ECONNRESET), not an orderly FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Pipe:
    """One client connection and its upstream connection, pumped by one thread."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.frozen = False
        self.closed = False
        self.armed: _Armed | None = None
        self.sent_tail = b""  # the end of what the client sent, so a command split across reads still matches
        # (deliver-at, destination, bytes or None for "reset now"), in order; used when there is latency
        self.queue: deque[tuple[float, socket.socket, bytes | None]] = deque()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self.pump, daemon=True)

    # -- forwarding -------------------------------------------------------------------------------------
    def pump(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.client, selectors.EVENT_READ, self.upstream)
        sel.register(self.upstream, selectors.EVENT_READ, self.client)
        try:
            while not self.closed:
                timeout = 0.2
                if self.queue:
                    timeout = max(0.0, min(timeout, self.queue[0][0] - time.monotonic()))
                for key, _ in sel.select(timeout=timeout):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = src.recv(65536)
                    if not data:
                        self._flush(everything=True)
                        return
                    if self.frozen:
                        continue
                    if src is self.client:
                        self._from_client(data)
                    else:
                        self._from_server(data)
                    if self.is_closed():
                        return
                self._flush()
        except OSError:
            return
        finally:
            sel.close()
            self.close()

    def _send(self, dst: socket.socket, data: bytes | None) -> None:
        """Forward ``data`` (None: reset the connection), now or after the proxy's latency."""
        latency = self.proxy.latency
        if latency <= 0 and not self.queue:
            if data is None:
                self.reset()
            elif data:
                dst.sendall(data)
            return
        if data is not None:
            self.proxy.count_delayed()
        self.queue.append((time.monotonic() + max(latency, 0.0), dst, data))

    def _flush(self, *, everything: bool = False) -> None:
        now = time.monotonic()
        while self.queue and (everything or self.queue[0][0] <= now):
            _due, dst, data = self.queue.popleft()
            if data is None:
                self.reset()
                return
            dst.sendall(data)

    def _from_client(self, data: bytes) -> None:
        if self.armed is None:
            found = self.proxy.match(self, data)
            if found is not None:
                end, hit = found
                self._send(self.upstream, data[:end])
                self.armed = hit
                data = data[end:]
                fault = hit.fault
                if fault.delay is not None:
                    timer = threading.Timer(fault.delay, self._fire)
                    timer.daemon = True
                    timer.start()
                elif _mode(fault) == "at_once":
                    self._fire_after_send()
                    return
        armed = self.armed
        if armed is not None and armed.fault.request_bytes is not None:
            left = armed.fault.request_bytes - armed.request
            if len(data) >= left:
                armed.request += left
                self._send(self.upstream, data[:left])
                self._fire_after_send()
                return
        if armed is not None:
            armed.request += len(data)
        self._send(self.upstream, data)

    def _from_server(self, data: bytes) -> None:
        armed = self.armed
        if armed is None:
            self._send(self.client, data)
            return
        fault = armed.fault
        if fault.lose_reply and armed.request >= armed.request_literal + (2 if armed.request_literal else 0):
            self._fire_after_send()  # the request is complete: this is the answer, and it is lost
            return
        if fault.literal_fraction is not None and armed.cut_at is None:
            armed.search += data
            while (literal := _LITERAL.search(armed.search, armed.search_from)) is not None:
                size = int(literal.group(1))
                if armed.literals_left > 0:  # not this one: look again after its bytes
                    armed.literals_left -= 1
                    armed.search_from = literal.end() + size
                    continue
                into = min(max(1, int(size * fault.literal_fraction)), max(1, size - 1))
                armed.cut_at = literal.end() + into  # ``search`` holds the whole answer so far
                armed.record.literal = size
                armed.search = b""
                break
        if armed.cut_at is not None:
            left = armed.cut_at - armed.response
            if len(data) >= left:
                armed.response += left
                self._send(self.client, data[:left])
                self._fire_after_send()
                return
        armed.response += len(data)
        self._send(self.client, data)

    # -- faults -----------------------------------------------------------------------------------------
    def _fire_after_send(self) -> None:
        """Reset once everything forwarded so far is delivered (at once without latency)."""
        armed = self.armed
        if armed is not None:
            self.proxy.record(armed.record, armed)
        self._send(self.client, None)

    def _fire(self) -> None:
        """The delayed reset (from a timer thread)."""
        armed = self.armed
        if armed is not None and not self.closed:
            self.proxy.record(armed.record, armed)
            self.reset()

    def is_closed(self) -> bool:
        """True once either end was closed or reset (a method: another thread may set it)."""
        return self.closed

    def reset(self) -> None:
        """Reset both ends (TCP RST)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        _reset(self.client)
        _reset(self.upstream)

    def close(self) -> None:
        with self._lock:
            self.closed = True
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                s.close()


class TcpProxy:
    """Listens on 127.0.0.1:``port`` and forwards each connection to ``target``."""

    def __init__(self, target_host: str, target_port: int, *, latency: float = 0.0) -> None:
        self.target = (target_host, target_port)
        self.latency = latency  # seconds added to every chunk in each direction; may be changed at any time
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.host = "127.0.0.1"
        self.port: int = self.listener.getsockname()[1]
        self.pipes: list[_Pipe] = []
        self.accepted = 0
        self.refused = 0  # connections closed at once because the target did not answer (server down)
        self.delayed_chunks = 0
        self.fired: list[Fired] = []
        self.matches = 0  # commands that matched the armed fault (skipped ones included)
        self._fault: Fault | None = None
        self._left = 0
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
                upstream.settimeout(None)
            except OSError:
                with self._lock:
                    self.refused += 1
                _reset(client)
                continue
            pipe = _Pipe(self, client, upstream)
            with self._lock:
                self.pipes.append(pipe)
                self.accepted += 1
            pipe.thread.start()

    # -- aimed faults -----------------------------------------------------------------------------------
    def arm(self, fault: Fault) -> None:
        """Aim ``fault`` at the next matching commands (replaces any fault not used up yet)."""
        with self._lock:
            self._fault = fault
            self._left = fault.skip + fault.times
            self.matches = 0

    def disarm(self) -> None:
        """Forget the armed fault (connections already hit keep their pending reset)."""
        with self._lock:
            self._fault = None
            self._left = 0

    def match(self, pipe: _Pipe, data: bytes) -> tuple[int, _Armed] | None:
        """Where in ``data`` the armed command ends, and the armed state, if it matches and is not skipped."""
        window = pipe.sent_tail + data
        pipe.sent_tail = window[-2048:]
        with self._lock:
            fault = self._fault
            if fault is None or self._left <= 0:
                return None
            for found in re.finditer(fault.command, window):
                end = found.end() - (len(window) - len(data))
                if end <= 0:  # matched (and counted) in an earlier read
                    continue
                self.matches += 1
                self._left -= 1
                if self.matches <= fault.skip:
                    if self._left <= 0:
                        return None
                    continue
                start = window.rfind(b"\n", 0, found.start()) + 1
                line_end = window.find(b"\n", found.end() - 1)
                line = window[start:line_end + 1 if line_end >= 0 else len(window)]
                return end, _Armed(fault, line)
        return None

    def record(self, fired: Fired, armed: _Armed) -> None:
        fired.request_bytes = armed.request
        fired.response_bytes = armed.response
        fired.at = time.monotonic()
        with self._lock:
            if not any(f is fired for f in self.fired):
                self.fired.append(fired)

    def count_delayed(self) -> None:
        with self._lock:
            self.delayed_chunks += 1

    # -- blunt faults -----------------------------------------------------------------------------------
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
            pipes = list(self.pipes)
        for p in pipes:
            p.close()

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._running = False
        with contextlib.suppress(OSError):
            self.listener.close()
        self.cut()
