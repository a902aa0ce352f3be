"""SQLite state: sync positions, the header index, classifications, intros and the action ledger."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from introd.errors import StateError
from introd.index import IndexRow
from introd.message import Address, Message, Skipped

T = TypeVar("T")

SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE folders (
    account TEXT NOT NULL, folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL, uidnext INTEGER NOT NULL,
    highestmodseq INTEGER, synced_at TEXT NOT NULL,
    PRIMARY KEY (account, folder)
);
CREATE TABLE messages (
    account TEXT NOT NULL, folder TEXT NOT NULL, uid INTEGER NOT NULL,
    message_id TEXT NOT NULL, date TEXT NOT NULL, record TEXT NOT NULL,
    candidate INTEGER,  -- NULL = not evaluated yet, 0 = not a candidate, 1 = candidate
    label TEXT, classification TEXT,
    PRIMARY KEY (account, folder, uid)
);
CREATE TABLE skipped (
    account TEXT NOT NULL, folder TEXT NOT NULL, uid INTEGER NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (account, folder, uid)
);
CREATE TABLE intros (
    account TEXT NOT NULL, thread_id TEXT NOT NULL,
    stage TEXT NOT NULL, role TEXT NOT NULL, subject TEXT NOT NULL, updated TEXT NOT NULL,
    state TEXT NOT NULL, due TEXT NOT NULL,
    PRIMARY KEY (account, thread_id)
);
CREATE TABLE ledger (
    account TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, thread_id TEXT NOT NULL,
    status TEXT NOT NULL, message_id TEXT, folder TEXT, uid INTEGER, content_hash TEXT,
    created TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (account, key)
);
CREATE TABLE account_status (
    account TEXT PRIMARY KEY, connected INTEGER NOT NULL, last_sync TEXT, last_error TEXT, updated TEXT NOT NULL
);
"""

# Each entry upgrades the schema from its index + 1 to the next version.
_MIGRATIONS = (
    # 1 -> 2: the message being appended is kept until the APPEND is confirmed (crash recovery);
    # the user's controls (reminders moved to the done/muted/snoozed folders).
    """
    ALTER TABLE ledger ADD COLUMN raw BLOB;
    CREATE TABLE controls (
        account TEXT NOT NULL, folder TEXT NOT NULL, uid INTEGER NOT NULL,
        thread_id TEXT NOT NULL, kind TEXT NOT NULL, message_id TEXT NOT NULL, seen TEXT NOT NULL,
        PRIMARY KEY (account, folder, uid)
    );
    """,
    # 2 -> 3: the header index keeps a few columns instead of a JSON record per message (encoding and
    # decoding 100,000 records was most of a first pass); the JSON record is written only for candidates,
    # from their full message, once classified. candidate 2 = a candidate thread older than [timing] history_days.
    """
    CREATE TABLE messages_v3 (
        account TEXT NOT NULL, folder TEXT NOT NULL, uid INTEGER NOT NULL,
        message_id TEXT NOT NULL, date TEXT NOT NULL,
        refs TEXT NOT NULL DEFAULT '',  -- In-Reply-To and References ids, space-separated
        passed INTEGER NOT NULL DEFAULT 0,  -- the header prefilter passed
        internaldate TEXT, flags TEXT NOT NULL DEFAULT '', gm_thread_id TEXT,
        record TEXT,  -- the full Message JSON of a classified candidate
        candidate INTEGER,  -- NULL = not evaluated yet, 0 = no, 1 = candidate, 2 = dormant candidate
        label TEXT, classification TEXT,
        PRIMARY KEY (account, folder, uid)
    );
    INSERT INTO messages_v3 (account, folder, uid, message_id, date, record, candidate, label, classification)
        SELECT account, folder, uid, message_id, date, record, candidate, label, classification FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v3 RENAME TO messages;
    CREATE INDEX messages_by_id ON messages (account, message_id);
    CREATE INDEX messages_candidates ON messages (account, candidate);
    CREATE TABLE pass_marks (  -- what the last full pass saw, so a pass with nothing new can stop early
        account TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (account, key)
    );
    """,    # 3 -> 4: the candidates (a few % of the index) in an index of their own, so that each pass reads them
    # without scanning the mailbox's rows; queries name its condition ("candidate > 0") to use it.
    """
    CREATE INDEX messages_active ON messages (account, candidate, label, message_id) WHERE candidate > 0;
    """,
)


@dataclass(frozen=True)
class FolderPosition:
    """Where the last sync of one folder stopped."""

    uidvalidity: int
    last_uid: int
    uidnext: int
    highestmodseq: int | None


@dataclass(frozen=True)
class LedgerEntry:
    """One action introd took (or decided to take): keyed so it is never taken twice."""

    key: str
    kind: str
    thread_id: str
    status: str  # planned | done | dismissed | failed
    message_id: str | None = None
    folder: str | None = None
    uid: int | None = None
    content_hash: str | None = None
    raw: bytes | None = None  # kept only while an APPEND is in flight (status "planned")


@dataclass(frozen=True)
class IndexEntry:
    """One message as sync indexes it: its header record and the prefilter's verdict."""

    message: Message
    passed: bool
    internaldate: datetime | None = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json_default(value: Any) -> Any:
    if isinstance(value, Address):
        return {"name": value.name, "email": value.email}
    if isinstance(value, datetime):
        return value.isoformat()
    return asdict(value)  # any other dataclass a future field may hold


def message_to_json(msg: Message) -> str:
    """Serialise a Message record (dates as ISO 8601).

    The same JSON as ``asdict``, without its recursive deep copy (the bulk of a 100k-message first sync): the
    record's fields in order, tuples as arrays, addresses through ``_json_default``.
    """
    data = dict(msg.__dict__)
    data["date"] = msg.date.isoformat()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _address(raw: Any) -> Address:
    return Address(name=raw["name"], email=raw["email"])


def message_from_json(text: str) -> Message:
    """Rebuild a Message record serialised by message_to_json."""
    data = json.loads(text)
    data["date"] = datetime.fromisoformat(data["date"])
    data["sender"] = _address(data["sender"]) if data["sender"] else None
    for key in ("to", "cc", "reply_to"):
        data[key] = tuple(_address(a) for a in data[key])
    for key in ("in_reply_to", "references", "automated", "flags"):
        data[key] = tuple(data[key])
    data["headers"] = tuple(tuple(h) for h in data["headers"])
    known = Message.__dataclass_fields__
    return Message(**{k: v for k, v in data.items() if k in known})


class StateStore:
    """The SQLite state file; one writer process at a time (``lock=True``)."""

    def __init__(self, path: Path | str, *, lock: bool = False) -> None:
        self.path = str(path)
        self._lock_fd: int | None = None
        # Decoded records kept between the passes of a long-lived process (see ``cached``); _generation counts
        # this connection's writes to the messages table.
        self._generation = 0
        self._cache: dict[str, tuple[tuple[int, int], Any]] = {}
        # (account, thread_id) -> the intro state and due actions last written by this process (see sync).
        self.intro_memo: dict[tuple[str, str], Any] = {}
        # account -> the last analysis and its inputs (see sync.analyse_account).
        self.analysis_memo: dict[str, Any] = {}
        # Stored JSON -> what it decodes to, for the records and classifications of the last read: a pass
        # re-reads every candidate but decodes only the ones that are new or changed.
        self._decoded: dict[str, Any] = {}
        self._decoded_labels: dict[str, Any] = {}
        memory = self.path == ":memory:"
        if not memory:
            parent = Path(self.path).parent
            parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if lock:
                self._acquire_lock()
        old_umask = os.umask(0o077)  # the db, -wal and -shm files are created 0600
        try:
            if not memory and not os.path.exists(self.path):
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            if not memory:
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StateError(f"{self.path}: cannot open the state database: {exc}") from exc
        finally:
            os.umask(old_umask)

    def _acquire_lock(self) -> None:
        lock_path = self.path + ".lock"
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateError(
                f"{self.path} is in use by another introd process (lock {lock_path}); "
                "stop it first or give this one another [state] path"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: state schema {version} is newer than this introd understands ({SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            scripts = ([_SCHEMA] if version == 0 else []) + list(_MIGRATIONS[max(version, 1) - 1:])
            for script in scripts:
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
            if 0 < version < 3:
                self._refs_from_records()
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _refs_from_records(self) -> None:
        """Migration to v3: rows not yet evaluated get their references from the old JSON record and are
        passed to selection (their bodies are fetched once, as before)."""
        rows = self.db.execute("SELECT rowid, record FROM messages WHERE candidate IS NULL").fetchall()
        for rowid, record in rows:
            data = json.loads(record)
            refs = " ".join(list(data.get("in_reply_to", [])) + list(data.get("references", [])))
            self.db.execute("UPDATE messages SET refs=?, passed=1 WHERE rowid=?", (refs, rowid))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            self._changed()  # anything cached inside the transaction may hold rows that are gone now
            raise
        self.db.execute("COMMIT")

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, reused until a candidate row changes (a write through this store that marks, wakes,
        classifies or replaces one, or any commit by another connection: SQLite's data_version). Callers must
        not mutate the value.

        The daemon's passes reload every candidate and classification; decoding their JSON was most of a
        no-change pass on a large mailbox.
        """
        version = (self._generation, int(self.db.execute("PRAGMA data_version").fetchone()[0]))
        hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]  # type: ignore[no-any-return]
        value = compute()
        self._cache[key] = (version, value)
        return value

    def _changed(self) -> None:
        self._generation += 1
        self._cache.clear()

    def close(self) -> None:
        """Close the database and release the instance lock."""
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- sync positions -------------------------------------------------------------------
    def folder_position(self, account: str, folder: str) -> FolderPosition | None:
        """The stored sync position of one folder, or None before the first sync."""
        row = self.db.execute(
            "SELECT uidvalidity, last_uid, uidnext, highestmodseq FROM folders WHERE account=? AND folder=?",
            (account, folder),
        ).fetchone()
        return FolderPosition(*row) if row else None

    def set_folder_position(self, account: str, folder: str, pos: FolderPosition) -> None:
        """Store the sync position reached."""
        self.db.execute(
            "INSERT INTO folders VALUES (?,?,?,?,?,?,?) ON CONFLICT(account, folder) DO UPDATE SET "
            "uidvalidity=excluded.uidvalidity, last_uid=excluded.last_uid, uidnext=excluded.uidnext, "
            "highestmodseq=excluded.highestmodseq, synced_at=excluded.synced_at",
            (account, folder, pos.uidvalidity, pos.last_uid, pos.uidnext, pos.highestmodseq, _now()),
        )

    def reset_folder(self, account: str, folder: str) -> None:
        """Forget a folder's index (UIDVALIDITY changed: its UIDs mean nothing now)."""
        self._changed()
        with self.transaction():
            self.db.execute("DELETE FROM messages WHERE account=? AND folder=?", (account, folder))
            self.db.execute("DELETE FROM skipped WHERE account=? AND folder=?", (account, folder))
            self.db.execute("DELETE FROM folders WHERE account=? AND folder=?", (account, folder))

    # -- header index ---------------------------------------------------------------------
    def add_messages(self, account: str, entries: Iterable[IndexEntry]) -> int:
        """Insert header-index rows (existing UIDs are replaced); returns how many."""
        rows = []
        for e in entries:
            m = e.message
            rows.append((account, m.folder, m.uid, m.message_id, m.date.astimezone(timezone.utc).isoformat(),
                         " ".join(m.in_reply_to + m.references), int(e.passed),
                         e.internaldate.isoformat() if e.internaldate else None, " ".join(m.flags),
                         m.gm_thread_id))
        columns = ("INTO messages (account, folder, uid, message_id, date, refs, passed, internaldate, flags, "
                   "gm_thread_id) VALUES (?,?,?,?,?,?,?,?,?,?)")
        try:
            # New rows are not candidates yet (candidate NULL): what ``cached`` holds stays valid.
            self.db.executemany("INSERT " + columns, rows)
        except sqlite3.IntegrityError:  # a UID indexed before: its old row (maybe a candidate) is replaced
            self._changed()
            self.db.executemany("INSERT OR REPLACE " + columns, rows)
        return len(rows)

    def add_skipped(self, account: str, skipped: Skipped) -> None:
        """Record a message that could not be parsed."""
        self.db.execute(
            "INSERT OR REPLACE INTO skipped VALUES (?,?,?,?,?)",
            (account, skipped.folder, skipped.uid or 0, skipped.reason, _now()),
        )

    def skipped_count(self, account: str) -> int:
        """How many messages were skipped as malformed."""
        return int(self.db.execute("SELECT count(*) FROM skipped WHERE account=?", (account,)).fetchone()[0])

    def message_count(self, account: str, folder: str | None = None) -> int:
        """Messages in the header index."""
        if folder is None:
            row = self.db.execute("SELECT count(*) FROM messages WHERE account=?", (account,)).fetchone()
        else:
            row = self.db.execute(
                "SELECT count(*) FROM messages WHERE account=? AND folder=?", (account, folder)
            ).fetchone()
        return int(row[0])

    _RECORD = "SELECT record, folder, uid, internaldate, flags, gm_thread_id, message_id, date FROM messages "

    def _message(self, row: sqlite3.Row | tuple[Any, ...], memo: dict[str, Any] | None = None) -> Message:
        """The full record of a classified candidate, else a stub of the index columns (where the message
        sits, its id and date): the header and body are read from the server when needed.

        ``memo`` (stored JSON -> Message) is consulted before decoding and receives what was decoded."""
        record, folder, uid, internaldate, flags, thread, message_id, date = tuple(row)
        if record:
            if memo is None:
                return message_from_json(record)
            msg = self._decoded.get(record) or message_from_json(record)
            memo[record] = msg
            return msg
        when = datetime.fromisoformat(internaldate or date)
        return Message(message_id=message_id, subject="", date=when, sender=None, folder=folder, uid=uid,
                       flags=tuple(flags.split()), gm_thread_id=thread, date_source="index")

    def messages(self, account: str, *, candidates_only: bool = False) -> list[Message]:
        """Records of an account's active candidates (``candidates_only``) or of every indexed message
        (those not classified as stubs), oldest first."""
        where = "AND candidate > 0 AND candidate=1 " if candidates_only else ""
        sql = self._RECORD + f"WHERE account=? {where}ORDER BY date"
        memo: dict[str, Any] = {}
        out = [self._message(r, memo) for r in self.db.execute(sql, (account,))]
        if candidates_only:
            self._decoded = memo  # only what the latest read holds: the memo never outgrows the candidates
        return out

    def messages_by_id(self, account: str, message_id: str) -> list[Message]:
        """Every indexed copy of one Message-ID (a message can sit in several folders)."""
        rows = self.db.execute(self._RECORD + "WHERE account=? AND message_id=?", (account, message_id))
        return [self._message(r) for r in rows]

    def candidate_ids(self, account: str, *, active_only: bool = False) -> set[str]:
        """Message-IDs already marked as intro candidates (active, or also dormant)."""
        low = 1 if active_only else 2
        rows = self.db.execute(
            "SELECT message_id FROM messages WHERE account=? AND candidate > 0 AND candidate <= ?", (account, low))
        return {r[0] for r in rows}

    _INDEX = "SELECT folder, uid, message_id, date, refs, passed FROM messages "

    @staticmethod
    def _index_row(row: tuple[Any, ...]) -> IndexRow:
        folder, uid, message_id, date, refs, passed = row
        return IndexRow(folder, uid, message_id, date, tuple(refs.split()) if refs else (), bool(passed))

    def unevaluated(self, account: str, *, selectable_only: bool = False) -> list[IndexRow]:
        """Index rows not yet looked at by candidate selection (new since the last pass), in no set order.

        ``selectable_only`` leaves out the rows selection could never choose: the prefilter did not pass them
        and they reference nothing (most of a mailbox's first pass)."""
        where = " AND (passed=1 OR refs != '')" if selectable_only else ""
        cur = self.db.execute(self._INDEX + f"WHERE account=? AND candidate IS NULL{where}", (account,))
        cur.row_factory = None  # plain tuples: 100,000 rows on a first pass
        return [self._index_row(r) for r in cur]

    def dormant(self, account: str) -> list[IndexRow]:
        """Index rows of dormant candidates (threads older than the history window when first seen)."""
        cur = self.db.execute(self._INDEX + "WHERE account=? AND candidate > 0 AND candidate=2", (account,))
        cur.row_factory = None
        return [self._index_row(r) for r in cur]

    def any_dormant(self, account: str, message_ids: Iterable[str]) -> bool:
        """True when any of ``message_ids`` belongs to a dormant candidate (an index lookup per id)."""
        sql = "SELECT 1 FROM messages WHERE account=? AND message_id=? AND candidate > 0 AND candidate=2 LIMIT 1"
        return any(self.db.execute(sql, (account, mid)).fetchone() for mid in set(message_ids))

    def mark_evaluated(self, account: str, chosen: Iterable[tuple[str, int]],
                       dormant: Iterable[tuple[str, int]] = ()) -> None:
        """Flag the chosen messages (folder, uid) as candidates, ``dormant`` ones as dormant candidates, and
        every other unevaluated one as not."""
        keys = [(account, folder, uid) for folder, uid in chosen]
        sleeping = [(account, folder, uid) for folder, uid in dormant]
        self.db.executemany("UPDATE messages SET candidate=1 WHERE account=? AND folder=? AND uid=?", keys)
        self.db.executemany("UPDATE messages SET candidate=2 WHERE account=? AND folder=? AND uid=?", sleeping)
        self.db.execute("UPDATE messages SET candidate=0 WHERE account=? AND candidate IS NULL", (account,))
        if keys or sleeping:  # rows marked "not a candidate" change nothing ``cached`` holds
            self._changed()

    def wake(self, account: str, keys: Iterable[tuple[str, int]]) -> None:
        """Make dormant candidates (folder, uid) active again: someone wrote in their thread."""
        rows = [(account, folder, uid) for folder, uid in keys]
        self.db.executemany(
            "UPDATE messages SET candidate=1 WHERE account=? AND folder=? AND uid=? AND candidate=2", rows)
        if rows:
            self._changed()

    def unclassified_candidates(self, account: str) -> list[Message]:
        """Active candidates whose bodies have not been fetched and classified yet (stubs: where they sit)."""
        rows = self.db.execute(
            self._RECORD + "WHERE account=? AND candidate > 0 AND candidate=1 AND label IS NULL ORDER BY folder, uid",
            (account,))
        return [self._message(r) for r in rows]

    def save_classification(self, account: str, msg: Message, label: str, classification: str) -> None:
        """Store the full record of a candidate and its classification (JSON)."""
        self._changed()
        self.db.execute(
            "UPDATE messages SET record=?, label=?, classification=? WHERE account=? AND folder=? AND uid=?",
            (message_to_json(msg), label, classification, account, msg.folder, msg.uid),
        )

    def classifications(self, account: str) -> dict[str, str]:
        """message_id -> classification JSON for every classified candidate."""
        rows = self.db.execute(
            "SELECT message_id, classification FROM messages "
            "WHERE account=? AND candidate > 0 AND classification IS NOT NULL",
            (account,),
        )
        return {r[0]: r[1] for r in rows}

    def decoded_classifications(self, account: str, decode: Callable[[str], T]) -> dict[str, T]:
        """message_id -> ``decode(classification JSON)``, decoding only what changed since the last call."""
        memo: dict[str, Any] = {}
        out: dict[str, T] = {}
        for message_id, text in self.classifications(account).items():
            value = self._decoded_labels.get(text)
            if value is None:
                value = decode(text)
            memo[text] = out[message_id] = value
        self._decoded_labels = memo
        return out

    # -- intros -----------------------------------------------------------------------------
    def save_intro(self, account: str, thread_id: str, stage: str, role: str, subject: str,
                   state: str, due: str) -> None:
        """Upsert one intro's state and due actions (JSON)."""
        self.db.execute(
            "INSERT INTO intros VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(account, thread_id) DO UPDATE SET "
            "stage=excluded.stage, role=excluded.role, subject=excluded.subject, updated=excluded.updated, "
            "state=excluded.state, due=excluded.due",
            (account, thread_id, stage, role, subject, _now(), state, due),
        )

    def intros(self, account: str) -> list[sqlite3.Row]:
        """Every known intro of an account."""
        return list(self.db.execute("SELECT * FROM intros WHERE account=? ORDER BY updated", (account,)))

    def intro_stage_counts(self, account: str) -> dict[str, int]:
        """Intros by stage, for `status`."""
        rows = self.db.execute(
            "SELECT stage, count(*) FROM intros WHERE account=? GROUP BY stage ORDER BY stage", (account,)
        )
        return {r[0]: int(r[1]) for r in rows}

    # -- ledger -----------------------------------------------------------------------------
    def ledger_get(self, account: str, key: str) -> LedgerEntry | None:
        """The ledger entry for an action key, if the action was ever planned or taken."""
        row = self.db.execute(
            "SELECT key, kind, thread_id, status, message_id, folder, uid, content_hash, raw FROM ledger "
            "WHERE account=? AND key=?",
            (account, key),
        ).fetchone()
        return LedgerEntry(*row) if row else None

    def ledger_put(self, account: str, entry: LedgerEntry) -> None:
        """Record (or update) an action; written before the mailbox is touched."""
        now = _now()
        self.db.execute(
            "INSERT INTO ledger (account, key, kind, thread_id, status, message_id, folder, uid, content_hash, "
            "created, updated, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(account, key) DO UPDATE SET "
            "status=excluded.status, message_id=excluded.message_id, folder=excluded.folder, "
            "uid=excluded.uid, content_hash=excluded.content_hash, updated=excluded.updated, raw=excluded.raw",
            (account, entry.key, entry.kind, entry.thread_id, entry.status, entry.message_id, entry.folder,
             entry.uid, entry.content_hash, now, now, entry.raw),
        )

    def ledger(self, account: str) -> list[LedgerEntry]:
        """Every ledger entry of an account, oldest first."""
        rows = self.db.execute(
            "SELECT key, kind, thread_id, status, message_id, folder, uid, content_hash, raw FROM ledger "
            "WHERE account=? ORDER BY created, key",
            (account,),
        )
        return [LedgerEntry(*r) for r in rows]

    # -- user controls ----------------------------------------------------------------------
    def add_control(self, account: str, folder: str, uid: int, thread_id: str, kind: str, message_id: str,
                    seen: datetime) -> None:
        """Remember one reminder the user moved into a control folder (done, muted, snoozed)."""
        self.db.execute(
            "INSERT OR IGNORE INTO controls VALUES (?,?,?,?,?,?,?)",
            (account, folder, uid, thread_id, kind, message_id, seen.isoformat()),
        )

    def controls(self, account: str, folder: str | None = None) -> list[sqlite3.Row]:
        """Control rows of an account (optionally of one folder), oldest first."""
        if folder is None:
            return list(self.db.execute("SELECT * FROM controls WHERE account=? ORDER BY seen", (account,)))
        return list(self.db.execute(
            "SELECT * FROM controls WHERE account=? AND folder=? ORDER BY seen", (account, folder)))

    def remove_controls(self, account: str, folder: str, uids: Iterable[int]) -> None:
        """Forget controls whose message left the folder (the user moved it back or deleted it)."""
        self.db.executemany("DELETE FROM controls WHERE account=? AND folder=? AND uid=?",
                            [(account, folder, uid) for uid in uids])

    # -- pass marks -------------------------------------------------------------------------
    def pass_mark(self, account: str, key: str) -> str | None:
        """A value the last full pass left for the next one (see sync.quiet_pass), or None."""
        row = self.db.execute("SELECT value FROM pass_marks WHERE account=? AND key=?", (account, key)).fetchone()
        return str(row[0]) if row else None

    def set_pass_mark(self, account: str, key: str, value: str | None) -> None:
        """Store (or with None, forget) a pass mark."""
        if value is None:
            self.db.execute("DELETE FROM pass_marks WHERE account=? AND key=?", (account, key))
        else:
            self.db.execute("INSERT OR REPLACE INTO pass_marks VALUES (?,?,?)", (account, key, value))

    def ledger_in_flight(self, account: str) -> bool:
        """True when an action was recorded but its APPEND not yet confirmed (status planned)."""
        sql = "SELECT 1 FROM ledger WHERE account=? AND status='planned' LIMIT 1"
        return self.db.execute(sql, (account,)).fetchone() is not None

    # -- account status ---------------------------------------------------------------------
    def set_account_status(self, account: str, *, connected: bool, synced: bool = False,
                           error: str | None = None) -> None:
        """Record whether the last attempt connected, when a sync last succeeded, and the last error."""
        now = _now()
        self.db.execute(
            "INSERT INTO account_status VALUES (?,?,?,?,?) ON CONFLICT(account) DO UPDATE SET "
            "connected=excluded.connected, last_sync=COALESCE(excluded.last_sync, account_status.last_sync), "
            "last_error=excluded.last_error, updated=excluded.updated",
            (account, int(connected), now if synced else None, error, now),
        )

    def account_status(self, account: str) -> dict[str, Any]:
        """The stored status row of an account (empty before the first run)."""
        row = self.db.execute("SELECT * FROM account_status WHERE account=?", (account,)).fetchone()
        return dict(row) if row else {}
