"""Pure glue of the brain: which messages are candidates, and what the intros look like now."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from introd.classify import Classification, prefilter
from introd.intros import IntroAnalysis, Timing, UserControl, UserIdentity, analyse
from introd.message import Message
from introd.threads import thread_messages

# Senders the user never answered across this many messages are never owed a reply.
UNANSWERED_LIMIT = 3


def select_candidates(
    new: Iterable[Message], known_ids: set[str], user_addresses: frozenset[str]
) -> list[Message]:
    """New messages worth a body fetch: the header prefilter passes, or they reply into a candidate thread."""
    ids = set(known_ids)
    chosen: list[Message] = []
    for msg in sorted(new, key=lambda m: m.date):
        linked = any(ref in ids for ref in msg.in_reply_to + msg.references)
        if linked or prefilter(msg, user_addresses):
            ids.add(msg.message_id)
            chosen.append(msg)
    return chosen


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
        dataclasses.replace(m, folder=roles.get(m.folder, m.folder)) if m.folder in roles else m
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
