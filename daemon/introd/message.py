"""Bytes in, an immutable Message record out (RFC 5322, RFC 2047 headers).

Header-only parsing (for the cheap prefilter and the header index) and full
parsing (new text, quotes and signatures removed) produce the same record;
``has_body`` tells them apart.  Nothing here touches a socket or a clock.

Header parsing runs for every message of a mailbox, so the common shapes (a
UTF-8 header block, a canonical date, one bracketed id; for bodies, text parts
in plain multiparts) take fast paths that leave anything else to the general
code (mail-parser for bodies); tests/unit/test_message_fast.py checks that they
agree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import NamedTuple

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

_NOT_KEPT = _WANTED - KEPT_HEADERS.keys()  # a block with only these fields keeps no header
# The usual spellings of the wanted names, each mapped to its lower case (saves a lower() per field).
_SPELLINGS = {
    spelling: spelling.lower()
    for name in (*_WANTED, *KEPT_HEADERS.values(), "Message-ID", "List-ID", "CC")
    for spelling in (name, name.title(), name.upper())
}
# A wanted field: name, colon, value, continuation lines starting with white space (RFC 5322 2.2).  Matched
# against a lower-cased copy of the block with literal names, so the regex engine skips the unwanted fields
# (Received, DKIM ...) in C; values are then cut from the original bytes.
_FIELD = re.compile(
    rb"\n(" + b"|".join(re.escape(n.encode("ascii")) for n in sorted(_WANTED)) + rb"|x-introd-[!-9;-~]*)"
    rb"[ \t]*:(.*(?:\r?\n[ \t].*)*)",
)
_FOLD = re.compile(rb"\r?\n")
# Any field, for the fast path over a UTF-8 block: the name is printable ASCII without ":" (every wanted name
# and every "x-introd-" name is), the value is cut exactly as _FIELD cuts it.  Where this regex starts a match
# on an unwanted field, _FIELD cannot match inside it: the lines it spans all start with white space.
_ANY_FIELD = re.compile(r"\n([!-9;-~]+)[ \t]*:(.*(?:\r?\n[ \t].*)*)")
_BLANK_LINE = re.compile(rb"\n\r?\n")  # the end of the header section (RFC 5322 2.1)
_FAST_SPLIT_MAX = 16 * 1024  # header sections are 0.5-2 KB from a HEADER.FIELDS fetch, 2-10 KB in full
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")
_BRACKETED_ID = re.compile(r"<\s*([^<>\s]{1,250})\s*>")
_BARE_ID = re.compile(r"[^<>\s,;\"()]{1,250}@[^<>\s,;\"()]{1,250}")
_ADDR_SPEC = r"[^<>\s\",;:()]+@[^<>\s\",;:()]+"
_SIMPLE_ADDRESS = re.compile(
    rf'^\s*(?:(?:"((?:[^"\\]|\\.)*)"|([^<>",;:()]*?))\s*<({_ADDR_SPEC})>|({_ADDR_SPEC}))\s*$'
)
# One element of an address list: commas inside quotes or angle brackets do not split.  (The last branch takes a
# run of characters, not one: the same elements, found in a third less time.)
_LIST_ELEMENT = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|<[^<>]*>?|[^,"<]+)+')
# A comma inside angle brackets: the text from a "<" to the next "<" or ">" (where _LIST_ELEMENT's bracket branch
# stops) holds one.  Without it, and without quotes, _LIST_ELEMENT's elements are the text between commas.
_BRACKETED_COMMA = re.compile(r"<[^<>,]*,")

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
    if value[-1:] == "\r":
        value = value[:-1]  # the CR of a CRLF line end would become a trailing space, which goes anyway
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


def _header_section(block: bytes) -> bytes:
    """The header section of ``block``: capped, CR-only line ends made LF, cut after the first empty line."""
    block = block[:MAX_HEADER_BYTES]
    blank = _BLANK_LINE.search(block)
    if blank is None and b"\n" not in block:
        block = block.replace(b"\r", b"\n")  # classic Mac line ends
        blank = _BLANK_LINE.search(block)
    return block if blank is None else block[: blank.start() + 1]


def _split_header_block(block: bytes) -> dict[str, str]:
    """Unfold the wanted fields of an RFC 5322 header block (section 2.2.3); first occurrence wins.

    Fast path: a block that is valid UTF-8 (all ASCII, as nearly every block is) is decoded once and cut into
    fields by one ``findall``.  Any other block, and one of more than _FAST_SPLIT_MAX bytes (thousands of junk
    fields would each cost a turn of the loop), takes _split_header_bytes, which skips unwanted fields in C and
    decodes each value on its own (UTF-8, else Latin-1).  Both give the same fields in the same order.
    """
    block = _header_section(block)
    if len(block) > _FAST_SPLIT_MAX:
        return _split_header_bytes(block)
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return _split_header_bytes(block)
    fields: dict[str, str] = {}
    for name, value in _ANY_FIELD.findall("\n" + text):
        key = _SPELLINGS.get(name)
        if key is None:
            key = name.lower()
            if not (key in _WANTED or key.startswith("x-introd-")):
                continue
        if key not in fields:
            fields[key] = value.replace("\r\n", "").replace("\n", "") if "\n" in value else value  # = _FOLD
    return fields


def _split_header_bytes(block: bytes) -> dict[str, str]:
    """_split_header_block for a header section that is not valid UTF-8: each value decoded on its own."""
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
    one = value.strip()
    if one[:1] == "<" and one[-1:] == ">":
        ident = one[1:-1]  # printable: no white space but " "
        if 0 < len(ident) <= MAX_ID and ident.isprintable() and not ("<" in ident or ">" in ident or " " in ident):
            return (ident,)  # the usual Message-ID or In-Reply-To, as the general case below would read it
    found = _BRACKETED_ID.findall(value)
    if found and len(found) <= MAX_REFERENCES and "".join(found).isprintable() and len(set(found)) == len(found):
        return tuple(found)  # distinct printable bracketed ids (<= MAX_ID each): what the loop would return
    found = found or _BARE_ID.findall(value)
    out: list[str] = []
    for raw in found:
        # Both id patterns exclude white space: a printable id is already clean (_clean would only cap it).
        ident = raw[:MAX_ID] if raw.isprintable() else _clean(raw, MAX_ID)
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


@lru_cache(maxsize=8192)  # people recur in ever new To/Cc combinations: a new list is mostly known entries
def _simple_address(element: str) -> Address | bool | None:
    """The address in one list element, None if empty, False when it needs the full RFC 5322 parser."""
    match = _SIMPLE_ADDRESS.match(element)
    if not match:
        return False
    quoted, plain, bracketed, bare = match.groups()
    name = quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted is not None else plain or ""
    return _address(name, bracketed or bare)


def _list_elements(value: str) -> list[str]:
    """The elements of an address list as _LIST_ELEMENT finds them, plus empty and blank ones (callers skip
    those): a plain split at the commas when no quote and no comma in angle brackets can protect a comma."""
    if '"' not in value and _BRACKETED_COMMA.search(value) is None:
        return value.split(",")
    return _LIST_ELEMENT.findall(value)


_GROUP_START = re.compile(r'^\s*[^<>"@:,;]*:(?!:)\s*')  # "friends:" before the first member of a group
_GROUP_END = re.compile(r"\s*;\s*$")  # ";" after its last member


@lru_cache(maxsize=8192)  # the user's own address and frequent correspondents repeat across a mailbox
def _addresses(value: str | None) -> tuple[Address, ...]:
    """Addresses of a From/To/Cc/Reply-To value (RFC 5322 3.4), names RFC 2047-decoded, emails lower-cased."""
    if not value:
        return ()
    out: list[Address] = []
    for element in _list_elements(value[: MAX_ADDRESSES * 400]):
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


# The canonical RFC 5322 date (section 3.3) and its common relatives: optional day name, 1-2 digit day, month
# name, 2-4 digit year, hh:mm[:ss], then a numeric or named zone (anything after it is ignored, as the stdlib
# ignores it) or no zone at all.  Everything else goes to email.utils.parsedate_to_datetime.
_DATE = re.compile(
    r"(?:[A-Za-z]+,[ \t]*)?([0-9]{1,2})[ \t]+([A-Za-z]{3,9})[ \t]+([0-9]{2,4})"
    r"[ \t]+([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2}))?(?:[ \t]+([+-][0-9]{4}|[A-Za-z]{1,5})(?:[ \t].*)?)?"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "january",
                "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
                "december")  # the stdlib's list
_MONTHS = {spelling: i % 12 + 1 for i, name in enumerate(_MONTH_NAMES) for spelling in (name, name.capitalize())}
_NUMBERS = {text: i for i in range(100) for text in (str(i), f"{i:02d}")}
# Obsolete zone names (RFC 5322 4.3) as the stdlib reads them, in seconds east of UTC.
_ZONES = {"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "AST": -4 * 3600, "ADT": -3 * 3600, "EST": -5 * 3600,
          "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600, "MST": -7 * 3600, "MDT": -6 * 3600,
          "PST": -8 * 3600, "PDT": -7 * 3600}


@lru_cache(maxsize=256)
def _tzinfo(zone: str | None) -> timezone:
    """The zone of a date as parsedate_to_datetime + _aware read it: "+hhmm" (hh and mm are not range-checked,
    "+0160" is two hours), an obsolete name; UTC for "-0000", an unknown name or none.  ValueError past 24 h."""
    if zone is None:
        return timezone.utc
    if zone[0] not in "+-":
        seconds = _ZONES.get(zone.upper())
        return timezone.utc if seconds is None else timezone(timedelta(seconds=seconds))
    number = int(zone[1:])
    if number == 0:
        return timezone.utc  # "+0000", or "-0000": UTC without knowing the sender's zone
    seconds = (number // 100) * 3600 + (number % 100) * 60
    return timezone(timedelta(seconds=-seconds if zone[0] == "-" else seconds))


def _fast_date(value: str) -> datetime | None:
    """``_aware(parsedate_to_datetime(value))`` for the shapes _DATE accepts; None for any other shape.

    Raises ValueError where the stdlib does (a day, hour or zone out of range).  Two-digit years follow POSIX
    (69-99 are 19xx).
    """
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    day, month_name, year_text, hour, minute, second, zone = match.groups()
    month = _MONTHS.get(month_name) or _MONTHS.get(month_name.lower())
    if month is None:
        return None  # the stdlib then tries the day and month the other way round
    year = int(year_text)
    if year < 100:
        year += 1900 if year > 68 else 2000
    number = _NUMBERS  # "7" and "07" -> 7: a dict lookup costs half an int()
    return datetime(year, month, number[day], number[hour], number[minute], number[second] if second else 0,
                    tzinfo=_tzinfo(zone))


def _date(value: str | None, internaldate: datetime | None) -> tuple[datetime, str]:
    """The Date header (RFC 5322 3.6.1) unless missing or absurd; then INTERNALDATE; then EPOCH_FALLBACK."""
    internal = _aware(internaldate)
    parsed: datetime | None = None
    if value:
        value = value.strip()
        try:
            parsed = _fast_date(value)
            if parsed is None:
                parsed = _aware(parsedate_to_datetime(value))
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


@lru_cache(maxsize=4096)  # senders repeat across a mailbox
def _sender_marker(local: str) -> str:
    """"noreply-sender" or "role-sender" for a machine's local part (RFC 3834 3.1.7), else ""."""
    if _NOREPLY_LOCAL.search(local):
        return "noreply-sender"
    return "role-sender" if _ROLE_LOCAL.match(local) else ""


def _automated(fields: dict[str, str], sender: Address | None) -> list[str]:
    markers: list[str] = []
    if "list-id" in fields:
        markers.append("list-id")
    if "list-unsubscribe" in fields:
        markers.append("list-unsubscribe")
    if "precedence" in fields:
        precedence = fields["precedence"].strip().lower()
        if precedence in ("bulk", "list", "junk"):
            markers.append(f"precedence-{precedence}")
    if "auto-submitted" in fields:
        auto = fields["auto-submitted"].strip().lower()
        if auto and not auto.startswith("no"):  # RFC 3834 section 5: "no" means a person sent it
            markers.append("auto-submitted")
    if "x-auto-response-suppress" in fields:
        markers.append("x-auto-response-suppress")
    if sender is not None:
        marker = _sender_marker(sender.email.rpartition("@")[0])
        if marker:
            markers.append(marker)
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


@lru_cache(maxsize=1024)  # List-Id, Precedence and the like repeat across a mailbox
def _kept_value(value: str) -> str:
    return _clean(decode_words(value), MAX_HEADER_VALUE)


def _kept_headers(fields: dict[str, str]) -> tuple[tuple[str, str], ...]:
    if fields.keys() <= _NOT_KEPT:
        return ()
    kept: list[tuple[str, str]] = []
    for key, value in fields.items():
        name = KEPT_HEADERS.get(key)
        if name is None:
            if not key.startswith("x-introd-"):
                continue
            name = _clean("-".join(part.capitalize() for part in key.split("-")), 64)
        kept.append((name, _kept_value(value)))
        if len(kept) >= MAX_KEPT_HEADERS:
            break
    return tuple(kept)


def _synthetic_id(fields: dict[str, str], block: bytes) -> str:
    """A stable id for a message without Message-ID, from the headers every copy shares."""
    keys = ("from", "to", "cc", "date", "subject", "in-reply-to", "references")
    material = "\n".join(fields.get(k, "").strip() for k in keys)
    data = material.encode("utf-8", "surrogatepass") if material.strip() else block[:MAX_HEADER_BYTES]
    return f"{hashlib.sha1(data, usedforsecurity=False).hexdigest()}@introd.invalid"


@lru_cache(maxsize=4096)  # a thread's replies repeat its subject
def _subject(value: str) -> str:
    return _clean(decode_words(value), MAX_SUBJECT)


def _header_record(
    block: bytes, *, folder: str, uid: int | None, internaldate: datetime | None, flags: Sequence[str],
    gm_thread_id: str | None,
) -> Message | Skipped:
    fields = _split_header_block(block)
    if fields.keys().isdisjoint(("from", "message-id", "date", "subject", "to")):
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
    thread = gm_thread_id or (_clean(fields["x-gm-thrid"], 32) if "x-gm-thrid" in fields else "") or None
    return _frozen_message({
        "message_id": message_id,
        "subject": _subject(fields.get("subject", "")),
        "date": date,
        "sender": sender,
        "to": _addresses(fields.get("to")),
        "cc": _addresses(fields["cc"]) if "cc" in fields else (),
        "reply_to": _addresses(fields["reply-to"]) if "reply-to" in fields else (),
        "in_reply_to": _ids(fields.get("in-reply-to")),
        "references": _ids(fields.get("references")),
        "folder": folder,
        "uid": uid,
        "gm_thread_id": thread,
        "automated": tuple(markers),
        "relayed_by": "linkedin" if person else None,
        "has_body": False,
        "new_text": "",
        "quoted_text": "",
        "flags": tuple([_clean(str(f), 64) for f in flags]),
        "headers": _kept_headers(fields),
        "date_source": date_source,
        "relayed_for": _clean(person, MAX_NAME) if person else "",
    })


def _frozen_message(values: dict[str, object]) -> Message:
    """``Message(**values)`` without the frozen dataclass ``__init__`` and its ``object.__setattr__`` per field.

    ``values`` must name every field of Message (a unit test pins the keys to ``dataclasses.fields``).
    """
    message = object.__new__(Message)
    message.__dict__.update(values)
    return message


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


# --- bodies: the fast path ----------------------------------------------------------------------------------
#
# mail-parser runs the stdlib FeedParser (which compiles a regex per boundary) and then walks every part several
# times; for the shapes nearly all mail has, the same text comes out of a plain split at the boundary lines.  The
# fast path reads only what mail-parser's result depends on and mirrors its rules (its MailParser.parse and
# _decode_body_payload, the stdlib's get_param, get_filename and get_payload); whatever it is not sure about
# raises _Unsupported and goes to mail-parser.  tests/unit/test_message_fast.py compares the two on each shape.

class _Unsupported(Exception):
    """The fast path cannot vouch for mail-parser's reading of this message: use mail-parser."""


_MAX_FAST_DEPTH = 4  # multipart/mixed > multipart/alternative > text is depth 2
# A part's header section and the empty line after it.  Header lines are the stdlib's (an RFC 5322 field name,
# a colon, no white space before it) or continuations; the empty line is "\n" or "\r\n".
_PART_HEAD = re.compile(rb"(?:[!-9;-~]+:[^\n]*\n(?:[ \t][^\n]*\n)*)*\r?\n")
_PART_FIELD = re.compile(
    rb"^(content-type|content-transfer-encoding|content-disposition):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
# Header values in the subset of RFC 2045 / RFC 2183 syntax where the stdlib's loose parameter parser and the
# RFC agree: tokens, and quoted strings without quotes, backslashes, ";" or angle brackets inside; no RFC 2231.
_WS = r"[ \t\r\n]*"
_ATOM = r"[!#$%&'+.^_`|~0-9A-Za-z-]+"
_PARAM = rf';{_WS}({_ATOM}){_WS}={_WS}(?:"([ !#-:=?-\[\]-~]*)"|([!#-:=?-\[\]-~]+)){_WS}'
_TYPED_VALUE = re.compile(rf"{_WS}({_ATOM}(?:/{_ATOM})?){_WS}((?:{_PARAM})*)(?:;{_WS})?")
_PARAMS = re.compile(_PARAM)
_CTE = re.compile(r"[0-9A-Za-z-]+")
_UUENCODE = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


def _typed_value(value: str) -> tuple[str, dict[str, str]]:
    """(lower-cased type, {lower-cased parameter: unquoted value, first wins}) of a Content-Type or
    Content-Disposition value, as the stdlib's get_content_type and get_param read it."""
    match = _TYPED_VALUE.fullmatch(value)
    if match is None:
        raise _Unsupported
    params: dict[str, str] = {}
    for name, quoted, token in _PARAMS.findall(match.group(2)):
        params.setdefault(name.lower(), quoted if token == "" else token)
    return match.group(1).lower(), params


def _split_part(data: bytes) -> tuple[dict[str, str], bytes]:
    """({lower-cased MIME field name: value as compat32 reads it, first wins}, body) of one MIME entity."""
    head = _PART_HEAD.match(data)
    if head is None:
        raise _Unsupported  # no empty line: the stdlib would take a header-looking body line as the body
    section = data[: head.end()]
    if not section.isascii() or b"=?" in section:
        raise _Unsupported  # 8-bit or RFC 2047 parameters: decoded differently by mail-parser and the stdlib
    fields: dict[str, str] = {}
    for name, value in _PART_FIELD.findall(section):
        fields.setdefault(name.decode("ascii").lower(), value.rstrip(b"\r\n").decode("ascii"))
    return fields, data[head.end() :]


def _delimiters(body: bytes, boundary: bytes) -> list[tuple[int, int, bool]]:
    """(line start, next line start, is the close delimiter) of each delimiter line of a multipart body up to
    and including its close delimiter (RFC 2046 5.1.1; the stdlib also allows white space after it)."""
    dash = b"--" + boundary
    found: list[tuple[int, int, bool]] = []
    at = body.find(dash)
    while at >= 0:
        end = body.find(b"\n", at)
        end = len(body) if end < 0 else end + 1
        if at == 0 or body[at - 1] == 0x0A:
            tail = body[at + len(dash) : end].rstrip(b"\r\n")
            close = tail.startswith(b"--")
            if not (tail[2:] if close else tail).strip(b" \t"):
                found.append((at, end, close))
                if close:
                    return found
        at = body.find(dash, end)
    raise _Unsupported  # no close delimiter: the stdlib notes a defect and mail-parser may read on


def _body_parts(body: bytes, boundary: bytes) -> list[bytes]:
    """The body parts of a multipart body: what lies between its delimiter lines, each line end included."""
    marks = _delimiters(body, boundary)
    if len(marks) < 2 or marks[0][2]:
        raise _Unsupported  # no part, or a close delimiter first (no start boundary)
    parts = []
    for (_, start, _), (end, _, _) in itertools.pairwise(marks):
        if start == end:
            raise _Unsupported  # adjacent delimiter lines: the stdlib skips the second one
        parts.append(body[start:end])
    return parts


def _decode_text(payload: bytes, cte: str, charset: str) -> str:
    """A text part's payload as mail-parser decodes it (MailParser._decode_body_payload): 7bit or 8bit ASCII
    as it stands, otherwise the transfer encoding undone (RFC 2045 6) and then the charset, UTF-8 if that
    fails, UTF-8 with replacement characters if that fails too."""
    if cte in ("", "7bit", "8bit") and payload.isascii():
        return payload.decode("ascii")
    if cte == "quoted-printable":
        data = binascii.a2b_qp(payload)
    elif cte == "base64":
        joined = b"".join(payload.splitlines())
        if len(joined) % 4:
            raise _Unsupported  # the stdlib pads it and notes a defect
        try:
            data = base64.b64decode(joined, validate=True)
        except binascii.Error:
            raise _Unsupported from None  # the stdlib retries more leniently
    elif cte in _UUENCODE:
        raise _Unsupported
    else:
        data = payload  # 7bit, 8bit, binary or unknown: the bytes as they are
    if not data:
        return ""
    try:
        text = data.decode(charset)
        text.encode("utf-8")  # some codecs produce lone surrogates
    except (LookupError, UnicodeError):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
    return text


class _Entity(NamedTuple):
    """One MIME entity, as far as mail-parser's reading of the message depends on it."""

    ctype: str  # lower-cased, "text/plain" without a Content-Type field
    params: dict[str, str]  # of the Content-Type field
    disposition: str  # lower-cased, "" without a Content-Disposition field
    filename: str  # what the stdlib's get_filename() returns, "" for none
    cte: str  # lower-cased Content-Transfer-Encoding, "" for none
    body: bytes

    @property
    def charset(self) -> str:
        """The stdlib's get_content_charset("utf-8"), as mail-parser asks it."""
        return self.params.get("charset", "utf-8").lower()


def _read_entity(data: bytes, in_multipart: bool) -> _Entity:
    """The entity at the start of ``data`` (all of a body part, or the whole message)."""
    fields, body = _split_part(data)
    if in_multipart:  # the line end before a delimiter belongs to the delimiter (RFC 2046 5.1.1)
        body = body[:-2] if body.endswith(b"\r\n") else body[:-1] if body.endswith(b"\n") else body
    ctype, params = _typed_value(fields["content-type"]) if "content-type" in fields else ("text/plain", {})
    if "/" not in ctype:
        raise _Unsupported  # the stdlib reads an invalid type as text/plain
    disposition, disposition_params = "", dict[str, str]()
    if "content-disposition" in fields:
        disposition, disposition_params = _typed_value(fields["content-disposition"])
    name = disposition_params.get("filename", params.get("name"))
    cte = fields.get("content-transfer-encoding", "")
    if cte and not _CTE.fullmatch(cte):
        raise _Unsupported  # mail-parser strips the value, the stdlib does not
    return _Entity(ctype, params, disposition, "" if name is None else name.strip(), cte.lower(), body)


def _children(entity: _Entity, depth: int) -> list[bytes]:
    """The body parts of a multipart entity that mail-parser reads as an ordinary container."""
    boundary = entity.params.get("boundary", "").rstrip()
    if not boundary or entity.ctype == "multipart/digest" or entity.disposition or entity.filename:
        raise _Unsupported  # no boundary, message/rfc822 by default, or an attached container
    if depth >= _MAX_FAST_DEPTH:
        raise _Unsupported
    return _body_parts(entity.body, boundary.encode("ascii"))


def _is_body_text(entity: _Entity) -> bool:
    """True for a text/plain or text/html leaf that mail-parser takes as body text: not an attachment (it has a
    file name or says "attachment"), unless "inline"."""
    maintype, _, subtype = entity.ctype.partition("/")
    if maintype == "message" or (subtype in ("plain", "html") and maintype != "text"):
        raise _Unsupported  # a nested message; or mail-parser's text by subtype alone ("application/html")
    if subtype not in ("plain", "html"):
        return False
    return entity.disposition == "inline" or not (entity.filename or entity.disposition == "attachment")


def _fast_body_text(mime: bytes) -> tuple[str, bool]:
    """What _body_text returns, without mail-parser, for a tree of multiparts (not digest, at most
    _MAX_FAST_DEPTH deep) over leaves that are not messages, all with plain RFC 2045 fields.

    Raises _Unsupported for anything else: lone CRs, 8-bit or RFC 2047 / RFC 2231 field values, a part without
    its empty line, a missing start or close delimiter, adjacent delimiters, uuencode, base64 that needs repair,
    an attached multipart and so on.  HTML is decoded only when no text/plain part has text (_pick_text).
    """
    if mime.count(b"\r") != mime.count(b"\r\n"):
        raise _Unsupported  # a lone CR ends a line for the stdlib
    plain: list[str] = []
    html: list[_Entity] = []
    calendar = False
    todo = [(mime, 0)]  # (entity, depth) in mail-parser's order: depth first, parts in order
    while todo:
        data, depth = todo.pop()
        entity = _read_entity(data, in_multipart=depth > 0)
        if entity.ctype in ("text/calendar", "application/ics") or entity.filename.lower().endswith(".ics"):
            calendar = True
        if entity.ctype.startswith("multipart/"):
            todo.extend((part, depth + 1) for part in reversed(_children(entity, depth)))
        elif _is_body_text(entity):
            if entity.ctype == "text/html":
                html.append(entity)
            elif text := _decode_text(entity.body, entity.cte, entity.charset):
                plain.append(text)
    if any(text.strip() for text in plain):
        return _pick_text(plain, []), calendar
    decoded = [_decode_text(e.body, e.cte, e.charset) for e in html]
    return _pick_text([], [text for text in decoded if text]), calendar


def _body_text(raw: bytes) -> tuple[str, bool]:
    """(plain text of the body, whether any part is a calendar invitation): the fast path, else mail-parser."""
    try:
        return _fast_body_text(raw)
    except _Unsupported:
        return _mailparser_body_text(raw)


def _mailparser_body_text(raw: bytes) -> tuple[str, bool]:
    """What _body_text returns, via mail-parser (and the standard library where mail-parser fails)."""
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
        return _frozen_message({**vars(head), "has_body": True, "new_text": new, "quoted_text": quoted,
                                "automated": automated})
    except Exception as exc:  # a hostile body must cost one message, not the pass
        return Skipped(folder, uid, _skip_reason(exc))
