"""Grouping a mailbox's threads into intro *plans*, and the mailbox index the analysis reads.

An intro thread absorbs the opt-in asks and requests that led to it, even when they sit in other threads; asks
and requests not followed by an intro form plans of their own; an intro-related thread with none of these (a
reply quoting an intro never seen) is a *context* plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from introd.calendar import add_days, days_between
from introd.classify import Classification, Label
from introd.intro_model import Timing, UserIdentity
from introd.message import Address, Message
from introd.threads import Thread

# A request counts as having led to an intro the asked person made within this many days to the requester.
REQUEST_WINDOW_DAYS = 60
DRAFTS = "Drafts"
SEED_LABELS = frozenset({Label.INTRO, Label.OPTIN_ASK, Label.INTRO_REQUEST, Label.BLANKET_REQUEST})
REQUEST_LABELS = frozenset({Label.INTRO_REQUEST, Label.BLANKET_REQUEST})
_TOKEN = re.compile(r"[\w.+'’-]+@[\w.-]+|\w+")
_RELAY_SUFFIX = re.compile(r"\s*(?:via|through|über|par)\s+\S+\s*$|\s*\(.*\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Ask:
    """One opt-in ask to one party: ``introducer`` is the asker's sender key."""

    msg: Message
    thread_id: str
    introducer: str
    party: Address
    named: frozenset[str]  # keys of the other people the ask names


@dataclass
class Plan:
    """One intro in the making: its anchor message, the threads it spans, the asks and requests that led to it."""

    kind: str  # intro | draft | optin | request | context
    anchor: Message
    thread_ids: list[str]
    asks: list[Ask] = field(default_factory=list)
    requests: list[Message] = field(default_factory=list)


class Box:
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
        own_names = {user.name}
        for m in messages:
            for a in m.participants:
                if a.email in user.addresses:
                    own_names.add(a.name)
                elif a.name or a.email not in self.people:
                    self.people[a.email] = a
        # A word of the user's own name (in a signature, say) never names somebody else.
        self.own_words = frozenset(w.lower().strip(".,()") for n in own_names for w in n.split())
        # Address or first name (every way mentions names someone contains one of them) -> people.
        self.by_token: dict[str, set[str]] = {}
        for key, a in self.people.items():
            parts = [p.lower() for p in (person_first_name(a.name), person_last_name(a.name)) if p]
            for token in (key, *parts):
                if token not in self.own_words:
                    self.by_token.setdefault(token, set()).add(key)

    def named_in(self, text: str) -> set[str]:
        """Keys of the known people that ``text`` names by address, full name or first name."""
        found: set[str] = set()
        for token in _TOKEN.findall(text.lower()):
            found |= self.by_token.get(token, set())
        return {k for k in found if mentions(text, self.people[k], self.own_words)}

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


def is_person(m: Message) -> bool:
    """A message written by a person: not automated, or relayed on a person's behalf."""
    return not m.automated or bool(m.relayed_by)


def is_sent(m: Message) -> bool:
    """Not sitting in Drafts."""
    return m.folder != DRAFTS


def sender_key(m: Message) -> str:
    """Who wrote ``m``: the address, or for a relayed message the relay and the person's name."""
    if m.sender is None:
        return ""
    if m.relayed_by and m.sender.name:
        return f"{m.relayed_by}:{_RELAY_SUFFIX.sub('', m.sender.name).strip().lower()}"
    return m.sender.email


def reply_address(m: Message) -> Address:
    """Where a reply to ``m`` goes: Reply-To of a relayed message, else the sender."""
    if m.relayed_by and m.reply_to:
        return m.reply_to[0]
    assert m.sender is not None
    return m.sender


# Words that make a display name an organisation or a role, not a person ("Ward Advisory Operations").
_NOT_PERSON = frozenset([
    "team", "operations", "ops", "support", "office", "info", "sales", "marketing", "hr", "admin", "billing",
    "accounts", "inc", "llc", "ltd", "gmbh", "sa", "sarl", "group", "advisory", "partners", "consulting", "news",
    "newsletter", "notifications", "noreply", "service", "services", "desk", "help", "helpdesk", "company", "corp",
    "co", "foundation", "university", "department",
])


# Honorifics in display names ("Dr. Miriam Albrecht", "Mme Claire Dubois"): skipped when finding names.
_TITLES = frozenset([
    "dr", "dr.", "prof", "prof.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "mx", "herr", "frau", "m.", "mme",
    "mlle", "sr", "sr.", "sra", "sra.", "dra", "dra.", "don", "doña",
])


def _person_words(name: str) -> list[str] | None:
    """The words of a display name that looks like a person's (2-4 words besides titles, no organisation words)."""
    words = [w.strip(",()") for w in name.strip().strip("'\"").split()]
    words = [w for w in words if w and w.lower() not in _TITLES]
    if not 2 <= len(words) <= 4 or any(w.lower().strip(".") in _NOT_PERSON for w in words):
        return None
    return words


def _usable(word: str) -> bool:
    return len(word) >= 3 and word[:1].isupper() and word.replace("-", "").isalpha()


def person_first_name(name: str) -> str | None:
    """The first name of a display name that looks like a person's, titles skipped."""
    words = _person_words(name)
    return words[0] if words and _usable(words[0]) else None


def person_last_name(name: str) -> str | None:
    """The surname of a display name that looks like a person's ("Dr. Albrecht" names Miriam Albrecht)."""
    words = _person_words(name)
    return words[-1] if words and len(words[-1]) >= 4 and _usable(words[-1]) else None


def _names(addr: Address, exclude: frozenset[str] = frozenset()) -> list[str]:
    out = [addr.email]
    name = addr.name.strip().strip("'\"")
    if name:
        out.append(name)
        for part in (person_first_name(name), person_last_name(name)):
            if part and part.lower() not in exclude:
                out.append(part)
    return out


def mentions(text: str, addr: Address, exclude: frozenset[str] = frozenset()) -> bool:
    """True when ``text`` names ``addr`` by address, full name or first name (words in ``exclude`` don't count)."""
    low = text.lower()
    for n in _names(addr, exclude):
        n = n.lower()
        i = low.find(n)
        while i >= 0:
            before = low[i - 1] if i else " "
            after = low[i + len(n)] if i + len(n) < len(low) else " "
            if not before.isalnum() and not after.isalnum():
                return True
            i = low.find(n, i + 1)
    return False


def count_days(start: datetime, end: datetime, timing: Timing) -> int:
    """Whole days from ``start`` to ``end`` as ``timing`` counts them (calendar or business, user's zone)."""
    return days_between(start, end, business_days=timing.business_days, tz=timing.timezone)


def add_after(start: datetime, days: int, timing: Timing) -> datetime:
    """The instant ``days`` days (as ``timing`` counts them) after ``start``."""
    return add_days(start, days, business_days=timing.business_days, tz=timing.timezone)


def _find_seeds(box: Box) -> tuple[list[Plan], list[Ask], list[Message]]:
    plans: list[Plan] = []
    asks: list[Ask] = []
    requests: list[Message] = []
    for tid, msgs in box.threads.items():
        intro = next((m for m in msgs if is_sent(m) and Label.INTRO in box.labels_of(m)), None)
        draft = next((m for m in msgs if not is_sent(m) and box.from_user(m) and Label.INTRO in box.labels_of(m)),
                     None)
        if intro is not None:
            plans.append(Plan("intro", intro, [tid]))
        elif draft is not None:
            plans.append(Plan("draft", draft, [tid]))
        for m in msgs:
            labs = box.labels_of(m)
            if not is_sent(m) or m.sender is None or Label.INTRO in labs:
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
                    asks.append(Ask(m, tid, introducer, party, named))
            elif labs & REQUEST_LABELS:
                requests.append(m)
    return plans, asks, requests


def _plan_party_keys(box: Box, plan: Plan) -> set[str]:
    m = plan.anchor
    return {a.email for a in m.to + m.cc} - {sender_key(m)}


def build_plans(box: Box) -> list[Plan]:
    """Every plan in the mailbox: intros and drafts absorb the asks and requests that led to them."""
    plans, asks, requests = _find_seeds(box)
    plan_of_thread: dict[str, Plan] = {}
    by_introducer: dict[str, list[Plan]] = {}  # keeps the work linear in the mailbox size
    party_keys: dict[int, set[str]] = {}
    for p in plans:
        plan_of_thread[p.thread_ids[0]] = p
        by_introducer.setdefault(sender_key(p.anchor), []).append(p)
        party_keys[id(p)] = _plan_party_keys(box, p)

    def attach(plan: Plan, tid: str) -> None:
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
            target = Plan("optin", ask.msg, [ask.thread_id])
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
                        count_days(req.date, p.anchor.date, Timing()) <= REQUEST_WINDOW_DAYS
                        or bool(box.named_in(req.new_text) & parties))
                if hit:
                    target = p
                    break
        if target is None:
            target = Plan("request", req, [tid])
            plans.append(target)
        target.requests.append(req)
        attach(target, tid)

    for tid, msgs in box.threads.items():
        if tid in plan_of_thread:
            continue
        related = [m for m in msgs if is_sent(m) and is_person(m)
                   and (box.labels_of(m) - {Label.NOT_INTRO})]
        if related:
            plan = Plan("context", related[0], [tid])
            plans.append(plan)
            plan_of_thread[tid] = plan
    return plans
