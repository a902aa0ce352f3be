"""What the IDLE watcher counts as a change, and which folders get a connection."""

from __future__ import annotations

from introd.idle import is_bye, is_change
from introd.service import watch_plan


def test_new_expunged_and_changed_messages_are_changes_but_still_here_is_not() -> None:
    """EXISTS, EXPUNGE, FETCH, RECENT and VANISHED wake a pass; ``* OK Still here`` does not."""
    assert is_change([(3, b"EXISTS")])
    assert is_change([(2, b"FETCH", (b"FLAGS", (b"\\Seen",)))])
    assert is_change([(b"VANISHED", b"1:3")])
    assert not is_change([(b"OK", b"Still here")])
    assert not is_change([])
    assert is_bye([(b"BYE", b"Server shutting down.")]) and not is_bye([(1, b"EXISTS")])


def test_inbox_sent_drafts_come_first_within_the_connection_budget() -> None:
    """One connection is the worker's; the rest watch INBOX, then Sent, then Drafts, then other folders."""
    roles = {"Projects": "Projects", "Drafts": "Drafts", "INBOX": "INBOX", "Sent": "Sent"}
    existing = {"INBOX", "Sent", "Drafts", "Projects"}
    assert watch_plan(roles, existing, 15) == ["INBOX", "Sent", "Drafts", "Projects"]
    assert watch_plan(roles, existing, 3) == ["INBOX", "Sent"]
    assert watch_plan(roles, existing, 1) == []
    assert watch_plan(roles, {"INBOX"}, 15) == ["INBOX"]
