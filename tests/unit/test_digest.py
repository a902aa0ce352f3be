"""The digest's content: sections in priority order, items, summary, text/HTML rendering and the message."""

from __future__ import annotations

import email
import json
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

from introd.config import Config, DigestConfig, parse_config
from introd.digest import Section, build_digest, compose_digest, render_html, render_text
from introd.digest_run import intro_from_row
from introd.digest_schedule import current_period
from introd.drafting import User
from introd.errors import ConfigError
from introd.intro_model import DueAction, DueKind, IntroAnalysis, IntroState, Role, Stage
from introd.message import Address
from introd.store import LedgerEntry

NOW = datetime(2026, 3, 16, 14, 0, tzinfo=timezone.utc)
CFG = DigestConfig(timezone="UTC")
PERIOD = current_period(NOW, CFG)
ME = User(name="Alice Ward", addresses=("alice@ward.example", "alice.w@home.example"))
MARY = Address("Mary Lee", "mary@lee.example")
STEVEN = Address("Steven Jones", "steven@jones.example")
KATHY = Address("Kathy Kim", "kathy@kim.example")
ALICE = Address("Alice Ward", "alice@ward.example")


def intro(tid: str, stage: Stage, role: Role, *due: tuple[DueKind, int], subject: str = "", days_quiet: int = 1,
          parties: tuple[Address, ...] = (MARY, STEVEN), introducer: Address | None = KATHY,
          connected_days: int | None = None) -> IntroAnalysis:
    """An intro whose last message was ``days_quiet`` days ago, with due actions (kind, days since due)."""
    last = NOW - timedelta(days=days_quiet)
    state = IntroState(
        thread_id=tid, subject=subject or f"Intro {tid}", stage=stage, role=role, introducer=introducer,
        parties=parties, started=last - timedelta(days=10), last_activity=last,
        connected_at=NOW - timedelta(days=connected_days) if connected_days is not None else None,
    )
    actions = tuple(
        DueAction(kind=k, thread_id=tid, key=f"{tid}:{k.value}", since=NOW - timedelta(days=d),
                  to=(MARY,) if k not in (DueKind.STALLED, DueKind.MOVE_ON) else (), reason="because")
        for k, d in due
    )
    return IntroAnalysis(state, actions)


def everything() -> list[IntroAnalysis]:
    """One intro for each section, plus a closed one and one with nothing due."""
    return [
        intro("t-move", Stage.DEAD, Role.REQUESTER, (DueKind.MOVE_ON, 3), days_quiet=20),
        intro("t-follow", Stage.MEETING_SET, Role.INTRODUCER, (DueKind.FOLLOWUP, 1), introducer=ALICE,
              connected_days=22),
        intro("t-stall", Stage.STALLED, Role.INTRODUCER, (DueKind.STALLED, 2), days_quiet=9, introducer=ALICE),
        intro("t-optin", Stage.INTRODUCED, Role.INTRODUCED, (DueKind.NO_OPTIN, 2), parties=(ALICE, MARY)),
        intro("t-wait", Stage.INTRODUCED, Role.INTRODUCED, (DueKind.NUDGE, 1), days_quiet=6, parties=(ALICE, MARY)),
        intro("t-owe-old", Stage.CONNECTED, Role.INTRODUCED, (DueKind.REPLY_OWED, 2), days_quiet=4,
              parties=(ALICE, MARY), connected_days=3),
        intro("t-owe-new", Stage.INTRODUCED, Role.INTRODUCED, (DueKind.REPLY_OWED, 0), days_quiet=2,
              parties=(ALICE, MARY)),
        intro("t-closed", Stage.CLOSED, Role.INTRODUCER, introducer=ALICE, connected_days=40),
        intro("t-quiet", Stage.OPTIN_ASKED, Role.INTRODUCER, introducer=ALICE),
    ]


def test_sections_come_in_priority_order_with_the_right_items() -> None:
    """Owe, waiting, opt-in, stalled, follow-up, move on; each intro in the section of its due kind."""
    digest = build_digest(everything(), {}, ME, NOW, PERIOD, timezone_name="UTC")
    assert [s.section for s in digest.sections] == list(Section)
    placed = {s.section: [i.thread_id for i in s.items] for s in digest.sections}
    assert placed == {
        Section.OWE: ["t-owe-old", "t-owe-new"],  # longest wait first
        Section.WAITING: ["t-wait"],
        Section.NO_OPTIN: ["t-optin"],
        Section.STALLED: ["t-stall"],
        Section.FOLLOWUP: ["t-follow"],
        Section.MOVE_ON: ["t-move"],
    }
    owe = digest.sections[0].items[0]
    assert owe.days == 4 and owe.waiting == "Mary Lee has been waiting on you for 4 days."
    assert owe.parties == ("Mary Lee <mary@lee.example>", "you")
    assert owe.introducer == "Kathy Kim <kathy@kim.example>"
    assert owe.next_step == "Reply to Mary Lee."
    wait = digest.section(Section.WAITING)
    assert wait is not None and wait.items[0].waiting == "You have been waiting on Mary Lee for 6 days."
    follow = digest.section(Section.FOLLOWUP)
    assert follow is not None and follow.items[0].waiting == "Mary Lee connected 22 days ago."


def test_summary_counts() -> None:
    """Open intros, stalled, owed, waiting, missing opt-ins, connected this week and the response rate."""
    s = build_digest(everything(), {}, ME, NOW, PERIOD, timezone_name="UTC").summary
    assert (s.open, s.stalled, s.owed, s.waiting, s.missing_optins, s.connected) == (7, 1, 2, 1, 1, 1)
    # Intros made where the user introduced or was introduced: 7 (not the request, not the opt-in ask);
    # answered by every party: meeting set, connected, closed.
    assert (s.answered, s.made) == (3, 7) and s.response_rate == 43
    assert s.line() == ("7 open intros · 1 stalled · 2 replies you owe · 1 waiting on others · 1 missing opt-in · "
                        "1 connected this week · 43% response rate")


def test_empty_sections_are_left_out_and_nothing_stalled_is_one_line() -> None:
    """Only non-empty sections appear; with nothing stalled the text and HTML say so in one line."""
    analyses = [a for a in everything() if a.state.thread_id in ("t-owe-new", "t-quiet")]
    digest = build_digest(analyses, {}, ME, NOW, PERIOD, timezone_name="UTC")
    assert [s.section for s in digest.sections] == [Section.OWE]
    assert digest.nothing_stalled
    text = render_text(digest)
    assert text.count("Nothing stalled this week.") == 1
    assert "Waiting on others" not in text and "Time to move on" not in text
    assert "Nothing stalled this week." in render_html(digest)
    with_stall = build_digest(everything(), {}, ME, NOW, PERIOD, timezone_name="UTC")
    assert "Nothing stalled" not in render_text(with_stall)


def test_a_quiet_week() -> None:
    """No intros at all: a summary with zeros, "nothing needs you", and no response rate yet."""
    digest = build_digest([], {}, ME, NOW, PERIOD, timezone_name="UTC")
    text = render_text(digest)
    assert "0 open intros" in text and "no response rate yet" in text
    assert "Nothing needs you this week." in text and "Nothing stalled this week." in text


def test_draft_status_comes_from_the_ledger() -> None:
    """A draft written (or edited) is "ready in Drafts"; sent and dismissed drafts say so; none yet says so."""
    analyses = [a for a in everything() if a.state.thread_id in ("t-owe-old", "t-owe-new", "t-wait", "t-stall")]
    ledger = {
        "t-owe-old:reply_owed": LedgerEntry("t-owe-old:reply_owed", "draft", "t-owe-old", "done", "m1", "Drafts", 4),
        "t-wait:nudge": LedgerEntry("t-wait:nudge", "draft", "t-wait", "dismissed"),
    }
    digest = build_digest(analyses, ledger, ME, NOW, PERIOD, timezone_name="UTC")
    drafts = {i.thread_id: (i.draft, i.draft_ready) for s in digest.sections for i in s.items}
    assert drafts["t-owe-old"] == ("ready in Drafts", True)
    assert drafts["t-owe-new"] == ("not written yet", False)
    assert drafts["t-wait"] == ("dismissed", False)
    assert drafts["t-stall"] == ("none (reminder only)", False)


def test_days_are_counted_in_the_digest_timezone() -> None:
    """A message at 09:00 UTC on Monday is "today" at 14:00 UTC, but was yesterday evening in Honolulu."""
    late = IntroAnalysis(
        IntroState("t", "S", Stage.INTRODUCED, Role.INTRODUCED, KATHY, (ALICE, MARY),
                   NOW - timedelta(days=3), NOW - timedelta(hours=5)),
        (DueAction(DueKind.REPLY_OWED, "t", "t:r", NOW - timedelta(hours=1), (MARY,)),),
    )
    utc = build_digest([late], {}, ME, NOW, PERIOD, timezone_name="UTC").sections[0].items[0]
    hawaii = build_digest([late], {}, ME, NOW, PERIOD, timezone_name="Pacific/Honolulu").sections[0].items[0]
    assert utc.days == 0 and hawaii.days == 1
    assert utc.waiting.endswith("since today.") and hawaii.waiting.endswith("for 1 day.")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("href", "src", "action", "background", "srcset")]


def test_html_is_self_contained_escaped_and_dark_mode_aware() -> None:
    """No links, images, scripts or web fonts; user data escaped; 600 px table layout; a dark colour scheme."""
    analyses = [*everything(), intro("t-evil", Stage.INTRODUCED, Role.INTRODUCED, (DueKind.REPLY_OWED, 1),
                                     subject='<script>alert(1)</script><a href="https://evil.example">x</a>')]
    page = render_html(build_digest(analyses, {}, ME, NOW, PERIOD, timezone_name="UTC"))
    parser = _Links()
    parser.feed(page)
    assert parser.urls == []
    assert not parser.tags & {"script", "img", "a", "link", "iframe", "form"}
    assert "&lt;script&gt;" in page and "@import" not in page and "url(" not in page
    assert "http" not in page.replace("https://evil.example", "")  # the subject's text, escaped, is all
    assert "prefers-color-scheme: dark" in page and 'name="color-scheme" content="light dark"' in page
    assert 'role="presentation"' in page and "max-width:600px" in page
    assert 'name="viewport"' in page


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def test_the_message_is_multipart_alternative_from_and_to_the_user() -> None:
    """text/plain then text/html, From and To the user only, marked as introd's automatic digest."""
    digest = build_digest(everything(), {}, ME, NOW, PERIOD, account="work", timezone_name="UTC")
    message_id, raw = compose_digest(digest, ["alice@ward.example", "alice.w@home.example"], nonce="n1")
    assert b"\r\n" in raw and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert str(msg["From"]) == "Alice Ward <alice@ward.example>"
    assert {a.addr_spec for a in msg["To"].addresses} == {"alice@ward.example", "alice.w@home.example"}
    assert msg["Cc"] is None and msg["Bcc"] is None
    assert str(msg["X-Introd-Action"]) == f"digest; period={PERIOD.id}"
    assert str(msg["Auto-Submitted"]) == "auto-generated"
    assert str(msg["Message-ID"]) == f"<{message_id}>" and message_id.endswith("@ward.example")
    assert "2 replies you owe" in str(msg["Subject"])
    text = msg.get_body(("plain",))
    assert text is not None and "You owe a reply (2)" in text.get_content()


def test_notice_and_header_hygiene() -> None:
    """A filing notice heads both parts; a display name carrying CR/LF cannot inject a header."""
    user = User(name="Alice\r\nBcc: evil@x.example", addresses=("alice@ward.example",))
    digest = build_digest(everything(), {}, user, NOW, PERIOD, timezone_name="UTC")
    _mid, raw = compose_digest(digest, ["alice@ward.example"], notice="SMTP was down.")
    msg = parse(raw)
    assert msg["Bcc"] is None and "evil@x.example" not in {a.addr_spec for a in msg["To"].addresses}
    plain, page = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None and plain.get_content().startswith("SMTP was down.")
    assert page is not None and "SMTP was down." in page.get_content()
    with pytest.raises(ValueError):
        compose_digest(digest, [])


def test_intro_rows_round_trip() -> None:
    """What sync stores in the intros table reads back as the same IntroAnalysis."""
    for analysis in everything():
        state_json = json.dumps(asdict(analysis.state), default=str, ensure_ascii=False)
        due_json = json.dumps([asdict(d) for d in analysis.due], default=str, ensure_ascii=False)
        assert intro_from_row(state_json, due_json) == analysis


BASE = {"accounts": [{"name": "work", "addresses": ["alice@ward.example", "a@home.example"], "host": "imap.x"}]}


def config(**tables: dict[str, object]) -> Config:
    return parse_config({**BASE, **tables}, Path("/etc/introd.toml"))


def test_digest_and_smtp_defaults() -> None:
    """Monday 08:00 in the [timing] zone, to the first address; SMTP off until a host is set, port by security."""
    cfg = parse_config({**BASE, "timing": {"timezone": "Europe/Berlin"}}, Path("/c.toml"))
    assert (cfg.digest.day, cfg.digest.time, cfg.digest.timezone, cfg.digest.to) == ("monday", "08:00",
                                                                                     "Europe/Berlin", ())
    assert cfg.smtp.host == "" and cfg.smtp.port == 465
    starttls = parse_config({**BASE, "smtp": {"host": "smtp.x", "security": "starttls"}}, Path("/c.toml"))
    assert starttls.smtp.port == 587


@pytest.mark.parametrize(("tables", "key", "words"), [
    ({"digest": {"day": "Funday"}}, "digest.day", "weekday"),
    ({"digest": {"time": "8am"}}, "digest.time", "HH:MM"),
    ({"digest": {"time": "24:00"}}, "digest.time", "HH:MM"),
    ({"digest": {"timezone": "Mars/Olympus"}}, "digest.timezone", "IANA"),
    ({"digest": {"to": ["boss@elsewhere.example"]}}, "digest.to[0]", "your own addresses"),
    ({"digest": {"weekly": True}}, "digest.weekly", "unknown key"),
    ({"smtp": {"security": "plain"}}, "smtp.security", "tls, starttls"),
    ({"smtp": {"password": "hunter2"}}, "smtp.password", "never go in the config"),
    ({"smtp": {"password_env": "A", "password_command": "b"}}, "smtp.password_command", "not both"),
    ({"smtp": {"port": 0}}, "smtp.port", "1 to 65535"),
])
def test_config_errors_name_the_key(tables: dict[str, dict[str, object]], key: str, words: str) -> None:
    """Each bad [digest] or [smtp] value is one error naming the key path and what was expected."""
    with pytest.raises(ConfigError) as info:
        config(**tables)
    assert info.value.key == key and words in info.value.problem
    assert "hunter2" not in str(info.value)


def test_digest_to_accepts_any_own_address() -> None:
    """`to` may list any of the accounts' own addresses (case-insensitive)."""
    cfg = config(digest={"to": ["A@Home.example"], "day": "Friday", "time": "17:30"})
    assert cfg.digest.to == ("a@home.example",) and cfg.digest.weekday == 4
    assert cfg.digest.hour_minute == (17, 30)
