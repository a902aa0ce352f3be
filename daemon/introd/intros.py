"""Intro state machine and due actions: pure functions of messages, labels, config and ``now``.

The contract is docs/intro-model.md: roles, stages (first match wins) and due actions with stable keys.
``analyse`` groups threads into plans (intro_plans.py), then computes each plan's role, parties, stage and due
actions here.  The public types live in intro_model.py and are importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from introd.classify import Classification, Label
from introd.intro_model import (
    REPLY_KINDS,
    DueAction,
    DueKind,
    IntroAnalysis,
    IntroState,
    Role,
    Stage,
    Timing,
    UserControl,
    UserIdentity,
)
from introd.intro_plans import (
    DRAFTS,
    REQUEST_LABELS,
    REQUEST_WINDOW_DAYS,
    SEED_LABELS,
    Box,
    Plan,
    add_after,
    build_plans,
    count_days,
    is_person,
    is_sent,
    reply_address,
    sender_key,
)
from introd.message import Address, Message
from introd.threads import Thread

__all__ = [
    "DRAFTS", "REPLY_KINDS", "REQUEST_LABELS", "REQUEST_WINDOW_DAYS", "SEED_LABELS", "THREAD_UNANSWERED_LIMIT",
    "DueAction", "DueKind", "IntroAnalysis", "IntroState", "Role", "Stage", "Timing", "UserControl", "UserIdentity",
    "analyse", "sender_key",
]

# A sender the user left unanswered this many times in the thread is owed nothing.
THREAD_UNANSWERED_LIMIT = 3


# What "I'll handle it" (a flagged reminder) silences: the replies the user would otherwise owe.
HANDLED_KINDS = frozenset({DueKind.REPLY_OWED, DueKind.NO_OPTIN, DueKind.CHANNEL_SWITCH, DueKind.DECLINE})


@dataclass
class _Flow:
    """Who wrote to whom in the plan's conversation: pending replies and nudges."""

    pending: dict[str, Message] = field(default_factory=dict)  # person -> the user's original, unanswered
    last_to: dict[str, Message] = field(default_factory=dict)  # person -> the user's latest message to them
    nudges: dict[str, int] = field(default_factory=dict)
    addr: dict[str, Address] = field(default_factory=dict)


def _flow(box: Box, msgs: Sequence[Message]) -> _Flow:
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
    def __init__(self, box: Box, plan: Plan, now: datetime, timing: Timing, control: UserControl,
                 unanswered: frozenset[str]) -> None:
        self.box, self.plan, self.now, self.timing = box, plan, now, timing
        self.control, self.unanswered = control, unanswered
        self.tid = plan.thread_ids[0]
        if plan.kind in ("optin", "draft"):  # the asks in their own threads are the conversation so far
            main = sorted((m for t in plan.thread_ids for m in box.threads[t]), key=lambda m: m.date)
        else:
            main = box.threads[self.tid]
        self.msgs = [m for m in main if is_sent(m) and is_person(m)]
        self.due: list[DueAction] = []

    # -- helpers ---------------------------------------------------------------------------------------------
    def days_since(self, when: datetime) -> int:
        return count_days(when, self.now, self.timing)

    def user_wrote_after(self, when: datetime, to: set[str] | None = None) -> bool:
        for m in self.msgs:
            if m.date > when and self.box.from_user(m) and (
                    to is None or {a.email for a in m.to + m.cc} & to):
                return True
        return False

    def add(self, kind: DueKind, key: str, since: datetime, reason: str, to: Sequence[Address] = (),
            bcc: Sequence[Address] = (), reply_to: Message | None = None) -> None:
        if kind in HANDLED_KINDS and set(self.plan.thread_ids) & self.control.handled:
            return  # the user said they'd handle this intro themselves
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
                if draft is not None and not any(box.from_user(a.msg) for a in plan.asks) and any(
                        not box.from_user(r) for r in plan.requests):
                    role = Role.ASKED  # an unsent intro: still the person asked for it
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
                        add_party(reply_address(m) if m.relayed_by else m.sender)
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
            parties = [reply_address(req) if req.relayed_by else req.sender]
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
                ra = reply_address(m)
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
                other_keys = set(pkeys) - {key}
                names_other = bool(ask.named & other_keys) or ask.thread_id == self.tid \
                    or plan.kind == "optin" or not other_keys
                if names_other:
                    asked = True
                for m in box.threads[ask.thread_id]:
                    if m.date <= ask.msg.date or not is_sent(m) or (sender_key(m) != key and not (
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
            connected_at=connected_at,
        )

        silenced = (all_tids & self.control.muted or base is Stage.CLOSED
                    or any(self.now < until for t, until in self.control.snoozed.items() if t in all_tids))
        if silenced:
            return IntroAnalysis(state, ())
        if base is Stage.DECLINED:  # over, but a person's "no" to the user still deserves a gracious answer
            self._reply_owed(role, introducer, pkeys, set())
            return IntroAnalysis(state, tuple(self.due))
        if base is Stage.DEAD:
            self.add(DueKind.MOVE_ON, "move_on", self.now if not self.msgs else add_after(
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
                     add_after(last_user_intro_msg.date, self.timing.nudge_days, self.timing),
                     f"Neither {self._list(others)} has written since your intro; a "
                     f"{'gentle ' if n > 1 else ''}nudge to both may help.", others, (), last_user_intro_msg)
        if draft is not None or (role is Role.INTRODUCER and intro is None):
            if draft is not None:
                for p in others:
                    if not asked_first.get(p.email):
                        self.add(DueKind.ASK_FIRST, f"ask_first:{p.email}", draft.date,
                                 f"Your draft intro introduces {self._who(p)}, who was never asked first; "
                                 "ask them before you send it.", (p,))
            if base is Stage.OPTED_IN:
                # Due even beside a draft that adds someone never asked: ask_first says who to ask before sending.
                unasked = [p for p in others if not asked_first.get(p.email)]
                self.add(DueKind.MAKE_INTRO, "make_intro", max(yes_dates) if yes_dates else anchor.date,
                         f"{self._list([a.party for a in plan.asks])} said yes; you can make the intro now"
                         + (f" once you have asked {self._list(unasked)}." if unasked else "."), others)
        self._reply_owed(role, introducer, pkeys, specific)
        if (role is Role.INTRODUCED and base is Stage.MEETING_SET and meeting_at is not None
                and introducer is not None and not box.is_user(introducer)
                and not self.user_wrote_after(meeting_at, {introducer.email})
                and self.days_since(meeting_at) >= self.timing.owe_reply_days):
            self.add(DueKind.THANK_INTRODUCER, "thank_introducer",
                     add_after(meeting_at, self.timing.owe_reply_days, self.timing),
                     f"You and {self._list(others)} have set up a meeting; close the loop with "
                     f"{self._who(introducer)}, who introduced you.", (introducer,))
        if (role is Role.INTRODUCER and base in (Stage.CONNECTED, Stage.MEETING_SET) and reached is not None
                and not self.user_wrote_after(reached, set(pkeys))
                and self.days_since(reached) >= self.timing.followup_days):
            self.add(DueKind.FOLLOWUP, "followup", add_after(reached, self.timing.followup_days, self.timing),
                     f"{self._list(others)} connected {self.days_since(reached)} days ago; ask how it went.",
                     others, (), last_msg)
        if stage is Stage.STALLED:
            self.add(DueKind.STALLED, f"stalled:{last_msg.message_id}",
                     add_after(last_msg.date, self.timing.stalled_days, self.timing),
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
            # Only what reached the user directly: a party telling someone else is theirs to answer, except
            # that the introducer chose the channel, so a party struggling with it is the introducer's to fix.
            from_party = m.sender.email in pkeys or reply_address(m).email in pkeys
            if m.relayed_by or (Label.CHANNEL_SWITCH in labs and (
                    box.user_in(m.to) or (role is Role.INTRODUCER and from_party))):
                trigger = m
        if trigger is None or self.user_wrote_after(trigger.date):
            return
        specific.add(trigger.message_id)
        if trigger is intro:
            rest = [p for p in others if introducer is None or p.email != introducer.email]
            to = rest or [reply_address(trigger)]
            who = self._list(to)
        else:
            to = [reply_address(trigger)]
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
                who = reply_address(req)
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
            self.add(DueKind.NUDGE, f"nudge:{k}:{n + 1}", add_after(last.date, self.timing.nudge_days, self.timing),
                     f"{self._who(who)} has not answered your message of {last.date:%Y-%m-%d}; "
                     f"{'a second, gentler' if n else 'a short'} nudge is due.", (who,), (), last)

    def _reply_owed(self, role: Role, introducer: Address | None, pkeys: Sequence[str], specific: set[str]) -> None:
        box = self.box
        newest = None
        for m in self.msgs:
            if not box.from_user(m) and m.sender is not None and box.user_in(m.to):
                newest = m
        if newest is None or newest.message_id in specific or self.user_wrote_after(newest.date):
            return
        labs = box.labels_of(newest)
        if role is Role.INTRODUCER and labs == {Label.THANKS}:
            return  # thanks for the intro closes the introducer's loop; a party's thanks opens a conversation
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
        who = reply_address(newest)
        self.add(DueKind.REPLY_OWED, f"reply_owed:{newest.message_id}",
                 add_after(newest.date, self.timing.owe_reply_days, self.timing),
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
    box = Box(messages, labels, threads, user, now)
    plans = build_plans(box)
    out = [_Analyser(box, p, now, timing, control, unanswered).run() for p in plans]
    return sorted(out, key=lambda a: (a.state.started, a.state.thread_id))
