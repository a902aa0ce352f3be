"""Pure glue of the brain: which messages are candidates, and what the intros look like now."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from introd.classify import Classification
from introd.index import IndexRow
from introd.intros import IntroAnalysis, Timing, UserControl, UserIdentity, analyse
from introd.message import Message
from introd.threads import thread_messages

# Senders the user never answered across this many messages are never owed a reply.
UNANSWERED_LIMIT = 3


def select_candidates(new: Iterable[IndexRow], known_ids: Iterable[str]) -> list[IndexRow]:
    """New messages worth a body fetch: the header prefilter passed them, or they reply (In-Reply-To or
    References) into a candidate thread, directly or through another chosen message. Oldest first."""
    rows = list(new)
    by_ref: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        for ref in row.refs:
            by_ref[ref].append(i)
    chosen = [row.passed for row in rows]
    pending = [row.message_id for row in rows if row.passed]
    pending.extend(known_ids)
    while pending:
        for i in by_ref.get(pending.pop(), ()):
            if not chosen[i]:
                chosen[i] = True
                pending.append(rows[i].message_id)
    return sorted((row for row, pick in zip(rows, chosen, strict=True) if pick), key=lambda r: r.date)


def dormant_keys(rows: Sequence[IndexRow], cutoff: str, active_ids: Iterable[str] = ()
                 ) -> set[tuple[str, int]]:
    """(folder, uid) of the rows whose thread has gone quiet: no message of it (rows joined by their
    references) dated at or after ``cutoff`` (ISO 8601 UTC) and none of its ids in ``active_ids``."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for row in rows:
        a = find(row.message_id)
        for ref in row.refs:
            b = find(ref)
            if a != b:
                parent[b] = a
    live: set[str] = {find(mid) for mid in active_ids if mid in parent}
    live.update(find(row.message_id) for row in rows if row.date >= cutoff)
    return {row.key for row in rows if find(row.message_id) not in live}


def unanswered_senders(messages: Sequence[Message], user_addresses: frozenset[str]) -> frozenset[str]:
    """Senders who wrote the user UNANSWERED_LIMIT+ times while the user never wrote to them."""
    received: Counter[str] = Counter()
    written_to: set[str] = set()
    for msg in messages:
        if msg.sender is None:
            continue
        if msg.sender.email in user_addresses:
            written_to.update(a.email for a in msg.to + msg.cc)
        else:
            received[msg.sender.email] += 1
    return frozenset(s for s, n in received.items() if n >= UNANSWERED_LIMIT and s not in written_to)


def with_folder_roles(messages: Iterable[Message], roles: Mapping[str, str]) -> list[Message]:
    """Copies of ``messages`` whose folder is its role (INBOX, Sent, Drafts), as the intro model expects."""
    return [
        dataclasses.replace(m, folder=roles[m.folder]) if roles.get(m.folder, m.folder) != m.folder else m
        for m in messages
    ]


def analyse_mailbox(
    messages: Sequence[Message],
    labels: Mapping[str, Classification],
    user: UserIdentity,
    now: datetime,
    timing: Timing,
    control: UserControl | None = None,
) -> list[IntroAnalysis]:
    """Thread the candidates and compute every intro's state and due actions at ``now``.

    introd's own drafts still sitting in Drafts are left out: only what the user sends counts.
    """
    unique: dict[str, Message] = {}
    for msg in messages:
        if msg.folder == "Drafts" and msg.header("X-Introd-Action"):
            continue  # introd's own unsent drafts are not the user's words
        # a message may sit in two folders; keep the Sent/Drafts copy for the user's own
        if msg.message_id not in unique or msg.folder in ("Sent", "Drafts"):
            unique[msg.message_id] = msg
    msgs = list(unique.values())
    threads = thread_messages(msgs)
    return analyse(
        msgs,
        labels,
        threads,
        user,
        now,
        timing,
        control or UserControl(),
        unanswered_senders(msgs, user.addresses),
    )
