"""Intro state machine and due actions: pure functions of messages, labels, config and ``now``.

The contract is docs/intro-model.md: roles, stages (first match wins) and due actions with stable keys.
``analyse`` groups threads into *plans*: an intro thread absorbs the opt-in asks and requests that led to it,
even when they sit in other threads; asks and requests not followed by an intro form plans of their own.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from introd.calendar import add_days, days_between
from introd.classify import Classification, Label
from introd.message import Address, Message
from introd.threads import Thread


class Stage(str, enum.Enum):
    """Where an introduction stands."""

    REQUESTED = "requested"
    OPTIN_ASKED = "optin_asked"
    OPTED_IN = "opted_in"
    DECLINED = "declined"
    INTRODUCED = "introduced"
    CONNECTED = "connected"
    MEETING_SET = "meeting_set"
    CLOSED = "closed"
    STALLED = "stalled"
    DEAD = "dead"


class Role(str, enum.Enum):
    """The user's part in an intro thread."""

    INTRODUCER = "introducer"
    INTRODUCED = "introduced"  # one of the parties being introduced
    REQUESTER = "requester"  # asked someone else for an intro
    ASKED = "asked"  # asked by someone to introduce them
    BYSTANDER = "bystander"  # only in Cc


class DueKind(str, enum.Enum):
    """Something introd noticed is due; most of them call for a draft."""

    REPLY_OWED = "reply_owed"  # the user owes a reply
    NUDGE = "nudge"  # a party owes a reply: nudge that party only
    INTRODUCER_NUDGE = "introducer_nudge"  # both parties silent after the user's intro
    NO_OPTIN = "no_optin"  # an intro was made without asking first
    ASK_FIRST = "ask_first"  # an intro in Drafts whose parties were never asked
    MAKE_INTRO = "make_intro"  # both parties opted in: write the intro
    CHANNEL_SWITCH = "channel_switch"  # a party struggles with relayed messaging: move to email
    DECLINE = "decline"  # a blanket self-promotional request deserves a polite no
    THANK_INTRODUCER = "thank_introducer"  # close the loop after connecting
    FOLLOWUP = "followup"  # "how did it go?"
    STALLED = "stalled"
    MOVE_ON = "move_on"  # unresponsive after the allowed nudges


@dataclass(frozen=True)
class Timing:
    """[timing] settings: thresholds in days (business days when configured)."""

    owe_reply_days: int = 2
    nudge_days: int = 5
    max_nudges: int = 2
    stalled_days: int = 7
    followup_days: int = 21
    business_days: bool = False
    timezone: str = "UTC"


@dataclass(frozen=True)
class DueAction:
    """One thing due on one intro; ``key`` is stable so the ledger can refuse repeats."""

    kind: DueKind
    thread_id: str
    key: str  # e.g. "<thread_id>:nudge:steven@example.com:1"
    since: datetime
    to: tuple[Address, ...] = ()  # who a draft for it would address
    bcc: tuple[Address, ...] = ()
    reply_to_message_id: str | None = None  # the message a draft would answer
    reason: str = ""  # one sentence a user can follow


@dataclass(frozen=True)
class IntroState:
    """Everything known about one intro thread."""

    thread_id: str
    subject: str
    stage: Stage
    role: Role
    introducer: Address | None
    parties: tuple[Address, ...]
    started: datetime
    last_activity: datetime
    last_written: dict[str, datetime] = field(default_factory=dict)  # email -> last message since the intro
    asked_first: dict[str, bool] = field(default_factory=dict)  # email -> asked before the intro
    agreed: dict[str, bool] = field(default_factory=dict)  # email -> opted in
    nudges_sent: dict[str, int] = field(default_factory=dict)  # email -> nudges already sent by the user
    message_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserIdentity:
    """Who the user is: every address of the account and the display name."""

    addresses: frozenset[str]
    name: str = ""


@dataclass(frozen=True)
class UserControl:
    """Per-thread overrides the user gave (by thread id): done, muted, snoozed until, handled by the user."""

    done: frozenset[str] = frozenset()
    muted: frozenset[str] = frozenset()
    snoozed: Mapping[str, datetime] = field(default_factory=dict)
    handled: frozenset[str] = frozenset()  # "I'll handle it": no reply drafts for this thread


@dataclass(frozen=True)
class IntroAnalysis:
    """One intro's state and what is due on it at ``now``."""

    state: IntroState
    due: tuple[DueAction, ...]


# A request counts as having led to an intro the asked person made within this many days to the requester.
REQUEST_WINDOW_DAYS = 60
# A sender the user left unanswered this many times in the thread is owed nothing.
THREAD_UNANSWERED_LIMIT = 3
DRAFTS = "Drafts"
SEED_LABELS = frozenset({Label.INTRO, Label.OPTIN_ASK, Label.INTRO_REQUEST, Label.BLANKET_REQUEST})
REQUEST_LABELS = frozenset({Label.INTRO_REQUEST, Label.BLANKET_REQUEST})
_TOKEN = re.compile(r"[\w.+'’-]+@[\w.-]+|\w+")
_RELAY_SUFFIX = re.compile(r"\s*(?:via|through|über|par)\s+\S+\s*$|\s*\(.*\)\s*$", re.IGNORECASE)
# Kinds a user who said "I'll handle it" no longer wants drafted.
REPLY_KINDS = frozenset({DueKind.REPLY_OWED, DueKind.NO_OPTIN, DueKind.CHANNEL_SWITCH, DueKind.DECLINE})


@dataclass(frozen=True)
class _Ask:
    msg: Message
    thread_id: str
    introducer: str
    party: Address
    named: frozenset[str]  # keys of the other people the ask names


@dataclass
class _Plan:
    kind: str  # intro | draft | optin | request | context
    anchor: Message
    thread_ids: list[str]
    asks: list[_Ask] = field(default_factory=list)
    requests: list[Message] = field(default_factory=list)


class _Box:
    """Everything analyse() was given, indexed once."""

    def __init__(self, messages: Sequence[Message], labels: Mapping[str, Classification],
                 threads: Sequence[Thread], user: UserIdentity, now: datetime) -> None:
        self.labels = labels
        self.user = user
        # The state at ``now`` knows nothing later (replays, tests, a Date a few minutes ahead).
        messages = [m for m in messages if m.date <= now]
        by_id = {m.message_id: m for m in messages}
        self.threads: dict[str, list[Message]] = {}
        self.thread_of: dict[str, str] = {}
        for t in threads:
            msgs = sorted((by_id[i] for i in t.message_ids if i in by_id), key=lambda m: m.date)
            if msgs:
                self.threads[t.thread_id] = msgs
                for m in msgs:
                    self.thread_of[m.message_id] = t.thread_id
        self.people: dict[str, Address] = {}
        for m in messages:
            for a in m.participants:
                if a.email not in user.addresses and (a.name or a.email not in self.people):
                    self.people[a.email] = a
        # Address or first name (every way _mentions names someone contains one of them) -> people.
        self.by_token: dict[str, set[str]] = {}
        for key, a in self.people.items():
            for token in (key, *a.name.strip().strip("'\"").lower().split()[:1]):
                self.by_token.setdefault(token, set()).add(key)

    def named_in(self, text: str) -> set[str]:
        """Keys of the known people that ``text`` names by address, full name or first name."""
        found: set[str] = set()
        for token in _TOKEN.findall(text.lower()):
            found |= self.by_token.get(token, set())
        return {k for k in found if _mentions(text, self.people[k])}

    def labels_of(self, m: Message) -> frozenset[Label]:
        """The message's labels; automated mail (unless relayed) has none."""
        if m.automated and not m.relayed_by:
            return frozenset()
        c = self.labels.get(m.message_id)
        return frozenset((c.label, *c.also)) if c else frozenset()

    def is_user(self, addr: Address | None) -> bool:
        return addr is not None and addr.email in self.user.addresses

    def from_user(self, m: Message) -> bool:
        return self.is_user(m.sender) or m.folder in ("Sent", DRAFTS)

    def user_in(self, addrs: Iterable[Address]) -> bool:
        return any(a.email in self.user.addresses for a in addrs)

    def user_address(self, m: Message) -> Address:
        for a in m.to + m.cc:
            if self.is_user(a):
                return a
        return Address(self.user.name, min(self.user.addresses) if self.user.addresses else "")


def _person(m: Message) -> bool:
    """A message written by a person: not automated, or relayed on a person's behalf."""
    return not m.automated or bool(m.relayed_by)


def _sent(m: Message) -> bool:
    return m.folder != DRAFTS


def sender_key(m: Message) -> str:
    """Who wrote ``m``: the address, or for a relayed message the relay and the person's name."""
    if m.sender is None:
        return ""
    if m.relayed_by and m.sender.name:
        return f"{m.relayed_by}:{_RELAY_SUFFIX.sub('', m.sender.name).strip().lower()}"
    return m.sender.email


def _reply_address(m: Message) -> Address:
    """Where a reply to ``m`` goes: Reply-To of a relayed message, else the sender."""
    if m.relayed_by and m.reply_to:
        return m.reply_to[0]
    assert m.sender is not None
    return m.sender


def _names(addr: Address) -> list[str]:
    out = [addr.email]
    name = addr.name.strip().strip("'\"")
    if name:
        out.append(name)
        first = name.split()[0]
        if len(first) >= 3:
            out.append(first)
    return out


def _mentions(text: str, addr: Address) -> bool:
    low = text.lower()
    for n in _names(addr):
        n = n.lower()
        i = low.find(n)
        while i >= 0:
            before = low[i - 1] if i else " "
            after = low[i + len(n)] if i + len(n) < len(low) else " "
            if not before.isalnum() and not after.isalnum():
                return True
            i = low.find(n, i + 1)
    return False


def _days(start: datetime, end: datetime, timing: Timing) -> int:
    return days_between(start, end, business_days=timing.business_days, tz=timing.timezone)


def _after(start: datetime, days: int, timing: Timing) -> datetime:
    return add_days(start, days, business_days=timing.business_days, tz=timing.timezone)


# ---------------------------------------------------------------------------------------------------------------
# Grouping threads into plans


def _find_seeds(box: _Box) -> tuple[list[_Plan], list[_Ask], list[Message]]:
    plans: list[_Plan] = []
    asks: list[_Ask] = []
    requests: list[Message] = []
    for tid, msgs in box.threads.items():
        intro = next((m for m in msgs if _sent(m) and Label.INTRO in box.labels_of(m)), None)
        draft = next((m for m in msgs if not _sent(m) and box.from_user(m) and Label.INTRO in box.labels_of(m)),
                     None)
        if intro is not None:
            plans.append(_Plan("intro", intro, [tid]))
        elif draft is not None:
            plans.append(_Plan("draft", draft, [tid]))
        for m in msgs:
            labs = box.labels_of(m)
            if not _sent(m) or m.sender is None or Label.INTRO in labs:
                continue
            if intro is not None and m.date > intro.date:
                continue  # a later ask or request inside an intro thread is conversation, not a seed
            if Label.OPTIN_ASK in labs:
                introducer = sender_key(m)
                for party in m.to + m.cc:
                    if sender_key(m) == party.email:
                        continue
                    text = f"{m.subject}\n{m.new_text}"
                    named = frozenset(box.named_in(text) - {party.email, m.sender.email})
                    asks.append(_Ask(m, tid, introducer, party, named))
            elif labs & REQUEST_LABELS:
                requests.append(m)
    return plans, asks, requests


def _intro_message(plan: _Plan) -> Message | None:
    return plan.anchor if plan.kind in ("intro", "draft") else None


def _plan_party_keys(box: _Box, plan: _Plan) -> set[str]:
    m = plan.anchor
    return {a.email for a in m.to + m.cc} - {sender_key(m)}


def _build_plans(box: _Box) -> list[_Plan]:
    plans, asks, requests = _find_seeds(box)
    plan_of_thread: dict[str, _Plan] = {}
    by_introducer: dict[str, list[_Plan]] = {}  # keeps the work linear in the mailbox size
    party_keys: dict[int, set[str]] = {}
    for p in plans:
        plan_of_thread[p.thread_ids[0]] = p
        by_introducer.setdefault(sender_key(p.anchor), []).append(p)
        party_keys[id(p)] = _plan_party_keys(box, p)

    def attach(plan: _Plan, tid: str) -> None:
        if tid not in plan.thread_ids:
            plan.thread_ids.append(tid)
        plan_of_thread.setdefault(tid, plan)

    for ask in sorted(asks, key=lambda a: a.msg.date):
        own = plan_of_thread.get(ask.thread_id)
        if own is not None and own.kind in ("intro", "draft"):
            own.asks.append(ask)
            continue
        target = None
        for p in by_introducer.get(ask.introducer, ()):
            if (p.kind in ("intro", "draft") and ask.party.email in party_keys[id(p)]
                    and p.anchor.date >= ask.msg.date and (not ask.named or ask.named & party_keys[id(p)])):
                target = p
                break
        if target is None:
            target = own
        if target is None:
            for p in by_introducer.get(ask.introducer, ()):
                if p.kind == "optin" and (
                        ask.party.email in {a.party.email for a in p.asks} | set().union(*(a.named for a in p.asks))
                        or ask.named & {a.party.email for a in p.asks}):
                    target = p
                    break
        if target is None:
            target = _Plan("optin", ask.msg, [ask.thread_id])
            plans.append(target)
            by_introducer.setdefault(ask.introducer, []).append(target)
        target.asks.append(ask)
        attach(target, ask.thread_id)

    for req in sorted(requests, key=lambda m: m.date):
        tid = box.thread_of[req.message_id]
        requester = sender_key(req)
        asked = {a.email for a in req.to + req.cc} - {requester}
        own = plan_of_thread.get(tid)
        target = own
        if target is None:
            for p in (p for k in sorted(asked) for p in by_introducer.get(k, ())):
                if p.anchor.date < req.date:
                    continue
                if p.kind == "optin":
                    people = {a.party.email for a in p.asks} | set().union(*(a.named for a in p.asks))
                    hit = requester in people
                else:
                    parties = party_keys[id(p)]
                    hit = requester in parties and (
                        _days(req.date, p.anchor.date, Timing()) <= REQUEST_WINDOW_DAYS
                        or bool(box.named_in(req.new_text) & parties))
                if hit:
                    target = p
                    break
        if target is None:
            target = _Plan("request", req, [tid])
            plans.append(target)
        target.requests.append(req)
        attach(target, tid)

    for tid, msgs in box.threads.items():
        if tid in plan_of_thread:
            continue
        related = [m for m in msgs if _sent(m) and _person(m)
                   and (box.labels_of(m) - {Label.NOT_INTRO})]
        if related:
            plan = _Plan("context", related[0], [tid])
            plans.append(plan)
            plan_of_thread[tid] = plan
    return plans


# ---------------------------------------------------------------------------------------------------------------
# One plan: roles, parties, stage, due actions


@dataclass
class _Flow:
    """Who wrote to whom in the plan's conversation: pending replies and nudges."""

    pending: dict[str, Message] = field(default_factory=dict)  # person -> the user's original, unanswered
    last_to: dict[str, Message] = field(default_factory=dict)  # person -> the user's latest message to them
    nudges: dict[str, int] = field(default_factory=dict)
    addr: dict[str, Address] = field(default_factory=dict)


def _flow(box: _Box, msgs: Sequence[Message]) -> _Flow:
    flow = _Flow()
    for m in msgs:
        if box.from_user(m):
            for a in m.to + m.cc:
                if box.is_user(a):
                    continue
                flow.addr.setdefault(a.email, a)
                if a.email in flow.pending:
                    flow.nudges[a.email] = flow.nudges.get(a.email, 0) + 1
                else:
                    flow.pending[a.email] = m
                    flow.nudges[a.email] = 0
                flow.last_to[a.email] = m
        else:
            key = sender_key(m)
            for k in (key, m.sender.email if m.sender else ""):
                flow.pending.pop(k, None)
                flow.last_to.pop(k, None)
                flow.nudges.pop(k, None)
    return flow


class _Analyser:
    def __init__(self, box: _Box, plan: _Plan, now: datetime, timing: Timing, control: UserControl,
                 unanswered: frozenset[str]) -> None:
        self.box, self.plan, self.now, self.timing = box, plan, now, timing
        self.control, self.unanswered = control, unanswered
        self.tid = plan.thread_ids[0]
        if plan.kind in ("optin", "draft"):  # the asks in their own threads are the conversation so far
            main = sorted((m for t in plan.thread_ids for m in box.threads[t]), key=lambda m: m.date)
        else:
            main = box.threads[self.tid]
        self.msgs = [m for m in main if _sent(m) and _person(m)]
        self.due: list[DueAction] = []

    # -- helpers ---------------------------------------------------------------------------------------------
    def days_since(self, when: datetime) -> int:
        return _days(when, self.now, self.timing)

    def user_wrote_after(self, when: datetime, to: set[str] | None = None) -> bool:
        for m in self.msgs:
            if m.date > when and self.box.from_user(m) and (
                    to is None or {a.email for a in m.to + m.cc} & to):
                return True
        return False

    def add(self, kind: DueKind, key: str, since: datetime, reason: str, to: Sequence[Address] = (),
            bcc: Sequence[Address] = (), reply_to: Message | None = None) -> None:
        self.due.append(DueAction(kind, self.tid, f"{self.tid}:{key}", since, tuple(to), tuple(bcc),
                                  reply_to.message_id if reply_to else None, reason))

    # -- the analysis ----------------------------------------------------------------------------------------
    def run(self) -> IntroAnalysis:
        box, plan = self.box, self.plan
        anchor = plan.anchor
        intro = anchor if plan.kind == "intro" else None
        draft = anchor if plan.kind == "draft" else None
        introducer: Address | None = None
        parties: list[Address] = []
        role = Role.BYSTANDER

        def add_party(a: Address) -> None:
            if all(p.email != a.email for p in parties) and (introducer is None or a.email != introducer.email):
                parties.append(a)

        if plan.kind in ("intro", "draft"):
            introducer = anchor.sender
            to_others = [a for a in anchor.to if not box.is_user(a) and a != introducer]
            if box.from_user(anchor):
                role = Role.INTRODUCER
            elif box.user_in(anchor.to):
                role = Role.INTRODUCED
            elif box.user_in(anchor.cc):
                role = Role.BYSTANDER if len(to_others) >= 2 else Role.INTRODUCED
            elif any(box.from_user(m) for m in self.msgs if m.date > anchor.date):
                role = Role.INTRODUCED
            for a in anchor.to + anchor.cc:
                if box.is_user(a) and role is not Role.INTRODUCED:
                    continue
                add_party(a)
            if role is Role.INTRODUCED and not box.user_in(parties):
                add_party(box.user_address(anchor))
            if len(parties) < 2:  # a relayed or Bcc intro: the people who answer it are its parties
                for m in self.msgs:
                    if m.date > anchor.date and m.sender and not box.from_user(m):
                        add_party(_reply_address(m) if m.relayed_by else m.sender)
        elif plan.kind == "optin":
            first = plan.asks[0].msg
            introducer = first.sender
            for ask in plan.asks:
                add_party(ask.party)
            for ask in plan.asks:
                for k in sorted(ask.named):
                    add_party(box.people[k])
            for req in plan.requests:
                if req.sender:
                    add_party(req.sender)
            if box.from_user(first):
                role = Role.INTRODUCER
            elif box.user_in(parties):
                role = Role.INTRODUCED
        elif plan.kind == "request":
            req = plan.requests[0]
            assert req.sender is not None
            asked_people = [a for a in req.to + req.cc if a.email != req.sender.email]
            introducer = asked_people[0] if asked_people else None
            parties = [_reply_address(req) if req.relayed_by else req.sender]
            if box.from_user(req):
                role = Role.REQUESTER
            elif box.user_in(req.to + req.cc) or req.relayed_by:
                role = Role.ASKED
        else:  # context: a reply that quotes an intro we never saw
            for m in self.msgs:
                for a in (*(() if m.sender is None else (m.sender,)), *m.to, *m.cc):
                    if box.is_user(a) and not box.user_in(parties):
                        parties.append(box.user_address(m))
                    elif not box.is_user(a):
                        add_party(a)
            role = Role.INTRODUCED if any(box.user_in(m.to) or box.from_user(m) for m in self.msgs) \
                else Role.BYSTANDER

        pkeys = [p.email for p in parties]
        user_party = next((p for p in parties if box.is_user(p)), None)
        others = [p for p in parties if not box.is_user(p)]
        start = intro or draft
        if intro is not None and intro in self.msgs:
            after = self.msgs[self.msgs.index(intro) + 1:]
        elif plan.kind == "context":
            after = list(self.msgs)
        else:
            after = []

        def writer_key(m: Message) -> str:
            if box.from_user(m) and user_party is not None:
                return user_party.email
            k = sender_key(m)
            if m.sender is not None and m.sender.email in pkeys:
                return m.sender.email
            if m.relayed_by:
                ra = _reply_address(m)
                if ra.email in pkeys:
                    return ra.email
            return k

        last_written: dict[str, datetime] = {}
        first_written: dict[str, datetime] = {}
        for m in after:
            k = writer_key(m)
            last_written[k] = m.date
            first_written.setdefault(k, m.date)

        # Opt-in: asked first, agreed, said no.
        asked_first: dict[str, bool] = {}
        agreed: dict[str, bool] = {}
        said_no: list[Message] = []
        yes_dates: list[datetime] = []
        before = start.date if start else self.now
        for p in parties:
            key = p.email
            asked = False
            for ask in plan.asks:
                if ask.party.email != key or ask.msg.date > before:
                    continue
                names_other = bool(ask.named & (set(pkeys) - {key})) or ask.thread_id == self.tid \
                    or plan.kind == "optin"
                if names_other:
                    asked = True
                for m in box.threads[ask.thread_id]:
                    if m.date <= ask.msg.date or not _sent(m) or (sender_key(m) != key and not (
                            box.is_user(p) and box.from_user(m))):
                        continue
                    labs = box.labels_of(m)
                    if Label.OPTIN_YES in labs:
                        agreed[key] = True
                        yes_dates.append(m.date)
                    if Label.OPTIN_NO in labs:
                        said_no.append(m)
            if any(sender_key(r) == key and r.date <= before for r in plan.requests):
                asked = True
            asked_first[key] = asked
            agreed.setdefault(key, False)
        if plan.kind == "context":
            asked_first = dict.fromkeys(pkeys, True)  # we never saw the intro: do not accuse anyone
        for m in after:
            if Label.OPTIN_NO in box.labels_of(m) and writer_key(m) in pkeys and not box.from_user(m):
                said_no.append(m)

        flow = _flow(box, self.msgs[self.msgs.index(intro):] if intro in self.msgs else self.msgs)

        # Milestones after the intro.
        meeting_at: datetime | None = None
        for i, m in enumerate(after):
            if Label.SCHEDULING in box.labels_of(m) and writer_key(m) in pkeys:
                answer = next((n for n in after[i + 1:] if writer_key(n) in pkeys and writer_key(n) != writer_key(m)),
                              None)
                if answer is not None:
                    meeting_at = answer.date
                    break
        connected_at: datetime | None = None
        if parties and all(k in first_written for k in pkeys):
            connected_at = max(first_written[k] for k in pkeys)
        reached = meeting_at or connected_at

        # The people the user waits on, and whether the wait is over.
        waiting: list[str] = []
        if role is Role.INTRODUCED and intro is not None:
            waiting = [p.email for p in others]
        elif role is Role.REQUESTER and introducer is not None:
            waiting = [introducer.email]
        elif role is Role.INTRODUCER and plan.kind in ("optin", "draft"):
            waiting = [a.party.email for a in plan.asks if not agreed.get(a.party.email)]
        elif role is Role.INTRODUCED and plan.kind == "context":
            waiting = [p.email for p in others]
        intro_nudges = 0
        last_user_intro_msg = intro
        if role is Role.INTRODUCER and intro is not None:
            for m in after:
                if writer_key(m) in pkeys:
                    break
                if box.from_user(m):
                    intro_nudges += 1
                    last_user_intro_msg = m
        party_wrote_after_intro = any(writer_key(m) in pkeys and not box.from_user(m) for m in after)

        def exhausted(k: str) -> bool:
            last = flow.last_to.get(k)
            return (k in flow.pending and last is not None and flow.nudges.get(k, 0) >= self.timing.max_nudges
                    and self.days_since(last.date) >= self.timing.nudge_days)

        # Dead when everyone the user waits on left the first message and every allowed nudge unanswered.
        dead = bool(waiting) and all(exhausted(k) for k in waiting)
        if role is Role.INTRODUCER and intro is not None and not party_wrote_after_intro and last_user_intro_msg:
            dead = (intro_nudges >= self.timing.max_nudges
                    and self.days_since(last_user_intro_msg.date) >= self.timing.nudge_days)

        # Declined by the user: a reply to a request with no intro following.
        user_declined = False
        for req in plan.requests:
            if box.from_user(req) or plan.kind != "request":
                continue
            for m in self.msgs:
                if m.date > req.date and box.from_user(m):
                    labs = box.labels_of(m)
                    blanket = Label.BLANKET_REQUEST in box.labels_of(req)
                    if Label.OPTIN_NO in labs or (blanket and Label.OPTIN_YES not in labs):
                        user_declined = True
        if role is Role.REQUESTER:
            for m in self.msgs:
                if not box.from_user(m) and Label.OPTIN_NO in box.labels_of(m):
                    said_no.append(m)

        # Closed: done, or the user's follow-up was answered.
        followup_answered = False
        if role is Role.INTRODUCER and reached is not None:
            for i, m in enumerate(after):
                if m.date > reached and box.from_user(m) and {a.email for a in m.to + m.cc} & set(pkeys):
                    followup_answered = any(writer_key(n) in pkeys for n in after[i + 1:] if not box.from_user(n))
                    break

        all_tids = set(plan.thread_ids)
        if all_tids & self.control.done or followup_answered:
            base = Stage.CLOSED
        elif said_no or user_declined:
            base = Stage.DECLINED
        elif dead:
            base = Stage.DEAD
        elif intro is not None and meeting_at is not None:
            base = Stage.MEETING_SET
        elif (intro is not None or plan.kind == "context") and connected_at is not None:
            base = Stage.CONNECTED
        elif intro is not None or plan.kind == "context":
            base = Stage.INTRODUCED
        elif plan.asks and all(agreed.get(a.party.email) for a in plan.asks):
            base = Stage.OPTED_IN
        elif plan.asks:
            base = Stage.OPTIN_ASKED
        else:
            base = Stage.REQUESTED
        activity = [m for m in self.msgs] or [anchor]
        last_msg = activity[-1]
        stage = base
        if base in (Stage.MEETING_SET, Stage.CONNECTED, Stage.INTRODUCED, Stage.OPTED_IN, Stage.OPTIN_ASKED,
                    Stage.REQUESTED) and self.days_since(last_msg.date) >= self.timing.stalled_days:
            stage = Stage.STALLED

        state = IntroState(
            thread_id=self.tid,
            subject=anchor.subject,
            stage=stage,
            role=role,
            introducer=introducer,
            parties=tuple(parties),
            started=min(m.date for t in plan.thread_ids for m in box.threads[t]),
            last_activity=last_msg.date,
            last_written=last_written,
            asked_first=asked_first,
            agreed=agreed,
            nudges_sent={k: n for k, n in flow.nudges.items() if k in pkeys or k in waiting},
            message_ids=tuple(m.message_id for m in sorted(
                (m for t in plan.thread_ids for m in box.threads[t]), key=lambda m: m.date)),
        )

        silenced = (all_tids & self.control.muted or base is Stage.CLOSED or base is Stage.DECLINED
                    or any(self.now < until for t, until in self.control.snoozed.items() if t in all_tids))
        if silenced:
            return IntroAnalysis(state, ())
        if base is Stage.DEAD:
            self.add(DueKind.MOVE_ON, "move_on", self.now if not self.msgs else _after(
                last_msg.date, self.timing.nudge_days, self.timing),
                "They never answered the first message or its nudges; time to let this one go.")
            return IntroAnalysis(state, tuple(self.due))

        specific: set[str] = set()  # message ids a more specific kind than reply_owed already answers
        self._no_optin(role, intro, asked_first, user_party, others, introducer, specific)
        self._channel_switch(role, intro, pkeys, introducer, others, specific)
        self._decline(role, specific)
        self._nudges(waiting, flow)
        if (role is Role.INTRODUCER and intro is not None and not party_wrote_after_intro
                and last_user_intro_msg is not None and intro_nudges < self.timing.max_nudges
                and self.days_since(last_user_intro_msg.date) >= self.timing.nudge_days):
            n = intro_nudges + 1
            self.add(DueKind.INTRODUCER_NUDGE, f"introducer_nudge:{n}",
                     _after(last_user_intro_msg.date, self.timing.nudge_days, self.timing),
                     f"Neither {self._list(others)} has written since your intro; a "
                     f"{'gentle ' if n > 1 else ''}nudge to both may help.", others, (), last_user_intro_msg)
        if role is Role.INTRODUCER and intro is None:
            if draft is not None:
                for p in others:
                    if not asked_first.get(p.email):
                        self.add(DueKind.ASK_FIRST, f"ask_first:{p.email}", draft.date,
                                 f"Your draft intro introduces {self._who(p)}, who was never asked first; "
                                 "ask them before you send it.", (p,))
            every_party = draft is None or all(asked_first.get(p.email) for p in others)
            if base is Stage.OPTED_IN and every_party:
                self.add(DueKind.MAKE_INTRO, "make_intro", max(yes_dates) if yes_dates else anchor.date,
                         f"{self._list([a.party for a in plan.asks])} said yes; you can make the intro now.",
                         others)
        self._reply_owed(role, introducer, pkeys, specific)
        if (role is Role.INTRODUCED and base is Stage.MEETING_SET and meeting_at is not None
                and introducer is not None and not box.is_user(introducer)
                and not self.user_wrote_after(meeting_at, {introducer.email})
                and self.days_since(meeting_at) >= self.timing.owe_reply_days):
            self.add(DueKind.THANK_INTRODUCER, "thank_introducer",
                     _after(meeting_at, self.timing.owe_reply_days, self.timing),
                     f"You and {self._list(others)} have set up a meeting; close the loop with "
                     f"{self._who(introducer)}, who introduced you.", (introducer,))
        if (role is Role.INTRODUCER and base in (Stage.CONNECTED, Stage.MEETING_SET) and reached is not None
                and not self.user_wrote_after(reached, set(pkeys))
                and self.days_since(reached) >= self.timing.followup_days):
            self.add(DueKind.FOLLOWUP, "followup", _after(reached, self.timing.followup_days, self.timing),
                     f"{self._list(others)} connected {self.days_since(reached)} days ago; ask how it went.",
                     others, (), last_msg)
        if stage is Stage.STALLED:
            self.add(DueKind.STALLED, f"stalled:{last_msg.message_id}",
                     _after(last_msg.date, self.timing.stalled_days, self.timing),
                     f"Nothing has been written on this intro for {self.days_since(last_msg.date)} days.")
        return IntroAnalysis(state, tuple(self.due))

    # -- the kinds -------------------------------------------------------------------------------------------
    @staticmethod
    def _who(a: Address) -> str:
        return a.name or a.email

    def _list(self, people: Sequence[Address]) -> str:
        names = [self._who(p) for p in people]
        return " and ".join(names) if names else "the other party"

    def _no_optin(self, role: Role, intro: Message | None, asked_first: Mapping[str, bool],
                  user_party: Address | None, others: Sequence[Address], introducer: Address | None,
                  specific: set[str]) -> None:
        if intro is None:
            return
        if role is Role.INTRODUCED and user_party is not None and not asked_first.get(user_party.email, True):
            if not self.user_wrote_after(intro.date):
                specific.add(intro.message_id)
                rest = [p for p in others if introducer is None or p.email != introducer.email]
                self.add(DueKind.NO_OPTIN, "no_optin", intro.date,
                         f"{self._who(introducer) if introducer else 'Someone'} introduced you without asking "
                         "first; a gracious reply with an easy out is due.",
                         rest, (introducer,) if introducer else (), intro)
        elif role is Role.INTRODUCER:
            for p in others:
                if not asked_first.get(p.email, True):
                    self.add(DueKind.NO_OPTIN, f"no_optin:{p.email}", intro.date,
                             f"You introduced {self._who(p)} without asking them first; ask first next time.")

    def _channel_switch(self, role: Role, intro: Message | None, pkeys: Sequence[str],
                        introducer: Address | None, others: Sequence[Address], specific: set[str]) -> None:
        if role is Role.BYSTANDER:
            return
        box = self.box
        trigger: Message | None = None
        for m in self.msgs:
            if box.from_user(m) or m.sender is None:
                continue
            labs = box.labels_of(m)
            if Label.BLANKET_REQUEST in labs:
                continue  # a polite no, not a move to email
            # Only what reached the user directly: a party telling someone else is theirs to answer.
            if (m.relayed_by or Label.CHANNEL_SWITCH in labs) and (m.relayed_by or box.user_in(m.to)):
                trigger = m
        if trigger is None or self.user_wrote_after(trigger.date):
            return
        specific.add(trigger.message_id)
        if trigger is intro:
            rest = [p for p in others if introducer is None or p.email != introducer.email]
            to = rest or [_reply_address(trigger)]
            who = self._list(to)
        else:
            to = [_reply_address(trigger)]
            who = trigger.sender.name if trigger.sender and trigger.sender.name else to[0].email
        why = "said the current channel does not suit them" if Label.CHANNEL_SWITCH in box.labels_of(trigger) \
            else f"reached you relayed by {trigger.relayed_by}"
        self.add(DueKind.CHANNEL_SWITCH, f"channel_switch:{sender_key(trigger)}", trigger.date,
                 f"{'This intro' if trigger is intro else who} {why}; offer to continue with {who} by email.",
                 to, (), trigger)

    def _decline(self, role: Role, specific: set[str]) -> None:
        if role is not Role.ASKED:
            return
        for req in self.plan.requests:
            if Label.BLANKET_REQUEST in self.box.labels_of(req) and not self.user_wrote_after(req.date):
                specific.add(req.message_id)
                who = _reply_address(req)
                self.add(DueKind.DECLINE, "decline", req.date,
                         f"{self._who(who)} asked to pitch their services to your contacts; a polite no is due.",
                         (who,), (), req)
                return

    def _nudges(self, waiting: Sequence[str], flow: _Flow) -> None:
        for k in waiting:
            last = flow.last_to.get(k)
            if k not in flow.pending or last is None:
                continue
            n = flow.nudges.get(k, 0)
            if n >= self.timing.max_nudges or self.days_since(last.date) < self.timing.nudge_days:
                continue
            who = flow.addr[k]
            self.add(DueKind.NUDGE, f"nudge:{k}:{n + 1}", _after(last.date, self.timing.nudge_days, self.timing),
                     f"{self._who(who)} has not answered your message of {last.date:%Y-%m-%d}; "
                     f"{'a second, gentler' if n else 'a short'} nudge is due.", (who,), (), last)

    def _reply_owed(self, role: Role, introducer: Address | None, pkeys: Sequence[str], specific: set[str]) -> None:
        box = self.box
        if set(self.plan.thread_ids) & self.control.handled:
            return
        newest = None
        for m in self.msgs:
            if not box.from_user(m) and m.sender is not None and box.user_in(m.to):
                newest = m
        if newest is None or newest.message_id in specific or self.user_wrote_after(newest.date):
            return
        labs = box.labels_of(newest)
        if labs <= {Label.THANKS} and labs:
            return  # a thank-you needs no answer
        if (newest.sender and newest.sender.email in self.unanswered) or sender_key(newest) in self.unanswered:
            return
        key = sender_key(newest)
        streak = 0
        for m in self.msgs:
            if box.from_user(m):
                streak = 0
            elif sender_key(m) == key:
                streak += 1
        if streak >= THREAD_UNANSWERED_LIMIT:
            return
        if role is Role.INTRODUCER and {a.email for a in newest.to if not box.is_user(a)} & set(pkeys):
            return  # the parties talking to each other owe the introducer nothing
        if self.days_since(newest.date) < self.timing.owe_reply_days:
            return
        bcc = (introducer,) if role is Role.INTRODUCED and introducer is not None and \
            introducer.email != (newest.sender.email if newest.sender else "") else ()
        who = _reply_address(newest)
        self.add(DueKind.REPLY_OWED, f"reply_owed:{newest.message_id}",
                 _after(newest.date, self.timing.owe_reply_days, self.timing),
                 f"{self._who(who)} wrote to you on {newest.date:%Y-%m-%d} and is waiting for your reply.",
                 (who,), bcc, newest)


def analyse(
    messages: Sequence[Message],
    labels: Mapping[str, Classification],
    threads: Sequence[Thread],
    user: UserIdentity,
    now: datetime,
    timing: Timing,
    control: UserControl,
    unanswered: frozenset[str],
) -> list[IntroAnalysis]:
    """Every intro's state and due actions at ``now``, one IntroAnalysis per intro plan, oldest first."""
    box = _Box(messages, labels, threads, user, now)
    plans = _build_plans(box)
    out = [_Analyser(box, p, now, timing, control, unanswered).run() for p in plans]
    return sorted(out, key=lambda a: (a.state.started, a.state.thread_id))
