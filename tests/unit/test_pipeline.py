"""Candidate selection over index rows and the history window (pure: no I/O)."""

from __future__ import annotations

import random

from introd.index import IndexRow
from introd.pipeline import dormant_keys, select_candidates


def row(uid: int, day: int, refs: tuple[str, ...] = (), passed: bool = False, mid: str = "") -> IndexRow:
    return IndexRow("INBOX", uid, mid or f"m{uid}@x", f"2026-03-{day:02d}T09:00:00+00:00", refs, passed)


def test_prefilter_passes_and_replies_into_candidate_threads_are_chosen() -> None:
    """A reply is chosen through any chain of references; unrelated mail is not."""
    rows = [row(1, 1, passed=True), row(2, 2, ("m1@x",)), row(3, 3, ("m2@x",)), row(4, 4, ("zz@x",)),
            row(5, 5)]
    assert [r.uid for r in select_candidates(rows, set())] == [1, 2, 3]


def test_replies_to_known_candidates_are_chosen() -> None:
    """Candidates from earlier passes count as thread roots."""
    rows = [row(7, 9, ("old@x",)), row(8, 9, ("other@x",))]
    assert [r.uid for r in select_candidates(rows, {"old@x"})] == [7]


def test_selection_does_not_depend_on_row_order() -> None:
    """The chain is found whatever order the rows come in (dates from several zones, folders)."""
    rows = [row(i, 1 + i, (f"m{i - 1}@x",) if i > 1 else (), passed=i == 1) for i in range(1, 30)]
    rows += [row(100 + i, 3) for i in range(20)]
    expected = {r.uid for r in rows if r.uid < 100}
    rng = random.Random(5)
    for _ in range(20):
        rng.shuffle(rows)
        assert {r.uid for r in select_candidates(rows, set())} == expected


def test_a_thread_is_dormant_only_when_all_of_it_is_old() -> None:
    """Threads are joined by references; one recent message keeps the whole thread live."""
    old_thread = [row(1, 1, passed=True), row(2, 2, ("m1@x",))]
    live_thread = [row(3, 1, passed=True), row(4, 20, ("m3@x",))]
    lone_recent = [row(5, 25, passed=True)]
    cutoff = "2026-03-10T00:00:00+00:00"
    assert dormant_keys(old_thread + live_thread + lone_recent, cutoff) == {("INBOX", 1), ("INBOX", 2)}


def test_threads_joined_only_through_a_shared_root_are_one_thread() -> None:
    """Two replies naming the same (absent) root belong together."""
    rows = [row(1, 1, ("root@x",)), row(2, 28, ("root@x", "m9@x"))]
    assert dormant_keys(rows, "2026-03-10T00:00:00+00:00") == set()


def test_active_ids_keep_an_old_message_live() -> None:
    """An old message replying into a thread that is already an active candidate is not dormant."""
    rows = [row(1, 1, ("active@x",)), row(2, 1, ("elsewhere@x",))]
    assert dormant_keys(rows, "2026-03-10T00:00:00+00:00", {"active@x"}) == {("INBOX", 2)}
