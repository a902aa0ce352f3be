"""A realistic synthetic mailbox for the benchmark: threads of 1-6 messages over a year, 1-20 KB messages.

The owner is Priya Raman <priya@raman-design.example>. Mail is a mix of newsletters, notifications, colleague
threads, large group threads, ongoing threads with outside contacts, new 1:1 contacts, and about 2% intro
threads written like real ones (the introducer's note, a reply-all with the quoted intro, the owner thanking
the introducer and moving them to Bcc). Messages the owner wrote go to Sent, the rest to INBOX.

Deterministic for a given seed. Nothing here touches a server: ``write_maildir`` writes Maildir files, the
bench then runs ``doveadm force-resync``.
"""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

OWNER = "priya@raman-design.example"
OWNER_NAME = "Priya Raman"
OWNER_DOMAIN = "raman-design.example"

FIRST = [
    "Alex", "Ana", "Ben", "Carla", "Chen", "Dana", "Diego", "Elif", "Emma", "Fatima", "Felix", "Grace", "Hana",
    "Ivan", "Jana", "Jonas", "Kai", "Kenji", "Lara", "Leo", "Lina", "Luca", "Maya", "Mei", "Mila", "Nadia", "Noah",
    "Omar", "Olga", "Paul", "Priyanka", "Rafael", "Rosa", "Sami", "Sara", "Sofia", "Tariq", "Tom", "Uma", "Vera",
    "Wei", "Yara", "Zoe", "Marcus", "Ines", "Hugo", "Amara", "Bilal", "Chiara", "Dmitri"
]
LAST = [
    "Abbott", "Becker", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kowalski",
    "Lopez", "Moreau", "Nakamura", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Silva", "Tanaka",
    "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zimmermann", "Bell", "Whitfield", "Ahmed", "Brennan", "Costa",
    "Duarte"
]
COMPANIES = [
    "northwind", "bluepeak", "lumenlabs", "orbitra", "fernhill", "quartzly", "tidewater", "kestrel-ai",
    "harborview", "cobaltworks", "sundial-health", "greenleaf", "nimbus-data", "bellventures", "whitfield-pr",
    "arcadia-cap", "pinecrest", "mosaic-io", "redwood-legal", "stellar-robotics", "brightpath", "copperline",
    "velvet-studio", "ironclad-sec"
]
WORDS = [
    "project", "timeline", "budget", "design", "review", "launch", "customer", "feedback", "prototype", "roadmap",
    "quarter", "hiring", "contract", "proposal", "invoice", "meeting", "schedule", "draft", "final", "version",
    "slides", "deck", "numbers", "pricing", "partner", "market", "research", "interview", "onboarding", "migration",
    "release", "testing", "deadline", "scope", "estimate", "workshop", "client", "brand", "website", "mobile",
    "app", "strategy", "team", "office", "travel", "conference", "panel", "coffee", "lunch", "call", "notes",
    "summary", "agenda", "follow", "question", "idea", "update", "plan", "figures", "forecast", "pilot", "rollout"
]
NEWSLETTERS = (("The Morning Brief", "brief@news.morningbrief.example", "morningbrief.example"),
               ("Design Weekly", "hello@designweekly.example", "designweekly.example"),
               ("Product Hunt Daily", "digest@producthunt.example", "producthunt.example"),
               ("Figma Updates", "updates@figma.example", "figma.example"),
               ("Local Events", "events@meetup.example", "meetup.example"))
NOTIFIERS = (("GitHub", "notifications@github.example", "[repo] New comment on issue #{n}"),
             ("Calendar", "calendar-notification@google.example", "Invitation: Sync @ {d}"),
             ("Bank", "no-reply@bank.example", "Your statement is ready"),
             ("Slack", "no-reply@slack.example", "You have {n} unread messages"),
             ("Airline", "noreply@airline.example", "Your booking confirmation {n}"),
             ("Stripe", "receipts@stripe.example", "Receipt for payment #{n}"))


@dataclass
class Person:
    """Someone who writes mail."""

    name: str
    email: str

    def header(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def first(self) -> str:
        return self.name.split()[0]


OWNER_P = Person(OWNER_NAME, OWNER)


@dataclass
class Mail:
    """One generated message: where it goes, when, and its bytes."""

    folder: str  # "INBOX" or "Sent"
    date: datetime
    raw: bytes
    message_id: str
    seen: bool = True
    intro: bool = False


@dataclass
class _Thread:
    ids: list[str] = field(default_factory=list)
    last_body: str = ""
    last_from: Person | None = None
    last_date: datetime | None = None


class Generator:
    """Deterministic stream of realistic messages."""

    def __init__(self, seed: int = 7, now: datetime | None = None) -> None:
        self.rng = random.Random(seed)
        self.now = now or datetime.now(timezone.utc).replace(microsecond=0)
        self.counter = 0
        rng = self.rng
        self.colleagues = [self._person(OWNER_DOMAIN) for _ in range(25)]
        self.contacts = [self._person(f"{rng.choice(COMPANIES)}.example") for _ in range(400)]
        self.sentences = [self._sentence() for _ in range(3000)]

    # -- helpers ---------------------------------------------------------------------------------------------
    def _person(self, domain: str) -> Person:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        return Person(f"{first} {last}", f"{first.lower()}.{last.lower()}{self.rng.randint(1, 99)}@{domain}")

    def _sentence(self) -> str:
        words = [self.rng.choice(WORDS) for _ in range(self.rng.randint(6, 18))]
        return " ".join(words).capitalize() + self.rng.choice((".", ".", ".", "?", "!"))

    def _paragraphs(self, size: int) -> str:
        out: list[str] = []
        total = 0
        while total < size:
            para = " ".join(self.rng.choice(self.sentences) for _ in range(self.rng.randint(2, 6)))
            # wrap at ~72 columns like a mail client
            lines, line = [], ""
            for word in para.split():
                if len(line) + len(word) > 72:
                    lines.append(line)
                    line = word
                else:
                    line = f"{line} {word}" if line else word
            lines.append(line)
            text = "\n".join(lines)
            out.append(text)
            total += len(text) + 2
        return "\n\n".join(out)

    def _size(self) -> int:
        # log-uniform 1-20 KB of body (before quoting)
        return int(1000 * (20 ** self.rng.random()))

    def _mid(self, domain: str) -> str:
        self.counter += 1
        return f"{self.counter:08d}.{self.rng.getrandbits(40):010x}@{domain}"

    def _raw(self, *, sender: Person, to: list[Person], cc: list[Person] | None = None, subject: str,
             date: datetime, mid: str, thread: _Thread | None = None, body: str,
             extra: str = "") -> bytes:
        """multipart/alternative (text and HTML), padded with an attachment up to a 1-20 KB message."""
        head = [f"Return-Path: <{sender.email}>",
                f"Received: from mail.{sender.email.split('@')[1]} (mail [10.0.0.{self.rng.randint(1, 254)}])"
                f"\n\tby mx.{OWNER_DOMAIN} with ESMTPS id {self.rng.getrandbits(48):012x}"
                f"\n\tfor <{OWNER}>; {format_datetime(date)}",
                f"From: {sender.header()}",
                "To: " + ",\n ".join(p.header() for p in to)]
        if cc:
            head.append("Cc: " + ",\n ".join(p.header() for p in cc))
        head += [f"Subject: {subject}", f"Date: {format_datetime(date)}", f"Message-ID: <{mid}>"]
        if thread is not None and thread.ids:
            head.append(f"In-Reply-To: <{thread.ids[-1]}>")
            head.append("References: " + "\n ".join(f"<{i}>" for i in thread.ids[-10:]))
        head.append("MIME-Version: 1.0")
        if extra:
            head.append(extra)
        outer = f"mix{self.counter:x}{self.rng.getrandbits(32):08x}"
        alt = f"alt{self.counter:x}{self.rng.getrandbits(32):08x}"
        html = "\n".join(
            "<blockquote style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\">"
            f"{para.replace('> ', '')}</blockquote>" if para.startswith(">") else f"<p>{para}</p>"
            for para in body.split("\n\n"))
        html = (f'<html><head><style>body{{font-family:Arial,sans-serif;font-size:14px}}</style></head>'
                f'<body><div dir="ltr">\n{html}\n</div></body></html>')
        parts = [f"--{alt}", 'Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 8bit", "",
                 body, f"--{alt}", 'Content-Type: text/html; charset="utf-8"', "Content-Transfer-Encoding: 8bit",
                 "", html, f"--{alt}--"]
        text = "\n".join(parts)
        target = self._size()
        if target > len(text) + 1500:
            data = self.rng.randbytes((target - len(text)) * 3 // 4)
            encoded = base64.encodebytes(data).decode("ascii")
            name = self.rng.choice(("agenda.pdf", "notes.pdf", "logo.png", "proposal.pdf", "photo.jpg"))
            head.append(f'Content-Type: multipart/mixed; boundary="{outer}"')
            text = (f"--{outer}\nContent-Type: multipart/alternative; boundary=\"{alt}\"\n\n{text}\n"
                    f"--{outer}\nContent-Type: application/octet-stream; name=\"{name}\"\n"
                    f"Content-Disposition: attachment; filename=\"{name}\"\n"
                    f"Content-Transfer-Encoding: base64\n\n{encoded}--{outer}--")
        else:
            head.append(f'Content-Type: multipart/alternative; boundary="{alt}"')
        out = "\n".join(head) + "\n\n" + text + "\n"
        return out.replace("\n", "\r\n").encode("utf-8")

    def _new_text(self) -> str:
        """What a person writes: one to four short paragraphs."""
        return "\n\n".join(self._paragraphs(self.rng.randint(120, 400)) for _ in range(self.rng.randint(1, 4)))

    def _quote(self, thread: _Thread, body: str) -> str:
        if not thread.last_body or thread.last_from is None or thread.last_date is None:
            return body
        quoted = "\n".join(f"> {line}" if line else ">" for line in thread.last_body[:6000].split("\n"))
        when = thread.last_date.strftime("%a, %d %b %Y at %H:%M")
        return f"{body}\n\nOn {when}, {thread.last_from.name} <{thread.last_from.email}> wrote:\n{quoted}"

    def _reply_subject(self, subject: str) -> str:
        return subject if subject.lower().startswith("re:") else f"Re: {subject}"

    # -- thread kinds ----------------------------------------------------------------------------------------
    def _conversation(self, start: datetime, people: list[Person], subject: str, n: int, *,
                      to_all: list[Person], cc: list[Person] | None = None, first_body: str = "",
                      intro: bool = False) -> Iterator[Mail]:
        """n messages in one thread; authors cycle through ``people``, owner's go to Sent."""
        thread = _Thread()
        date = start
        for i in range(n):
            author = people[i % len(people)] if i == 0 else self.rng.choice([p for p in people
                                                                             if p != thread.last_from] or people)
            recipients = [p for p in to_all if p.email != author.email]
            if author.email != OWNER and all(p.email != OWNER for p in recipients + (cc or [])):
                recipients.append(OWNER_P)
            subj = subject if i == 0 else self._reply_subject(subject)
            greeting = f"Hi {recipients[0].first}," if recipients else "Hi,"
            body = first_body if (i == 0 and first_body) else f"{greeting}\n\n{self._new_text()}"
            body += f"\n\nBest,\n{author.first}"
            if i:
                body = self._quote(thread, body)
            mid = self._mid(author.email.split("@")[1])
            raw = self._raw(sender=author, to=recipients or [OWNER_P], cc=cc, subject=subj, date=date, mid=mid,
                            thread=thread, body=body)
            if date < self.now:
                yield Mail("Sent" if author.email == OWNER else "INBOX", date, raw, mid,
                           seen=(self.now - date).days > 2, intro=intro)
            thread.ids.append(mid)
            thread.last_body, thread.last_from, thread.last_date = body, author, date
            date = date + timedelta(minutes=self.rng.randint(5, 60 * 48))

    def _length(self) -> int:
        return self.rng.choices((1, 2, 3, 4, 5, 6), weights=(30, 25, 18, 12, 9, 6))[0]

    def thread(self, start: datetime) -> Iterator[Mail]:
        """One thread of a random kind starting at ``start``."""
        rng = self.rng
        kind = rng.choices(("newsletter", "notify", "colleague", "group", "contact", "new_contact",
                            "owner_new", "intro", "owner_intro"),
                           weights=(24, 16, 30, 8, 14.5, 1.5, 2, 1.6, 0.4))[0]
        if kind == "newsletter":
            name, email, domain = rng.choice(NEWSLETTERS)
            mid = self._mid(domain)
            body = "\n\n".join(self._new_text() for _ in range(3))
            raw = self._raw(sender=Person(name, email), to=[OWNER_P], subject=f"{name}: {self._sentence()[:60]}",
                            date=start, mid=mid, body=body,
                            extra=f"List-Id: <{domain}>\nList-Unsubscribe: <https://{domain}/u/{mid[:8]}>"
                                  "\nPrecedence: bulk")
            yield Mail("INBOX", start, raw, mid, seen=rng.random() < 0.7)
        elif kind == "notify":
            name, email, subject = rng.choice(NOTIFIERS)
            mid = self._mid(email.split("@")[1])
            raw = self._raw(sender=Person(name, email), to=[OWNER_P],
                            subject=subject.format(n=rng.randint(1, 9999), d=start.strftime("%a %b %d")),
                            date=start, mid=mid, body=self._new_text(),
                            extra="Auto-Submitted: auto-generated")
            yield Mail("INBOX", start, raw, mid)
        elif kind == "colleague":
            people = [rng.choice(self.colleagues), OWNER_P, *rng.sample(self.colleagues, rng.randint(0, 2))]
            yield from self._conversation(start, people, self._topic(), self._length(), to_all=people[1:])
        elif kind == "group":
            people = [*rng.sample(self.contacts, 4), *rng.sample(self.colleagues, 4), OWNER_P]
            yield from self._conversation(start, people, self._topic(), self._length(), to_all=people)
        elif kind == "contact":
            # an ongoing conversation with an outside contact and their colleague (same organisation)
            a = rng.choice(self.contacts)
            colleague = Person(self._person("x").name, f"{rng.choice(FIRST).lower()}@{a.email.split('@')[1]}")
            subject = self._reply_subject(self._topic())
            yield from self._conversation(start, [a, OWNER_P], subject, self._length(), to_all=[OWNER_P, a],
                                          cc=[colleague])
        elif kind == "new_contact":
            a = rng.choice(self.contacts)
            yield from self._conversation(start, [a, OWNER_P], rng.choice(("Quick question", "Hello from " +
                                          a.email.split("@")[1].split(".")[0], "Your talk last week")),
                                          self._length(), to_all=[OWNER_P, a])
        elif kind == "owner_new":
            a = rng.choice(self.contacts)
            yield from self._conversation(start, [OWNER_P, a], self._topic(), self._length(), to_all=[a])
        elif kind == "intro":
            yield from self._intro(start)
        else:
            yield from self._owner_intro(start)

    def _topic(self) -> str:
        rng = self.rng
        return rng.choice(("{w} {v}", "{W} for {c}", "Notes from the {w} {v}", "{W} {v} next week",
                           "Re: {W} {v}", "Question about the {w}")).format(
            w=rng.choice(WORDS), v=rng.choice(WORDS), W=rng.choice(WORDS).capitalize(),
            c=rng.choice(COMPANIES).capitalize())

    def _intro(self, start: datetime) -> Iterator[Mail]:
        """Someone introduces the owner to a new contact; replies quote the intro."""
        rng = self.rng
        introducer, other = rng.sample(self.contacts, 2)
        subject = rng.choice((f"Intro: {OWNER_NAME.split(maxsplit=1)[0]} <> {other.first}",
                              f"{OWNER_NAME.split(maxsplit=1)[0]}, meet {other.first}",
                              f"Introduction: {other.name} / {OWNER_NAME}",
                              f"Connecting you two ({OWNER_NAME.split(maxsplit=1)[0]} + {other.first})"))
        body = (f"Hi {OWNER_NAME.split(maxsplit=1)[0]} and {other.first},\n\n"
                f"I'd love to introduce you two. {other.first} is building {rng.choice(WORDS)} tools at "
                f"{other.email.split('@')[1].split('.')[0].capitalize()} and is looking for help with "
                f"{rng.choice(WORDS)} {rng.choice(WORDS)}. {OWNER_NAME.split(maxsplit=1)[0]} runs a design studio "
                f"and did wonderful work for us last year.\n\nI think you'd have a lot to talk about; I'll let you "
                f"take it from here.\n\n{self._new_text()}")
        people = [introducer, other, OWNER_P]
        yield from self._conversation(start, people, subject, rng.randint(1, 5), to_all=[OWNER_P, other],
                                      first_body=body, intro=True)

    def _owner_intro(self, start: datetime) -> Iterator[Mail]:
        """The owner introduces two contacts of different organisations."""
        rng = self.rng
        a, b = rng.sample(self.contacts, 2)
        subject = f"Intro: {a.first} <> {b.first}"
        body = (f"Hi {a.first} and {b.first},\n\nI'd like to introduce you two. {a.first}, {b.first} is the "
                f"{rng.choice(WORDS)} expert I mentioned. {b.first}, {a.first} leads {rng.choice(WORDS)} at "
                f"{a.email.split('@')[1].split('.')[0].capitalize()}.\n\nI'll let you take it from here.")
        yield from self._conversation(start, [OWNER_P, a, b], subject, rng.randint(1, 4), to_all=[a, b],
                                      first_body=body, intro=True)

    # -- mailboxes -------------------------------------------------------------------------------------------
    def mailbox(self, inbox_count: int, days: int = 365) -> list[Mail]:
        """Threads until INBOX holds ``inbox_count`` messages (Sent gets the owner's), sorted by date."""
        out: list[Mail] = []
        inbox = 0
        span = days * 86400
        while inbox < inbox_count:
            start = self.now - timedelta(seconds=self.rng.randint(3600, span))
            for mail in self.thread(start):
                if mail.folder == "INBOX":
                    if inbox >= inbox_count:
                        continue
                    inbox += 1
                out.append(mail)
        out.sort(key=lambda m: m.date)
        return out

    def new_mail(self, count: int) -> list[Mail]:
        """``count`` INBOX messages of the last hour (new mail arriving between passes)."""
        out: list[Mail] = []
        while len(out) < count:
            start = self.now - timedelta(minutes=self.rng.randint(1, 59))
            for mail in self.thread(start):
                if mail.folder == "INBOX" and len(out) < count:
                    out.append(Mail(mail.folder, start, mail.raw, mail.message_id, seen=False, intro=mail.intro))
                    break
        return out


def write_maildir(mails: list[Mail], maildir: Path, uid: int, gid: int) -> dict[str, int]:
    """Write messages as Maildir++ files (INBOX in ``maildir``, Sent in ``maildir/.Sent``); counts per folder."""
    counts: dict[str, int] = {}
    dirs = {"INBOX": maildir, "Sent": maildir / ".Sent"}
    for d in dirs.values():
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
            os.chown(d / sub, uid, gid)
        os.chown(d, uid, gid)
    pid = os.getpid()
    for i, mail in enumerate(mails):
        ts = int(mail.date.timestamp())
        flags = "S" if mail.seen or mail.folder == "Sent" else ""
        name = f"{ts}.M{i}P{pid}.bench,S={len(mail.raw)}:2,{flags}"
        path = dirs[mail.folder] / "cur" / name
        with open(path, "wb") as fh:
            fh.write(mail.raw)
        os.chown(path, uid, gid)
        os.utime(path, (ts, ts))
        counts[mail.folder] = counts.get(mail.folder, 0) + 1
    return counts
