"""Header hygiene for what introd writes: values copied from incoming mail never inject a header.

RFC 5322 §2.2 (header fields are one logical line), §2.1.1 (998-character line limit), §3.6.4
(Message-ID, In-Reply-To, References) and RFC 2047 (encoded words, which may decode to CR/LF).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from email.errors import HeaderParseError
from email.header import decode_header, make_header

# Python's email parser decodes encoded words when a header is *assigned* (policy.default/SMTP), so
# "=?utf-8?q?x=0D=0ABcc:_evil@x?=" copied verbatim becomes a real "Bcc:" line on output.  We decode
# encoded words ourselves, strip controls, and break any encoded-word syntax that is left over.
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")
_ENCODED_WORD_START = re.compile(r"=\?(?=[^?\s]*\?[bBqQ]\?)")
_WHITESPACE = re.compile(r"\s+")
_MAX_DECODE_ROUNDS = 3

# Reply prefixes of common clients and languages, with optional counters ("Re[2]:", "RE(3):").
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|sv|vs|antw|antwort|odp|ref|rif|res|r|回复|答复|回覆)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)

# A conservative msg-id: printable ASCII without whitespace or angle brackets, one "@" at least.
_MSG_ID = re.compile(r"^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$")
MAX_MESSAGE_ID_LEN = 250
# RFC 5322 §3.6.4 leaves trimming to us; like RFC 5537 §3.4.4 we keep the first (thread root) and the
# newest ones, so threading survives while the header stays a sane size.
MAX_REFERENCES = 20
# message.py synthesises ids under this domain when a message has none; they mean nothing to a client.
SYNTHETIC_ID_DOMAIN = "@introd.invalid"

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _decode_encoded_words(value: str) -> str:
    """One round of RFC 2047 decoding; the input unchanged when it holds no valid encoded word."""
    if not _ENCODED_WORD.search(value):
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, UnicodeError, LookupError, ValueError):
        return value


def clean_header_value(value: str, *, max_len: int = 998) -> str:
    """One safe unstructured header line: encoded words decoded, controls gone, whitespace collapsed, capped.

    RFC 5322 §2.2 and RFC 2047 §5: the result contains no CR, LF or other control character and no
    encoded word, so re-parsing it can never yield a second header field.
    """
    text = value
    for _ in range(_MAX_DECODE_ROUNDS):
        decoded = _decode_encoded_words(text)
        if decoded == text:
            break
        text = decoded
    # Control characters (Cc), and line/paragraph separators (Zl, Zp) that some parsers split on.
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf" or ch == "\u200d")
    # Lone surrogates (from undecodable 8-bit headers) cannot be encoded at all: replace them.
    text = "".join("\ufffd" if unicodedata.category(ch) == "Cs" else ch for ch in text)
    # Anything still shaped like an encoded word would be decoded again on assignment: break it.
    text = _ENCODED_WORD_START.sub("= ?", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > max_len:
        text = text[: max(max_len - 1, 0)].rstrip() + "…" if max_len > 0 else ""
    return text


def clean_message_id(value: str | None) -> str | None:
    """A msg-id without angle brackets, or None when ``value`` is not a usable one (RFC 5322 §3.6.4)."""
    if not value:
        return None
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text or len(text) > MAX_MESSAGE_ID_LEN or not _MSG_ID.match(text):
        return None
    return text


def reply_subject(subject: str) -> str:
    """The subject with exactly one leading "Re: ", whatever reply prefixes it carried (RFC 5322 §3.6.5)."""
    text = clean_header_value(subject, max_len=900)
    text = _REPLY_PREFIX.sub("", text).strip()
    return f"Re: {text}" if text else "Re:"


def _clean_domain(domain: str) -> str:
    """The domain as lower-case ASCII (IDNA), or ValueError when it is not a hostname."""
    text = domain.strip().rstrip(".").lower()
    try:
        ascii_domain = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"not a usable domain for a Message-ID: {domain!r}") from exc
    labels = ascii_domain.split(".")
    if not ascii_domain or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValueError(f"not a usable domain for a Message-ID: {domain!r}")
    return ascii_domain


def make_message_id(domain: str, seed: str, *, nonce: str | None = None) -> str:
    """A fresh msg-id on ``domain``, without angle brackets (RFC 5322 §3.6.4).

    The left part is ``introd.<sha256(seed)[:16]>.<nonce>``: the seed part lets a person (or grep) tie a
    message to its action; the random nonce keeps two renderings of the same action distinct, because the
    ledger records the id before the APPEND, so idempotency never depends on re-deriving it. ``nonce`` is
    for tests only.
    """
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    token = nonce if nonce is not None else secrets.token_hex(8)
    if not re.fullmatch(r"[A-Za-z0-9]{1,64}", token):
        raise ValueError("nonce must be 1-64 ASCII letters or digits")
    return f"introd.{digest}.{token}@{_clean_domain(domain)}"


def format_message_id(message_id: str) -> str:
    """``message_id`` in angle brackets, as the Message-ID, In-Reply-To and References fields carry it."""
    return f"<{message_id}>"


def thread_references(references: Iterable[str], parent: str | None) -> tuple[str, ...]:
    """References for a reply: the parent's References then the parent, cleaned, deduplicated, capped.

    RFC 5322 §3.6.4; when over MAX_REFERENCES, the first id (the thread root) and the newest ones stay.
    """
    seen: set[str] = set()
    ids: list[str] = []
    for raw in (*references, *((parent,) if parent else ())):
        msg_id = clean_message_id(raw)
        if msg_id is None or msg_id.endswith(SYNTHETIC_ID_DOMAIN) or msg_id in seen:
            continue
        seen.add(msg_id)
        ids.append(msg_id)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return tuple(ids)
