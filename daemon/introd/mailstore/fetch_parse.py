"""Read the answer to the bulk header ``UID FETCH`` straight off the connection: bytes in, HeaderFetch out.

The bulk header sync sends one ``UID FETCH <n>:* (UID FLAGS INTERNALDATE RFC822.SIZE [X-GM-THRID]
BODY.PEEK[HEADER.FIELDS (...)])`` and reads the responses itself from imaplib's buffered socket file
(RFC 3501 7.4.2, 7.5), yielding one HeaderFetch per message as it arrives: memory stays bounded whatever
the mailbox size, and no per-line work is spent on imaplib's generic response machinery.

Each response line is framed by CRLF; a line ending in ``{n}`` is followed by an n-byte literal and a
continuation line. A FETCH response in the usual item order (Dovecot, Cyrus, Gmail with or without
X-GM-THRID / MODSEQ) is parsed by one regular expression on its first line, then its header literal and
the closing ``)``; anything else (items in another order, the header as a quoted string or NIL, items after
the literal) goes through a small tokenizer. Unsolicited responses in between are handed to a callback in
imaplib's ``untagged_responses`` form (EXISTS, EXPUNGE, ...) or ignored (FETCH without the header section:
flag updates). The tagged completion ends the stream: OK returns, NO/BAD raise ``imaplib.IMAP4.error``;
end of stream, an unterminated line, BYE or a response that is not IMAP raise ``imaplib.IMAP4.abort``.
"""

from __future__ import annotations

import imaplib
import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import TypeAlias

from introd.mailstore.base import HeaderFetch

log = logging.getLogger(__name__)

ReadLine = Callable[[int], bytes]  # readline(limit): one line, at most ``limit`` bytes (io.BufferedReader)
Read = Callable[[int], bytes]  # read(n): n bytes, fewer only at end of stream
Untagged: TypeAlias = "Callable[[str, bytes | tuple[bytes, bytes]], None]"  # imaplib.IMAP4._append_untagged
# A parsed token or value: an atom (bytes), a string (Quoted), a parenthesis (_Paren) or a list of values.
Value: TypeAlias = "bytes | list[Value]"
Segment: TypeAlias = "tuple[bytes, bytes | None]"  # a line without CRLF (literal marker kept), its literal

MAX_LINE = 1_000_000  # imaplib's _MAXLINE: a longer line is an error, not a memory sink
LITERAL_CHUNK = 1 << 20  # literals above this are read in pieces: memory follows the bytes that arrive
_CACHE_MAX = 4096  # bounded cache of parsed FLAGS values

# The common shape of a whole first line, up to the header literal. Groups: X-GM-THRID (before UID), UID,
# FLAGS, INTERNALDATE, RFC822.SIZE, X-GM-THRID (after the size), literal size.
_FAST = re.compile(
    rb"\* \d+ FETCH \((?:X-GM-THRID (\d+) )?UID (\d+) (?:MODSEQ \(\d+\) )?FLAGS \(([^()\"{}\r\n]*)\) "
    rb"(?:MODSEQ \(\d+\) )?INTERNALDATE \"([^\"\r\n]*)\" RFC822\.SIZE (\d+) (?:X-GM-THRID (\d+) )?"
    rb"(?:MODSEQ \(\d+\) )?BODY\[[^\]\r\n]*\](?:<\d+>)? \{(\d+)\}\r\n"
)
_LITERAL = re.compile(rb"\{(\d+)\}\r\n\Z")
_TOKEN = re.compile(
    rb' *(?:(\()|(\))|"((?:[^"\\\r\n]|\\.)*)"|([^ ()"\[\]\r\n{}]+(?:\[[^\]\r\n]*\][^ ()"\[\]\r\n{}]*)?))'
)
_QUOTED_PAIR = re.compile(rb'\\(["\\])')
_RESPONSE_CODE = re.compile(rb"\[([A-Z-]+)(?: (.*))?\]")

_MONTHS = {m: i for i, m in enumerate(
    (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"), 1)}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TZ_CACHE: dict[bytes, timezone] = {}
_DAYS: dict[bytes, str] = {}  # b"25-Nov-2025" -> "2025-11-25T" (every day of 40 years fits)
_DAYS_MAX = 16384
_ZONES: dict[bytes, str] = {}  # b"+0100" -> "+01:00"

# \Recent is per-session (and gone in IMAP4rev2, RFC 9051): it is not a property of the message.
_DROP_FLAGS = frozenset({"\\Recent"})



class Quoted(bytes):
    """A string token (quoted or literal), told apart from an atom such as NIL."""


def parse_internaldate(value: bytes) -> datetime:
    """Parse an IMAP date-time like ``b" 2-Mar-2026 10:00:00 +0100"`` into an aware datetime (RFC 3501 9)."""
    if len(value) == 26:
        # The fixed-width form servers send ("dd-Mon-yyyy hh:mm:ss +zzzz"): once a day and a zone have been
        # seen, fromisoformat (C) does the rest.
        day = _DAYS.get(value[:11])
        zone = _ZONES.get(value[21:])
        if day is not None and zone is not None and value[11] == 32 and value[20] == 32:
            try:
                return datetime.fromisoformat(day + value[12:20].decode("ascii") + zone)
            except ValueError:
                pass  # the general path below names the value in its error
    text = value.strip()
    try:
        day_s, mon_s, rest = text.split(b"-", 2)
        year_s, clock, zone_s = rest.split(b" ")
        hh, mm, ss = clock.split(b":")
        if len(zone_s) != 5 or zone_s[:1] not in (b"+", b"-") or not zone_s[1:].isdigit():
            raise ValueError(zone_s)
        tz = _TZ_CACHE.get(zone_s)
        if tz is None:
            sign = -1 if zone_s[:1] == b"-" else 1
            offset = timedelta(hours=int(zone_s[1:3]), minutes=int(zone_s[3:5])) * sign
            tz = _TZ_CACHE.setdefault(zone_s, timezone(offset) if offset else timezone.utc)
        parsed = datetime(int(year_s), _MONTHS[mon_s.capitalize()], int(day_s), int(hh), int(mm), int(ss),
                          tzinfo=tz)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"bad INTERNALDATE {value!r}") from exc
    if len(value) == 26 and len(_DAYS) < _DAYS_MAX:
        _DAYS[value[:11]] = f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}T"
        _ZONES[value[21:]] = f"{zone_s[:3].decode()}:{zone_s[3:].decode()}"
    return parsed


def _flags(raw: bytes) -> tuple[str, ...]:
    return tuple(f for f in raw.decode("ascii", "replace").split() if f not in _DROP_FLAGS)


def _date(raw: bytes, uid: int) -> datetime:
    try:
        return parse_internaldate(raw)
    except ValueError:
        log.warning("UID %d: unparsable INTERNALDATE %r: using the epoch", uid, raw[:64])
        return _EPOCH


def _tokens(segments: list[Segment]) -> Iterator[Value]:
    """Atoms (bytes), strings (Quoted) and the parentheses ``b"("`` / ``b")"`` as one-byte marker objects."""
    for text, literal in segments:
        if literal is not None:
            text = text[:text.rindex(b"{")]
        pos, end = 0, len(text)
        while pos < end:
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip(b" "):
                    raise ValueError(f"bad token at {text[pos:pos + 40]!r}")
                break
            pos = m.end()
            if m.group(1):
                yield _OPEN
            elif m.group(2):
                yield _CLOSE
            elif m.group(3) is not None:
                yield Quoted(_QUOTED_PAIR.sub(rb"\1", m.group(3)))
            else:
                yield m.group(4)
        if literal is not None:
            yield Quoted(literal)


class _Paren(bytes):
    """A parenthesis token (distinct from an atom spelled the same, which cannot occur anyway)."""


_OPEN = _Paren(b"(")
_CLOSE = _Paren(b")")


def _value(tokens: Iterator[Value], first: Value, depth: int = 0) -> Value:
    if first is _OPEN:
        if depth > 20:
            raise ValueError("nesting too deep")
        items: list[Value] = []
        for tok in tokens:
            if tok is _CLOSE:
                return items
            items.append(_value(tokens, tok, depth + 1))
        raise ValueError("unbalanced parentheses")
    if first is _CLOSE:
        raise ValueError("unexpected )")
    return first


def parse_fetch_items(segments: list[Segment]) -> dict[bytes, Value]:
    """The msg-att items of one ``* n FETCH (...)`` response, names upper-cased (RFC 3501 7.4.2).

    Raises ValueError when the response is not well formed."""
    tokens = _tokens(segments)
    star, number, fetch = (next(tokens, None) for _ in range(3))
    if (star != b"*" or not isinstance(number, bytes) or not number.isdigit() or not isinstance(fetch, bytes)
            or fetch.upper() != b"FETCH"):
        raise ValueError("not a FETCH response")
    if next(tokens, None) is not _OPEN:
        raise ValueError("FETCH without (")
    items: dict[bytes, Value] = {}
    for name in tokens:
        if name is _CLOSE:
            if next(tokens, None) is not None:
                raise ValueError("data after the closing )")
            return items
        if not isinstance(name, bytes) or isinstance(name, (Quoted, _Paren)):
            raise ValueError(f"bad item name {name!r}")
        value = next(tokens, None)
        if value is None:
            raise ValueError(f"{name!r} without a value")
        items.setdefault(name.upper(), _value(tokens, value))
    raise ValueError("FETCH without )")


def header_fetch_from_items(items: dict[bytes, Value]) -> HeaderFetch | None:
    """A HeaderFetch from parsed items; None when this is not an answer to the header fetch (no UID or no
    header section, such as an unsolicited flag update)."""
    header: bytes | None = None
    for name, value in items.items():
        if name.startswith(b"BODY["):
            if isinstance(value, Quoted):
                header = bytes(value)
            elif value == b"NIL":
                header = b""
            break
    uid_v = items.get(b"UID")
    if header is None or not isinstance(uid_v, bytes) or not uid_v.isdigit():
        return None
    uid = int(uid_v)
    flags_v = items.get(b"FLAGS")
    flags = tuple(f for f in (bytes(x).decode("ascii", "replace") for x in flags_v if isinstance(x, bytes))
                  if f not in _DROP_FLAGS) if isinstance(flags_v, list) else ()
    date_v = items.get(b"INTERNALDATE")
    size_v = items.get(b"RFC822.SIZE")
    thr_v = items.get(b"X-GM-THRID")
    return HeaderFetch(
        uid=uid,
        flags=flags,
        internaldate=_date(bytes(date_v), uid) if isinstance(date_v, Quoted) else _EPOCH,
        size=int(size_v) if isinstance(size_v, bytes) and size_v.isdigit() else 0,
        header_bytes=header,
        gm_thread_id=bytes(thr_v).decode("ascii") if isinstance(thr_v, bytes) and thr_v.isdigit() else None,
    )


class HeaderFetchReader:
    """The responses to one tagged UID FETCH, read from ``readline``/``read`` until its completion.

    ``records`` yields a HeaderFetch per message with UID > ``after_uid`` as it is read. ``done`` turns True
    once the tagged completion has been read (the connection is then ready for the next command, also when
    a NO/BAD was raised); after any other exception the stream position is unknown. Setting ``discard``
    reads the rest without building records (draining an abandoned fetch).
    """

    def __init__(self, readline: ReadLine, read: Read, tag: bytes, after_uid: int = 0,
                 untagged: Untagged | None = None) -> None:
        self._readline = readline
        self._read = read
        self._tag = tag
        self._after = after_uid
        self._untagged = untagged
        self.done = False
        self.discard = False
        self.records: Iterator[HeaderFetch] = self._run()

    # -- framing ---------------------------------------------------------------------------------------------

    def _line(self) -> bytes:
        line = self._readline(MAX_LINE + 1)
        if line[-2:] != b"\r\n":
            _bad_line(line)
        return line

    def _literal(self, size: int) -> bytes:
        if size <= LITERAL_CHUNK:
            data = self._read(size)
        else:
            parts, left = [], size
            while left:
                part = self._read(min(left, LITERAL_CHUNK))
                if not part:
                    break
                parts.append(part)
                left -= len(part)
            data = b"".join(parts)
        if len(data) != size:
            raise imaplib.IMAP4.abort(f"socket error: EOF in a {size}-byte literal")
        return data

    def _segments(self, line: bytes, segments: list[Segment] | None = None) -> list[Segment]:
        """The rest of a response whose current (CRLF-terminated) line is ``line``, literals read."""
        out = segments if segments is not None else []
        while True:
            m = _LITERAL.search(line) if line[-3:] == b"}\r\n" else None
            if m is None:
                out.append((line[:-2], None))
                return out
            out.append((line[:-2], self._literal(int(m.group(1)))))
            line = self._line()

    # -- the stream --------------------------------------------------------------------------------------------

    def _run(self) -> Iterator[HeaderFetch]:
        readline, read, line_limit = self._readline, self._read, MAX_LINE + 1
        fast = _FAST.fullmatch
        tagged = self._tag + b" "
        after = last = self._after
        flag_cache: dict[bytes, tuple[str, ...]] = {}
        while True:
            line = readline(line_limit)
            m = fast(line)
            if m is not None:
                thr_a, uid_b, flags_b, date_b, size_b, thr_b, n_b = m.groups()
                n = int(n_b)
                header = read(n) if n <= LITERAL_CHUNK else self._literal(n)
                if len(header) != n:
                    raise imaplib.IMAP4.abort(f"socket error: EOF in a {n}-byte literal")
                tail = readline(line_limit)
                if tail != b")\r\n":  # more items after the literal: the general path
                    if tail[-2:] != b"\r\n":
                        _bad_line(tail)
                    segments = self._segments(tail, [(line[:-2], header)])
                    record = self._general(segments)
                    if record is None:
                        continue
                    uid = record.uid
                    if uid > after and uid != last and not self.discard:
                        last = uid
                        yield record
                    continue
                uid = int(uid_b)
                if uid <= after or uid == last or self.discard:  # N:* answers the last message, or a repeat
                    continue
                flags = flag_cache.get(flags_b)
                if flags is None:
                    if len(flag_cache) >= _CACHE_MAX:
                        flag_cache.clear()
                    flags = flag_cache[flags_b] = _flags(flags_b)
                date = _date(date_b, uid)
                thr = thr_a or thr_b
                last = uid
                yield HeaderFetch(uid, flags, date, int(size_b), header, thr.decode("ascii") if thr else None)
                continue
            if line[-2:] != b"\r\n":
                _bad_line(line)
            if line.startswith(tagged):
                self._complete(line)
                return
            if line[:2] != b"* ":
                if line[:2] == b"+ " or line == b"+\r\n":
                    raise imaplib.IMAP4.abort(f"unexpected continuation request: {line[:200]!r}")
                raise imaplib.IMAP4.abort(f"unexpected response: {line[:200]!r}")
            segments = self._segments(line)
            words = segments[0][0].split(b" ", 3)
            if len(words) >= 3 and words[1].isdigit() and words[2].upper() == b"FETCH":
                record = self._general(segments)
                if record is not None and record.uid > after and record.uid != last and not self.discard:
                    last = record.uid
                    yield record
                continue
            self._other(segments)

    def _general(self, segments: list[Segment]) -> HeaderFetch | None:
        """A FETCH response not in the common shape; None (logged when malformed) if it is not ours."""
        try:
            return header_fetch_from_items(parse_fetch_items(segments))
        except ValueError as exc:
            log.warning("ignoring a malformed FETCH response (%s): %r", exc, segments[0][0][:200])
            return None

    def _other(self, segments: list[Segment]) -> None:
        """An unsolicited untagged response (EXISTS, EXPUNGE, OK [ALERT], BYE...): stored the way imaplib
        stores it, so the session sees it as if imaplib had read it; BYE ends the stream."""
        first = segments[0][0]
        words = first.split(b" ", 3)
        if len(words) >= 3 and words[1].isdigit():  # "* 12 EXISTS"
            typ = words[2].decode("ascii", "replace").upper()
            data = words[1] + (b" " + words[3] if len(words) > 3 else b"")
        else:
            typ = words[1].decode("ascii", "replace").upper() if len(words) > 1 else ""
            data = first.split(b" ", 2)[2] if len(words) > 2 else b""
        if self._untagged is not None and typ:
            for n, (text, literal) in enumerate(segments):
                dat = data if n == 0 else text
                self._untagged(typ, (dat, literal) if literal is not None else dat)
            code = _RESPONSE_CODE.match(data if len(segments) == 1 else segments[-1][0])
            if typ in ("OK", "NO", "BAD", "BYE") and code:
                self._untagged(code.group(1).decode("ascii"), code.group(2) or b"")
        if typ == "BYE":
            raise imaplib.IMAP4.abort(data.decode("utf-8", "replace"))

    def _complete(self, line: bytes) -> None:
        self.done = True
        parts = line[len(self._tag) + 1:-2].split(b" ", 1)
        typ = parts[0].upper()
        text = parts[1] if len(parts) > 1 else b""
        code = _RESPONSE_CODE.match(text)
        if code and self._untagged is not None:
            self._untagged(code.group(1).decode("ascii"), code.group(2) or b"")
        if typ != b"OK":
            raise imaplib.IMAP4.error(f"UID FETCH failed: {typ.decode('ascii', 'replace')} "
                                      f"{text.decode('utf-8', 'replace')}")


def _bad_line(line: bytes) -> None:
    """Raise for a line that is not CRLF-terminated: end of stream, or longer than MAX_LINE."""
    if not line:
        raise imaplib.IMAP4.abort("socket error: EOF")
    if len(line) > MAX_LINE:
        raise imaplib.IMAP4.error(f"got more than {MAX_LINE} bytes")
    raise imaplib.IMAP4.abort(f"socket error: unterminated line: {line[:200]!r}")
