"""Due actions -> complete RFC 5322 reply drafts (bytes), rendered from small sandboxed templates.

Pure apart from reading template files: no clock (``now`` is passed in), no sockets, no logging
(problems come back as warnings on the result). Drafts are sent by a human, so they carry no
Auto-Submitted field (RFC 3834 §5 applies to automatic responses only).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime
from importlib import resources
from pathlib import Path
from typing import Protocol

from introd.headers import (
    clean_header_value,
    clean_message_id,
    format_message_id,
    make_message_id,
    reply_subject,
    thread_references,
)
from introd.intros import DueAction, DueKind, IntroState, Role
from introd.message import Address, Message

TEMPLATE_SUFFIX = ".txt"
MAX_TEMPLATE_BYTES = 64 * 1024
MAX_QUOTE_LINES = 40
MAX_QUOTE_CHARS = 4000
MAX_VALUE_LEN = 300  # any one template variable
# RFC 5322 §2.1.1 (78-column lines), RFC 2045 §6.7 (76-column quoted-printable), RFC 2047 §2 (75-character
# encoded words): policy.SMTP honours all three. It may fold a value containing "<" straight after the
# colon ("Subject:\r\n Re: Mary <> Steven"), which is valid; readers should strip the leading space.
OUTPUT_POLICY = policy.SMTP

# Every template introd knows; a user directory may override any of them by file name.
TEMPLATE_NAMES: tuple[str, ...] = (
    "reply",
    "reply_intro",
    "reply_request",
    "no_optin",
    "channel_switch",
    "decline",
    "nudge_1",
    "nudge_2",
    "introducer_nudge",
    "ask_first",
    "make_intro",
    "thank_introducer",
    "followup",
    "reminder",
)

# Kinds that start a new conversation: a private opt-in ask, or the intro itself. They are not threaded
# under (nor quote) the message that triggered them, which was a private exchange with one party or an
# unsent draft.
NEW_CONVERSATION_KINDS = frozenset({DueKind.ASK_FIRST, DueKind.MAKE_INTRO})
REMINDER_ONLY_KINDS = frozenset({DueKind.STALLED, DueKind.MOVE_ON})

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})$")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "herr", "frau", "mme", "m"})
_VIA = re.compile(r"\s+(?:via|\(via)\s+.*$", re.IGNORECASE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_GREETING = re.compile(r"^(?:hi|hello|hey|dear|good (?:morning|afternoon)|hallo|bonjour|hola)\b", re.IGNORECASE)
_REASON_CUES = re.compile(
    r"\b(?:because|so that|could help|can help|would benefit|should (?:meet|talk|connect)|thought you|"
    r"interested in|looking for|working on|in common|great fit|good fit|both)\b",
    re.IGNORECASE,
)
REASON_PLACEHOLDER = "[One or two lines on who they are and why you two should meet.]"


class UserLike(Protocol):
    """Who the user is: display name and own addresses (``intros.UserIdentity`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def addresses(self) -> Collection[str]: ...


@dataclass(frozen=True)
class User:
    """The user's display name and own addresses, the first being the default From."""

    name: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """A parsed template: optional subject line and body, both with ``{{name}}`` variables."""

    subject: str | None
    body: str


@dataclass(frozen=True)
class DraftMessage:
    """A reply draft ready to APPEND: ``message_id`` has no angle brackets, ``raw`` uses CRLF."""

    kind: DueKind
    message_id: str
    subject: str
    raw: bytes
    template: str = ""
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------- templates


def parse_template(text: str) -> Template:
    """Split an optional leading "Subject: ..." line (followed by a blank line) from the body."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    first, sep, rest = text.partition("\n")
    if first.lower().startswith("subject:") and (not sep or not rest.partition("\n")[0].strip()):
        return Template(subject=first[len("subject:") :].strip(), body=rest.partition("\n")[2])
    return Template(subject=None, body=text)


def load_template(name: str, templates_dir: Path | None = None) -> tuple[Template, tuple[str, ...]]:
    """The user's ``<name>.txt`` when present and readable, else the built-in; plus any warnings."""
    if name not in TEMPLATE_NAMES:
        raise KeyError(f"unknown template {name!r}")
    warnings: list[str] = []
    if templates_dir is not None:
        path = templates_dir / f"{name}{TEMPLATE_SUFFIX}"
        if not templates_dir.is_dir():
            warnings.append(f"templates directory {templates_dir} not found; using the built-in {name!r}")
        elif path.exists() or path.is_symlink():
            try:
                if path.stat().st_size > MAX_TEMPLATE_BYTES:
                    raise ValueError(f"larger than {MAX_TEMPLATE_BYTES} bytes")
                template = parse_template(path.read_text(encoding="utf-8"))
                if not template.body.strip():
                    raise ValueError("empty body")
                return template, tuple(warnings)
            except (OSError, UnicodeError, ValueError) as exc:
                warnings.append(f"template {path} unusable ({exc}); using the built-in {name!r}")
    builtin = resources.files("introd").joinpath("templates").joinpath(f"{name}{TEMPLATE_SUFFIX}")
    return parse_template(builtin.read_text(encoding="utf-8")), tuple(warnings)


def substitute(text: str, variables: Mapping[str, str], *, where: str = "template") -> tuple[str, list[str]]:
    """Replace ``{{name}}`` with ``variables[name]`` in one pass; unknown names stay literal, with a warning.

    Deliberately not ``str.format`` (which can reach attributes, ``{0.__globals__}``) nor Jinja: a
    template is data, so it can only pick strings from a fixed dict, and substituted values are never
    expanded again.
    """
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in variables:
            return variables[key]
        unknown.append(key)
        return match.group(0)

    rendered = _VARIABLE.sub(replace, text)
    warnings = [f"unknown variable {{{{{key}}}}} in {where} left as is" for key in dict.fromkeys(unknown)]
    return rendered, warnings


def tidy_body(text: str) -> str:
    """Control characters dropped, trailing spaces trimmed, runs of blank lines collapsed to one."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        kept = "".join(ch for ch in line if ch == "\t" or unicodedata.category(ch) != "Cc")
        lines.append(kept.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# ---------------------------------------------------------------------------------------------- people


def _clean(value: str, max_len: int = MAX_VALUE_LEN) -> str:
    return clean_header_value(value, max_len=max_len)


def display_name(addr: Address) -> str:
    """The person's cleaned display name ("via LinkedIn" suffixes dropped), else the address."""
    name = _VIA.sub("", _clean(addr.name)).strip().strip('"').strip()
    return name or _clean(addr.email)


def first_name(addr: Address) -> str:
    """What a greeting uses: the first given name, "Dr. Jones" for titled names, "" when unknown."""
    name = _VIA.sub("", _clean(addr.name)).strip().strip('"').strip()
    if not name or "@" in name:
        return ""
    if "," in name:  # "Smith, Mary"
        last, _, given = name.partition(",")
        name = f"{given.strip()} {last.strip()}".strip()
    words = name.split()
    if not words:
        return ""
    if words[0].rstrip(".").lower() in _TITLES and len(words) > 1:
        return f"{words[0]} {words[-1]}"
    return words[0]


def join_names(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    names = [n for n in names if n]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def user_address(user: UserLike, original: Message | None) -> Address:
    """The user's From: the address the original reached when it is one of theirs, else the first."""
    own = [a.strip().lower() for a in user.addresses if a.strip()]
    if not isinstance(user.addresses, Sequence):
        own.sort()  # a set has no "first": make the choice stable
    if not own:
        raise ValueError("the user has no address")
    if original is not None:
        for addr in original.to + original.cc:
            if addr.email.lower() in own:
                return Address(user.name, addr.email.lower())
    return Address(user.name, own[0])


def _header_address(addr: Address) -> HeaderAddress | None:
    email = addr.email.strip()
    if not _EMAIL.match(email) or ".." in email.partition("@")[2]:
        return None
    try:
        return HeaderAddress(display_name=_clean(addr.name, 200), addr_spec=email)
    except (ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------------------- message


def human_datetime(moment: datetime, tz: tzinfo | None) -> str:
    """ "Mon, 2 Mar 2026 at 10:00", in ``tz`` when given."""
    local = moment.astimezone(tz) if tz is not None else moment
    return f"{local:%a}, {local.day} {local:%b %Y} at {local:%H:%M}"


def quote_original(original: Message, tz: tzinfo | None) -> str:
    """The original's own words as mail clients quote them: an attribution line and "> " lines, capped."""
    text = original.new_text.strip()
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    truncated = len(lines) > MAX_QUOTE_LINES or len(text) > MAX_QUOTE_CHARS
    kept: list[str] = []
    size = 0
    for line in lines[:MAX_QUOTE_LINES]:
        line = "".join(ch for ch in line if ch == "\t" or unicodedata.category(ch) != "Cc").rstrip()
        size += len(line) + 1
        if size > MAX_QUOTE_CHARS:
            break
        kept.append(f"> {line}" if line else ">")
    if truncated:
        kept.append("> [...]")
    who = str(Address(display_name(original.sender), _clean(original.sender.email))) if original.sender else "someone"
    return f"On {human_datetime(original.date, tz)}, {who} wrote:\n" + "\n".join(kept)


@dataclass(frozen=True)
class Envelope:
    """The header fields of one message introd writes (addresses already chosen)."""

    sender: Address
    to: tuple[Address, ...]
    subject: str
    date: datetime
    message_id: str
    marker: str  # X-Introd-Action value
    bcc: tuple[Address, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()


def compose(envelope: Envelope, body: str) -> tuple[bytes, list[str]]:
    """An RFC 5322 text/plain UTF-8 message with CRLF line ends; recipients that are not valid are dropped.

    After serialising, the header names are parsed back and compared with the ones set: a mismatch means
    something injected a field, and raises ValueError rather than write it.
    """
    if envelope.date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    warnings: list[str] = []

    def addresses(field: str, addrs: Iterable[Address]) -> list[HeaderAddress]:
        out: list[HeaderAddress] = []
        for addr in addrs:
            header = _header_address(addr)
            if header is None:
                warnings.append(f"{field}: dropped unusable address {_clean(addr.email, 100)!r}")
            else:
                out.append(header)
        return out

    sender = addresses("From", [envelope.sender])
    if not sender:
        raise ValueError(f"the user's address {envelope.sender.email!r} is not usable")
    msg = EmailMessage(policy=OUTPUT_POLICY)
    msg["From"] = sender[0]
    names = ["From"]
    to = addresses("To", envelope.to)
    if to:
        msg["To"] = to
        names.append("To")
    to_emails = {a.addr_spec.lower() for a in to}
    bcc = [a for a in addresses("Bcc", envelope.bcc) if a.addr_spec.lower() not in to_emails]
    if bcc:
        msg["Bcc"] = bcc
        names.append("Bcc")
    fields: list[tuple[str, str | None]] = [
        ("Subject", _clean(envelope.subject, 900)),
        ("Date", format_datetime(envelope.date)),
        ("Message-ID", format_message_id(envelope.message_id)),
        ("In-Reply-To", format_message_id(envelope.in_reply_to) if envelope.in_reply_to else None),
        ("References", " ".join(map(format_message_id, envelope.references)) or None),
        ("X-Introd-Action", _clean(envelope.marker, 900)),
        *((name, _clean(value, 900)) for name, value in envelope.extra),
    ]
    for name, value in fields:
        if value is not None:
            msg[name] = value
            names.append(name)
    msg.set_content(tidy_body(body) + "\n", charset="utf-8")
    names += ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
    raw = msg.as_bytes(policy=OUTPUT_POLICY)
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    if sorted(k.lower() for k in parsed) != sorted(n.lower() for n in names):
        raise ValueError(f"header fields changed in serialisation: {list(parsed.keys())}")
    return raw, warnings


# ---------------------------------------------------------------------------------------------- drafts


def nudge_number(action: DueAction, state: IntroState) -> int:
    """Which nudge this is: the number at the end of the key, else one more than those already sent."""
    tail = action.key.rsplit(":", 1)[-1]
    if tail.isdigit():
        return max(int(tail), 1)
    sent = max((state.nudges_sent.get(a.email, 0) for a in action.to), default=0)
    return sent + 1


def _introducer_moved(action: DueAction, state: IntroState) -> bool:
    return state.introducer is not None and state.introducer.email in {a.email for a in action.bcc}


def template_for(action: DueAction, state: IntroState) -> str | None:
    """The template a due action renders with; None for reminder-only actions."""
    kind = action.kind
    if kind in REMINDER_ONLY_KINDS:
        return None
    if kind is DueKind.REPLY_OWED:
        if state.role is Role.INTRODUCED and _introducer_moved(action, state):
            return "reply_intro"
        return "reply_request" if state.role is Role.ASKED else "reply"
    if kind is DueKind.NO_OPTIN:
        # The user introduced someone without asking: a lesson for the reminder, not a message.
        return "no_optin" if state.role is not Role.INTRODUCER else None
    if kind is DueKind.NUDGE:
        return "nudge_1" if nudge_number(action, state) <= 1 else "nudge_2"
    return {
        DueKind.CHANNEL_SWITCH: "channel_switch",
        DueKind.DECLINE: "decline",
        DueKind.INTRODUCER_NUDGE: "introducer_nudge",
        DueKind.ASK_FIRST: "ask_first",
        DueKind.MAKE_INTRO: "make_intro",
        DueKind.THANK_INTRODUCER: "thank_introducer",
        DueKind.FOLLOWUP: "followup",
    }.get(kind)


def stated_reason(text: str, other: Address | None) -> str:
    """The intro's own sentence about the other person or why to meet, else ""."""
    other_first = first_name(other) if other else ""
    sentences = [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]
    sentences = [s for s in sentences if 20 <= len(s) <= 300 and not _GREETING.match(s) and ">" not in s[:1]]
    if other_first:
        for sentence in sentences:
            if re.search(rf"\b{re.escape(other_first)}\b", sentence):
                return sentence
    for sentence in sentences:
        if _REASON_CUES.search(sentence):
            return sentence
    return ""


def _others(action: DueAction, state: IntroState, own: set[str]) -> list[Address]:
    to = {a.email for a in action.to}
    intro = {state.introducer.email} if state.introducer else set()
    parties = [p for p in state.parties if p.email not in own and p.email not in intro]
    return [p for p in parties if p.email not in to] or parties or list(action.to)


def template_variables(
    action: DueAction, state: IntroState, original: Message | None, user: UserLike, sender: Address
) -> dict[str, str]:
    """The fixed dict of strings a template may use."""
    own = {a.lower() for a in user.addresses}
    recipients = [a for a in action.to if a.email not in own] or list(action.to)
    others = _others(action, state, own)
    other = others[0] if others else None
    pair = (list(action.to) if len(action.to) >= 2 else list(state.parties))[:2]
    while len(pair) < 2:
        pair.append(Address("", ""))
    introducer = state.introducer
    reason = stated_reason(original.new_text, other) if original is not None else ""
    signature = _clean(user.name) or sender.email.partition("@")[0]
    variables = {
        "recipient_first_names": join_names([first_name(a) for a in recipients]) or "there",
        "recipient_names": join_names([display_name(a) for a in recipients]),
        "recipient_email": recipients[0].email if recipients else "",
        "other_name": display_name(other) if other else "them",
        "other_first_name": (first_name(other) or display_name(other)) if other else "them",
        "other_email": other.email if other else "",
        "party_a_name": display_name(pair[0]) if pair[0].email else "",
        "party_a_first": (first_name(pair[0]) or display_name(pair[0])) if pair[0].email else "",
        "party_b_name": display_name(pair[1]) if pair[1].email else "",
        "party_b_first": (first_name(pair[1]) or display_name(pair[1])) if pair[1].email else "",
        "introducer_name": display_name(introducer) if introducer else "",
        "introducer_first_name": (first_name(introducer) or display_name(introducer)) if introducer else "",
        "reason": reason or REASON_PLACEHOLDER,
        "subject": reply_subject(state.subject)[len("Re: ") :] if state.subject else "",
        "signature": signature,
        "user_name": _clean(user.name),
        "user_first_name": first_name(sender) or signature,
        "user_email": sender.email,
    }
    return {key: _clean(value) for key, value in variables.items()}


def can_draft(action: DueAction, state: IntroState, user: UserLike) -> bool:
    """True when ``render_draft`` would make a draft: a template, and somebody a human could send it to."""
    if template_for(action, state) is None:
        return False
    own = {a.lower() for a in user.addresses}
    return any(_header_address(a) is not None for a in action.to if a.email.lower() not in own)


def render_draft(
    action: DueAction,
    state: IntroState,
    original: Message | None,
    user: UserLike,
    *,
    templates_dir: Path | None = None,
    now: datetime,
    nonce: str | None = None,
) -> DraftMessage | None:
    """The reply draft for ``action``, or None for reminder-only actions and drafts with nobody to address.

    Threading per RFC 5322 §3.6.4 (In-Reply-To, References), one "Re:" (§3.6.5), Date from ``now``.
    ``nonce`` pins the random part of the Message-ID, for tests.
    """
    name = template_for(action, state)
    if name is None or not can_draft(action, state, user):
        return None
    sender = user_address(user, original)
    own = {a.lower() for a in user.addresses}
    to = tuple(a for a in action.to if a.email.lower() not in own)
    bcc = tuple(a for a in action.bcc if a.email.lower() not in own)

    template, loaded = load_template(name, templates_dir)
    warnings = list(loaded)
    variables = template_variables(action, state, original, user, sender)
    body, unknown = substitute(template.body, variables, where=f"template {name!r}")
    warnings += unknown

    new_conversation = action.kind in NEW_CONVERSATION_KINDS
    if template.subject is not None:
        subject, unknown = substitute(template.subject, variables, where=f"subject of template {name!r}")
        warnings += unknown
    else:
        subject = reply_subject(original.subject if original is not None else state.subject)

    parent: str | None = None
    references: tuple[str, ...] = ()
    if not new_conversation:
        if original is not None:
            parent = clean_message_id(original.message_id)
            references = thread_references(original.references, parent)
        elif action.reply_to_message_id:
            parent = clean_message_id(action.reply_to_message_id)
            references = thread_references((), parent)
        if parent is not None and parent not in references:  # a synthetic id: nothing to thread under
            parent = None
        if original is not None:
            quote = quote_original(original, now.tzinfo)
            if quote:
                body = f"{body.rstrip()}\n\n{quote}"

    domain = sender.email.rpartition("@")[2]
    message_id = make_message_id(domain, f"{action.key}\n{now.isoformat()}", nonce=nonce)
    envelope = Envelope(
        sender=sender,
        to=to,
        bcc=bcc,
        subject=subject,
        date=now,
        message_id=message_id,
        in_reply_to=parent,
        references=references,
        marker=f"{action.kind.value}; key={action.key}",
    )
    raw, dropped = compose(envelope, body)
    warnings += dropped
    return DraftMessage(
        kind=action.kind,
        message_id=message_id,
        subject=_clean(subject, 900),
        raw=raw,
        template=name,
        warnings=tuple(warnings),
    )
