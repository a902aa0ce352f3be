"""The weekly digest: intros + ledger -> plain data -> text, HTML and one multipart/alternative message.

Pure: no I/O, the clock comes in as ``now``. ``digest_run.py`` reads the state store, sends or files the
message, and records the outcome. The message goes from the user to the user only, carries no link but
none at all, and is marked ``Auto-Submitted: auto-generated`` (RFC 3834 §5) so that neither introd's own
classifier nor anyone's auto-responder treats it as conversation. HTML mail follows the habits that render
in Gmail, Outlook and Apple Mail: table layout, inline styles, explicit colours on every text cell, a dark
scheme through ``prefers-color-scheme`` where supported, no images or web fonts.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime

from introd.actions import DISMISSED, DONE, DRAFT, EDITED, PLANNED, SENT
from introd.digest_schedule import Period
from introd.drafting import UserLike, display_name, template_for
from introd.headers import clean_header_value, format_message_id, make_message_id
from introd.intro_model import DueAction, DueKind, IntroAnalysis, IntroState, Role, Stage
from introd.message import Address
from introd.store import LedgerEntry

ACTION_MARKER = "digest"
OUTPUT_POLICY = policy.SMTP  # CRLF, 78-column folding (RFC 5322 §2.1.1)


class Section(str, enum.Enum):
    """Digest sections, in priority order."""

    OWE = "owe"
    WAITING = "waiting"
    NO_OPTIN = "no_optin"
    STALLED = "stalled"
    FOLLOWUP = "followup"
    MOVE_ON = "move_on"


SECTION_TITLES: dict[Section, str] = {
    Section.OWE: "You owe a reply",
    Section.WAITING: "Waiting on others",
    Section.NO_OPTIN: "Made without an opt-in",
    Section.STALLED: "Stalled",
    Section.FOLLOWUP: "Ready for a \u201chow did it go?\u201d",
    Section.MOVE_ON: "Time to move on",
}

SECTION_OF: dict[DueKind, Section] = {
    DueKind.REPLY_OWED: Section.OWE,
    DueKind.CHANNEL_SWITCH: Section.OWE,
    DueKind.DECLINE: Section.OWE,
    DueKind.MAKE_INTRO: Section.OWE,
    DueKind.THANK_INTRODUCER: Section.OWE,
    DueKind.NUDGE: Section.WAITING,
    DueKind.INTRODUCER_NUDGE: Section.WAITING,
    DueKind.NO_OPTIN: Section.NO_OPTIN,
    DueKind.ASK_FIRST: Section.NO_OPTIN,
    DueKind.STALLED: Section.STALLED,
    DueKind.FOLLOWUP: Section.FOLLOWUP,
    DueKind.MOVE_ON: Section.MOVE_ON,
}

# Accent colours: mid-tone, so they read on white and on a dark background (and inverted by a client).
_ACCENT: dict[Section, str] = {
    Section.OWE: "#d14343",
    Section.WAITING: "#2f74c0",
    Section.NO_OPTIN: "#b7791f",
    Section.STALLED: "#8a63d2",
    Section.FOLLOWUP: "#2e8b57",
    Section.MOVE_ON: "#6b7280",
}

_NEXT_STEP: dict[DueKind, str] = {
    DueKind.REPLY_OWED: "Reply to {to}.",
    DueKind.CHANNEL_SWITCH: "Offer {to} to continue by email.",
    DueKind.DECLINE: "Send {to} a polite no.",
    DueKind.MAKE_INTRO: "Make the intro: {to} said yes.",
    DueKind.THANK_INTRODUCER: "Thank {to} and close the loop.",
    DueKind.NUDGE: "Send {to} a short nudge.",
    DueKind.INTRODUCER_NUDGE: "Check in with {to}.",
    DueKind.NO_OPTIN: "Reply to {to} with an easy out.",
    DueKind.ASK_FIRST: "Ask {to} before you send your intro.",
    DueKind.STALLED: "Nudge, close it, or let it go.",
    DueKind.FOLLOWUP: "Ask {to} how it went.",
    DueKind.MOVE_ON: "Let it go: move its reminder to the done folder.",
}
_INTRODUCER_NO_OPTIN = "Check that {to} {are} happy to be introduced; ask first next time."

# Kinds due at once: their ``since`` is the moment the wait began, not the end of a grace period.
_SINCE_IS_START = frozenset({DueKind.NO_OPTIN, DueKind.ASK_FIRST, DueKind.MAKE_INTRO, DueKind.CHANNEL_SWITCH,
                             DueKind.DECLINE})
_THEY_WAIT = frozenset({DueKind.REPLY_OWED, DueKind.CHANNEL_SWITCH, DueKind.DECLINE, DueKind.MAKE_INTRO,
                        DueKind.THANK_INTRODUCER})
_YOU_WAIT = frozenset({DueKind.NUDGE, DueKind.INTRODUCER_NUDGE, DueKind.MOVE_ON})
_OPEN_STAGES = frozenset(Stage) - {Stage.CLOSED, Stage.DECLINED, Stage.DEAD}
_NOT_MADE = frozenset({Stage.REQUESTED, Stage.OPTIN_ASKED, Stage.OPTED_IN, Stage.DECLINED})
_ANSWERED = frozenset({Stage.CONNECTED, Stage.MEETING_SET, Stage.CLOSED})


@dataclass(frozen=True)
class DigestItem:
    """One intro in one section: who, who waits on whom and how long, what to do, where to find it."""

    thread_id: str
    subject: str
    last_message: datetime  # the thread's newest message: with the subject, enough to find it
    parties: tuple[str, ...]  # "Name <email>", the user as "you"
    introducer: str | None  # "Name <email>", or "you"
    role: Role
    waiting: str  # "Mary Lee has been waiting on you for 4 days.", "You have been waiting on ...", ...
    days: int  # days that wait has lasted
    next_step: str
    draft: str  # "ready in Drafts", "not written yet", "none (reminder only)", ...
    draft_ready: bool
    kinds: tuple[DueKind, ...]


@dataclass(frozen=True)
class DigestSection:
    """One non-empty section."""

    section: Section
    title: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True)
class Summary:
    """The counts of the one-line summary."""

    open: int
    stalled: int
    owed: int
    waiting: int
    missing_optins: int
    connected: int  # intros whose parties all wrote for the first time in this period
    answered: int  # intros made whose parties all answered...
    made: int  # ...out of the intros made where the user introduced or was introduced

    @property
    def response_rate(self) -> int | None:
        """Percent of intros made that every party answered; None before any intro was made."""
        return round(100 * self.answered / self.made) if self.made else None

    def line(self) -> str:
        """The summary as one line of text."""
        rate = f"{self.response_rate}% response rate" if self.response_rate is not None else "no response rate yet"
        parts = [
            _count(self.open, "open intro"),
            f"{self.stalled} stalled",
            _count(self.owed, "reply you owe", "replies you owe"),
            f"{self.waiting} waiting on others",
            _count(self.missing_optins, "missing opt-in"),
            f"{self.connected} connected this week",
            rate,
        ]
        return " \u00b7 ".join(parts)


@dataclass(frozen=True)
class Digest:
    """Everything the weekly digest says, as plain data."""

    user_name: str
    user_email: str  # the account's first address: the From of the message
    account: str
    period: Period
    now: datetime
    timezone: str
    summary: Summary
    sections: tuple[DigestSection, ...]

    @property
    def nothing_stalled(self) -> bool:
        """True when no intro is stalled (the digest says so in one line)."""
        return not any(s.section is Section.STALLED for s in self.sections)

    def section(self, which: Section) -> DigestSection | None:
        """The section ``which``, or None when it is empty."""
        return next((s for s in self.sections if s.section is which), None)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _person(addr: Address, own: Collection[str] = ()) -> str:
    if addr.email.lower() in own:
        return "you"
    name = clean_header_value(display_name(addr), max_len=80)
    email = clean_header_value(addr.email, max_len=120)
    return f"{name} <{email}>" if name and name.lower() != email.lower() else email


def _names(addrs: Sequence[Address]) -> str:
    names = [clean_header_value(display_name(a), max_len=80) or a.email for a in addrs]
    if not names:
        return "them"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _others(action: DueAction, state: IntroState, own: Collection[str]) -> list[Address]:
    """Whom an action is about: its recipients, else the intro's parties, never the user."""
    return [a for a in (action.to or state.parties) if a.email.lower() not in own]


def _for_days(days: int) -> str:
    return "since today" if days == 0 else f"for {_count(days, 'day')}"


def _ago(days: int) -> str:
    return "today" if days == 0 else f"{_count(days, 'day')} ago"


def _days(start: datetime, now: datetime, tz: tzinfo) -> int:
    """Whole calendar days from ``start`` to ``now`` in ``tz`` (correct across DST)."""
    return max((now.astimezone(tz).date() - start.astimezone(tz).date()).days, 0)


def _wait_start(action: DueAction, state: IntroState) -> datetime:
    if action.kind in _SINCE_IS_START:
        return action.since
    if action.kind is DueKind.FOLLOWUP and state.connected_at is not None:
        return state.connected_at
    # The thread's newest message started the wait (the user's unanswered one, or the one owed a reply).
    return min(state.last_activity, action.since)


def _waiting_text(action: DueAction, state: IntroState, days: int, own: Collection[str]) -> str:
    """Who waits on whom, and how long, as one sentence."""
    people = _others(action, state, own)
    to, many = _names(people), len(people) > 1
    kind = action.kind
    if kind in _THEY_WAIT or (kind is DueKind.NO_OPTIN and state.role is not Role.INTRODUCER):
        return f"{to} {'have' if many else 'has'} been waiting on you {_for_days(days)}."
    if kind in _YOU_WAIT:
        return f"You have been waiting on {to} {_for_days(days)}."
    if kind in (DueKind.NO_OPTIN, DueKind.ASK_FIRST):
        return f"{to} {'were' if many else 'was'} never asked first ({_ago(days)})."
    if kind is DueKind.FOLLOWUP:
        return f"{to} connected {_ago(days)}."
    return f"Nobody has written {_for_days(days)}."


def _next_step(action: DueAction, state: IntroState, own: Collection[str]) -> str:
    people = _others(action, state, own)
    to = _names(people)
    if action.kind is DueKind.NO_OPTIN and state.role is Role.INTRODUCER:
        return _INTRODUCER_NO_OPTIN.format(to=to, are="are" if len(people) > 1 else "is")
    return _NEXT_STEP[action.kind].format(to=to)


def _draft_status(actions: Sequence[DueAction], state: IntroState,
                  ledger: Mapping[str, LedgerEntry]) -> tuple[str, bool]:
    """What became of the drafts for ``actions``: (text, ready in Drafts)."""
    texts: list[str] = []
    ready = False
    for action in actions:
        entry = ledger.get(action.key)
        if entry is not None and entry.kind == DRAFT:
            if entry.status in (DONE, PLANNED):
                ready = True
                texts.append("ready in Drafts")
            elif entry.status == EDITED:
                ready = True
                texts.append("your edited draft is in Drafts")
            elif entry.status == SENT:
                texts.append("sent")
            elif entry.status == DISMISSED:
                texts.append("dismissed")
        elif template_for(action, state) is not None:
            texts.append("not written yet")
    unique = list(dict.fromkeys(texts))
    return (", ".join(unique) if unique else "none (reminder only)"), ready


def _item(analysis: IntroAnalysis, actions: Sequence[DueAction], ledger: Mapping[str, LedgerEntry],
          now: datetime, tz: tzinfo, own: Collection[str]) -> DigestItem:
    state = analysis.state
    longest = max(actions, key=lambda a: (now - _wait_start(a, state), a.key))
    days = _days(_wait_start(longest, state), now, tz)
    draft, ready = _draft_status(actions, state, ledger)
    steps = list(dict.fromkeys(_next_step(a, state, own) for a in actions))
    parties = sorted(state.parties, key=lambda p: p.email.lower() in own)  # the user last: "Mary and you"
    return DigestItem(
        thread_id=state.thread_id,
        subject=clean_header_value(state.subject, max_len=200) or "(no subject)",
        last_message=state.last_activity,
        parties=tuple(_person(p, own) for p in parties),
        introducer=_person(state.introducer, own) if state.introducer else None,
        role=state.role,
        waiting=_waiting_text(longest, state, days, own),
        days=days,
        next_step=" ".join(steps),
        draft=draft,
        draft_ready=ready,
        kinds=tuple(dict.fromkeys(a.kind for a in actions)),
    )


def _summary(analyses: Sequence[IntroAnalysis], sections: Mapping[Section, Sequence[DigestItem]],
             since: datetime, now: datetime) -> Summary:
    made = [a.state for a in analyses
            if a.state.role in (Role.INTRODUCER, Role.INTRODUCED) and a.state.stage not in _NOT_MADE]
    return Summary(
        open=sum(1 for a in analyses if a.state.stage in _OPEN_STAGES),
        stalled=sum(1 for a in analyses if a.state.stage is Stage.STALLED),
        owed=len(sections.get(Section.OWE, ())),
        waiting=len(sections.get(Section.WAITING, ())),
        missing_optins=len(sections.get(Section.NO_OPTIN, ())),
        connected=sum(1 for a in analyses if a.state.connected_at is not None and since <= a.state.connected_at <= now),
        answered=sum(1 for s in made if s.connected_at is not None or s.stage in _ANSWERED),
        made=len(made),
    )


def build_digest(
    analyses: Iterable[IntroAnalysis],
    ledger: Mapping[str, LedgerEntry],
    user: UserLike,
    now: datetime,
    period: Period,
    *,
    account: str = "",
    timezone_name: str = "UTC",
) -> Digest:
    """The digest of ``analyses`` at ``now``: one item per intro and section, longest wait first.

    ``user`` gives the display name and own addresses (the first is the digest's From); ``ledger`` maps
    action keys to entries (whether a draft is ready in Drafts); ``period`` bounds "connected this week".
    """
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone_name)
    own = frozenset(a.lower() for a in user.addresses)
    if not own:
        raise ValueError("the user needs at least one address")
    intros = list(analyses)
    grouped: dict[Section, list[DigestItem]] = {}
    for analysis in intros:
        by_section: dict[Section, list[DueAction]] = {}
        for action in analysis.due:
            by_section.setdefault(SECTION_OF[action.kind], []).append(action)
        for section, actions in by_section.items():
            grouped.setdefault(section, []).append(_item(analysis, actions, ledger, now, tz, own))
    sections = tuple(
        DigestSection(section, SECTION_TITLES[section],
                      tuple(sorted(grouped[section], key=lambda i: (-i.days, i.subject.lower(), i.thread_id))))
        for section in Section if grouped.get(section)
    )
    return Digest(
        user_name=clean_header_value(user.name, max_len=100),
        user_email=next(iter(user.addresses)).lower(),
        account=account,
        period=period,
        now=now,
        timezone=timezone_name,
        summary=_summary(intros, grouped, period.previous_start, now),
        sections=sections,
    )


# -- text ----------------------------------------------------------------------------------------------------


def _date(moment: datetime, tz: str) -> str:
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y}"


def _join(people: Sequence[str]) -> str:
    if not people:
        return "unknown"
    return people[0] if len(people) == 1 else ", ".join(people[:-1]) + " and " + people[-1]


def title(digest: Digest) -> str:
    """The digest's headline: "Your intros, week of Mon 16 Mar 2026"."""
    return f"Your intros, week of {_date(digest.period.start, digest.timezone)}"


def nothing_stalled_line() -> str:
    """The line that stands in for an empty "Stalled" section."""
    return "Nothing stalled this week."


def _item_lines(item: DigestItem, tz: str) -> list[str]:
    lines = [f"* {item.subject} (last message {_date(item.last_message, tz)})",
             f"  {item.waiting}",
             f"  Parties: {_join(item.parties)}"
             + (f"; introduced by {item.introducer}" if item.introducer else ""),
             f"  Next step: {item.next_step}",
             f"  Draft: {item.draft}"]
    return lines


def render_text(digest: Digest) -> str:
    """The plain-text digest (also the text/plain part of the message)."""
    lines = [f"introd: {title(digest)}", "", digest.summary.line(), ""]
    if not digest.sections:
        lines += ["Nothing needs you this week.", ""]
    for section in Section:
        found = digest.section(section)
        if found is None:
            if section is Section.STALLED:
                lines += [nothing_stalled_line(), ""]
            continue
        lines += [f"{found.title} ({len(found.items)})", "-" * len(f"{found.title} ({len(found.items)})")]
        for item in found.items:
            lines += [*_item_lines(item, digest.timezone), ""]
    lines += [f"introd writes reply drafts into your Drafts folder and never sends mail to anyone but you. "
              f"Times are in {digest.timezone}."]
    return "\n".join(lines) + "\n"


# -- HTML ----------------------------------------------------------------------------------------------------

_FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
_TEXT = "#1f2328"
_MUTED = "#57606a"
_PAGE = "#eef1f4"
_CARD = "#ffffff"
_BORDER = "#d0d7de"

_STYLE = """
:root { color-scheme: light dark; supported-color-schemes: light dark; }
body { margin: 0; padding: 0; -webkit-text-size-adjust: 100%; }
@media (prefers-color-scheme: dark) {
  .page { background-color: #0d1117 !important; }
  .card { background-color: #161b22 !important; border-top-color: #30363d !important;
          border-right-color: #30363d !important; border-bottom-color: #30363d !important; }
  .text { color: #e6edf3 !important; }
  .muted { color: #9198a1 !important; }
  .chip { background-color: #21262d !important; color: #e6edf3 !important; }
}
[data-ogsc] .text { color: #e6edf3 !important; }
[data-ogsc] .muted { color: #9198a1 !important; }
@media only screen and (max-width: 620px) {
  .wrap { width: 100% !important; }
  .pad { padding-left: 12px !important; padding-right: 12px !important; }
}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _p(text: str, *, cls: str = "text", color: str = _TEXT, size: int = 15, extra: str = "") -> str:
    return (f'<p class="{cls}" style="margin:0 0 6px 0;font-family:{_FONT};font-size:{size}px;line-height:1.45;'
            f'color:{color};{extra}">{text}</p>')


def _card(inner: str, accent: str | None = None) -> str:
    border_left = f"border-left:4px solid {accent};" if accent else ""
    return (f'<tr><td class="pad" style="padding:0 16px 12px 16px;">'
            f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" class="card" '
            f'bgcolor="{_CARD}" style="background-color:{_CARD};border:1px solid {_BORDER};{border_left}'
            f'border-radius:6px;border-collapse:separate;">'
            f'<tr><td style="padding:12px 14px;">{inner}</td></tr></table></td></tr>')


def _item_html(item: DigestItem, tz: str, accent: str) -> str:
    waiting = item.waiting
    parties = _join(item.parties)
    chip = ("Draft ready in Drafts" if item.draft_ready else f"Draft: {item.draft}")
    inner = "".join([
        _p(f"<strong>{_e(item.subject)}</strong>", size=16),
        _p(f"Last message {_e(_date(item.last_message, tz))}", cls="muted", color=_MUTED, size=13),
        _p(_e(waiting)),
        _p(f"<strong>Next step:</strong> {_e(item.next_step)}"),
        _p(_e(f"Parties: {parties}" + (f"; introduced by {item.introducer}" if item.introducer else "")),
           cls="muted", color=_MUTED, size=13, extra="word-break:break-word;"),
        f'<span class="chip" style="display:inline-block;margin-top:4px;padding:2px 8px;border-radius:10px;'
        f'background-color:#eaeef2;color:{_TEXT};font-family:{_FONT};font-size:12px;line-height:1.6;">'
        f'{_e(chip)}</span>',
    ])
    return _card(inner, accent)


def _heading(text: str, accent: str) -> str:
    return (f'<tr><td class="pad page" bgcolor="{_PAGE}" style="padding:14px 16px 8px 16px;background-color:{_PAGE};">'
            f'<h2 class="text" style="margin:0;font-family:{_FONT};font-size:17px;line-height:1.3;color:{_TEXT};'
            f'border-bottom:2px solid {accent};padding-bottom:4px;">{_e(text)}</h2></td></tr>')


def render_html(digest: Digest) -> str:
    """The HTML digest: one 600-pixel table column, inline styles, light and dark, no links, no images."""
    summary = digest.summary
    rows = [
        f'<tr><td class="pad page" bgcolor="{_PAGE}" style="padding:20px 16px 10px 16px;background-color:{_PAGE};">'
        f'<h1 class="text" style="margin:0 0 4px 0;font-family:{_FONT};font-size:22px;line-height:1.25;'
        f'color:{_TEXT};">{_e(title(digest))}</h1>'
        + _p(_e(f"introd for {digest.user_name or digest.user_email}"), cls="muted", color=_MUTED, size=13)
        + "</td></tr>",
        _card(_p(_e(summary.line()), size=15, extra="font-weight:600;")),
    ]
    if not digest.sections:
        rows.append(_card(_p("Nothing needs you this week.")))
    for section in Section:
        found = digest.section(section)
        accent = _ACCENT[section]
        if found is None:
            if section is Section.STALLED:
                rows.append(_card(_p(_e(nothing_stalled_line())), accent))
            continue
        rows.append(_heading(f"{found.title} ({len(found.items)})", accent))
        rows += [_item_html(item, digest.timezone, accent) for item in found.items]
    rows.append(
        f'<tr><td class="pad page" bgcolor="{_PAGE}" style="padding:8px 16px 24px 16px;background-color:{_PAGE};">'
        + _p(_e("introd writes reply drafts into your Drafts folder and never sends mail to anyone but you. "
                f"Times are in {digest.timezone}."), cls="muted", color=_MUTED, size=12)
        + "</td></tr>"
    )
    preheader = (f'<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;'
                 f'line-height:1px;color:{_PAGE};">{_e(summary.line())}</div>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n<meta name="supported-color-schemes" content="light dark">\n'
        f"<title>{_e(title(digest))}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f'<body class="page" bgcolor="{_PAGE}" style="margin:0;padding:0;background-color:{_PAGE};">\n'
        f"{preheader}\n"
        f'<table role="presentation" class="page" width="100%" cellpadding="0" cellspacing="0" border="0" '
        f'bgcolor="{_PAGE}" style="background-color:{_PAGE};"><tr><td align="center" style="padding:0;">\n'
        f'<table role="presentation" class="wrap" width="600" cellpadding="0" cellspacing="0" border="0" '
        f'style="width:600px;max-width:600px;">\n'
        + "\n".join(rows)
        + "\n</table>\n</td></tr></table>\n</body>\n</html>\n"
    )


# -- the message -----------------------------------------------------------------------------------------------


def digest_subject(digest: Digest) -> str:
    """The Subject: what needs the user most, in a few words."""
    s = digest.summary
    parts = [_count(s.owed, "reply you owe", "replies you owe")] if s.owed else []
    if s.stalled:
        parts.append(f"{s.stalled} stalled")
    if s.waiting:
        parts.append(f"{s.waiting} waiting on others")
    what = ", ".join(parts) if parts else "nothing needs you"
    return f"[introd] Your intros this week: {what}"


def _header_address(name: str, email: str) -> HeaderAddress:
    local, _, domain = email.partition("@")
    return HeaderAddress(display_name=clean_header_value(name, max_len=100), username=local, domain=domain)


def compose_digest(digest: Digest, recipients: Collection[str], *, notice: str | None = None,
                   message_id: str | None = None, nonce: str | None = None) -> tuple[str, bytes]:
    """(Message-ID without brackets, RFC 5322 bytes with CRLF): multipart/alternative, text then HTML.

    From is the user, To only ``recipients`` (the caller passes the user's own addresses). ``notice`` is a
    line put at the top (why a digest was filed instead of sent).
    """
    if digest.now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not recipients:
        raise ValueError("a digest needs at least one recipient")
    domain = digest.user_email.rpartition("@")[2]
    if message_id is None:
        message_id = make_message_id(domain, f"digest:{digest.account}:{digest.period.id}", nonce=nonce)
    text = render_text(digest)
    page = render_html(digest)
    if notice:
        clean = clean_header_value(notice, max_len=500)
        text = f"{clean}\n\n{text}"
        page = page.replace('<table role="presentation" class="page"',
                            f'<p style="margin:0;padding:10px 16px;font-family:{_FONT};font-size:14px;'
                            f'color:{_TEXT};background-color:#fff4d6;">{_e(clean)}</p>\n'
                            '<table role="presentation" class="page"', 1)
    msg = EmailMessage(policy=OUTPUT_POLICY)
    msg["From"] = _header_address(digest.user_name, digest.user_email)
    msg["To"] = [_header_address(digest.user_name if r == digest.user_email else "", r) for r in recipients]
    msg["Subject"] = clean_header_value(digest_subject(digest), max_len=200)
    msg["Date"] = format_datetime(digest.now.astimezone(timezone.utc))
    msg["Message-ID"] = format_message_id(message_id)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no auto-replies, and introd ignores it on arrival
    msg["X-Introd-Action"] = f"{ACTION_MARKER}; period={digest.period.id}"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(page, subtype="html", charset="utf-8")
    return message_id, msg.as_bytes(policy=OUTPUT_POLICY)
