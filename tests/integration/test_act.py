"""Drafts and reminders written by `run --once` into a real Dovecot, checked over a second IMAP connection."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import imapclient
import pytest
from tests.corpus_loader import Scenario, load_scenarios
from tests.servers.dovecot import DovecotServer, MailUser, imap_client

from introd.config import AccountConfig, Config, DraftsConfig, StateConfig
from introd.mailstore.base import MailStore
from introd.mailstore.imap import ImapStore
from introd.runner import AccountResult, run_once
from introd.store import StateStore

SCENARIOS = {s.name: s for s in load_scenarios()}
REMINDERS = "Intros/Reminders"
REMINDER_ONLY = {"stalled", "move_on"}
# Seed situations whose drafts are checked here (the corpus tests check their state and due actions).
SEEDS = [
    "seed000-kathy-mary-steven-as-steven",
    "seed001-surprised-party",
    "seed002-requester-plus-optin-make-intro",
    "seed003-blanket-request-unanswered",
    "seed003-tim-referral-request-unanswered",
    "seed004-salesy-pitch-unanswered-dead",
]


@dataclass
class Box:
    """One scenario loaded into a fresh Dovecot user, and how to run introd on it."""

    dovecot: DovecotServer
    user: MailUser
    scenario: Scenario
    state: StateStore
    config: Config

    def run(self, *, days_later: float = 0, dry_run: bool = False) -> AccountResult:
        now = self.scenario.now + timedelta(days=days_later)
        password = self.user.password

        def connect(account: AccountConfig) -> MailStore:
            return ImapStore.connect(account, password)

        result = run_once(self.config, self.state, clock=lambda: now, connect=connect, dry_run=dry_run)[0]
        assert result.error is None, result.error
        return result

    def client(self) -> imapclient.IMAPClient:
        return imap_client(self.dovecot, self.user)


def load_scenario(dovecot: DovecotServer, user: MailUser, scenario: Scenario) -> None:
    """APPEND every message of the scenario to its folder, with its Date as INTERNALDATE."""
    client = imap_client(dovecot, user)
    try:
        for sample in scenario.samples:
            raw = sample.path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            msg = email.message_from_bytes(raw, policy=policy.default)
            when = parsedate_to_datetime(str(msg["Date"]))
            flags = ("\\Seen", "\\Draft") if sample.folder == "Drafts" else ("\\Seen",)
            client.append(sample.folder, raw, flags=flags, msg_time=when)
    finally:
        client.logout()


@pytest.fixture
def box(request: pytest.FixtureRequest, dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path) -> Iterator[Box]:
    """A fresh mailbox holding the scenario named by the test's parameter."""
    scenario = SCENARIOS[getattr(request, "param", SEEDS[0])]
    load_scenario(dovecot, mail_user, scenario)
    account = AccountConfig(name="work", addresses=(scenario.user,), display_name=scenario.user_name,
                            host=dovecot.host, port=dovecot.port, security="plain", username=mail_user.username,
                            timeout=30)
    config = Config(path=tmp_path / "config.toml", state=StateConfig(tmp_path / "state.db"), accounts=(account,),
                    timing=scenario.timing)
    state = StateStore(config.state.path)
    yield Box(dovecot, mail_user, scenario, state, config)
    state.close()


def deliver(box: Box, raw: bytes, when: datetime) -> None:
    """APPEND one message to INBOX, as a delivery at ``when`` would leave it (unseen)."""
    client = box.client()
    try:
        client.append("INBOX", raw, flags=(), msg_time=when)
    finally:
        client.logout()


def unasked_intro(box: Box, message_id: str, when: datetime) -> bytes:
    """Ana Costa introducing the user to Tom Weber without asking first."""
    return (f"From: Ana Costa <ana@costa.example>\r\nTo: {box.scenario.user}, Tom Weber <tom@weber.example>\r\n"
            f"Subject: Intro: Priya <> Tom\r\nDate: {email.utils.format_datetime(when)}\r\n"
            f"Message-ID: <{message_id}>\r\n\r\nPriya, meet Tom! Tom, meet Priya. Ana\r\n").encode()


def folder_messages(client: imapclient.IMAPClient, folder: str) -> dict[int, tuple[bytes, tuple[bytes, ...]]]:
    """UID -> (RFC822 bytes, flags) of every message in ``folder`` (read-only; empty when it is missing)."""
    if not client.folder_exists(folder):
        return {}
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
    return {uid: (d[b"BODY[]"], tuple(d[b"FLAGS"])) for uid, d in data.items()}


def mailbox_snapshot(client: imapclient.IMAPClient) -> dict[tuple[str, int], tuple[bytes, tuple[bytes, ...]]]:
    """Every message of every folder, keyed by (folder, UID)."""
    snap = {}
    for _flags, _delim, name in client.list_folders():
        for uid, value in folder_messages(client, name).items():
            snap[(name, uid)] = value
    return snap


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def own(box: Box, folder: str) -> dict[int, EmailMessage]:
    """introd's own messages (X-Introd-Action) in ``folder``."""
    client = box.client()
    try:
        msgs = {uid: parsed(raw) for uid, (raw, _f) in folder_messages(client, folder).items()}
    finally:
        client.logout()
    return {uid: m for uid, m in msgs.items() if m["X-Introd-Action"]}


def expected_draft_kinds(scenario: Scenario) -> set[str]:
    kinds = set(scenario.due) - REMINDER_ONLY
    if scenario.role == "introducer":
        kinds.discard("no_optin")  # the introducer's own missing opt-in is a reminder, not a draft
    return kinds


@pytest.mark.parametrize("box", SEEDS, indirect=True)
def test_seed_situations_get_threaded_drafts_and_one_reminder(box: Box) -> None:
    """Each seed situation gets exactly its due drafts (flags, From, threading, one Re:) and one reminder."""
    box.run()
    drafts = own(box, "Drafts")
    kinds = {str(m["X-Introd-Action"]).strip().split(";")[0] for m in drafts.values()}
    assert kinds == expected_draft_kinds(box.scenario), box.scenario.note
    ids_in_scenario = {parsed(s.path.read_bytes())["Message-ID"].strip() for s in box.scenario.samples}
    client = box.client()
    client.select_folder("Drafts", readonly=True)
    flags = client.get_flags(list(drafts))
    client.logout()
    for uid, msg in drafts.items():
        assert {b"\\Draft", b"\\Seen"} <= set(flags[uid])
        assert box.scenario.user in str(msg["From"]).lower()
        assert str(msg["Message-ID"]).strip().endswith("@" + box.scenario.user.split("@")[1] + ">")
        kind = str(msg["X-Introd-Action"]).strip().split(";")[0]
        recipients = str(msg["To"] or "").lower()
        assert recipients and box.scenario.user not in recipients
        if kind not in ("make_intro", "ask_first"):
            assert str(msg["In-Reply-To"]).strip() in ids_in_scenario
            assert str(msg["References"]).split()[-1] == str(msg["In-Reply-To"]).strip()
            assert str(msg["Subject"]).startswith("Re: ") and not str(msg["Subject"]).lower().startswith("re: re:")
    reminders = own(box, REMINDERS)
    assert len(reminders) == (1 if box.scenario.due else 0)
    for msg in reminders.values():
        assert str(msg["X-Introd-Action"]).strip().startswith("reminder; thread=")
        assert str(msg["In-Reply-To"]).strip() in ids_in_scenario


def test_no_draft_for_hard_negatives(dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path) -> None:
    """A mailbox of hard negatives (newsletters, invites, auto-replies, work mail) gets no draft and no reminder."""
    from tests.corpus_loader import load_negatives

    client = imap_client(dovecot, mail_user)
    for sample in load_negatives():
        raw = sample.path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        client.append("INBOX", raw, flags=("\\Seen",))
    client.logout()
    user = "alice@example.test"
    account = AccountConfig(name="work", addresses=(user,), host=dovecot.host, port=dovecot.port,
                            security="plain", username=mail_user.username, timeout=30)
    config = Config(path=tmp_path / "c.toml", state=StateConfig(tmp_path / "s.db"), accounts=(account,))
    state = StateStore(config.state.path)
    result = run_once(config, state, clock=lambda: datetime.now().astimezone(),
                      connect=lambda a: ImapStore.connect(a, mail_user.password))[0]
    state.close()
    assert result.error is None and result.report is not None
    assert result.report.act.drafts == [] and result.report.act.reminders == 0


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_second_run_adds_nothing_and_leaves_every_message_byte_identical(box: Box) -> None:
    """Two more passes add no draft or reminder, and every pre-existing message keeps its bytes and flags."""
    client = box.client()
    before = mailbox_snapshot(client)
    client.logout()
    box.run()
    client = box.client()
    after_first = mailbox_snapshot(client)
    client.logout()
    box.run()
    box.run(days_later=0.01)
    client = box.client()
    after = mailbox_snapshot(client)
    client.logout()
    for key, value in before.items():
        assert after[key] == value, f"{key} changed"
    assert after == after_first
    assert len(after) > len(before)


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_a_deleted_draft_is_never_recreated(box: Box) -> None:
    """A draft the user deleted counts as dismissed: later passes do not write it again."""
    box.run()
    drafts = own(box, "Drafts")
    assert len(drafts) == 1
    client = box.client()
    client.select_folder("Drafts")
    client.delete_messages(list(drafts))
    client.expunge()
    client.logout()
    result = box.run(days_later=1)
    assert result.report is not None and result.report.act.dismissed == 1
    assert own(box, "Drafts") == {}
    box.run(days_later=2)
    assert own(box, "Drafts") == {}


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_a_sent_draft_moves_the_intro_on_and_replaces_its_reminder(box: Box) -> None:
    """Sending the draft (copy in Sent, gone from Drafts) clears the due action and the reminder goes."""
    box.run()
    (uid, draft), = own(box, "Drafts").items()
    (old_reminder,) = own(box, REMINDERS).values()
    client = box.client()
    client.select_folder("Drafts")
    raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    client.append("Sent", raw, flags=("\\Seen",), msg_time=box.scenario.now + timedelta(hours=1))
    client.delete_messages([uid])
    client.expunge()
    client.logout()
    result = box.run(days_later=0.1)
    assert result.report is not None and result.report.act.sent == 1
    intro = result.report.intros
    assert all(d.kind.value != "no_optin" for a in intro for d in a.due)
    reminders = own(box, REMINDERS)
    assert old_reminder["Message-ID"] not in {m["Message-ID"] for m in reminders.values()}
    assert len(reminders) <= 1
    assert own(box, "Drafts") == {}
    assert draft["Message-ID"]


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_a_reminder_moved_to_done_closes_the_intro(box: Box) -> None:
    """Moving the reminder into Intros/Done marks the intro done: nothing due, no new reminder, draft withdrawn."""
    box.run()
    (uid,) = own(box, REMINDERS)
    client = box.client()
    client.create_folder("Intros/Done")
    client.select_folder(REMINDERS)
    client.move([uid], "Intros/Done")
    client.logout()
    result = box.run(days_later=0.1)
    assert result.report is not None
    assert all(not a.due for a in result.report.intros)
    assert own(box, REMINDERS) == {}
    assert own(box, "Drafts") == {}  # the unedited, now pointless draft is withdrawn
    assert len(own(box, "Intros/Done")) == 1  # the user's move is respected, never undone


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_dry_run_writes_nothing(box: Box) -> None:
    """--dry-run describes the draft and reminder it would write and leaves the mailbox as it was."""
    client = box.client()
    before = mailbox_snapshot(client)
    client.logout()
    result = box.run(dry_run=True)
    assert result.report is not None
    assert any("would write a no_optin draft" in line for line in result.report.act.planned)
    assert any("would file a reminder" in line for line in result.report.act.planned)
    client = box.client()
    assert mailbox_snapshot(client) == before
    client.logout()


@pytest.mark.parametrize("box", ["seed001-introducer-did-not-ask-silence"], indirect=True)
def test_max_per_pass_holds_drafts_back(box: Box) -> None:
    """With [drafts] max_per_pass = 0 no draft is written, and the count held back is reported."""
    box.config = Config(path=box.config.path, state=box.config.state, accounts=box.config.accounts,
                        timing=box.config.timing, drafts=DraftsConfig(max_per_pass=0))
    result = box.run()
    assert result.report is not None and result.report.act.deferred >= 1
    assert own(box, "Drafts") == {}


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_a_draft_opens_cleanly_in_neomutt(box: Box, tmp_path: Path) -> None:
    """neomutt, in a headless tmux terminal, opens introd's draft and shows its headers and text."""
    if shutil.which("neomutt") is None or shutil.which("tmux") is None:
        message = "neomutt and tmux are installed by `make test`"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    box.run()
    (draft,) = own(box, "Drafts").values()
    mbox = tmp_path / "drafts.mbox"
    mbox.write_bytes(b"From introd Mon Jan  1 00:00:00 2026\n" + draft.as_bytes().replace(b"\r\n", b"\n") + b"\n")
    session = f"introd-test-{time.monotonic_ns()}"
    muttrc = tmp_path / "muttrc"
    # folder/spoolfile/record/postponed keep neomutt from asking to create ~/Mail.
    muttrc.write_text(f"set mbox_type=mbox\nset folder={tmp_path}\nset spoolfile={mbox}\nset record=\"\"\n"
                      "set postponed=\"\"\nset pager_stop=yes\n")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50",
                    f"neomutt -n -F {muttrc} -R -f {mbox}"], check=True, env={"TERM": "xterm", "HOME": str(tmp_path),
                                                                         "PATH": "/usr/bin:/bin"})
    try:
        index = _wait_for(session, "Msgs:1")  # the index lists the one draft, with its subject
        assert "Re:" in index
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        screen = _wait_for(session, "Subject:")
        subject_line = next(line for line in screen.splitlines() if "Subject:" in line)
        assert "Re:" in subject_line
        body_words = [w for w in (draft.get_body(("plain",)) or draft).get_content().split() if len(w) > 4][:3]
        assert any(w in screen for w in body_words), screen
        assert "error" not in screen.lower()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def _wait_for(session: str, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True,
                                check=False).stdout
        if needle in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared on screen:\n{screen}")


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_flagging_the_reminder_means_the_user_handles_it(box: Box) -> None:
    """A flagged reminder stops reply drafts for that intro for good; the unedited draft is withdrawn."""
    box.run()
    (uid,) = own(box, REMINDERS)
    client = box.client()
    client.select_folder(REMINDERS)
    client.add_flags([uid], [b"\\Flagged"])
    client.logout()
    result = box.run(days_later=0.1)
    assert result.report is not None
    assert all(d.kind.value not in ("no_optin", "reply_owed") for a in result.report.intros for d in a.due)
    assert own(box, "Drafts") == {}
    later = box.run(days_later=3)  # sticky, even after introd replaced or removed that reminder
    assert later.report is not None
    assert all(d.kind.value not in ("no_optin", "reply_owed") for a in later.report.intros for d in a.due)


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_an_interrupted_append_is_finished_exactly_once(box: Box) -> None:
    """A draft recorded as planned but never appended (a crash) is appended on the next pass, once."""
    import dataclasses

    from introd.actions import PLANNED

    box.run()
    (uid, draft) = next(iter(own(box, "Drafts").items()))
    entry = next(e for e in box.state.ledger("work") if e.kind == "draft")
    client = box.client()
    client.select_folder("Drafts")
    raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    client.delete_messages([uid])
    client.expunge()
    client.logout()
    # As if introd had crashed between recording the draft and the APPEND.
    box.state.ledger_put("work", dataclasses.replace(entry, status=PLANNED, uid=None, raw=raw))
    box.run(days_later=0.01)
    drafts = own(box, "Drafts")
    assert [m["Message-ID"] for m in drafts.values()] == [draft["Message-ID"]]
    box.run(days_later=0.02)
    assert len(own(box, "Drafts")) == 1
    assert next(e for e in box.state.ledger("work") if e.kind == "draft").status == "done"


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_an_append_whose_ledger_update_was_lost_is_not_repeated(box: Box) -> None:
    """A draft appended but still recorded as planned (a crash after APPEND) is found by Message-ID, not re-added."""
    import dataclasses

    from introd.actions import PLANNED

    box.run()
    entry = next(e for e in box.state.ledger("work") if e.kind == "draft")
    box.state.ledger_put("work", dataclasses.replace(entry, status=PLANNED, uid=None, raw=b"never appended again"))
    box.run(days_later=0.01)
    assert len(own(box, "Drafts")) == 1
    done = next(e for e in box.state.ledger("work") if e.kind == "draft")
    assert done.status == "done" and done.uid is not None and done.raw is None


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_a_pass_with_nothing_new_stops_early_until_something_changes(box: Box) -> None:
    """Once the mailbox is settled a pass is quiet (STATUS checks only), until the user touches a folder
    introd writes to or a day threshold passes; then a full pass runs again."""
    first = box.run()
    assert first.report is not None and not first.report.quiet and first.report.act.reminders == 1
    assert box.run(days_later=0.001).report.quiet is False  # type: ignore[union-attr]  # its own appends
    quiet = box.run(days_later=0.002).report
    assert quiet is not None and quiet.quiet and quiet.intros == [] and quiet.next_check is not None
    assert all(f.unchanged for f in quiet.folders)
    (uid,) = own(box, REMINDERS)
    client = box.client()
    client.select_folder(REMINDERS)
    client.add_flags([uid], [b"\\Seen"])  # a flag change: HIGHESTMODSEQ moves
    client.logout()
    assert box.run(days_later=0.003).report.quiet is False  # type: ignore[union-attr]
    settled = box.run(days_later=0.004).report
    assert settled is not None and settled.quiet and settled.next_check is not None
    later = (settled.next_check - box.scenario.now).total_seconds() / 86400 + 0.001
    assert box.run(days_later=later).report.quiet is False  # type: ignore[union-attr]


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_an_old_intro_is_history_until_someone_writes_in_it(box: Box) -> None:
    """Seen first 100 days after it went quiet, the intro is indexed but not read (history_days = 60); a
    reply into its thread brings it back: bodies fetched, the intro tracked again."""
    result = box.run(days_later=100)
    report = result.report
    assert report is not None and report.dormant >= 1 and report.candidates == 0
    assert report.bodies_fetched == 0 and report.intros == [] and own(box, "Drafts") == {}
    intro = next(s for s in box.scenario.samples if s.label == "intro")
    intro_id = parsed(intro.path.read_bytes())["Message-ID"]
    when = box.scenario.now + timedelta(days=100)
    reply = (f"From: Marcus Bell <marcus@bellventures.example>\r\nTo: Priya Raman <{box.scenario.user}>\r\n"
             f"Subject: Re: Priya <> Marcus\r\nDate: {email.utils.format_datetime(when)}\r\n"
             f"Message-ID: <late-reply@bellventures.example>\r\nIn-Reply-To: {intro_id}\r\n"
             f"References: {intro_id}\r\n\r\nPriya, still keen to talk? Marcus\r\n").encode()
    deliver(box, reply, when)
    woken = box.run(days_later=100.01).report
    assert woken is not None and woken.woken >= 1 and woken.bodies_fetched >= 2
    assert len(woken.intros) == 1
    assert intro_id.strip("<>") in woken.intros[0].state.message_ids


@pytest.mark.parametrize("box", ["seed001-surprised-party"], indirect=True)
def test_mail_indexed_by_a_pass_killed_before_acting_is_not_lost_to_a_quiet_pass(box: Box) -> None:
    """A pass that committed new headers and then died leaves no quiet mark: the next pass does the work."""
    from introd.sync import sync_folder

    box.run()
    box.run(days_later=0.001)
    assert box.run(days_later=0.002).report.quiet  # type: ignore[union-attr]
    when = box.scenario.now + timedelta(hours=1)
    deliver(box, unasked_intro(box, "late-intro@costa.example", when), when)
    store = ImapStore.connect(box.config.accounts[0], box.user.password)
    try:  # the first step of a pass, then "kill -9"
        sync_folder(store, box.state, "work", "INBOX", "INBOX", frozenset({box.scenario.user}))
    finally:
        store.close()
    after = box.run(days_later=0.003).report
    assert after is not None and not after.quiet and after.candidates == 1 and after.bodies_fetched == 1


def test_a_pass_reuses_the_analysis_until_a_candidate_or_a_day_threshold_changes_it(box: Box) -> None:
    """New mail that is not intro-related leaves the candidates untouched: the pass reuses the last analysis
    (the same objects, equal to a fresh one); a new candidate or the next day threshold recomputes it."""
    first = box.run().report
    assert first is not None and first.intros and first.next_check is not None
    when = box.scenario.now + timedelta(minutes=5)
    colleague = (f"From: Sam Ortiz <sam@{box.scenario.user.split('@')[1]}>\r\nTo: {box.scenario.user}\r\n"
                 f"Subject: Lunch?\r\nDate: {email.utils.format_datetime(when)}\r\n"
                 "Message-ID: <lunch@colleague.example>\r\n\r\nSame place as usual?\r\n").encode()
    deliver(box, colleague, when)
    second = box.run(days_later=0.005).report
    assert second is not None and not second.quiet and second.new_messages == 1 and second.candidates == 0
    assert second.intros is first.intros  # reused, not recomputed
    fresh_state = StateStore(box.config.state.path)  # no memory of earlier passes: analyses from scratch
    try:
        now = box.scenario.now + timedelta(days=0.005)
        fresh = run_once(box.config, fresh_state, clock=lambda: now, dry_run=True,
                         connect=lambda account: ImapStore.connect(account, box.user.password))[0].report
    finally:
        fresh_state.close()
    assert fresh is not None and fresh.intros == second.intros and fresh.intros is not second.intros

    assert second.next_check is not None
    later = (second.next_check - box.scenario.now) / timedelta(days=1) + 0.001
    third = box.run(days_later=later).report
    assert third is not None and not third.quiet and third.intros and third.intros is not first.intros

    deliver(box, unasked_intro(box, "reuse-intro@costa.example", when), when)
    fourth = box.run(days_later=later + 0.001).report
    assert fourth is not None and fourth.candidates == 1 and fourth.intros is not third.intros
    assert len(fourth.intros) == len(third.intros) + 1
