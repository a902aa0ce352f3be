"""Reply drafts: addressing, threading, quoting, header safety and sandboxed templates."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from introd.drafting import (
    NEW_CONVERSATION_KINDS,
    REMINDER_ONLY_KINDS,
    TEMPLATE_NAMES,
    User,
    load_template,
    render_draft,
    substitute,
    template_for,
)
from introd.intros import DueAction, DueKind, IntroState, Role, Stage
from introd.message import Address, Message

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)
KATHY = Address("Kathy Lee", "kathy@k.example")
MARY = Address("Mary Smith", "mary@m.example")
STEVEN = Address("Steven Jones", "steven@s.example")
TIM = Address("Tim Consultant", "tim@c.example")

INTRO_TEXT = (
    "Hi Steven,\nI'm pleased to introduce you to Mary Smith, owner of Not A Real Company.\n"
    "Hi Mary,\nSteven is an account manager in commercial real estate and well connected.\n"
    "Hope this connection is beneficial to you both.\nKathy"
)


def intro_message(**changes: object) -> Message:
    """Kathy's intro of Mary and Steven, as the parser would record it."""
    msg = Message(
        message_id="intro-1@k.example",
        subject="Intro: Mary <> Steven",
        date=NOW - timedelta(days=3),
        sender=KATHY,
        to=(STEVEN, MARY),
        references=("root@k.example",),
        has_body=True,
        new_text=INTRO_TEXT,
    )
    return replace(msg, **changes)  # type: ignore[arg-type]


def state(role: Role, **changes: object) -> IntroState:
    """An intro thread between Mary and Steven made by Kathy."""
    st = IntroState(
        thread_id="t1",
        subject="Intro: Mary <> Steven",
        stage=Stage.INTRODUCED,
        role=role,
        introducer=KATHY,
        parties=(MARY, STEVEN),
        started=NOW - timedelta(days=3),
        last_activity=NOW - timedelta(days=3),
        message_ids=("root@k.example", "intro-1@k.example"),
    )
    return replace(st, **changes)  # type: ignore[arg-type]


def action(kind: DueKind, to: tuple[Address, ...], bcc: tuple[Address, ...] = (), key: str = "") -> DueAction:
    """A due action on thread t1."""
    return DueAction(
        kind=kind,
        thread_id="t1",
        key=key or f"t1:{kind.value}:{to[0].email if to else ''}",
        since=NOW - timedelta(days=2),
        to=to,
        bcc=bcc,
        reply_to_message_id="intro-1@k.example",
        reason="It has been a while.",
    )


def user_of(addr: Address) -> User:
    """The user as drafting sees them."""
    return User(addr.name, (addr.email,))


@dataclass(frozen=True)
class Case:
    """One due action, whose mailbox it is in, and what the draft should look like."""

    kind: DueKind
    role: Role
    me: Address
    to: tuple[Address, ...]
    bcc: tuple[Address, ...]
    template: str
    key: str = ""


CASES = [
    Case(DueKind.REPLY_OWED, Role.INTRODUCED, STEVEN, (MARY,), (KATHY,), "reply_intro"),
    Case(DueKind.REPLY_OWED, Role.ASKED, KATHY, (MARY,), (), "reply_request"),
    Case(DueKind.REPLY_OWED, Role.INTRODUCER, KATHY, (MARY,), (), "reply"),
    Case(DueKind.NO_OPTIN, Role.INTRODUCED, STEVEN, (MARY,), (KATHY,), "no_optin"),
    Case(DueKind.CHANNEL_SWITCH, Role.INTRODUCED, STEVEN, (MARY,), (), "channel_switch"),
    Case(DueKind.DECLINE, Role.ASKED, KATHY, (TIM,), (), "decline"),
    Case(DueKind.NUDGE, Role.INTRODUCED, MARY, (STEVEN,), (), "nudge_1", "t1:nudge:steven@s.example:1"),
    Case(DueKind.NUDGE, Role.INTRODUCED, MARY, (STEVEN,), (), "nudge_2", "t1:nudge:steven@s.example:2"),
    Case(DueKind.INTRODUCER_NUDGE, Role.INTRODUCER, KATHY, (MARY, STEVEN), (), "introducer_nudge"),
    Case(DueKind.ASK_FIRST, Role.INTRODUCER, KATHY, (STEVEN,), (), "ask_first"),
    Case(DueKind.MAKE_INTRO, Role.INTRODUCER, KATHY, (MARY, STEVEN), (), "make_intro"),
    Case(DueKind.THANK_INTRODUCER, Role.INTRODUCED, STEVEN, (KATHY,), (), "thank_introducer"),
    Case(DueKind.FOLLOWUP, Role.INTRODUCER, KATHY, (MARY, STEVEN), (), "followup"),
]


def parse(raw: bytes) -> EmailMessage:
    """The raw draft parsed back the way a mail client would."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def emails(msg: EmailMessage, field: str) -> set[str]:
    """The addr-specs of one address field."""
    header = msg[field]
    return {a.addr_spec for a in header.addresses} if header is not None else set()


def render(case: Case, original: Message | None = None) -> EmailMessage:
    """Render one case and parse it back, asserting it rendered without warnings."""
    draft = render_draft(
        action(case.kind, case.to, case.bcc, case.key),
        state(case.role),
        original if original is not None else intro_message(),
        user_of(case.me),
        now=NOW,
    )
    assert draft is not None
    assert draft.template == case.template
    assert draft.warnings == ()
    assert draft.kind is case.kind
    msg = parse(draft.raw)
    assert msg["Message-ID"] == f"<{draft.message_id}>"
    return msg


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.template)
def test_every_draft_kind_renders_and_parses_back(case: Case) -> None:
    """Each kind that calls for a message yields a well-formed CRLF text/plain UTF-8 message."""
    draft = render_draft(
        action(case.kind, case.to, case.bcc, case.key),
        state(case.role),
        intro_message(),
        user_of(case.me),
        now=NOW,
    )
    assert draft is not None
    assert b"\n" not in draft.raw.replace(b"\r\n", b"")
    msg = parse(draft.raw)
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"].datetime == NOW
    assert msg["Auto-Submitted"] is None
    assert msg.defects == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.template)
def test_addresses_follow_the_action(case: Case) -> None:
    """From is the user; To and Bcc are exactly the action's; there is no Cc."""
    msg = render(case)
    assert emails(msg, "From") == {case.me.email}
    assert msg["From"].addresses[0].display_name == case.me.name
    assert emails(msg, "To") == {a.email for a in case.to}
    assert emails(msg, "Bcc") == {a.email for a in case.bcc}
    assert msg["Cc"] is None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.template)
def test_marker_header_and_message_id_domain(case: Case) -> None:
    """X-Introd-Action names the kind and key; the Message-ID is on the user's domain."""
    msg = render(case)
    key = case.key or f"t1:{case.kind.value}:{case.to[0].email}"
    assert msg["X-Introd-Action"] == f"{case.kind.value}; key={key}"
    assert msg["Message-ID"].endswith("@" + case.me.email.split("@")[1] + ">")


@pytest.mark.parametrize("case", [c for c in CASES if c.kind not in NEW_CONVERSATION_KINDS], ids=lambda c: c.template)
def test_replies_are_threaded_with_one_re_and_a_quote(case: Case) -> None:
    """Replies answer the original: In-Reply-To, References, one "Re:", and the original quoted."""
    msg = render(case)
    assert msg["In-Reply-To"] == "<intro-1@k.example>"
    assert msg["References"] == "<root@k.example> <intro-1@k.example>"
    assert msg["Subject"] == "Re: Intro: Mary <> Steven"
    body = msg.get_content()
    assert "Kathy Lee <kathy@k.example> wrote:" in body
    assert "> I'm pleased to introduce you to Mary Smith, owner of Not A Real Company." in body


@pytest.mark.parametrize("case", [c for c in CASES if c.kind in NEW_CONVERSATION_KINDS], ids=lambda c: c.template)
def test_new_conversations_neither_thread_nor_quote(case: Case) -> None:
    """Opt-in asks and intros start fresh: no Re:, no threading, no quoted private exchange."""
    msg = render(case)
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert not msg["Subject"].lower().startswith("re:")
    assert "wrote:" not in msg.get_content()


def test_reply_to_a_reply_keeps_one_re() -> None:
    """An original already carrying "RE: AW:" gets exactly one "Re:"."""
    msg = render(CASES[0], intro_message(subject="RE: AW: Re: Intro: Mary <> Steven"))
    assert msg["Subject"] == "Re: Intro: Mary <> Steven"


def test_reply_owed_thanks_the_introducer_and_writes_to_the_new_contact() -> None:
    """The intro reply thanks Kathy, moves her to Bcc, greets Mary and proposes a concrete step."""
    body = render(CASES[0]).get_content()
    assert "Thank you for the introduction, Kathy" in body
    assert "Bcc" in body
    assert "Hi Mary," in body
    assert "20-minute call" in body
    assert body.rstrip().endswith("> Kathy")


def test_ask_first_goes_to_one_party_with_a_blurb_about_the_other() -> None:
    """The opt-in ask names Mary, quotes the intro's line about her and offers an out."""
    msg = render(CASES[9])
    body = msg.get_content()
    assert emails(msg, "To") == {STEVEN.email}
    assert msg["Subject"] == "Would you be open to meeting Mary Smith?"
    assert "I'm pleased to introduce you to Mary Smith, owner of Not A Real Company." in body
    assert "no problem at all" in body


def test_ask_first_without_a_reason_leaves_a_visible_placeholder() -> None:
    """With no sentence to borrow, the blurb is a bracketed placeholder the user must fill."""
    msg = render(CASES[9], intro_message(new_text="Hi all"))
    assert "[One or two lines on who they are" in msg.get_content()


def test_make_intro_names_both_parties() -> None:
    """The intro greets both and introduces each to the other."""
    msg = render(CASES[10])
    body = msg.get_content()
    assert msg["Subject"] == "Introduction: Mary Smith <> Steven Jones"
    assert "Hi Mary and Steven," in body
    assert "Mary, meet Steven Jones; Steven, meet Mary Smith." in body


def test_channel_switch_gives_the_users_address() -> None:
    """The channel switch asks to move to email and states where."""
    body = render(CASES[4]).get_content()
    assert "move this conversation to email" in body
    assert "steven@s.example" in body


def test_nudge_two_is_gentler_with_an_explicit_out() -> None:
    """The second nudge differs from the first and says plainly that no is fine."""
    first = render(CASES[6]).get_content()
    second = render(CASES[7]).get_content()
    assert first != second
    assert "completely fine" in second and "won't follow up again" in second
    assert "won't follow up" not in first


def test_nudge_number_falls_back_on_nudges_sent() -> None:
    """Without a number in the key, one nudge already sent makes this the second."""
    act = action(DueKind.NUDGE, (STEVEN,), key="t1:nudge:steven@s.example")
    st = state(Role.INTRODUCED, nudges_sent={STEVEN.email: 1})
    assert template_for(act, st) == "nudge_2"


@pytest.mark.parametrize("kind", sorted(REMINDER_ONLY_KINDS))
def test_reminder_only_kinds_render_no_draft(kind: DueKind) -> None:
    """Stalled and move-on are reminders, never drafts."""
    act = action(kind, (MARY,))
    assert render_draft(act, state(Role.INTRODUCED), intro_message(), user_of(STEVEN), now=NOW) is None


def test_no_optin_for_the_introducer_is_reminder_only() -> None:
    """When the user introduced someone without asking, there is nothing to send."""
    act = action(DueKind.NO_OPTIN, (MARY,))
    assert render_draft(act, state(Role.INTRODUCER), intro_message(), user_of(KATHY), now=NOW) is None


def test_every_due_kind_is_covered() -> None:
    """Each DueKind has a template in some role, or is reminder-only."""
    for kind in DueKind:
        names = {template_for(action(kind, (MARY,)), state(role)) for role in Role}
        assert (names == {None}) == (kind in REMINDER_ONLY_KINDS), kind


def test_no_recipient_means_no_draft() -> None:
    """An action whose only addressee is the user or an unusable address yields None."""
    st = state(Role.INTRODUCED)
    assert render_draft(action(DueKind.NUDGE, (STEVEN,)), st, None, user_of(STEVEN), now=NOW) is None
    bad = Address("X", "not an address")
    assert render_draft(action(DueKind.NUDGE, (bad,)), st, None, user_of(STEVEN), now=NOW) is None


def test_from_is_the_address_the_original_was_sent_to() -> None:
    """A user with two addresses answers from the one the intro reached."""
    user = User("Steven Jones", ("steven@home.example", "steven@s.example"))
    draft = render_draft(
        action(DueKind.REPLY_OWED, (MARY,), (KATHY,)), state(Role.INTRODUCED), intro_message(), user, now=NOW
    )
    assert draft is not None
    msg = parse(draft.raw)
    assert emails(msg, "From") == {"steven@s.example"}
    assert draft.message_id.endswith("@s.example")
    other = render_draft(action(DueKind.REPLY_OWED, (MARY,), (KATHY,)), state(Role.INTRODUCED), None, user, now=NOW)
    assert other is not None
    assert emails(parse(other.raw), "From") == {"steven@home.example"}


def test_without_original_threads_under_the_actions_message() -> None:
    """With no original record, In-Reply-To comes from the action and the subject from the state."""
    draft = render_draft(action(DueKind.NUDGE, (STEVEN,)), state(Role.INTRODUCED), None, user_of(MARY), now=NOW)
    assert draft is not None
    msg = parse(draft.raw)
    assert msg["In-Reply-To"] == "<intro-1@k.example>"
    assert msg["Subject"] == "Re: Intro: Mary <> Steven"
    assert "wrote:" not in msg.get_content()


def test_references_are_capped_keeping_the_root_and_newest() -> None:
    """A thread with 60 references yields at most 20, root first and the original last."""
    refs = tuple(f"r{i}@x.example" for i in range(60))
    msg = render(CASES[0], intro_message(references=refs))
    ids = re.findall(r"<([^>]+)>", msg["References"])
    assert len(ids) == 20
    assert ids[0] == "r0@x.example" and ids[-1] == "intro-1@k.example" and ids[-2] == "r59@x.example"


def test_long_originals_are_quoted_with_a_cap() -> None:
    """Only the first lines of a long original are quoted, then an ellipsis line."""
    text = "\n".join(f"line {i}" for i in range(200))
    body = render(CASES[0], intro_message(new_text=text)).get_content()
    assert "> line 0" in body and "> line 199" not in body and "> [...]" in body


HOSTILE_NAME = "Mary\r\nBcc: evil@x.example"
HOSTILE_ENCODED = "=?utf-8?q?x=0D=0ABcc:_evil@x.example?="


@pytest.mark.parametrize("hostile", [HOSTILE_NAME, HOSTILE_ENCODED, "x\nBcc: evil@x.example\n\nbody"])
def test_hostile_subject_names_and_keys_never_inject_headers(hostile: str) -> None:
    """CR/LF or encoded CR/LF in a subject, display name, introducer or key adds no header field."""
    mary = Address(hostile, "mary@m.example")
    kathy = Address(hostile, "kathy@k.example")
    st = state(Role.INTRODUCED, subject=hostile, introducer=kathy, parties=(mary, STEVEN))
    original = intro_message(subject=hostile, sender=kathy, to=(STEVEN, mary), new_text=hostile)
    act = action(DueKind.REPLY_OWED, (mary,), (kathy,), key=f"t1:{hostile}")
    draft = render_draft(act, st, original, User(hostile, ("steven@s.example",)), now=NOW)
    assert draft is not None
    msg = parse(draft.raw)
    assert sorted(k.lower() for k in msg) == sorted(
        [
            "from",
            "to",
            "bcc",
            "subject",
            "date",
            "message-id",
            "in-reply-to",
            "references",
            "x-introd-action",
            "content-type",
            "content-transfer-encoding",
            "mime-version",
        ]
    )
    assert emails(msg, "Bcc") == {"kathy@k.example"}
    assert emails(msg, "To") == {"mary@m.example"}
    assert "evil@x.example" not in emails(msg, "To") | emails(msg, "Bcc") | emails(msg, "From")
    for value in msg.values():
        assert "\r" not in str(value) and "\n" not in str(value)
    assert "\r" not in draft.subject and "\n" not in draft.subject


def test_user_template_overrides_one_file(tmp_path: Path) -> None:
    """A user nudge_1.txt replaces the built-in for that kind only, subject line included."""
    (tmp_path / "nudge_1.txt").write_text("Subject: Ping {{recipient_first_names}}\n\nHey {{recipient_first_names}}!\n")
    st = state(Role.INTRODUCED)
    nudge = render_draft(
        action(DueKind.NUDGE, (STEVEN,), key="k:1"), st, None, user_of(MARY), templates_dir=tmp_path, now=NOW
    )
    assert nudge is not None and nudge.warnings == ()
    msg = parse(nudge.raw)
    assert msg["Subject"] == "Ping Steven"
    assert msg.get_content().startswith("Hey Steven!")
    followup = render_draft(
        action(DueKind.FOLLOWUP, (MARY, STEVEN)),
        state(Role.INTRODUCER),
        None,
        user_of(KATHY),
        templates_dir=tmp_path,
        now=NOW,
    )
    assert followup is not None
    assert "How did it go?" in parse(followup.raw).get_content()


def test_unreadable_user_template_falls_back_with_a_warning(tmp_path: Path) -> None:
    """Invalid UTF-8 in a user template gives the built-in text and a warning naming the file."""
    (tmp_path / "decline.txt").write_bytes(b"\xff\xfe\x00bad")
    draft = render_draft(
        action(DueKind.DECLINE, (TIM,)), state(Role.ASKED), None, user_of(KATHY), templates_dir=tmp_path, now=NOW
    )
    assert draft is not None
    assert "I keep introductions" in parse(draft.raw).get_content()
    assert len(draft.warnings) == 1 and "decline.txt" in draft.warnings[0]


def test_missing_templates_directory_warns(tmp_path: Path) -> None:
    """A configured directory that does not exist is reported, and the built-in is used."""
    _, warnings = load_template("followup", tmp_path / "nope")
    assert warnings and "not found" in warnings[0]


SANDBOX_PROBES = "{{__class__}} {0.__globals__} {{ signature.__class__ }} ${signature} {signature} {{signature!r}}"


def test_templates_cannot_reach_attributes_or_code(tmp_path: Path) -> None:
    """Attribute, format-spec and $-probes render literally; unknown names are only warned about."""
    (tmp_path / "followup.txt").write_text(SANDBOX_PROBES + "\n{{signature}}\n")
    draft = render_draft(
        action(DueKind.FOLLOWUP, (MARY, STEVEN)),
        state(Role.INTRODUCER),
        None,
        user_of(KATHY),
        templates_dir=tmp_path,
        now=NOW,
    )
    assert draft is not None
    body = parse(draft.raw).get_content()
    assert body.splitlines()[0] == SANDBOX_PROBES
    assert body.splitlines()[1] == "Kathy Lee"
    assert any("__class__" in w for w in draft.warnings)


def test_substituted_values_are_not_expanded_again() -> None:
    """A value that itself looks like a variable stays literal (one pass only)."""
    text, warnings = substitute("{{a}}/{{b}}", {"a": "{{b}}", "b": "B"})
    assert text == "{{b}}/B"
    assert warnings == []


@pytest.mark.parametrize("name", [n for n in TEMPLATE_NAMES if n != "reminder"])
def test_builtin_templates_are_short_and_pitch_free(name: str) -> None:
    """Each built-in draft is 3-8 lines of message plus greeting and sign-off, with no sales words."""
    template, warnings = load_template(name)
    assert warnings == ()
    lines = [line for line in template.body.splitlines() if line.strip()]
    assert 3 <= len(lines) <= 10
    assert not re.search(r"pricing|discount|demo|our services|book a call", template.body, re.IGNORECASE)
    assert "{{signature}}" in template.body


def test_naive_now_is_refused() -> None:
    """A draft's Date needs a time zone."""
    with pytest.raises(ValueError):
        render_draft(
            action(DueKind.NUDGE, (STEVEN,)), state(Role.INTRODUCED), None, user_of(MARY), now=NOW.replace(tzinfo=None)
        )


def test_long_and_non_ascii_lines_stay_within_rfc_limits() -> None:
    """Header and body lines fit 78 columns, even for a long non-ASCII subject and original."""
    text = "Grüße aus Zürich, " * 120
    subject = "Vorstellung: " + "ä" * 400
    msg_raw = render_draft(
        action(DueKind.REPLY_OWED, (MARY,), (KATHY,)),
        state(Role.INTRODUCED, subject=subject),
        intro_message(new_text=text, subject=subject),
        user_of(STEVEN),
        now=NOW,
    )
    assert msg_raw is not None
    head, _, body = msg_raw.raw.partition(b"\r\n\r\n")
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert max(len(line) for line in body.split(b"\r\n")) <= 78
    msg = parse(msg_raw.raw)
    assert msg["Subject"] == "Re: " + subject
    assert "> Grüße aus Zürich" in msg.get_content()


@dataclass(frozen=True)
class IdentityLike:
    """Shaped like intros.UserIdentity: an unordered set of addresses."""

    addresses: frozenset[str]
    name: str


def test_unordered_user_addresses_pick_a_stable_from() -> None:
    """With a set of addresses and no match in the original, From is the alphabetically first, every time."""
    user = IdentityLike(frozenset({"zed@s.example", "amy@s.example"}), "Steven Jones")
    froms = set()
    for _ in range(3):
        draft = render_draft(action(DueKind.NUDGE, (MARY,)), state(Role.INTRODUCED), None, user, now=NOW)
        assert draft is not None
        froms |= emails(parse(draft.raw), "From")
    assert froms == {"amy@s.example"}
