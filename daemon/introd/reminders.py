"""One intro's state and due actions -> a short reminder message for the reminders folder.

Pure apart from reading the (optional user) template. The reminder is threaded under the intro
(RFC 5322 §3.6.4) so mail clients group it with the thread, and carries a hash of what it says
(``X-Introd-State``) so the daemon can tell when a filed reminder is outdated and replace it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from introd.drafting import (
    Envelope,
    UserLike,
    compose,
    display_name,
    join_names,
    load_template,
    nudge_number,
    substitute,
    template_for,
    user_address,
)
from introd.headers import clean_header_value, clean_message_id, format_message_id, make_message_id, thread_references
from introd.intros import DueAction, DueKind, IntroState, Role
from introd.message import Address, Message

# Kinds where someone waits on the user, and kinds where the user waits on someone.
_THEY_WAIT = frozenset({DueKind.REPLY_OWED, DueKind.NO_OPTIN, DueKind.CHANNEL_SWITCH, DueKind.DECLINE})
_YOU_WAIT = frozenset({DueKind.NUDGE, DueKind.INTRODUCER_NUDGE, DueKind.MOVE_ON})

_HEADLINES: dict[DueKind, str] = {
    DueKind.REPLY_OWED: "reply to {to}",
    DueKind.NUDGE: "nudge {to}",
    DueKind.INTRODUCER_NUDGE: "check in with {to}",
    DueKind.NO_OPTIN: "reply to {to} (you were not asked first)",
    DueKind.ASK_FIRST: "ask {to} before introducing",
    DueKind.MAKE_INTRO: "introduce {to}",
    DueKind.CHANNEL_SWITCH: "move {to} to email",
    DueKind.DECLINE: "decline {to}'s request",
    DueKind.THANK_INTRODUCER: "thank {to}",
    DueKind.FOLLOWUP: "ask {to} how it went",
    DueKind.STALLED: "stalled",
    DueKind.MOVE_ON: "time to move on",
}

_PROPOSALS: dict[str, str] = {
    "reply": "a reply to {to}",
    "reply_intro": "a reply to {to} that thanks {introducer} and moves them to Bcc, proposing a short call",
    "reply_request": "a reply to {to} saying you'll ask the other person first, asking for a short blurb",
    "no_optin": "a gracious reply to {to} with an easy out, {introducer} in Bcc",
    "channel_switch": "a note asking {to} to move the conversation to email",
    "decline": "a polite no to {to}",
    "nudge_1": "a short nudge to {to} only",
    "nudge_2": "a last, gentle nudge to {to} only, with an explicit out",
    "introducer_nudge": "a light check-in with {to}",
    "ask_first": "an opt-in ask to {to} only, with a forwardable blurb",
    "make_intro": "the introduction of {to} to each other",
    "thank_introducer": "a thank-you to {to}",
    "followup": 'a "how did it go?" note to {to}',
}

_ROLES: dict[Role, str] = {
    Role.INTRODUCER: "the introducer",
    Role.INTRODUCED: "one of the people introduced",
    Role.REQUESTER: "the one who asked for the intro",
    Role.ASKED: "the one asked to make the intro",
    Role.BYSTANDER: "in Cc only",
}

_NO_DRAFT: dict[DueKind, str] = {
    DueKind.STALLED: "No draft: decide whether to nudge, close it or let it go.",
    DueKind.MOVE_ON: "No draft: no answer after the allowed nudges; consider moving on.",
    DueKind.NO_OPTIN: "No draft: next time, ask each party before making the intro.",
}


@dataclass(frozen=True)
class ReminderMessage:
    """A reminder ready to file: ``message_id`` has no angle brackets, ``raw`` uses CRLF."""

    message_id: str
    subject: str
    raw: bytes
    state_hash: str
    warnings: tuple[str, ...] = ()


def state_hash(state: IntroState, due: Sequence[DueAction]) -> str:
    """A stable hash of the thread, its stage and its due keys: equal hashes mean the reminder is current.

    sha256 cut to 128 bits (32 hex digits), plenty to tell states apart, and short enough that the
    ``X-Introd-State`` field is never folded.
    """
    parts = [state.thread_id, state.stage.value, *sorted(a.key for a in due)]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def human_date(moment: datetime, now: datetime) -> str:
    """ "Mon 2 Mar 2026", in the time zone of ``now``."""
    local = moment.astimezone(now.tzinfo) if now.tzinfo is not None else moment
    return f"{local:%a} {local.day} {local:%b %Y}"


def days_between(start: datetime, now: datetime) -> int:
    """Calendar days from ``start`` to ``now``, counted in the time zone of ``now``."""
    tz = now.tzinfo
    return max((now.date() - start.astimezone(tz).date()).days, 0)


def _since(moment: datetime, now: datetime) -> str:
    days = days_between(moment, now)
    return f"{human_date(moment, now)} ({days} day{'s' if days != 1 else ''})"


def _names(addrs: Sequence[Address], *, emails: bool = True) -> str:
    if emails:
        return join_names([str(Address(display_name(a), a.email)) for a in addrs]) or "them"
    return join_names([display_name(a) for a in addrs]) or "them"


def describe(action: DueAction, state: IntroState, now: datetime) -> str:
    """A few plain lines on one due action: what, who waits on whom since when, the reason, the draft."""
    to = _names(action.to) if action.to else _names(state.parties)
    lines = [f"- {_HEADLINES[action.kind].format(to=to)}".rstrip()]
    since = _since(action.since, now)
    if action.kind in _THEY_WAIT:
        lines.append(f"  {to} has been waiting on you since {since}.")
    elif action.kind in _YOU_WAIT:
        sent = max((state.nudges_sent.get(a.email, 0) for a in action.to), default=0)
        lines.append(f"  You have been waiting on {to} since {since}; {sent} nudge{'s' if sent != 1 else ''} sent.")
    elif action.kind is DueKind.STALLED:
        lines.append(f"  Nothing written in the thread since {_since(state.last_activity, now)}.")
    else:
        lines.append(f"  Due since {since}.")
    if action.reason:
        lines.append(f"  Why: {clean_header_value(action.reason, max_len=300)}")
    name = template_for(action, state)
    if name is None:
        lines.append(f"  {_NO_DRAFT.get(action.kind, 'No draft.')}")
    else:
        introducer = display_name(state.introducer) if state.introducer else "the introducer"
        if name.startswith("nudge_"):
            name = "nudge_1" if nudge_number(action, state) <= 1 else "nudge_2"
        proposal = _PROPOSALS[name].format(to=to, introducer=introducer)
        lines.append(f"  Proposed draft: {proposal}.")
    return "\n".join(lines)


def headline(state: IntroState, due: Sequence[DueAction]) -> str:
    """A short summary for the subject: the first due action, and how many more."""
    if not due:
        return f"nothing due ({state.stage.value})"
    first = due[0]
    to = _names(first.to or state.parties, emails=False)
    text = _HEADLINES[first.kind].format(to=to)
    return f"{text} and {len(due) - 1} more" if len(due) > 1 else text


def render_reminder(
    state: IntroState,
    due: Sequence[DueAction],
    original: Message | None,
    user: UserLike,
    *,
    now: datetime,
    templates_dir: Path | None = None,
    nonce: str | None = None,
) -> ReminderMessage:
    """The reminder for one intro at ``now``, from and to the user, threaded under ``original``."""
    me = user_address(user, original)
    digest = state_hash(state, due)
    if original is not None:
        parent = clean_message_id(original.message_id)
        references = thread_references(original.references, parent)
    else:  # fall back on the thread's own ids, oldest first, the newest as the parent
        ids = [i for i in (clean_message_id(m) for m in state.message_ids) if i]
        parent = ids[-1] if ids else None
        references = thread_references(ids[:-1], parent)
    if parent is not None and parent not in references:
        parent = None
    subject = clean_header_value(state.subject or (original.subject if original else ""), max_len=200)
    variables = {
        "headline": clean_header_value(headline(state, due), max_len=200),
        "subject": subject or "(no subject)",
        "actions": "\n".join(describe(a, state, now) for a in due) or "Nothing is due right now.",
        "thread_message_id": format_message_id(parent) if parent else "(unknown)",
        "stage": state.stage.value.replace("_", " "),
        "role": _ROLES.get(state.role, state.role.value),
        "started": human_date(state.started, now),
        "last_activity": _since(state.last_activity, now),
        "user_name": clean_header_value(user.name),
        "user_email": me.email,
    }
    template, loaded = load_template("reminder", templates_dir)
    warnings = list(loaded)
    body, unknown = substitute(template.body, variables, where="template 'reminder'")
    warnings += unknown
    if template.subject is not None:
        subject_line, unknown = substitute(template.subject, variables, where="subject of template 'reminder'")
        warnings += unknown
    else:
        subject_line = f"[introd] {variables['headline']}: {variables['subject']}"
    domain = me.email.rpartition("@")[2]
    message_id = make_message_id(domain, f"reminder:{state.thread_id}:{digest}", nonce=nonce)
    envelope = Envelope(
        sender=me,
        to=(me,),
        subject=subject_line,
        date=now,
        message_id=message_id,
        in_reply_to=parent,
        references=references,
        marker=f"reminder; thread={state.thread_id}",
        extra=(("X-Introd-State", digest),),
    )
    raw, dropped = compose(envelope, body)
    return ReminderMessage(
        message_id=message_id,
        subject=clean_header_value(subject_line, max_len=900),
        raw=raw,
        state_hash=digest,
        warnings=tuple(warnings + dropped),
    )
