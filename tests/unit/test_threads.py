"""JWZ threading: references, loops, Gmail thread ids and careful subject joining."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from introd.message import Address, Message
from introd.threads import is_reply_subject, normalise_subject, thread_messages

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
KATHY = Address("Kathy", "kathy@x.com")
BOB = Address("Bob", "bob@y.com")
ANN = Address("Ann", "ann@z.com")
USER = Address("Me", "me@me.com")


def msg(
    mid: str, *, refs: tuple[str, ...] = (), irt: tuple[str, ...] = (), subject: str = "Intro", hours: float = 0,
    sender: Address = KATHY, to: tuple[Address, ...] = (BOB,), gm: str | None = None,
) -> Message:
    return Message(message_id=mid, subject=subject, date=T0 + timedelta(hours=hours), sender=sender, to=to,
                   references=refs, in_reply_to=irt, gm_thread_id=gm)


def groups(threads: list) -> set[frozenset[str]]:
    return {frozenset(t.message_ids) for t in threads}


def test_references_chain_builds_one_thread_oldest_first() -> None:
    """Replies linked by References form one thread rooted at the first message, ordered by date."""
    threads = thread_messages([
        msg("c", refs=("a", "b"), hours=2), msg("a"), msg("b", refs=("a",), irt=("a",), hours=1),
    ])
    assert len(threads) == 1
    assert threads[0].thread_id == "a"
    assert threads[0].message_ids == ("a", "b", "c")


def test_in_reply_to_alone_links() -> None:
    """In-Reply-To links a reply when References is missing."""
    threads = thread_messages([msg("a"), msg("b", irt=("a",), hours=1)])
    assert groups(threads) == {frozenset({"a", "b"})}


def test_missing_root_uses_oldest_message_id() -> None:
    """When the root message is absent, siblings stay together and the oldest present message names the thread."""
    threads = thread_messages([msg("c", refs=("root",), hours=2), msg("b", refs=("root",), hours=1)])
    assert len(threads) == 1
    assert threads[0].thread_id == "b"
    assert threads[0].message_ids == ("b", "c")


def test_reference_loop_and_self_reference_do_not_hang() -> None:
    """Mutual and self references are cut, and each message still appears once."""
    threads = thread_messages([
        msg("a", refs=("b",)), msg("b", refs=("a",), hours=1), msg("c", refs=("c",), irt=("c",), hours=2),
    ])
    ids = [mid for t in threads for mid in t.message_ids]
    assert sorted(ids) == ["a", "b", "c"]
    assert frozenset({"a", "b"}) in groups(threads)


def test_duplicate_message_ids_counted_once() -> None:
    """The same Message-ID in two folders is one message."""
    threads = thread_messages([msg("a"), msg("a"), msg("b", refs=("a",), hours=1)])
    assert threads[0].message_ids == ("a", "b")


def test_unrelated_messages_are_separate_threads_oldest_first() -> None:
    """Messages without links or shared subjects are separate threads, oldest thread first."""
    threads = thread_messages([msg("late", subject="Lunch", hours=5), msg("early", subject="Dinner")])
    assert [t.thread_id for t in threads] == ["early", "late"]


def test_gmail_thread_id_merges() -> None:
    """Messages sharing X-GM-THRID form one thread even without references."""
    threads = thread_messages([msg("a", gm="1", subject="x"), msg("b", gm="1", subject="y", hours=1)])
    assert groups(threads) == {frozenset({"a", "b"})}


def test_orphan_reply_joins_by_subject() -> None:
    """A "Re:" reply without references joins the earlier thread with the same subject and people."""
    threads = thread_messages([
        msg("a", subject="Kathy <> Bob", sender=KATHY, to=(BOB,)),
        msg("b", subject="RE: [ext] Kathy <> Bob", sender=BOB, to=(KATHY,), hours=3),
    ])
    assert groups(threads) == {frozenset({"a", "b"})}
    assert threads[0].thread_id == "a"


def test_fresh_messages_with_same_subject_stay_apart() -> None:
    """Two non-reply messages with the same subject are never joined."""
    threads = thread_messages([msg("a", subject="Intro"), msg("b", subject="Intro", hours=1)])
    assert len(threads) == 2


def test_orphan_reply_needs_shared_people() -> None:
    """A "Re:" from a stranger with the same subject stays apart; sharing only the user is not enough."""
    threads = thread_messages([
        msg("a", subject="Lunch", sender=USER, to=(KATHY,)),
        msg("b", subject="Re: Lunch", sender=USER, to=(ANN,), hours=1),
    ])
    assert len(threads) == 2


def test_orphan_reply_needs_recent_thread() -> None:
    """A "Re:" more than 30 days after the thread's last message stays apart."""
    threads = thread_messages([
        msg("a", subject="Intro", sender=KATHY, to=(BOB,)),
        msg("b", subject="Re: Intro", sender=BOB, to=(KATHY,), hours=24 * 45),
    ])
    assert len(threads) == 2


def test_subject_normalisation() -> None:
    """Reply/forward prefixes of several languages and leading tags are stripped."""
    assert normalise_subject("AW: WG: [ext] Re[2]: Fwd:  Kathy <> Bob") == "kathy <> bob"
    assert normalise_subject("TR: SV: R: Intro") == "intro"
    assert is_reply_subject("AW: Intro")
    assert not is_reply_subject("Fwd: Intro")
    assert not is_reply_subject("Regarding Intro")


def test_hundred_thousand_messages() -> None:
    """100,000 messages in 20,000 five-message threads make 20,000 threads (speed: bench/mailbox.py)."""
    messages = []
    for t in range(20_000):
        root = f"r{t}@x"
        for i in range(5):
            mid = root if i == 0 else f"m{t}.{i}@x"
            refs = (root, *(f"m{t}.{j}@x" for j in range(1, i)))
            messages.append(msg(mid, refs=refs if i else (), subject=f"Topic {t}", hours=t + i / 10))
    threads = thread_messages(messages)
    assert len(threads) == 20_000
    assert all(len(t.message_ids) == 5 for t in threads)


def test_long_chain_is_linear() -> None:
    """A 50,000-message chain of In-Reply-To links is one thread, in date order (a quadratic blow-up would hang)."""
    chain = [msg("m0")] + [msg(f"m{i}", irt=(f"m{i - 1}",), hours=i) for i in range(1, 50_000)]
    threads = thread_messages(chain)
    assert len(threads) == 1
    assert threads[0].message_ids[:3] == ("m0", "m1", "m2")


_IDS = st.sampled_from([f"id{i}" for i in range(8)])


@st.composite
def _messages(draw: st.DrawFn) -> list[Message]:
    out = []
    for _ in range(draw(st.integers(0, 12))):
        out.append(msg(
            draw(_IDS),
            refs=tuple(draw(st.lists(_IDS, max_size=4))),
            irt=tuple(draw(st.lists(_IDS, max_size=2))),
            subject=draw(st.sampled_from(["Intro", "Re: Intro", "Fwd: Intro", "Other", ""])),
            hours=draw(st.integers(0, 2000)),
            sender=draw(st.sampled_from([KATHY, BOB, ANN])),
            to=(draw(st.sampled_from([KATHY, BOB, ANN])),),
            gm=draw(st.sampled_from([None, None, "g1", "g2"])),
        ))
    return out


@settings(max_examples=300, deadline=None)
@given(_messages())
def test_every_message_in_exactly_one_thread(messages: list[Message]) -> None:
    """Whatever the references (loops, duplicates, self links), each distinct message lands in one thread."""
    threads = thread_messages(messages)
    ids = [mid for t in threads for mid in t.message_ids]
    assert sorted(ids) == sorted({m.message_id for m in messages})
    for t in threads:
        assert t.thread_id in t.message_ids
