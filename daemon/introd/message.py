"""Bytes in, an immutable Message record out (RFC 5322, RFC 2047 headers).

Header-only parsing (for the cheap prefilter and the header index) and full
parsing (new text, quotes and signatures removed) produce the same record;
``has_body`` tells them apart.  Nothing here touches a socket or a clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from html.parser import HTMLParser

from introd.quotes import split_reply


@dataclass(frozen=True)
class Address:
    """One mailbox: display name (decoded) and lower-cased address."""

    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Message:
    """What introd knows about one message; plain data, safe to pickle or store."""

    message_id: str  # without angle brackets; synthesised "<sha1>@introd.invalid" if absent
    subject: str
    date: datetime  # tz-aware; INTERNALDATE when Date is missing or absurd
    sender: Address | None  # From (first address)
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    in_reply_to: tuple[str, ...] = ()  # message ids, no angle brackets
    references: tuple[str, ...] = ()  # oldest first, no angle brackets
    folder: str = "INBOX"
    uid: int | None = None
    gm_thread_id: str | None = None  # X-GM-THRID when the server offers it
    automated: tuple[str, ...] = ()  # markers such as "list-id", "noreply-sender", "calendar"
    relayed_by: str | None = None  # e.g. "linkedin" when a notification relays a person's message
    has_body: bool = False
    new_text: str = ""  # the author's own words: quotes, forwards and signature removed
    quoted_text: str = ""  # what the author quoted (evidence for replies within a thread)
    flags: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # selected raw headers
    date_source: str = "header"  # "header" | "internaldate" | "none" (no usable date: EPOCH_FALLBACK)
    relayed_for: str = ""  # the person's display name when relayed_by is set ("Mary Smith")

    @property
    def participants(self) -> tuple[Address, ...]:
        """Sender, To and Cc, in that order, without duplicates."""
        seen: dict[str, Address] = {}
        for addr in ((self.sender,) if self.sender else ()) + self.to + self.cc:
            seen.setdefault(addr.email, addr)
        return tuple(seen.values())

    @property
    def is_automated(self) -> bool:
        """True when any automated-mail marker fired."""
        return bool(self.automated)

    def header(self, name: str) -> str | None:
        """The kept value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class Skipped:
    """A message that could not be parsed: recorded and counted, never raised."""

    folder: str
    uid: int | None
    reason: str


# --- limits -----------------------------------------------------------------------------------------------

# The date when neither Date nor INTERNALDATE is usable (``date_source == "none"``).
EPOCH_FALLBACK = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_SUBJECT = 998  # RFC 5322 section 2.1.1 line limit
MAX_NAME = 200
MAX_EMAIL = 320
MAX_ID = 250
MAX_ADDRESSES = 500  # per header: a hostile To: with 100,000 entries must not blow memory
MAX_REFERENCES = 100  # the first (root) and the last 99
MAX_HEADER_VALUE = 512
MAX_HEADER_BYTES = 256 * 1024  # header blocks beyond this are cut (no real mail has this much)
MAX_BODY_TEXT = 20_000  # characters of body text kept before splitting quotes
MAX_HTML = 400_000  # characters of HTML converted to text
MAX_RAW = 8 * 1024 * 1024  # bodies sit before attachments; larger messages are truncated before parsing
# Containers (multipart/*, message/*) nested deeper than this make the message Skipped before any MIME parsing:
# the stdlib parser under mail-parser costs time quadratic in the depth (1 s at 300 levels, 11 s before it gives
# up near 1,000). Real mail stays under 10 (a forward of a forward of a multipart/alternative ...); Dovecot
# itself stops descending at 100.
MAX_MIME_DEPTH = 50
FUTURE_SLACK = timedelta(days=2)
MIN_YEAR = 1990

# Headers kept verbatim (cleaned) in ``Message.headers``; any X-Introd-* header is kept too.
KEPT_HEADERS = {
    "list-id": "List-Id",
    "auto-submitted": "Auto-Submitted",
    "precedence": "Precedence",
    "x-gm-thrid": "X-GM-THRID",
    "x-linkedin-class": "X-LinkedIn-Class",
}
MAX_KEPT_HEADERS = 12

_WANTED = frozenset(
    {
        "message-id", "in-reply-to", "references", "from", "to", "cc", "reply-to", "date", "subject",
        "list-unsubscribe", "x-auto-response-suppress", "content-type", "content-class",
        *KEPT_HEADERS,
    }
)

# A wanted field: name, colon, value, continuation lines starting with white space (RFC 5322 2.2).  Matched
# against a lower-cased copy of the block with literal names, so the regex engine skips the unwanted fields
# (Received, DKIM ...) in C; values are then cut from the original bytes.
_FIELD = re.compile(
    rb"\n(" + b"|".join(re.escape(n.encode("ascii")) for n in sorted(_WANTED)) + rb"|x-introd-[!-9;-~]*)"
    rb"[ \t]*:(.*(?:\r?\n[ \t].*)*)",
)
_FOLD = re.compile(rb"\r?\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")
_BRACKETED_ID = re.compile(r"<\s*([^<>\s]{1,250})\s*>")
_BARE_ID = re.compile(r"[^<>\s,;\"()]{1,250}@[^<>\s,;\"()]{1,250}")
_ADDR_SPEC = r"[^<>\s\",;:()]+@[^<>\s\",;:()]+"
_SIMPLE_ADDRESS = re.compile(
    rf'^\s*(?:(?:"((?:[^"\\]|\\.)*)"|([^<>",;:()]*?))\s*<({_ADDR_SPEC})>|({_ADDR_SPEC}))\s*$'
)
# One element of an address list: commas inside quotes or angle brackets do not split.
_LIST_ELEMENT = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|<[^<>]*>?|[^,"<])+')

# Senders that are machines (RFC 3834 section 3.1.7 asks not to reply to them).
_NOREPLY_LOCAL = re.compile(
    r"no[-_.]?reply|do[-_.]?not[-_.]?reply|^mailer[-_.]?daemon$|^postmaster$|^bounces?(?:[-+._]|$)",
    re.IGNORECASE,
)
# Role senders of bulk mail.  info@, hello@, contact@, team@ and office@ are deliberately absent: founders and
# small businesses write (and make intros) from them; list headers catch the newsletters they send.
_ROLE_LOCAL = re.compile(
    r"^(?:notifications?|notify|newsletters?|news|marketing|updates?|digest|alerts?|announce(?:ments?)?"
    r"|promo(?:tions?)?|mailer|e?mail[-_.]?campaigns?)(?:[-+._].*)?$",
    re.IGNORECASE,
)
_LINKEDIN_MESSAGING = frozenset(
    {"messages-noreply", "inmail-hit-reply", "hit-reply", "messaging-noreply", "inmail-noreply"}
)
_VIA_LINKEDIN = re.compile(r"^(.+?)\s+(?:via|über|par|por|tramite)\s+LinkedIn$", re.IGNORECASE)


# --- small helpers ----------------------------------------------------------------------------------------


def _clean(value: str, cap: int) -> str:
    """One line: control characters (CR, LF, NUL ...) become spaces, whitespace collapses, length capped."""
    if value.isprintable():  # fast path: no control or line-separator characters
        return " ".join(value.split())[:cap] if "  " in value or value != value.strip() else value[:cap]
    return " ".join(_CONTROL.sub(" ", value).split())[:cap]


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")  # RFC 6532 allows UTF-8 in headers
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1).split("*", 1)[0], match.group(2).upper(), match.group(3)
    try:
        if encoding == "B":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
        else:
            data = binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; whitespace between adjacent encoded words is dropped (section 6.2)."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if not (pos and out and gap.isspace()):
            out.append(gap)
        out.append(_decode_word(match))
        pos = match.end()
    out.append(value[pos:])
    return "".join(out)


def _split_header_block(block: bytes) -> dict[str, str]:
    """Unfold the wanted fields of an RFC 5322 header block (section 2.2.3); first occurrence wins."""
    block = block[:MAX_HEADER_BYTES]
    if b"\n" not in block:
        block = block.replace(b"\r", b"\n")  # classic Mac line ends
    ends = [i for i in (block.find(b"\n\n"), block.find(b"\n\r\n")) if i >= 0]
    if ends:
        block = block[: min(ends) + 1]
    fields: dict[str, str] = {}
    block = b"\n" + block  # a literal "\n" before each name lets the regex engine jump from line to line
    for match in _FIELD.finditer(block.lower()):
        name = match.group(1).decode("ascii")
        if name not in fields:
            value = block[match.start(2) : match.end(2)]
            fields[name] = _text(_FOLD.sub(b"", value) if b"\n" in value else value)
    return fields


def _ids(value: str | None) -> tuple[str, ...]:
    """Message ids from a Message-ID / In-Reply-To / References value, tolerant of junk (RFC 5322 3.6.4)."""
    if not value:
        return ()
    found = _BRACKETED_ID.findall(value) or _BARE_ID.findall(value)
    out: list[str] = []
    for raw in found:
        ident = _clean(raw, MAX_ID)
        if ident and ident not in out:
            out.append(ident)
    if len(out) > MAX_REFERENCES:
        out = out[:1] + out[-(MAX_REFERENCES - 1) :]
    return tuple(out)


def _address(name: str, email: str) -> Address | None:
    email = _clean(email, MAX_EMAIL).lower().strip("<>")
    if not email:
        return None
    display = _clean(decode_words(name), MAX_NAME).strip("\"' ")
    return Address(name=display, email=email)


def _simple_address(element: str) -> Address | bool | None:
    """The address in one list element, None if empty, False when it needs the full RFC 5322 parser."""
    match = _SIMPLE_ADDRESS.match(element)
    if not match:
        return False
    quoted, plain, bracketed, bare = match.groups()
    name = quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted is not None else plain or ""
    return _address(name, bracketed or bare)


_GROUP_START = re.compile(r'^\s*[^<>"@:,;]*:(?!:)\s*')  # "friends:" before the first member of a group
_GROUP_END = re.compile(r"\s*;\s*$")  # ";" after its last member


@lru_cache(maxsize=8192)  # the user's own address and frequent correspondents repeat across a mailbox
def _addresses(value: str | None) -> tuple[Address, ...]:
    """Addresses of a From/To/Cc/Reply-To value (RFC 5322 3.4), names RFC 2047-decoded, emails lower-cased."""
    if not value:
        return ()
    out: list[Address] = []
    for element in _LIST_ELEMENT.findall(value[: MAX_ADDRESSES * 400]):
        if not element.strip():
            continue
        found = _simple_address(element)
        if found is False:
            # Groups, comments, route addresses, junk: the stdlib parser is slower but knows them all.
            # Group syntax ("friends: a@x, b@y;") is unwrapped first: Python 3.13's strict getaddresses
            # drops a member that carries the group's ";".
            element = _GROUP_END.sub("", _GROUP_START.sub("", element))
            parsed = [_address(n, e) for n, e in getaddresses([element])]
            out.extend(a for a in parsed if a is not None)
        elif isinstance(found, Address):
            out.append(found)
        if len(out) >= MAX_ADDRESSES:
            break
    return tuple(out[:MAX_ADDRESSES])


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _date(value: str | None, internaldate: datetime | None) -> tuple[datetime, str]:
    """The Date header (RFC 5322 3.6.1) unless missing or absurd; then INTERNALDATE; then EPOCH_FALLBACK."""
    internal = _aware(internaldate)
    parsed: datetime | None = None
    if value:
        try:
            parsed = _aware(parsedate_to_datetime(value.strip()))
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
    if parsed is not None:
        too_old = parsed.year < MIN_YEAR
        try:
            too_new = internal is not None and parsed > internal + FUTURE_SLACK
        except OverflowError:
            too_new = True
        if not (too_old or too_new):
            return parsed, "header"
    if internal is not None:
        return internal, "internaldate"
    return EPOCH_FALLBACK, "none"


def _automated(fields: dict[str, str], sender: Address | None) -> list[str]:
    markers: list[str] = []
    if "list-id" in fields:
        markers.append("list-id")
    if "list-unsubscribe" in fields:
        markers.append("list-unsubscribe")
    precedence = fields.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        markers.append(f"precedence-{precedence}")
    auto = fields.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):  # RFC 3834 section 5: "no" means a person sent it
        markers.append("auto-submitted")
    if "x-auto-response-suppress" in fields:
        markers.append("x-auto-response-suppress")
    if sender is not None:
        local = sender.email.rpartition("@")[0]
        if _NOREPLY_LOCAL.search(local):
            markers.append("noreply-sender")
        elif _ROLE_LOCAL.match(local):
            markers.append("role-sender")
    content_type = fields.get("content-type", "").lower()
    if ("text/calendar" in content_type or "application/ics" in content_type
            or "calendarmessage" in fields.get("content-class", "").lower()):
        markers.append("calendar")
    return markers


def _linkedin_person(fields: dict[str, str], sender: Address | None) -> str:
    """The person's name when LinkedIn relays their message, else ""."""
    if sender is None:
        return ""
    local, _, domain = sender.email.rpartition("@")
    if not (domain == "linkedin.com" or domain.endswith(".linkedin.com") or "x-linkedin-class" in fields):
        return ""
    via = _VIA_LINKEDIN.match(sender.name)
    if via:
        return via.group(1).strip()
    if local in _LINKEDIN_MESSAGING and sender.name and "linkedin" not in sender.name.lower():
        return sender.name
    return ""


def _kept_headers(fields: dict[str, str]) -> tuple[tuple[str, str], ...]:
    kept: list[tuple[str, str]] = []
    for key, value in fields.items():
        if key in KEPT_HEADERS:
            name = KEPT_HEADERS[key]
        elif key.startswith("x-introd-"):
            name = _clean("-".join(part.capitalize() for part in key.split("-")), 64)
        else:
            continue
        kept.append((name, _clean(decode_words(value), MAX_HEADER_VALUE)))
        if len(kept) >= MAX_KEPT_HEADERS:
            break
    return tuple(kept)


def _synthetic_id(fields: dict[str, str], block: bytes) -> str:
    """A stable id for a message without Message-ID, from the headers every copy shares."""
    keys = ("from", "to", "cc", "date", "subject", "in-reply-to", "references")
    material = "\n".join(fields.get(k, "").strip() for k in keys)
    data = material.encode("utf-8", "surrogatepass") if material.strip() else block[:MAX_HEADER_BYTES]
    return f"{hashlib.sha1(data, usedforsecurity=False).hexdigest()}@introd.invalid"


def _header_record(
    block: bytes, *, folder: str, uid: int | None, internaldate: datetime | None, flags: Sequence[str],
    gm_thread_id: str | None,
) -> Message | Skipped:
    fields = _split_header_block(block)
    if not any(k in fields for k in ("from", "message-id", "date", "subject", "to")):
        return Skipped(folder, uid, "no message headers")
    message_ids = _ids(fields.get("message-id"))
    message_id = message_ids[0] if message_ids else _synthetic_id(fields, block)
    senders = _addresses(fields.get("from"))
    sender = senders[0] if senders else None
    date, date_source = _date(fields.get("date"), internaldate)
    person = _linkedin_person(fields, sender)
    markers = _automated(fields, sender)
    if person:
        # A relayed message carries a person's words: only the calendar marker survives, so that
        # "is_automated" keeps meaning "no person to answer".
        markers = [m for m in markers if m == "calendar"]
    thread = gm_thread_id or _clean(fields.get("x-gm-thrid", ""), 32) or None
    return Message(
        message_id=message_id,
        subject=_clean(decode_words(fields.get("subject", "")), MAX_SUBJECT),
        date=date,
        sender=sender,
        to=_addresses(fields.get("to")),
        cc=_addresses(fields.get("cc")),
        reply_to=_addresses(fields.get("reply-to")),
        in_reply_to=_ids(fields.get("in-reply-to")),
        references=_ids(fields.get("references")),
        folder=folder,
        uid=uid,
        gm_thread_id=thread,
        automated=tuple(markers),
        relayed_by="linkedin" if person else None,
        relayed_for=_clean(person, MAX_NAME),
        flags=tuple(_clean(str(f), 64) for f in flags),
        headers=_kept_headers(fields),
        date_source=date_source,
    )


def _skip_reason(exc: BaseException) -> str:
    return _clean(f"unparsable: {type(exc).__name__}: {exc}", 200)


def parse_headers(
    header_bytes: bytes, *, folder: str, uid: int | None = None, internaldate: datetime | None = None,
    flags: Sequence[str] = (), gm_thread_id: str | None = None,
) -> Message | Skipped:
    """Parse an RFC 5322 header block into a header-only Message (``has_body=False``); never raises."""
    try:
        return _header_record(header_bytes, folder=folder, uid=uid, internaldate=internaldate, flags=flags,
                              gm_thread_id=gm_thread_id)
    except Exception as exc:  # a hostile header must cost one message, not the sync
        return Skipped(folder, uid, _skip_reason(exc))


# --- bodies -----------------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ul", "ol", "pre",
     "section", "article", "header", "footer", "dt", "dd"}
)
_SKIP_TAGS = frozenset({"style", "script", "head", "title", "template", "noscript"})
_QUOTE_OPEN, _QUOTE_CLOSE = "\x00q+\x00", "\x00q-\x00"


class _HtmlText(HTMLParser):
    """HTML to plain text: tags, styles and scripts dropped, entities decoded, blockquotes become ">"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "blockquote":
            self.chunks.append(f"\n{_QUOTE_OPEN}\n")
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.chunks.append(f"\n{_QUOTE_CLOSE}\n")
        elif tag in _BLOCK_TAGS and tag != "br":
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.chunks.append(" ".join(data.split()) if not data.isspace() else " ")


def html_to_text(html: str) -> str:
    """Readable text from an HTML body; quoted parts (``<blockquote>``) are prefixed with "> "."""
    parser = _HtmlText()
    parser.feed(html[:MAX_HTML].replace("\x00", ""))
    parser.close()
    depth = 0
    lines: list[str] = []
    for line in "".join(parser.chunks).split("\n"):
        if line == _QUOTE_OPEN:
            depth += 1
        elif line == _QUOTE_CLOSE:
            depth = max(0, depth - 1)
        else:
            line = line.strip()
            lines.append(f"{'> ' * depth}{line}" if line else ("> " * depth).rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_MIME_EVENT = re.compile(
    rb"^--([^\r\n]*?)[ \t]*\r?$"  # a boundary delimiter line (RFC 2046 5.1.1), or a close delimiter ("--b--")
    rb"|^content-type[ \t]*:[ \t]*(multipart|message)/([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
_BOUNDARY_PARAM = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]*)"|([^;\s]+))', re.IGNORECASE)


def mime_depth(mime: bytes, limit: int = MAX_MIME_DEPTH) -> int:
    """How deeply MIME containers (multipart/*, message/*) nest, read from the lines alone (no parser, no
    recursion); counting stops once it passes ``limit``.

    Each container declared by a Content-Type header opens a level; a delimiter line ``--b`` of an open
    multipart closes every level opened inside it, ``--b--`` closes it too.
    """
    stack: list[bytes | None] = []  # per open level: its boundary, None for an embedded message
    deepest = 0
    for match in _MIME_EVENT.finditer(mime):
        token = match.group(1)
        if token is not None:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i] == token:  # the next part of this multipart: what was opened inside it is over
                    del stack[i + 1:]
                    break
                if token.endswith(b"--") and stack[i] == token[:-2]:  # its close delimiter
                    del stack[i:]
                    break
            continue
        kind, rest = match.group(2).lower(), match.group(3)
        if kind == b"multipart":
            param = _BOUNDARY_PARAM.search(rest)
            if param is None:
                continue  # parsed as a plain part
            stack.append(param.group(1) if param.group(1) is not None else param.group(2))
        elif not rest.lower().startswith(b"delivery-status"):  # a list of header blocks, not a message
            stack.append(None)
        deepest = max(deepest, len(stack))
        if deepest > limit:
            break
    return deepest


def _too_deep(mime: bytes) -> bool:
    """True when containers nest deeper than MAX_MIME_DEPTH (cheap when there are too few to)."""
    lowered = mime.lower()
    if lowered.count(b"multipart/") + lowered.count(b"message/") <= MAX_MIME_DEPTH:
        return False
    return mime_depth(mime) > MAX_MIME_DEPTH


def _stdlib_body_text(raw: bytes) -> tuple[str, bool]:
    """What _body_text returns, with the standard library only and an explicit stack (no recursion).

    For structures mail-parser trips over: it raises AttributeError on a multipart whose start boundary is
    missing inside one that is never closed, for instance.
    """
    from email import message_from_bytes
    from email.message import Message as MimePart
    from email.policy import compat32

    plain: list[str] = []
    html: list[str] = []
    calendar = False
    todo = [message_from_bytes(raw, policy=compat32)]
    while todo:
        part = todo.pop()
        payload = part.get_payload()
        if isinstance(payload, list):
            todo.extend(p for p in reversed(payload) if isinstance(p, MimePart))
            continue
        ctype = part.get_content_type()
        if ctype in ("text/calendar", "application/ics") or (part.get_filename() or "").lower().endswith(".ics"):
            calendar = True
        if ctype not in ("text/plain", "text/html") or part.get_content_disposition() == "attachment":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = data.decode(charset, "replace")
        except LookupError:
            text = data.decode("utf-8", "replace")
        (plain if ctype == "text/plain" else html).append(text)
    return _pick_text(plain, html), calendar


def _pick_text(plain: list[str], html: list[str]) -> str:
    """The text/plain parts when any has text, else the HTML parts as text; cut at MAX_BODY_TEXT."""
    kept = [t for t in plain if isinstance(t, str) and t.strip()]
    if kept:
        text = "\n".join(kept)
    else:
        joined = "\n".join(t for t in html if isinstance(t, str))
        text = html_to_text(joined) if joined else ""
    return text[:MAX_BODY_TEXT]


def _body_text(raw: bytes) -> tuple[str, bool]:
    """(plain text of the body, whether any part is a calendar invitation) via mail-parser."""
    import mailparser  # imported lazily: header-only syncs never need it
    from mailparser.exceptions import MailParserRecursionError

    try:
        parsed = mailparser.parse_from_bytes(raw)
    except (RecursionError, MailParserRecursionError):
        raise  # nested too deeply for any parser: the message is skipped
    except Exception:  # a mail-parser bug on broken structure: the standard library may still find the text
        text, calendar = _stdlib_body_text(raw)
        if not text.strip() and not calendar:
            raise  # nothing readable either way: skipped (and counted), classified by its headers
        return text, calendar
    calendar = False
    root = parsed.message
    if root is not None:
        for part in root.walk():
            ctype = part.get_content_type()
            filename = (part.get_filename() or "").lower()
            if ctype in ("text/calendar", "application/ics") or filename.endswith(".ics"):
                calendar = True
                break
    return _pick_text(list(parsed.text_plain), list(parsed.text_html)), calendar


_MIME_FIELD = re.compile(rb"\n(?:content-[a-z-]*|mime-version)[ \t]*:.*(?:\r?\n[ \t].*)*")


def _split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, MIME-only message) of a raw message.

    mail-parser gets only the MIME header fields (RFC 2045) and the body: we have parsed the others already,
    and its address and Received parsing was most of its cost.
    """
    ends = [(i, n) for i, n in ((raw.find(b"\r\n\r\n"), 4), (raw.find(b"\n\n"), 2)) if i >= 0]
    if not ends:
        return raw, b""
    end, sep = min(ends)
    block = raw[:end]
    lowered = b"\n" + block.lower()
    mime = b"".join(
        b"\n" + block[match.start() : match.end() - 1].strip(b"\r\n") for match in _MIME_FIELD.finditer(lowered)
    )
    return block, mime.lstrip(b"\n") + b"\n\n" + raw[end + sep :]


def parse_message(
    raw: bytes, *, folder: str = "INBOX", uid: int | None = None, internaldate: datetime | None = None,
    flags: Sequence[str] = (), gm_thread_id: str | None = None,
) -> Message | Skipped:
    """Parse a whole RFC 5322 / MIME message: parse_headers plus new and quoted text; never raises."""
    try:
        block, mime = _split_raw(raw[:MAX_RAW])
        head = _header_record(block, folder=folder, uid=uid, internaldate=internaldate, flags=flags,
                              gm_thread_id=gm_thread_id)
        if isinstance(head, Skipped):
            return head
        if _too_deep(mime):
            return Skipped(folder, uid, f"MIME parts nested more than {MAX_MIME_DEPTH} deep")
        text, calendar = _body_text(mime)
        new, quoted = split_reply(text)
        automated = head.automated
        if calendar and "calendar" not in automated:
            automated += ("calendar",)
        return replace(head, has_body=True, new_text=new, quoted_text=quoted, automated=automated)
    except Exception as exc:  # a hostile body must cost one message, not the pass
        return Skipped(folder, uid, _skip_reason(exc))
