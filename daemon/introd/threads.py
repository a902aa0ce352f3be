"""JWZ threading over Message-ID / References / In-Reply-To (https://www.jwz.org/doc/threading.html).

One thread spans INBOX, Sent and Drafts; Gmail's X-GM-THRID is trusted when present.

Differences from the letter of JWZ, and why:

* A Message-ID seen twice (the same message in Sent and All Mail) is one message, not two.
* Links are made in two passes: first every References chain ("don't change existing links"), then each
  message's own parent, which wins ("set the parent of this message to the last reference"); this makes the
  result independent of the order messages arrive in.  Loops left by lying headers are then cut in one O(n)
  pass instead of an ancestor walk per link, which is quadratic on long chains.
* Gmail thread ids only *merge* JWZ trees, never split them.
* Subject joining is narrow: only a reply ("Re:", "AW:" ...) without any In-Reply-To/References joins an
  earlier thread with the same normalised subject, when they share the replier and one more participant and
  the reply falls within 30 days.  Two fresh messages with the same subject are never joined.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from introd.message import Message

SUBJECT_WINDOW_SECONDS = 30 * 86400
_SUBJECT_SLACK_SECONDS = 86400  # clocks disagree; a reply may carry a date a little before its parent's
_SUBJECT_CANDIDATES = 64  # nearest same-subject threads examined per orphan reply (keeps it linear)

# Reply and forward prefixes of the common clients and languages, and leading tags like "[ext]".
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|r|sv|antw|rif|vs|ref|enc|rv)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|\[[^\]]{0,40}\]"
    r"|\((?:ext|external)\))\s*",
    re.IGNORECASE,
)
_REPLY = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)*(?:re|aw|sv|r|antw|rif|ref|rv)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]", re.IGNORECASE
)


@dataclass(frozen=True)
class Thread:
    """One conversation: a stable id and its messages' Message-IDs, oldest first."""

    thread_id: str  # Message-ID of the root (or of the oldest message when the root is missing)
    message_ids: tuple[str, ...]


def normalise_subject(subject: str) -> str:
    """Subject without reply/forward prefixes and leading tags, whitespace collapsed, case-folded."""
    while True:
        match = _PREFIX.match(subject)
        if not match or not match.end():
            break
        subject = subject[match.end() :]
    return " ".join(subject.split()).casefold()


def is_reply_subject(subject: str) -> bool:
    """True when the subject starts with a reply prefix ("Re:", "AW:", "SV:" ...)."""
    return _REPLY.match(subject) is not None


def _references(msg: Message) -> list[str]:
    """The ancestry a message claims, oldest first: References, then In-Reply-To if it adds a parent."""
    own = msg.message_id
    refs: list[str] = []
    seen = {own}
    for ref in msg.references:
        if ref not in seen:
            seen.add(ref)
            refs.append(ref)
    for ref in msg.in_reply_to[:1]:
        if ref not in seen:
            refs.append(ref)
    return refs


def _link(messages: dict[str, Message]) -> dict[str, str | None]:
    """JWZ step 1: every id (message or placeholder) -> its parent id, loops cut."""
    parent: dict[str, str | None] = {}
    claims = {mid: _references(msg) for mid, msg in messages.items()}
    for refs in claims.values():  # 1B: reference chains, first link wins
        for ref in refs:
            parent.setdefault(ref, None)
        for above, below in itertools.pairwise(refs):
            if parent[below] is None:
                parent[below] = above
    for mid, refs in claims.items():  # 1C: a message's own claim about its parent wins
        parent[mid] = refs[-1] if refs else None
    # Cut loops: walk up from every id, colouring the current path; reaching the path again is a loop.
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in parent:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in state:
            state[node] = 1
            path.append(node)
            node = parent[node]
        if node is not None and state[node] == 1:
            parent[path[-1]] = None  # the last step closed the loop
        for item in path:
            state[item] = 2
    return parent


class _Groups:
    """Union-find over tree roots (Gmail thread ids and subject joins merge trees)."""

    def __init__(self) -> None:
        self.up: dict[str, str] = {}

    def find(self, item: str) -> str:
        root = item
        while (nxt := self.up.get(root, root)) != root:
            root = nxt
        while item != root:  # path compression
            nxt = self.up.get(item, item)
            self.up[item] = root
            item = nxt
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.up[rb] = ra


def _tree_roots(parent: dict[str, str | None]) -> dict[str, str]:
    """Every id -> the root of its tree, memoised so the whole pass stays O(n)."""
    root_of: dict[str, str] = {}
    for start in parent:
        path: list[str] = []
        node = start
        while node not in root_of:
            up = parent[node]
            if up is None:
                root_of[node] = node
                break
            path.append(node)
            node = up
        top = root_of[node]
        for item in path:
            root_of[item] = top
    return root_of


def _participants(msg: Message) -> set[str]:
    return {a.email for a in msg.participants}


def _join_by_subject(
    messages: dict[str, Message], groups: _Groups, members: dict[str, list[str]], when: dict[str, float]
) -> None:
    """Join orphan replies (reply subject, no references) to an earlier thread with the same subject."""
    orphans: list[tuple[str, str]] = []  # (group, normalised subject)
    for group, ids in members.items():
        first = messages[ids[0]]
        if not first.in_reply_to and not first.references and is_reply_subject(first.subject):
            subject = normalise_subject(first.subject)
            if subject:
                orphans.append((group, subject))
    if not orphans:
        return
    wanted = {subject for _, subject in orphans}
    by_subject: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for group, ids in members.items():
        subject = normalise_subject(messages[ids[0]].subject)
        if subject in wanted:
            by_subject[subject].append((when[ids[0]], group))
    for entries in by_subject.values():
        entries.sort()
    orphans.sort(key=lambda item: when[members[item[0]][0]])
    for group, subject in orphans:
        first = messages[members[group][0]]
        start = when[first.message_id]
        people = _participants(first)
        sender = first.sender.email if first.sender else None
        entries = by_subject[subject]
        pos = bisect.bisect_right(entries, (start + _SUBJECT_SLACK_SECONDS, "\U0010ffff"))
        for _, other in reversed(entries[max(0, pos - _SUBJECT_CANDIDATES) : pos]):
            if groups.find(other) == groups.find(group):
                continue
            ids = members[other]
            if start - when[ids[-1]] > SUBJECT_WINDOW_SECONDS:
                continue
            theirs: set[str] = set()
            for mid in ids:
                theirs |= _participants(messages[mid])
            # The replier must have been in the conversation, and someone else too: the user's own
            # address alone is in every message and proves nothing.
            if sender in theirs and len(people & theirs) >= 2:
                groups.union(other, group)
                break


def thread_messages(messages: Sequence[Message]) -> list[Thread]:
    """Group messages into threads (JWZ), oldest thread first."""
    by_id: dict[str, Message] = {}
    order: dict[str, int] = {}
    for index, msg in enumerate(messages):
        if msg.message_id not in by_id:
            by_id[msg.message_id] = msg
            order[msg.message_id] = index
    when = {mid: msg.date.timestamp() for mid, msg in by_id.items()}

    def age(mid: str) -> tuple[float, int]:
        return when[mid], order[mid]

    parent = _link(by_id)
    root_of = _tree_roots(parent)
    groups = _Groups()
    first_by_gm: dict[str, str] = {}
    for mid, msg in by_id.items():
        if msg.gm_thread_id:
            groups.union(first_by_gm.setdefault(msg.gm_thread_id, root_of[mid]), root_of[mid])

    def collect() -> dict[str, list[str]]:
        members: dict[str, list[str]] = defaultdict(list)
        for mid in sorted(by_id, key=age):
            members[groups.find(root_of[mid])].append(mid)
        return members

    _join_by_subject(by_id, groups, collect(), when)
    threads: list[tuple[tuple[float, int], Thread]] = []
    for ids in collect().values():
        roots = [mid for mid in ids if parent[mid] is None]  # messages at the top of their JWZ tree
        thread_id = roots[0] if roots else ids[0]
        threads.append((age(ids[0]), Thread(thread_id=thread_id, message_ids=tuple(ids))))
    threads.sort(key=lambda item: item[0])
    return [thread for _, thread in threads]
