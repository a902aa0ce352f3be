"""New text versus quoted text, table-driven over mail clients and languages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from introd.quotes import split_reply

NEW = "Happy to connect, thanks for the intro!"
OLD = "Kathy, meet Bob. Bob runs a bakery."

# Each case: (client, language, quote header lines, whether the quoted body is ">"-prefixed).
HEADERS: list[tuple[str, str, str, bool]] = [
    ("gmail", "en", "On Mon, Mar 2, 2026 at 10:00 AM Kathy Lee <kathy@x.com> wrote:", True),
    ("gmail-wrapped", "en", "On Mon, Mar 2, 2026 at 10:00 AM Kathy Lee <\nkathy@x.com> wrote:", True),
    ("gmail", "de", "Am Mo., 2. März 2026 um 10:00 Uhr schrieb Kathy Lee <kathy@x.com>:", True),
    ("gmail-wrapped", "de", "Am Mo., 2. März 2026 um 10:00 Uhr schrieb Kathy Lee <\nkathy@x.com>:", True),
    ("gmail", "fr", "Le lun. 2 mars 2026 à 10:00, Kathy Lee <kathy@x.com> a écrit :", True),
    ("gmail-wrapped", "fr", "Le lun. 2 mars 2026 à 10:00, Kathy Lee <kathy@x.com> a\nécrit :", True),
    ("gmail", "es", "El lun, 2 mar 2026 a las 10:00, Kathy Lee (<kathy@x.com>) escribió:", True),
    ("gmail-wrapped", "es", "El lun, 2 mar 2026 a las 10:00, Kathy Lee (<\nkathy@x.com>) escribió:", True),
    ("apple", "en", "On 2 Mar 2026, at 10:00, Kathy Lee <kathy@x.com> wrote:", True),
    ("apple", "de", "Am 02.03.2026 um 10:00 schrieb Kathy Lee <kathy@x.com>:", True),
    ("apple", "fr", "Le 2 mars 2026 à 10:00, Kathy Lee <kathy@x.com> a écrit :", True),
    ("apple", "es", "El 2 mar 2026, a las 10:00, Kathy Lee <kathy@x.com> escribió:", True),
    ("thunderbird", "en", "On 02/03/2026 10:00, Kathy Lee wrote:", True),
    ("thunderbird", "de", "Am 02.03.26 um 10:00 schrieb Kathy Lee:", True),
    ("thunderbird", "fr", "Le 02/03/2026 à 10:00, Kathy Lee a écrit :", True),
    ("thunderbird", "es", "El 02/03/2026 a las 10:00, Kathy Lee escribió:", True),
    # Outlook does not prefix the quoted body with ">".
    ("outlook-original", "en",
     "-----Original Message-----\nFrom: Kathy Lee <kathy@x.com>\nSent: Monday, March 2, 2026 10:00 AM\n"
     "To: Bob <bob@y.com>\nSubject: Intro", False),
    ("outlook-block", "en",
     "________________________________\nFrom: Kathy Lee <kathy@x.com>\nSent: Monday, March 2, 2026 10:00 AM\n"
     "To: Bob <bob@y.com>\nSubject: Intro", False),
    ("outlook-bare", "en",
     "From: Kathy Lee <kathy@x.com>\nSent: Monday, March 2, 2026 10:00 AM\nTo: Bob <bob@y.com>\n"
     "Subject: Intro", False),
    ("outlook-original", "de",
     "-----Ursprüngliche Nachricht-----\nVon: Kathy Lee <kathy@x.com>\nGesendet: Montag, 2. März 2026 10:00\n"
     "An: Bob <bob@y.com>\nBetreff: Intro", False),
    ("outlook-block", "de",
     "________________________________\nVon: Kathy Lee <kathy@x.com>\nGesendet: Montag, 2. März 2026 10:00\n"
     "An: Bob <bob@y.com>\nBetreff: Intro", False),
    ("outlook-original", "fr",
     "-----Message d'origine-----\nDe : Kathy Lee <kathy@x.com>\nEnvoyé : lundi 2 mars 2026 10:00\n"
     "À : Bob <bob@y.com>\nObjet : Intro", False),
    ("outlook-block", "fr",
     "________________________________\nDe : Kathy Lee <kathy@x.com>\nEnvoyé : lundi 2 mars 2026 10:00\n"
     "À : Bob <bob@y.com>\nObjet : Intro", False),
    ("outlook-original", "es",
     "-----Mensaje original-----\nDe: Kathy Lee <kathy@x.com>\nEnviado: lunes, 2 de marzo de 2026 10:00\n"
     "Para: Bob <bob@y.com>\nAsunto: Intro", False),
    ("outlook-block", "es",
     "________________________________\nDe: Kathy Lee <kathy@x.com>\nEnviado: lunes, 2 de marzo de 2026 10:00\n"
     "Para: Bob <bob@y.com>\nAsunto: Intro", False),
    ("gmail-forward", "en",
     "---------- Forwarded message ---------\nFrom: Kathy Lee <kathy@x.com>\nDate: Mon, Mar 2, 2026 at 10:00 AM\n"
     "Subject: Intro\nTo: Bob <bob@y.com>", False),
    ("gmail-forward", "de",
     "---------- Weitergeleitete Nachricht ---------\nVon: Kathy Lee <kathy@x.com>\n"
     "Date: Mo., 2. März 2026 um 10:00 Uhr\nSubject: Intro\nTo: Bob <bob@y.com>", False),
    ("gmail-forward", "fr",
     "---------- Message transféré ---------\nDe : Kathy Lee <kathy@x.com>\nDate: lun. 2 mars 2026 à 10:00\n"
     "Subject: Intro\nTo: Bob <bob@y.com>", False),
    ("gmail-forward", "es",
     "---------- Mensaje reenviado ---------\nDe: Kathy Lee <kathy@x.com>\nDate: lun, 2 mar 2026 a las 10:00\n"
     "Subject: Intro\nTo: Bob <bob@y.com>", False),
    ("apple-forward", "en", "Begin forwarded message:\n\nFrom: Kathy Lee <kathy@x.com>\nSubject: Intro", False),
    ("apple-forward", "de",
     "Anfang der weitergeleiteten Nachricht:\n\nVon: Kathy Lee <kathy@x.com>\nBetreff: Intro", False),
    ("apple-forward", "fr", "Début du message réexpédié :\n\nDe: Kathy Lee <kathy@x.com>\nObjet: Intro", False),
    ("apple-forward", "es", "Inicio del mensaje reenviado:\n\nDe: Kathy Lee <kathy@x.com>\nAsunto: Intro", False),
]


def _quote(body: str, prefixed: bool) -> str:
    return "\n".join(f"> {line}" if prefixed else line for line in body.split("\n"))


@pytest.mark.parametrize(("client", "lang", "header", "prefixed"), HEADERS,
                         ids=[f"{c}-{lang}" for c, lang, _, _ in HEADERS])
def test_top_posted_reply(client: str, lang: str, header: str, prefixed: bool) -> None:
    """A top-posted reply keeps only the author's words; the quoted intro lands in the quoted part."""
    body = f"Hi Kathy,\n\n{NEW}\n\nBob\n\n{header}\n{_quote(OLD, prefixed)}\n"
    new, quoted = split_reply(body)
    assert NEW in new
    assert "Kathy, meet Bob" not in new
    assert "kathy@x.com" not in new
    assert "Kathy, meet Bob" in quoted
    assert not any(line.startswith(">") for line in quoted.splitlines())


@pytest.mark.parametrize(("client", "lang", "header", "prefixed"), HEADERS,
                         ids=[f"{c}-{lang}" for c, lang, _, _ in HEADERS])
def test_header_alone_is_never_new_text(client: str, lang: str, header: str, prefixed: bool) -> None:
    """A body that is only a quote header plus quote has no new text."""
    new, quoted = split_reply(f"{header}\n{_quote(OLD, prefixed)}")
    assert new == ""
    assert "Bob runs a bakery." in quoted


@pytest.mark.parametrize(
    "header",
    [h for c, _, h, p in HEADERS if p],
    ids=[f"{c}-{lang}" for c, lang, _, p in HEADERS if p],
)
def test_bottom_posted_reply(header: str) -> None:
    """A reply written below a ">"-quote is new text; the attribution and quote are quoted."""
    body = f"{header}\n> {OLD}\n\n{NEW}\n"
    new, quoted = split_reply(body)
    assert new == NEW
    assert OLD in quoted


def test_interleaved_reply() -> None:
    """Answers interleaved between quoted lines are all kept as new text, in order."""
    body = ("On 02/03/2026 10:00, Kathy Lee wrote:\n> Can you meet Tuesday?\n\nYes, Tuesday works.\n\n"
            "> Or Wednesday?\n\nWednesday too.\n")
    new, quoted = split_reply(body)
    assert new == "Yes, Tuesday works.\n\nWednesday too."
    assert quoted.splitlines()[-1] == "Or Wednesday?"


def test_nested_quotes_unquoted_fully() -> None:
    """Nested ">> " levels are stripped from the quoted text."""
    _, quoted = split_reply("ok\n\n> > > deep\n>> deeper")
    assert quoted == "deep\ndeeper"


@pytest.mark.parametrize(
    ("signature", "kept"),
    [
        ("-- \nBob Baker\nCEO, Bakery", "Bob"),
        ("Sent from my iPhone", "Bob"),
        ("Von meinem iPhone gesendet", "Bob"),
        ("Envoyé de mon iPhone", "Bob"),
        ("Enviado desde mi iPhone", "Bob"),
        ("Get Outlook for iOS", "Bob"),
    ],
)
def test_signature_removed(signature: str, kept: str) -> None:
    """The RFC 3676 "-- " delimiter and mobile one-liners end the new text; the sign-off stays."""
    new, _ = split_reply(f"{NEW}\n\n{kept}\n\n{signature}\n")
    assert new == f"{NEW}\n\n{kept}"


def test_thanks_line_is_not_a_signature() -> None:
    """A thank-you line in the middle of the text is not mistaken for a signature (unlike the library)."""
    text = "Hi Kathy,\nThanks, this is great!\n- I'll email Bob today\n- and cc you\n\nBest,\nAnn"
    new, quoted = split_reply(text)
    assert new == text
    assert quoted == ""


def test_plain_text_without_quotes() -> None:
    """Text without any quote markers comes back whole with an empty quoted part."""
    assert split_reply("Hello\r\nworld\r\n") == ("Hello\nworld", "")


def test_wrote_in_prose_is_not_a_header() -> None:
    """A sentence mentioning what someone wrote: is not taken for a quote header."""
    text = "Here is what Bob wrote:\nHe loves sourdough."
    assert split_reply(text) == (text, "")


def test_long_line_is_fast() -> None:
    """A hostile 20,000-character line starting with "On " does not stall the parser."""
    new, _ = split_reply("On " + "x " * 10_000 + "\nhello")
    assert new.endswith("hello")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_never_raises(text: str) -> None:
    """Any text splits into two strings without raising."""
    new, quoted = split_reply(text)
    assert isinstance(new, str)
    assert isinstance(quoted, str)
