"""The intro state machine: roles, stages, nudges and due actions on hand-built threads with a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from introd.classify import Classification, Label, classify
from introd.intros import (
    DueKind,
    IntroAnalysis,
    Role,
    Stage,
    Timing,
    UserControl,
    UserIdentity,
    analyse,
)
from introd.message import Address, Message
from introd.threads import Thread

KATHY = Address("Kathy Park", "kathy@parkcoaching.com")
MARY = Address("Mary Smith", "mary@notarealcompany.com")
STEVEN = Address("Steven Jones", "steven@jonesre.com")
TIM = Address("Tim Novak", "tim@gmail.com")
JONES = Address("Bob Jones", "bjones@bigchem.com")
LISA = Address("Lisa Balbes", "lisa@balbes.com")
PAT = Address("Pat Quinn", "pat@quinnlaw.com")
SAM = Address("Sam Seller", "sam@salesco.com")
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)  # a Monday
TIMING = Timing()


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


@dataclass
class Mailbox:
    """A hand-built slice of one mailbox: messages, their labels and their threads."""

    messages: list[Message] = field(default_factory=list)
    labels: dict[str, Classification] = field(default_factory=dict)
    threads: dict[str, list[str]] = field(default_factory=dict)

    def add(self, mid: str, thread: str, sender: Address, to: tuple[Address, ...], when: float,
            label: Label = Label.NOT_INTRO, *also: Label, cc: tuple[Address, ...] = (), folder: str = "INBOX",
            text: str = "", subject: str = "Intro", automated: tuple[str, ...] = (),
            relayed_by: str | None = None) -> Message:
        m = Message(message_id=mid, subject=subject, date=day(when), sender=sender, to=to, cc=cc, folder=folder,
                    automated=automated, relayed_by=relayed_by, has_body=True, new_text=text)
        self.messages.append(m)
        self.labels[mid] = Classification(mid, label, also, relayed=relayed_by is not None)
        self.threads.setdefault(thread, []).append(mid)
        return m

    def run(self, user: Address, now: float, timing: Timing = TIMING, control: UserControl | None = None,
            unanswered: frozenset[str] = frozenset()) -> list[IntroAnalysis]:
        threads = [Thread(tid, tuple(ids)) for tid, ids in self.threads.items()]
        roles = [m if m.sender != user else Message(**{**m.__dict__, "folder": m.folder if m.folder == "Drafts"
                                                       else "Sent"}) for m in self.messages]
        return analyse(roles, self.labels, threads, UserIdentity(frozenset({user.email}), user.name), day(now),
                       timing, control or UserControl(), unanswered)

    def one(self, user: Address, now: float, **kw: object) -> IntroAnalysis:
        out = self.run(user, now, **kw)  # type: ignore[arg-type]
        assert len(out) == 1, [a.state for a in out]
        return out[0]


def kinds(a: IntroAnalysis) -> set[DueKind]:
    return {d.kind for d in a.due}


def due(a: IntroAnalysis, kind: DueKind) -> list:  # type: ignore[type-arg]
    return [d for d in a.due if d.kind is kind]


# -- seed 000: Kathy introduces Mary and Steven ----------------------------------------------------------------------

def seed_000(relayed: bool = False) -> Mailbox:
    """Mary asked Kathy for the intro, Kathy asked Steven first, Steven answered warmly, Mary curtly."""
    box = Mailbox()
    box.add("req", "t-req", MARY, (KATHY,), -10, Label.INTRO_REQUEST, text="Could you introduce me to Steven Jones?")
    box.add("ask", "t-ask", KATHY, (STEVEN,), -5, Label.OPTIN_ASK,
            text="Would you be open to an intro to Mary Smith, a furniture broker?")
    box.add("yes", "t-ask", STEVEN, (KATHY,), -4, Label.OPTIN_YES)
    box.add("intro", "t-intro", KATHY, (STEVEN, MARY), 0, Label.INTRO, relayed_by="linkedin" if relayed else None)
    box.add("steven", "t-intro", STEVEN, (MARY,), 1, Label.SCHEDULING, Label.THANKS, cc=(KATHY,))
    box.add("mary", "t-intro", MARY, (STEVEN,), 2, Label.INTRO_REQUEST, Label.CHANNEL_SWITCH, Label.THANKS,
            cc=(KATHY,), relayed_by="linkedin" if relayed else None)
    return box


def test_seed_000_steven_owes_mary_a_move_to_email() -> None:
    """As Steven: one intro, meeting_set, Mary's struggle with the channel calls for channel_switch to Mary."""
    a = seed_000().one(STEVEN, 2.2)
    assert (a.state.role, a.state.stage) == (Role.INTRODUCED, Stage.MEETING_SET)
    assert a.state.introducer == KATHY
    assert a.state.asked_first[STEVEN.email] and a.state.agreed[STEVEN.email]
    switch = due(a, DueKind.CHANNEL_SWITCH)
    assert [d.to for d in switch] == [(MARY,)]
    assert switch[0].reply_to_message_id == "mary"
    assert DueKind.REPLY_OWED not in kinds(a)  # the more specific channel_switch answers that message
    assert DueKind.NO_OPTIN not in kinds(a)


def test_seed_000_steven_thanks_introducer_after_meeting_set() -> None:
    """Two days after the meeting was set and Steven has not written Kathy since, thank_introducer is due."""
    a = seed_000().one(STEVEN, 4.5)
    [d] = due(a, DueKind.THANK_INTRODUCER)
    assert d.to == (KATHY,) and d.key == "t-intro:thank_introducer"


def test_seed_000_kathy_follows_up_later() -> None:
    """As Kathy: both asked first; Mary's struggle with the channel is hers to fix; followup after followup_days."""
    box = seed_000()
    a = box.one(KATHY, 2.5)
    assert (a.state.role, a.state.stage) == (Role.INTRODUCER, Stage.MEETING_SET)
    assert a.state.asked_first == {STEVEN.email: True, MARY.email: True}
    [switch] = a.due
    assert (switch.kind, switch.to) == (DueKind.CHANNEL_SWITCH, (MARY,))
    later = box.one(KATHY, 2 + 21)
    assert {DueKind.FOLLOWUP, DueKind.STALLED} <= kinds(later)
    [f] = due(later, DueKind.FOLLOWUP)
    assert set(f.to) == {STEVEN, MARY}
    box.add("kathy", "t-intro", KATHY, (MARY, STEVEN), 2.2, Label.CHANNEL_SWITCH)
    assert box.one(KATHY, 2.5).due == ()


def test_seed_000_threads_merge_into_the_intro() -> None:
    """The request and the opt-in ask in other threads belong to the intro's analysis, not analyses of their own."""
    a = seed_000().one(KATHY, 3)
    assert {"req", "ask", "yes", "intro"} <= set(a.state.message_ids)
    assert a.state.thread_id == "t-intro"


def test_relayed_intro_calls_for_channel_switch() -> None:
    """An intro that reached Steven relayed by LinkedIn, not yet answered, calls for channel_switch."""
    box = Mailbox()
    box.add("intro", "t", KATHY, (STEVEN, MARY), 0, Label.INTRO, relayed_by="linkedin")
    a = box.one(STEVEN, 0.1)
    assert DueKind.CHANNEL_SWITCH in kinds(a)
    assert due(a, DueKind.CHANNEL_SWITCH)[0].to == (MARY,)


# -- seeds 001/002: ask first ---------------------------------------------------------------------------------------

def unasked_intro() -> Mailbox:
    box = Mailbox()
    box.add("intro", "t", KATHY, (STEVEN, MARY), 0, Label.INTRO)
    return box


def test_intro_without_asking_is_no_optin_for_the_party() -> None:
    """Introduced without being asked, Steven gets a no_optin draft to Mary with Kathy in Bcc, due at once."""
    a = unasked_intro().one(STEVEN, 0.01)
    [d] = due(a, DueKind.NO_OPTIN)
    assert (d.to, d.bcc, d.reply_to_message_id) == ((MARY,), (KATHY,), "intro")
    assert DueKind.REPLY_OWED not in kinds(unasked_intro().one(STEVEN, 3))


def test_no_optin_clears_once_the_party_replied() -> None:
    """After Steven replied, no_optin is no longer due."""
    box = unasked_intro()
    box.add("r", "t", STEVEN, (MARY,), 0.5, Label.SCHEDULING, cc=(KATHY,))
    assert DueKind.NO_OPTIN not in kinds(box.one(STEVEN, 1))


def test_introducer_without_asking_gets_reminders_per_party() -> None:
    """Kathy, who introduced without asking, gets a no_optin reminder (no draft) for each party."""
    a = unasked_intro().one(KATHY, 0.01)
    got = due(a, DueKind.NO_OPTIN)
    assert {d.key for d in got} == {f"t:no_optin:{STEVEN.email}", f"t:no_optin:{MARY.email}"}
    assert all(d.to == () for d in got)


def test_asked_first_in_another_thread_counts_only_when_naming_the_other_party() -> None:
    """An opt-in ask naming Mary makes Steven asked first; an ask about someone else does not."""
    box = unasked_intro()
    box.add("ask", "t-ask", KATHY, (STEVEN,), -3, Label.OPTIN_ASK, text="Open to an intro to Mary?")
    assert box.one(STEVEN, 0.01).state.asked_first[STEVEN.email]
    other = unasked_intro()
    other.add("ask", "t-ask", KATHY, (STEVEN,), -3, Label.OPTIN_ASK, text="Open to an intro to Pat Quinn?")
    analyses = other.run(STEVEN, 0.01)
    intro = next(a for a in analyses if a.state.thread_id == "t")
    assert not intro.state.asked_first[STEVEN.email]
    assert DueKind.NO_OPTIN in kinds(intro)


def optin_box() -> Mailbox:
    box = Mailbox()
    box.add("ask-s", "t-s", KATHY, (STEVEN,), 0, Label.OPTIN_ASK, text="Open to an intro to Mary Smith?")
    box.add("ask-m", "t-m", KATHY, (MARY,), 0, Label.OPTIN_ASK, text="Open to an intro to Steven Jones?")
    return box


def test_optin_asked_then_opted_in_then_make_intro() -> None:
    """Two asks are one plan: optin_asked until both say yes, then opted_in with make_intro to both."""
    box = optin_box()
    a = box.one(KATHY, 0.5)
    assert a.state.stage is Stage.OPTIN_ASKED and a.due == ()
    box.add("y-s", "t-s", STEVEN, (KATHY,), 1, Label.OPTIN_YES)
    assert box.one(KATHY, 1.5).state.stage is Stage.OPTIN_ASKED
    box.add("y-m", "t-m", MARY, (KATHY,), 2, Label.OPTIN_YES)
    a = box.one(KATHY, 2.5)
    assert a.state.stage is Stage.OPTED_IN
    [d] = due(a, DueKind.MAKE_INTRO)
    assert set(d.to) == {STEVEN, MARY}


def test_intro_after_optins_is_asked_first_and_drops_make_intro() -> None:
    """Once the intro is sent, the asks merge into it: nothing left to make, nobody unasked."""
    box = optin_box()
    box.add("y-s", "t-s", STEVEN, (KATHY,), 1, Label.OPTIN_YES)
    box.add("y-m", "t-m", MARY, (KATHY,), 2, Label.OPTIN_YES)
    box.add("intro", "t", KATHY, (STEVEN, MARY), 3, Label.INTRO)
    a = box.one(KATHY, 3.5)
    assert a.state.stage is Stage.INTRODUCED
    assert a.state.asked_first == {STEVEN.email: True, MARY.email: True}
    assert a.state.agreed == {STEVEN.email: True, MARY.email: True}
    assert not kinds(a) & {DueKind.MAKE_INTRO, DueKind.NO_OPTIN}


def test_optin_no_declines_and_leaves_only_a_reply_owed() -> None:
    """A party answering no declines the intro; only a gracious reply to that no is due, until the user wrote."""
    box = optin_box()
    box.add("n", "t-s", STEVEN, (KATHY,), 1, Label.OPTIN_NO)
    a = box.one(KATHY, 9)
    assert a.state.stage is Stage.DECLINED
    assert [(d.kind, d.to) for d in a.due] == [(DueKind.REPLY_OWED, (STEVEN,))]
    box.add("ok", "t-s", KATHY, (STEVEN,), 9.5, Label.NOT_INTRO)
    a = box.one(KATHY, 10)
    assert a.state.stage is Stage.DECLINED and a.due == ()


def test_unanswered_ask_gets_nudged() -> None:
    """The introducer's opt-in ask unanswered for nudge_days is nudged, to that person only."""
    a = optin_box().one(KATHY, 5)
    got = {d.key for d in due(a, DueKind.NUDGE)}
    assert got == {f"t-s:nudge:{STEVEN.email}:1", f"t-s:nudge:{MARY.email}:1"}


def test_draft_intro_needs_ask_first_per_unasked_party() -> None:
    """A draft intro whose parties were never asked: ask_first for each, to that party only; no make_intro."""
    box = Mailbox()
    box.add("draft", "t-d", KATHY, (STEVEN, MARY), 0, Label.INTRO, folder="Drafts")
    a = box.one(KATHY, 0.1)
    got = due(a, DueKind.ASK_FIRST)
    assert sorted(d.to[0].email for d in got) == [MARY.email, STEVEN.email]
    assert DueKind.MAKE_INTRO not in kinds(a)
    assert a.state.stage is not Stage.INTRODUCED  # a draft is not sent


def test_draft_intro_after_one_ask_needs_ask_first_for_the_other() -> None:
    """Steven was asked and said yes; Mary was not: ask_first for Mary only; make_intro is due literally."""
    box = Mailbox()
    box.add("ask", "t-s", KATHY, (STEVEN,), -2, Label.OPTIN_ASK, text="Open to an intro to Mary Smith?")
    box.add("yes", "t-s", STEVEN, (KATHY,), -1, Label.OPTIN_YES)
    box.add("draft", "t-d", KATHY, (STEVEN, MARY), 0, Label.INTRO, folder="Drafts")
    a = box.one(KATHY, 0.1)
    assert [d.to for d in due(a, DueKind.ASK_FIRST)] == [(MARY,)]
    assert a.state.stage is Stage.OPTED_IN
    [make] = due(a, DueKind.MAKE_INTRO)
    assert "Mary Smith" in make.reason  # ... once you have asked Mary


# -- seed 003: three requests ---------------------------------------------------------------------------------------

def test_good_referral_request_is_owed_a_reply() -> None:
    """Tim's specific referral request to Lisa: role asked, stage requested, reply_owed after owe_reply_days."""
    box = Mailbox()
    box.add("tim", "t", TIM, (LISA,), 0, Label.INTRO_REQUEST, text="Could you please refer me to Mr. Jones?")
    assert box.one(LISA, 1).due == ()
    a = box.one(LISA, 2.1)
    assert (a.state.role, a.state.stage) == (Role.ASKED, Stage.REQUESTED)
    [d] = due(a, DueKind.REPLY_OWED)
    assert d.to == (TIM,) and d.reply_to_message_id == "tim" and d.key == "t:reply_owed:tim"


def test_request_relayed_by_linkedin_is_channel_switch() -> None:
    """The same request relayed by LinkedIn calls for moving to email instead of a plain reply."""
    box = Mailbox()
    box.add("george", "t", TIM, (LISA,), 0, Label.INTRO_REQUEST, relayed_by="linkedin",
            automated=("noreply-sender",))
    a = box.one(LISA, 3)
    assert DueKind.CHANNEL_SWITCH in kinds(a) and DueKind.REPLY_OWED not in kinds(a)


def test_blanket_request_is_declined() -> None:
    """A blanket self-promotional request is due a decline at once; after the user's reply it is declined."""
    box = Mailbox()
    box.add("b", "t", SAM, (LISA,), 0, Label.BLANKET_REQUEST)
    [d] = due(box.one(LISA, 0.01), DueKind.DECLINE)
    assert d.to == (SAM,) and d.reply_to_message_id == "b"
    box.add("no", "t", LISA, (SAM,), 1, Label.OPTIN_NO)
    a = box.one(LISA, 1.5)
    assert a.state.stage is Stage.DECLINED and a.due == ()


def test_request_followed_by_intro_merges_and_counts_requester_as_asked() -> None:
    """Lisa introducing Tim to Jones after Tim's request: Tim asked first (he requested), Jones was not."""
    box = Mailbox()
    box.add("tim", "t-r", TIM, (LISA,), 0, Label.INTRO_REQUEST, text="Could you refer me to Mr. Jones?")
    box.add("intro", "t-i", LISA, (TIM, JONES), 2, Label.INTRO)
    a = box.one(LISA, 2.5)
    assert a.state.asked_first == {TIM.email: True, JONES.email: False}
    assert [d.key for d in due(a, DueKind.NO_OPTIN)] == [f"t-i:no_optin:{JONES.email}"]


def test_requester_nudges_silent_introducer() -> None:
    """The user who asked for an intro and heard nothing nudges the asked person after nudge_days."""
    box = Mailbox()
    box.add("r", "t", TIM, (LISA,), 0, Label.INTRO_REQUEST)
    a = box.one(TIM, 5)
    assert a.state.role is Role.REQUESTER
    assert [d.to for d in due(a, DueKind.NUDGE)] == [(LISA,)]


# -- seed 004: a salesy overture unanswered through its nudges ------------------------------------------------------

def salesy_box() -> Mailbox:
    box = Mailbox()
    box.add("intro", "t", KATHY, (SAM, PAT), 0, Label.INTRO)
    box.add("pitch", "t", SAM, (PAT,), 1, Label.SCHEDULING, cc=(KATHY,))
    return box


def test_salesy_overture_nudges_then_dies() -> None:
    """Sam's pitch to Pat goes unanswered: nudge 1, nudge 2 (gentler), then dead with move_on only."""
    box = salesy_box()
    assert due(box.one(SAM, 5.9), DueKind.NUDGE) == []
    [n1] = due(box.one(SAM, 6), DueKind.NUDGE)
    assert n1.key == f"t:nudge:{PAT.email}:1" and n1.to == (PAT,) and n1.reply_to_message_id == "pitch"
    box.add("n1", "t", SAM, (PAT,), 6, Label.NOT_INTRO)
    a = box.one(SAM, 11)
    [n2] = due(a, DueKind.NUDGE)
    assert n2.key == f"t:nudge:{PAT.email}:2" and "gentler" in n2.reason
    assert a.state.nudges_sent[PAT.email] == 1
    box.add("n2", "t", SAM, (PAT,), 11, Label.NOT_INTRO)
    assert box.one(SAM, 15).state.stage is not Stage.DEAD
    dead = box.one(SAM, 16)
    assert dead.state.stage is Stage.DEAD
    assert [d.kind for d in dead.due] == [DueKind.MOVE_ON]


def test_answer_resets_the_wait() -> None:
    """Once Pat answers, nothing is nudged and the intro is connected."""
    box = salesy_box()
    box.add("pat", "t", PAT, (SAM,), 3, Label.SCHEDULING)
    a = box.one(SAM, 6)
    assert DueKind.NUDGE not in kinds(a)
    assert a.state.stage is Stage.MEETING_SET


def test_introducer_nudges_both_when_nobody_answers() -> None:
    """Nobody wrote after Kathy's intro: introducer_nudge to both after nudge_days, then dead after two."""
    box = Mailbox()
    box.add("ask-s", "t-s", KATHY, (SAM,), -3, Label.OPTIN_ASK, text="Intro to Pat Quinn?")
    box.add("ask-p", "t-p", KATHY, (PAT,), -3, Label.OPTIN_ASK, text="Intro to Sam Seller?")
    box.add("intro", "t", KATHY, (SAM, PAT), 0, Label.INTRO)
    [d] = due(box.one(KATHY, 5), DueKind.INTRODUCER_NUDGE)
    assert set(d.to) == {SAM, PAT} and d.key == "t:introducer_nudge:1"
    box.add("b1", "t", KATHY, (SAM, PAT), 5, Label.NOT_INTRO)
    assert [d.key for d in due(box.one(KATHY, 10), DueKind.INTRODUCER_NUDGE)] == ["t:introducer_nudge:2"]
    box.add("b2", "t", KATHY, (SAM, PAT), 10, Label.NOT_INTRO)
    assert box.one(KATHY, 15).state.stage is Stage.DEAD


# -- stages, roles and controls -------------------------------------------------------------------------------------

def test_connected_when_every_party_wrote() -> None:
    """After the intro both parties wrote (no scheduling answered): connected."""
    box = unasked_intro()
    box.add("s", "t", STEVEN, (MARY,), 1, Label.THANKS)
    box.add("m", "t", MARY, (STEVEN,), 2, Label.THANKS)
    assert box.one(KATHY, 2.5).state.stage is Stage.CONNECTED


def test_stalled_after_silence_and_stalled_key_tracks_last_message() -> None:
    """An introduced thread quiet for stalled_days is stalled, with a key naming the last message."""
    box = unasked_intro()
    box.add("s", "t", STEVEN, (MARY,), 1, Label.THANKS)
    a = box.one(KATHY, 8)
    assert a.state.stage is Stage.STALLED
    assert due(a, DueKind.STALLED)[0].key == "t:stalled:s"


def test_closed_when_done_or_followup_answered() -> None:
    """Marked done, or Kathy's follow-up answered by a party: closed with nothing due."""
    box = seed_000()
    assert box.one(KATHY, 30, control=UserControl(done=frozenset({"t-intro"}))).state.stage is Stage.CLOSED
    box.add("fu", "t-intro", KATHY, (STEVEN, MARY), 25, Label.NOT_INTRO)
    box.add("fu-r", "t-intro", STEVEN, (KATHY,), 26, Label.THANKS)
    a = box.one(KATHY, 27)
    assert a.state.stage is Stage.CLOSED and a.due == ()


def test_bystander_in_cc_owes_nothing() -> None:
    """Cc'd while two others are introduced: bystander, parties exclude the user, nothing due."""
    box = Mailbox()
    box.add("intro", "t", KATHY, (STEVEN, MARY), 0, Label.INTRO, cc=(LISA,))
    a = box.one(LISA, 3)
    assert a.state.role is Role.BYSTANDER
    assert LISA not in a.state.parties
    assert a.due == ()


def test_user_in_cc_of_a_two_person_intro_is_a_party() -> None:
    """Introduced by To: Mary, Cc: Steven, Steven is a party (not a bystander)."""
    box = Mailbox()
    box.add("intro", "t", KATHY, (MARY,), 0, Label.INTRO, cc=(STEVEN,))
    a = box.one(STEVEN, 0.1)
    assert a.state.role is Role.INTRODUCED
    assert set(a.state.parties) == {MARY, STEVEN}


def test_reply_owed_to_the_newest_message_with_introducer_in_bcc() -> None:
    """Mary writes Steven after the intro (asked first); two days on a reply is owed, Kathy in Bcc."""
    box = seed_000()
    box.add("m2", "t-intro", MARY, (STEVEN,), 3, Label.SCHEDULING)
    assert DueKind.REPLY_OWED not in kinds(box.one(STEVEN, 4.9))
    [d] = due(box.one(STEVEN, 5), DueKind.REPLY_OWED)
    assert (d.to, d.bcc, d.reply_to_message_id) == ((MARY,), (KATHY,), "m2")


def test_reply_owed_respects_handled_unanswered_muted_snoozed() -> None:
    """No reply_owed when handled, when the sender is chronically unanswered; nothing at all muted or snoozed."""
    box = seed_000()
    box.add("m2", "t-intro", MARY, (STEVEN,), 3, Label.SCHEDULING)
    assert DueKind.REPLY_OWED not in kinds(box.one(STEVEN, 6, control=UserControl(handled=frozenset({"t-intro"}))))
    assert DueKind.REPLY_OWED not in kinds(box.one(STEVEN, 6, unanswered=frozenset({MARY.email})))
    assert box.one(STEVEN, 6, control=UserControl(muted=frozenset({"t-intro"}))).due == ()
    snooze = UserControl(snoozed={"t-intro": day(7)})
    assert box.one(STEVEN, 6, control=snooze).due == ()
    assert box.one(STEVEN, 7.5, control=snooze).due != ()


def test_no_reply_owed_after_three_unanswered_messages_in_thread() -> None:
    """A sender who wrote three times without an answer from the user is owed nothing."""
    box = Mailbox()
    for i in range(3):
        box.add(f"t{i}", "t", SAM, (LISA,), i, Label.INTRO_REQUEST if i == 0 else Label.NOT_INTRO)
    assert DueKind.REPLY_OWED not in kinds(box.one(LISA, 6))


def test_automated_only_threads_are_not_intros() -> None:
    """An automated message, even mislabelled intro, produces no analysis."""
    box = Mailbox()
    box.add("n", "t", Address("News", "news@list.example"), (LISA,), 0, Label.INTRO, automated=("list-id",))
    assert box.run(LISA, 5) == []


def test_business_days_delay_reply_owed_over_the_weekend() -> None:
    """A Friday message is owed a reply on Tuesday with business days, on Sunday without."""
    box = Mailbox()
    box.add("tim", "t", TIM, (LISA,), 4, Label.INTRO_REQUEST)  # Friday 09:00
    biz = Timing(business_days=True)
    assert DueKind.REPLY_OWED in kinds(box.one(LISA, 6))  # Sunday
    assert DueKind.REPLY_OWED not in kinds(box.one(LISA, 7, timing=biz))  # Monday
    assert DueKind.REPLY_OWED in kinds(box.one(LISA, 8, timing=biz))  # Tuesday


def test_classifier_and_state_machine_together_on_seed_000() -> None:
    """Real classifications of the seed's texts give Steven the same channel_switch due."""
    box = seed_000()
    texts = {
        "intro": "Hi Steven,\nI'm pleased to introduce you to Mary Smith.\n\nHi Mary,\nI'm happy to introduce you "
                 "to Steven Jones.\nKathy",
        "steven": "Kathy, what a wonderful introduction. Thank you very much. Mary, it would be great to meet "
                  "with you sometime.",
        "mary": "Thank you, Kathy.\nSteven, I'm not very good at the messaging system for LinkedIn! Do you happen to "
                "have a connection for office renovation? Thanks, Mary",
    }
    msgs = []
    for m in box.messages:
        if m.message_id in texts:
            quoted = texts["intro"] if m.message_id != "intro" else ""
            m = Message(**{**m.__dict__, "new_text": texts[m.message_id], "quoted_text": quoted,
                           "in_reply_to": ("intro",) if quoted else ()})
            box.labels[m.message_id] = classify(m, frozenset({STEVEN.email}))
        msgs.append(m)
    box.messages = msgs
    assert box.labels["intro"].label is Label.INTRO
    a = box.one(STEVEN, 2.2)
    assert DueKind.CHANNEL_SWITCH in kinds(a)


# -- properties -----------------------------------------------------------------------------------------------------

@given(st.lists(st.floats(min_value=0, max_value=60), min_size=2, max_size=6))
@settings(max_examples=60, deadline=None)
def test_due_keys_are_unique_and_stable_as_time_passes(nows: list[float]) -> None:
    """Within one call keys are unique; across calls the same key always means the same action."""
    box = seed_000()
    box.add("m2", "t-intro", MARY, (STEVEN,), 3, Label.SCHEDULING)
    seen: dict[str, tuple[object, ...]] = {}
    for now in sorted(nows):
        for user in (STEVEN, KATHY, MARY):
            for a in box.run(user, now):
                keys = [d.key for d in a.due]
                assert len(keys) == len(set(keys))
                for d in a.due:
                    ident = (d.kind, d.since, d.to, d.bcc, d.reply_to_message_id)
                    assert seen.setdefault(f"{user.email}|{d.key}", ident) == ident
                    assert d.since <= day(now)
                    assert d.reason


class IntroThreadMachine(RuleBasedStateMachine):
    """Random conversations after an intro, checked against invariants of the model."""

    @initialize(user=st.sampled_from([KATHY, STEVEN]), asked=st.booleans())
    def start(self, user: Address, asked: bool) -> None:
        self.box = Mailbox()
        self.user = user
        self.now = 0.0
        self.n = 0
        if asked:
            self.box.add("ask", "t-a", KATHY, (STEVEN,), -2, Label.OPTIN_ASK, text="Intro to Mary Smith?")
            self.box.add("ask2", "t-b", KATHY, (MARY,), -2, Label.OPTIN_ASK, text="Intro to Steven Jones?")
        self.box.add("intro", "t", KATHY, (STEVEN, MARY), 0, Label.INTRO)

    def _write(self, sender: Address, to: tuple[Address, ...], label: Label, automated: tuple[str, ...] = ()) -> None:
        self.n += 1
        self.box.add(f"m{self.n}", "t", sender, to, self.now, label, automated=automated)

    @rule(who=st.sampled_from([KATHY, STEVEN, MARY]), label=st.sampled_from(list(Label)))
    def someone_writes(self, who: Address, label: Label) -> None:
        to = tuple(p for p in (KATHY, STEVEN, MARY) if p != who)
        self._write(who, to, label)

    @rule()
    def robot_writes(self) -> None:
        self._write(Address("Auto", "noreply@x.example"), (self.user,), Label.SCHEDULING, ("auto-submitted",))

    @rule(days=st.floats(min_value=0.1, max_value=12))
    def time_passes(self, days: float) -> None:
        self.now += days

    @invariant()
    def model_holds(self) -> None:
        if not hasattr(self, "box"):
            return
        for a in self.box.run(self.user, self.now):
            keys = [d.key for d in a.due]
            assert len(keys) == len(set(keys))
            if a.state.stage is Stage.CLOSED:
                assert a.due == ()
            if a.state.stage is Stage.DECLINED:
                assert {d.kind for d in a.due} <= {DueKind.REPLY_OWED}
            if a.state.stage is Stage.DEAD:
                assert [d.kind for d in a.due] == [DueKind.MOVE_ON]
            for d in a.due:
                assert d.reply_to_message_id is None or not d.reply_to_message_id.startswith("noreply")
                assert all(t.email != "noreply@x.example" for t in d.to)
                if d.kind in (DueKind.NUDGE, DueKind.INTRODUCER_NUDGE):
                    assert int(d.key.rsplit(":", 1)[1]) <= TIMING.max_nudges
            for d in a.due:
                if d.kind is DueKind.NUDGE:
                    assert a.state.nudges_sent[d.to[0].email] < TIMING.max_nudges


IntroThreadMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=15, deadline=None)
TestIntroThreadMachine = IntroThreadMachine.TestCase
