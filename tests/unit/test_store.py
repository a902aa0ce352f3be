"""The SQLite state store: schema version, sync positions, header index, ledger, locking and file mode."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from introd.errors import StateError
from introd.index import IndexRow
from introd.message import Address, Message, Skipped
from introd.store import (
    SCHEMA_VERSION,
    FolderPosition,
    IndexEntry,
    LedgerEntry,
    StateStore,
    message_from_json,
    message_to_json,
)

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def msg(uid: int, mid: str = "", folder: str = "INBOX", refs: tuple[str, ...] = ()) -> Message:
    return Message(
        message_id=mid or f"m{uid}@example.com", subject=f"Subject {uid}", date=WHEN,
        sender=Address("Kathy Lee", "kathy@example.com"), to=(Address("", "mary@example.com"),),
        references=refs, folder=folder, uid=uid, flags=("\\Seen",), headers=(("Subject", f"Subject {uid}"),),
    )


def idx(*messages: Message, passed: bool = False) -> list[IndexEntry]:
    return [IndexEntry(m, passed, WHEN) for m in messages]


@pytest.fixture
def state() -> StateStore:
    return StateStore(":memory:")


def test_schema_version_is_set(state: StateStore) -> None:
    """A new state file carries the current schema version in PRAGMA user_version."""
    assert state.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_message_json_round_trip() -> None:
    """A Message survives serialisation unchanged."""
    m = msg(7, refs=("a@x", "b@x"))
    assert message_from_json(message_to_json(m)) == m


def test_folder_position_round_trip_and_reset(state: StateStore) -> None:
    """Positions are stored per folder; a reset forgets the folder's messages and position only."""
    state.set_folder_position("work", "INBOX", FolderPosition(11, 5, 6, 42))
    state.set_folder_position("work", "Sent", FolderPosition(12, 2, 3, None))
    state.add_messages("work", idx(msg(1), msg(2), msg(1, folder="Sent", mid="s1@x")))
    assert state.folder_position("work", "INBOX") == FolderPosition(11, 5, 6, 42)
    state.reset_folder("work", "INBOX")
    assert state.folder_position("work", "INBOX") is None
    assert state.message_count("work", "INBOX") == 0
    assert state.message_count("work", "Sent") == 1
    assert state.folder_position("work", "Sent") == FolderPosition(12, 2, 3, None)


def test_candidates_are_evaluated_once(state: StateStore) -> None:
    """New rows are unevaluated until marked; chosen ones become candidates, the rest are settled."""
    state.add_messages("work", idx(msg(1), msg(2), msg(3)))
    assert sorted(r.uid for r in state.unevaluated("work")) == [1, 2, 3]
    state.mark_evaluated("work", [("INBOX", 2)])
    assert state.unevaluated("work") == []
    assert state.candidate_ids("work") == {"m2@example.com"}
    assert [m.uid for m in state.unclassified_candidates("work")] == [2]
    state.save_classification("work", msg(2), "intro", '{"label": "intro"}')
    assert state.unclassified_candidates("work") == []
    assert state.classifications("work") == {"m2@example.com": '{"label": "intro"}'}


def test_accounts_are_isolated(state: StateStore) -> None:
    """One account's index never shows up in another's."""
    state.add_messages("work", idx(msg(1)))
    assert state.message_count("home") == 0
    assert state.messages("home") == []


def test_skipped_are_counted(state: StateStore) -> None:
    """Malformed messages are recorded with their reason and counted."""
    state.add_skipped("work", Skipped("INBOX", 9, "no header block"))
    state.add_skipped("work", Skipped("INBOX", 9, "no header block"))
    assert state.skipped_count("work") == 1


def test_ledger_refuses_nothing_but_remembers_everything(state: StateStore) -> None:
    """A ledger entry is found again by its key, and updating it keeps one row."""
    entry = LedgerEntry("t1:nudge:mary@example.com:1", "nudge", "t1", "planned", "d1@introd")
    state.ledger_put("work", entry)
    assert state.ledger_get("work", entry.key) == entry
    done = LedgerEntry(entry.key, "nudge", "t1", "done", "d1@introd", "Drafts", 17, "abc")
    state.ledger_put("work", done)
    assert state.ledger("work") == [done]
    assert state.ledger_get("home", entry.key) is None


def test_transaction_rolls_back_on_error(state: StateStore) -> None:
    """An exception inside a transaction leaves nothing written."""
    with pytest.raises(RuntimeError), state.transaction():
        state.add_messages("work", idx(msg(1)))
        raise RuntimeError("boom")
    assert state.message_count("work") == 0


def test_state_file_is_private(tmp_path: Path) -> None:
    """The state file and its directory are created readable by the owner only."""
    path = tmp_path / "sub" / "introd.sqlite3"
    store = StateStore(path)
    store.add_messages("work", idx(msg(1)))
    store.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_second_writer_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """Only one process may hold the state file's lock; the second gets a StateError naming the file."""
    path = tmp_path / "introd.sqlite3"
    first = StateStore(path, lock=True)
    try:
        with pytest.raises(StateError, match="in use by another introd"):
            StateStore(path, lock=True)
        reader = StateStore(path)  # readers such as `status` do not need the lock
        reader.close()
    finally:
        first.close()
    StateStore(path, lock=True).close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A state file from a newer introd is not touched."""
    path = tmp_path / "introd.sqlite3"
    store = StateStore(path)
    store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store.close()
    with pytest.raises(StateError, match="newer"):
        StateStore(path)


def test_account_status_keeps_last_sync_across_errors(state: StateStore) -> None:
    """A failed attempt records the error but keeps the time of the last successful sync."""
    state.set_account_status("work", connected=True, synced=True)
    synced = state.account_status("work")["last_sync"]
    state.set_account_status("work", connected=False, error="connection refused")
    row = state.account_status("work")
    assert (row["connected"], row["last_error"], row["last_sync"]) == (0, "connection refused", synced)


def test_schema_1_is_migrated_without_losing_data(tmp_path: Path) -> None:
    """A version-1 state file gains the ledger's raw column and the controls table, keeping its rows."""
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    from introd import store as store_module

    db.executescript(store_module._SCHEMA)
    db.execute("INSERT INTO ledger VALUES ('a','k','draft','t','done','m','Drafts',3,'h','x','x')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    state = StateStore(path)
    try:
        assert state.db.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
        entry = state.ledger_get("a", "k")
        assert entry is not None and entry.uid == 3 and entry.raw is None
        assert state.controls("a") == []
    finally:
        state.close()


def test_cached_values_follow_every_change_of_the_candidates(tmp_path: Path) -> None:
    """A cached read of the candidates is reused until one is marked, replaced or rolled back here, or
    another connection commits; indexing new (unevaluated) rows leaves it valid."""
    path = tmp_path / "s.db"
    state, other = StateStore(path), StateStore(path)
    try:
        calls: list[int] = []

        def ids() -> set[str]:
            def compute() -> set[str]:
                calls.append(1)
                return state.candidate_ids("a")
            return state.cached("ids", compute)

        assert ids() == set()
        state.add_messages("a", idx(msg(1)))
        assert ids() == set() and len(calls) == 1  # a new row is not a candidate: no recompute
        state.mark_evaluated("a", [("INBOX", 1)])
        assert ids() == {"m1@example.com"}
        state.add_messages("a", idx(msg(1)))  # the same UID indexed again: its candidate row is replaced
        assert ids() == set()
        with other.transaction():
            other.add_messages("a", idx(msg(2)))
            other.mark_evaluated("a", [("INBOX", 2)])
        assert ids() == {"m2@example.com"}
        with pytest.raises(RuntimeError), state.transaction():
            state.add_messages("a", idx(msg(3)))
            state.mark_evaluated("a", [("INBOX", 3)])
            assert ids() == {"m2@example.com", "m3@example.com"}
            raise RuntimeError("roll back")
        assert ids() == {"m2@example.com"}
    finally:
        state.close()
        other.close()


def test_selectable_rows_are_the_passed_ones_and_the_ones_with_references(state: StateStore) -> None:
    """A row the prefilter did not pass and that references nothing can never be chosen: not read back."""
    state.add_messages("work", idx(msg(1), passed=True))
    state.add_messages("work", idx(msg(2, refs=("root@x",))))
    state.add_messages("work", idx(msg(3)))
    assert sorted(r.uid for r in state.unevaluated("work", selectable_only=True)) == [1, 2]
    assert sorted(r.uid for r in state.unevaluated("work")) == [1, 2, 3]


def test_index_rows_carry_references_and_the_prefilter_verdict(state: StateStore) -> None:
    """Selection reads plain columns: ids, UTC dates, references and the verdict, no JSON record."""
    state.add_messages("work", idx(msg(1, refs=("root@x", "p@x")), passed=True))
    state.add_messages("work", idx(msg(2)))
    rows = state.unevaluated("work")
    assert rows[0] == IndexRow("INBOX", 1, "m1@example.com", WHEN.isoformat(), ("root@x", "p@x"), True)
    assert rows[1].passed is False and rows[1].refs == ()
    record = state.db.execute("SELECT record FROM messages WHERE uid=1").fetchone()[0]
    assert record is None


def test_unclassified_messages_are_stubs_of_their_index_columns(state: StateStore) -> None:
    """Before classification a message is known by where it sits, its id, date and flags; after it, by the
    full record sync stored."""
    state.add_messages("work", idx(msg(1), msg(2)))
    state.mark_evaluated("work", [("INBOX", 2)])
    stub = state.messages_by_id("work", "m1@example.com")[0]
    assert (stub.folder, stub.uid, stub.sender, stub.date, stub.flags) == ("INBOX", 1, None, WHEN, ("\\Seen",))
    state.save_classification("work", msg(2), "intro", "{}")
    assert state.messages_by_id("work", "m2@example.com") == [msg(2)]


def test_dormant_candidates_wake_when_asked(state: StateStore) -> None:
    """Dormant candidates are known ids but not fetched; waking makes them ordinary candidates."""
    state.add_messages("work", idx(msg(1), msg(2), msg(3)))
    state.mark_evaluated("work", [("INBOX", 1)], [("INBOX", 2)])
    assert state.candidate_ids("work") == {"m1@example.com", "m2@example.com"}
    assert state.candidate_ids("work", active_only=True) == {"m1@example.com"}
    assert [r.uid for r in state.dormant("work")] == [2]
    assert [m.uid for m in state.unclassified_candidates("work")] == [1]
    assert state.any_dormant("work", ["nope@x", "m2@example.com"])
    assert not state.any_dormant("work", ["m1@example.com", "m3@example.com"])
    state.wake("work", [("INBOX", 2), ("INBOX", 3)])  # 3 is not a candidate: untouched
    assert state.dormant("work") == []
    assert [m.uid for m in state.unclassified_candidates("work")] == [1, 2]
    assert state.candidate_ids("work") == {"m1@example.com", "m2@example.com"}


def test_schema_2_rows_are_migrated_to_index_columns(tmp_path: Path) -> None:
    """A version-2 state file keeps its records; rows not yet evaluated get their references back and are
    passed to selection, so nothing indexed before the upgrade is lost."""
    import sqlite3

    from introd import store as store_module

    path = tmp_path / "v2.db"
    db = sqlite3.connect(path)
    db.executescript(store_module._SCHEMA)
    db.executescript(store_module._MIGRATIONS[0])
    evaluated = msg(1)
    fresh = msg(2, refs=("root@x",))
    for m, candidate in ((evaluated, 1), (fresh, None)):
        db.execute("INSERT INTO messages (account, folder, uid, message_id, date, record, candidate) "
                   "VALUES ('work','INBOX',?,?,?,?,?)",
                   (m.uid, m.message_id, m.date.isoformat(), message_to_json(m), candidate))
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    state = StateStore(path)
    try:
        assert state.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert state.messages("work", candidates_only=True) == [evaluated]
        assert state.unevaluated("work") == [
            IndexRow("INBOX", 2, "m2@example.com", WHEN.isoformat(), ("root@x",), True)]
        assert state.messages_by_id("work", "m2@example.com") == [fresh]
    finally:
        state.close()
