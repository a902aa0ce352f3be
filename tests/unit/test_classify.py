"""The explainable rules: every label with positive and negative cases, modifiers, context and the prefilter."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from introd.classify import Label, classify, prefilter
from introd.message import Address, Message

USER = Address("Steven Jones", "steven@jonesre.com")
KATHY = Address("Kathy Park", "kathy@parkcoaching.com")
MARY = Address("Mary Smith", "mary@notarealcompany.com")
BOSS = Address("Ann Boss", "ann@jonesre.com")
ME = frozenset({USER.email})
WHEN = datetime(2024, 2, 5, 9, 0, tzinfo=timezone.utc)

KATHY_INTRO = """Hi Steven,
Hope your week's going well! I'd recently mentioned connecting you with a broker in the office furniture
industry, and I'm pleased to introduce you to Mary Smith, owner of Not A Real Company, LLC.

Hi Mary,
Great catching up with you recently. I'm happy to introduce you to Steven Jones, an account manager in
commercial real estate.

Hope this connection is beneficial to you both.
Kathy"""
OPTIN_ASK = "Hi Steven, would you be open to an intro to Mary Smith? She brokers office furniture."


def msg(text: str, *, subject: str = "Hello", sender: Address = KATHY, to: tuple[Address, ...] = (USER,),
        cc: tuple[Address, ...] = (), quoted: str = "", reply: bool = False, automated: tuple[str, ...] = (),
        relayed_by: str | None = None, mid: str = "m1@test") -> Message:
    """A parsed message built by hand (the parser is not needed for rules)."""
    return Message(
        message_id=mid, subject=("Re: " + subject) if reply else subject, date=WHEN, sender=sender, to=to, cc=cc,
        in_reply_to=("parent@test",) if reply else (), automated=automated, relayed_by=relayed_by,
        has_body=True, new_text=text, quoted_text=quoted,
    )


def label(m: Message) -> Label:
    return classify(m, ME).label


# -- intro ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    KATHY_INTRO,
    "I'd like to introduce you to Mary Smith, who runs a furniture brokerage.",
    "Steven, meet Mary. Mary, meet Steven. You two should talk.",
    "Connecting you two as promised: Mary is the broker I mentioned.",
    "Putting you in touch since you both work on office fit-outs.",
    "Mary <> Steven: you both asked me about commercial furniture.",
    "Hallo zusammen, ich möchte euch gerne einander vorstellen.",
    "Bonjour à tous, je vous présente Mary, courtière en mobilier.",
    "Hola a los dos, os presento a Mary, que trabaja en mobiliario.",
    "Ich würde euch gern miteinander bekannt machen.",
    "Je me permets de vous mettre en contact.",
    "Me encantaría poneros en contacto.",
])
def test_intro_phrases_are_intro(text: str) -> None:
    """Introduction phrasings in English, German, French and Spanish are labelled intro."""
    assert label(msg(text, to=(USER, MARY))) is Label.INTRO


def test_intro_by_structure_greets_each_party() -> None:
    """Two addressed people greeted in turn, each paragraph naming the other, make an intro without keywords."""
    text = ("Hi Steven,\nMary runs the best furniture brokerage in town.\n\n"
            "Hi Mary,\nSteven knows every landlord downtown.\n\nKathy")
    c = classify(msg(text, to=(USER, MARY)), ME)
    assert c.label is Label.INTRO
    assert any(e.rule == "intro.greets_each_party" for e in c.evidence)


def test_intro_subject_pair_counts_only_for_new_threads() -> None:
    """'Intro: Mary & Steven' as a subject is an intro, but a reply with that subject is not by itself."""
    assert label(msg("See below.", subject="Intro: Mary & Steven", to=(USER, MARY))) is Label.INTRO
    assert label(msg("See below.", subject="Intro: Mary & Steven", to=(USER, MARY), reply=True)) is Label.NOT_INTRO


@pytest.mark.parametrize(("text", "subject"), [
    ("We're excited to introduce our new dashboard. Meet the new analytics!", "Introducing our new product"),
    ("Please read the introduction to the travel policy before Friday.", "Introduction to the travel policy"),
    ("Module 1: An introduction to Python. Meet your instructor on Monday.", "Course: Introduction"),
    ("We need to meet the deadline, so please connect the VPN before the call.", "Deadline"),
    ("Can you connect to the staging server and meet with QA about the release?", "Release"),
    ("Let me introduce myself: I run a small bakery downtown.", "Hello"),
])
def test_intro_hard_negatives(text: str, subject: str) -> None:
    """Product launches, course or policy introductions and other senses of meet/connect are not_intro."""
    assert label(msg(text, subject=subject, sender=BOSS)) is Label.NOT_INTRO


@pytest.mark.parametrize(("text", "markers"), [
    ("I'm pleased to introduce you to our new CFO, Mary Smith.", ("list-id",)),
    ("Meet Mary, our newest team member!", ("noreply-sender",)),
    ("Intro call: Mary <> Steven. Join Zoom meeting.", ("calendar",)),
])
def test_automated_mail_is_never_intro(text: str, markers: tuple[str, ...]) -> None:
    """Mail with an automated marker is not_intro whatever it says."""
    c = classify(msg(text, automated=markers, to=(USER, MARY)), ME)
    assert c.label is Label.NOT_INTRO
    assert c.evidence[0].rule == "automated"


@pytest.mark.parametrize("text", [
    "I am out of the office until Monday with limited access to email. For urgent matters meet Ann.",
    "Thank you for your order. Order number 12345. Meet our new range of chairs!",
    "You are receiving this because you subscribed. Unsubscribe here. I'd like to introduce you to our team.",
])
def test_out_of_office_receipts_and_newsletters_are_not_intro(text: str) -> None:
    """Auto-replies, receipts and newsletters that slipped past the markers are vetoed by hard-negative rules."""
    assert label(msg(text, to=(USER, MARY))) is Label.NOT_INTRO


# -- opt-in ask and answers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    OPTIN_ASK,
    "Happy to connect you with Mary if you're interested.",
    "Mind if I introduce you to Mary Smith? I think you'd get along.",
    "Would you be interested in meeting Mary? She is looking for landlords.",
    "Can I introduce you to a furniture broker I trust?",
])
def test_optin_ask(text: str) -> None:
    """Asking one person whether they are open to an intro is optin_ask, not intro."""
    assert label(msg(text, sender=KATHY, to=(USER,))) is Label.OPTIN_ASK


@pytest.mark.parametrize("text", [
    "Sure, happy to meet her. Go ahead and connect us.",
    "Yes please, go ahead and connect us!",
    "Absolutely, feel free to share my email.",
])
def test_optin_yes_answers_an_ask(text: str) -> None:
    """A yes below a quoted opt-in ask is optin_yes."""
    assert label(msg(text, sender=USER, to=(KATHY,), quoted=OPTIN_ASK, reply=True)) is Label.OPTIN_YES


@pytest.mark.parametrize("text", [
    "Thanks Kathy, but I'll pass for now.",
    "Not a good time, I'm afraid - no bandwidth until June.",
    "I'm too swamped right now, sorry.",
])
def test_optin_no_answers_an_ask(text: str) -> None:
    """A no below a quoted opt-in ask is optin_no."""
    assert label(msg(text, sender=USER, to=(KATHY,), quoted=OPTIN_ASK, reply=True)) is Label.OPTIN_NO


def test_opt_in_answers_need_an_ask() -> None:
    """'Sure, happy to help' or 'I'll pass' with no intro context anywhere is ordinary mail."""
    assert label(msg("Sure, happy to help with the budget.", sender=BOSS, reply=True)) is Label.NOT_INTRO
    assert label(msg("I'll pass on the offsite this year.", sender=BOSS, reply=True)) is Label.NOT_INTRO


def test_yes_below_a_quoted_intro_is_not_an_optin_answer() -> None:
    """'Happy to meet' answering the intro itself is scheduling, not an opt-in answer."""
    c = classify(msg("Happy to meet, Mary. Are you free Tuesday at 10?", sender=USER, to=(MARY,),
                     quoted=KATHY_INTRO, reply=True), ME)
    assert c.label is Label.SCHEDULING
    assert Label.OPTIN_YES not in c.also


# -- requests ------------------------------------------------------------------------------------------------------

def test_blanket_request_from_seed_003() -> None:
    """'May I introduce myself to any of your contacts about my services? If so, whom?' is a blanket request."""
    text = ("May I introduce myself to any of your 232 LinkedIn contacts about my services?  If so, whom?  "
            "Let me know at your convenience.")
    c = classify(msg(text, sender=MARY), ME)
    assert c.label is Label.BLANKET_REQUEST
    assert c.salesy > 0


def test_generic_network_ask_for_services_is_blanket() -> None:
    """Asking for anyone in the recipient's network who might need the sender's services is a blanket request."""
    text = "Do you know anyone in your network who might need our services? Our agency does great work."
    assert label(msg(text, sender=MARY)) is Label.BLANKET_REQUEST


@pytest.mark.parametrize("text", [
    "Could you please refer me to Mr. Jones at BigChemicalCompany?  I have applied today online to a Manager, "
    "Technology Transfer position with that company.",
    "Would you forward this note to NewPerson? NewPerson, I am looking to network with business development "
    "professionals in the St. Louis area. Would like to try and meet sometime.",
    "Would you be willing to introduce me to your contact at Acme Logistics?",
    "Do you know anyone at the city planning office? I'd appreciate an introduction.",
])
def test_intro_request(text: str) -> None:
    """Asking for an intro or referral to a specific person or kind of person is intro_request."""
    assert label(msg(text, sender=MARY)) is Label.INTRO_REQUEST


def test_forward_request_without_networking_is_not_intro() -> None:
    """'Could you forward this to accounting?' in ordinary work mail is not an intro request."""
    assert label(msg("Could you forward this to Finance? The invoice total is wrong.", sender=BOSS)) \
        is Label.NOT_INTRO


# -- in-thread labels ----------------------------------------------------------------------------------------------

def test_steven_reply_from_seed_000_is_scheduling_and_thanks() -> None:
    """Steven's warm reply thanks Kathy and proposes to meet: scheduling first, thanks also."""
    text = ("Kathy, what a wonderful introduction. Thank you very much.\n"
            "Mary, it's wonderful to meet you. It would be great to meet with you sometime. I'll be at the "
            "Commercial Real Estate conference in February (Arizona).")
    c = classify(msg(text, sender=USER, to=(MARY,), cc=(KATHY,), quoted=KATHY_INTRO, reply=True), ME)
    assert c.label is Label.SCHEDULING
    assert Label.THANKS in c.also


def test_mary_reply_from_seed_000_switches_channel() -> None:
    """Mary's curt reply says she struggles with LinkedIn messaging: channel_switch is among its labels."""
    text = ("Thank you, Kathy.\nSteven, I'm not very good at the messaging system for LinkedIn! "
            "Do you happen to have a connection for office renovation? Thanks, Mary")
    c = classify(msg(text, sender=MARY, to=(USER,), quoted=KATHY_INTRO, reply=True, relayed_by="linkedin"), ME)
    assert Label.CHANNEL_SWITCH in c.labels
    assert c.relayed


@pytest.mark.parametrize("text", [
    "I'm not good with LinkedIn messages, can we move this to email?",
    "Can we take this conversation off LinkedIn? Easier to reach me by phone: 555 0100.",
])
def test_channel_switch(text: str) -> None:
    """Asking to move channels inside an intro conversation is channel_switch."""
    assert label(msg(text, sender=MARY, quoted=KATHY_INTRO, reply=True)) is Label.CHANNEL_SWITCH


def test_channel_words_without_context_are_not_intro() -> None:
    """'Can we move this to email?' from a colleague with no intro around is ordinary mail."""
    assert label(msg("Can we move this to email? Slack is noisy.", sender=BOSS, reply=True)) is Label.NOT_INTRO


@pytest.mark.parametrize("text", ["Sounds good, Tuesday works.", "Are you free Thursday at 3pm for a coffee?"])
def test_short_scheduling_reply_in_intro_thread(text: str) -> None:
    """A short scheduling reply below a quoted intro is scheduling."""
    assert label(msg(text, sender=MARY, quoted=KATHY_INTRO, reply=True)) is Label.SCHEDULING


def test_scheduling_without_context_is_not_intro() -> None:
    """'Are you free Tuesday at 10?' about the budget review is not intro-related."""
    assert label(msg("Are you free Tuesday at 10 for the budget review?", sender=BOSS)) is Label.NOT_INTRO


def test_short_thanks_is_intro_related_only_with_quoted_intro() -> None:
    """'Thanks Kathy!' below a quoted intro is thanks; the same words alone are not_intro."""
    assert label(msg("Thanks Kathy!", sender=MARY, quoted=KATHY_INTRO, reply=True)) is Label.THANKS
    assert label(msg("Thanks Kathy!", sender=MARY, reply=True, subject="Lunch")) is Label.NOT_INTRO


def test_thanks_for_the_intro_needs_no_quote() -> None:
    """'Thanks for the intro, moving you to bcc' mentions the intro itself, so it is thanks without a quote."""
    assert label(msg("Thanks for the intro, Kathy (moving you to bcc).", sender=MARY)) is Label.THANKS


# -- modifiers ----------------------------------------------------------------------------------------------------

def test_salesy_followup_scores_high() -> None:
    """A pitch after an intro (services, pricing, demo, book a call with our team) scores salesy above 0.5."""
    text = ("Kathy introduced us last week. Our services help companies like yours grow revenue. Book a call with "
            "our team for a free demo and our pricing sheet.")
    c = classify(msg(text, sender=MARY, subject="Following up"), ME)
    assert c.salesy > 0.5
    assert c.intro_related


def test_networking_reply_is_not_salesy() -> None:
    """A warm, curious reply scores zero on salesy."""
    assert classify(msg("Lovely to meet you, Mary! How did you get into furniture?", sender=USER,
                        quoted=KATHY_INTRO, reply=True), ME).salesy == 0.0


def test_relayed_flag_and_evidence() -> None:
    """A relayed message is marked relayed and explains why."""
    c = classify(msg(OPTIN_ASK, relayed_by="linkedin", automated=("noreply-sender",)), ME)
    assert c.relayed
    assert c.label is Label.OPTIN_ASK
    assert any(e.rule == "relayed" for e in c.evidence)


def test_evidence_is_trimmed_and_names_rules() -> None:
    """Each evidence item names its rule and carries at most ~120 characters of the matched text."""
    c = classify(msg(KATHY_INTRO * 5, to=(USER, MARY)), ME)
    assert c.evidence
    assert all(len(e.text) <= 120 and e.rule for e in c.evidence)


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_classify_never_raises(text: str) -> None:
    """Any text classifies without error into a label of the enum."""
    assert classify(msg(text, quoted=text), ME).label in Label


# -- prefilter -----------------------------------------------------------------------------------------------------

def header(subject: str, sender: Address, to: tuple[Address, ...], cc: tuple[Address, ...] = (),
           automated: tuple[str, ...] = (), relayed_by: str | None = None, reply: bool = False) -> Message:
    return Message(message_id="h@test", subject=subject, date=WHEN, sender=sender, to=to, cc=cc,
                   in_reply_to=("p@test",) if reply else (), automated=automated, relayed_by=relayed_by)


@pytest.mark.parametrize("m", [
    header("Intro: Mary <> Steven", KATHY, (USER, MARY)),
    header("Quick intro", KATHY, (USER,)),
    header("Mary / Steven", KATHY, (USER, MARY)),  # shape: three organisations
    header("Hello", KATHY, (MARY,), cc=(USER,)),  # the user as bystander
    header("New message", Address("Mary via LinkedIn", "messages-noreply@linkedin.com"), (USER,),
           automated=("noreply-sender",), relayed_by="linkedin"),
    header("Ich möchte euch vorstellen", KATHY, (USER,)),
    header("Je vous présente Mary", KATHY, (USER,)),
    header("Referral request", MARY, (USER,)),
    header("Catching up", USER, (KATHY,)),  # the user starting a thread with someone outside: maybe an opt-in ask
    header("Following up", USER, (KATHY, MARY)),
])
def test_prefilter_passes_possible_intros(m: Message) -> None:
    """Intro subjects, three-organisation shapes, relayed messages and the user's outreach pass."""
    assert prefilter(m, ME)


@pytest.mark.parametrize("m", [
    header("Weekly digest", Address("News", "news@list.example"), (USER,), automated=("list-id",)),
    header("Introducing our new product", Address("Shop", "noreply@shop.example"), (USER,),
           automated=("noreply-sender",)),
    header("Budget", BOSS, (USER,)),
    header("Re: Budget", USER, (BOSS,), reply=True),
    header("Standup notes", BOSS, (USER, Address("Bo", "bo@jonesre.com"))),
    header("Re: contract", USER, (KATHY,), reply=True),
    header("All hands", BOSS, (*(Address(f"P{i}", f"p{i}@x{i}.com") for i in range(8)), USER)),
])
def test_prefilter_skips_ordinary_mail(m: Message) -> None:
    """Lists, colleagues, replies to one person and big group mails do not pass the prefilter."""
    assert not prefilter(m, ME)


def _synthetic_mailbox(n: int) -> list[Message]:
    """A rough everyday mix: mostly colleagues, lists and 1:1 replies; a few intros."""
    colleagues = [Address(f"C{i}", f"c{i}@jonesre.com") for i in range(20)]
    outside = [Address(f"O{i}", f"o{i}@client{i}.com") for i in range(20)]
    subjects = ["Budget", "Re: Q3 plan", "Lunch?", "Your invoice", "Weekly digest", "Re: contract", "Notes",
                "Re: Re: lease", "Site visit", "Update"]
    out = []
    for i in range(n):
        kind = i % 50
        if kind == 0:
            out.append(header("Intro: O1 <> Steven", outside[1], (USER, outside[2])))
        elif kind < 25:
            out.append(header(subjects[i % 10], colleagues[i % 20], (USER,), cc=(colleagues[(i + 1) % 20],)))
        elif kind < 35:
            out.append(header(subjects[i % 10], Address("List", "list@news.example"), (USER,),
                              automated=("list-id",)))
        elif kind < 45:
            out.append(header("Re: " + subjects[i % 10], outside[i % 20], (USER,), reply=True))
        else:
            out.append(header("Re: " + subjects[i % 10], USER, (outside[i % 20],), reply=True))
    return out


def test_prefilter_pass_rate_on_an_everyday_mix() -> None:
    """On an everyday mix the prefilter passes well under 10% of messages (its speed: bench/classify.py)."""
    box = _synthetic_mailbox(20_000)
    passed = sum(prefilter(m, ME) for m in box)
    assert passed / len(box) < 0.05


# PREFILTER_SUBJECT as first written, with \b before each word alternative: the reference for the faster forms.
ORIGINAL_PREFILTER_SUBJECT = (
    r"\bintro|<\s*-?\s*>|↔|\bmeet\b|\bmeeting\s+(?-i:[A-Z][\w'’-]+)"
    r"|\bconnect(?:ing|ion)?\b|\breferr?(?:al|ed|ing)?\b"
    r"|\brefer\b|\bvorstell|\bbekannt|\bkennenlernen|\bprésent|\bpresentaci[oó]n|\bpresento\b|\bin\s+touch\b"
    r"|\bnetworking\b|\bfavou?r\b|\bput\s+you\b|\bmise\s+en\s+relation|\bcontacto\b"
)
_SUBJECT_WORDS = ["intro", "Intro:", "INTRODUCTION", "reintroduce", "meet", "Meet", "meeting", "Meeting", "Anna",
                  "anna", "meetings", "connect", "connecting", "connection", "connected", "reconnect", "refer",
                  "referral", "referred", "referring", "referrer", "vorstellen", "Bekanntschaft", "kennenlernen",
                  "présente", "presentación", "PRESENTACION", "presento", "presentation", "in touch", "in", "touch",
                  "networking", "network", "favor", "favour", "favors", "put you", "put", "you", "mise en relation",
                  "contacto", "contact", "<>", "< - >", "<", ">", "-", "↔", "ıntro", "İNTRO", "networ\u212aing",
                  "preſento", "Re:", "Fwd:", ",", "_intro", "2intro", "x", "ça", "Grüße", "\t", "\n"]


@pytest.mark.parametrize("subject", [
    "Intro: Mary <> Steven", "meeting Anna", "meeting anna", "Re: Notes from the meeting review", "Meetings",
    "reconnect", "in  touch", "ıntro", "İNTRO", "networ\u212aing", "Grüße, mise en relation", "PRESENTACIÓN",
    "↔", "< - >", "Budget", "", "favour?", "2intro", "introduction_", "Weekly digest",
])
def test_prefilter_subject_screen_never_hides_a_match(subject: str) -> None:
    """The literal screen and the factored regex agree with the original pattern, ASCII or not."""
    import re

    from introd import classify as c

    original = re.compile(ORIGINAL_PREFILTER_SUBJECT, re.IGNORECASE)
    assert c._prefilter_subject(subject) == (original.search(subject) is not None)
    found, expected = c.PREFILTER_SUBJECT.search(subject), original.search(subject)
    assert (found and found.span()) == (expected and expected.span())


@given(st.lists(st.sampled_from(_SUBJECT_WORDS), max_size=8), st.sampled_from([" ", "", "-", ": "]))
@settings(max_examples=400, deadline=None)
def test_generated_subjects_prefilter_like_the_original_pattern(words: list[str], sep: str) -> None:
    """On generated subjects the screen and the factored regex find what the original pattern finds."""
    import re

    from introd import classify as c

    subject = sep.join(words)
    original = re.compile(ORIGINAL_PREFILTER_SUBJECT, re.IGNORECASE)
    expected = original.search(subject)
    assert c._prefilter_subject(subject) == (expected is not None)
    found = c.PREFILTER_SUBJECT.search(subject)
    assert (found and found.span()) == (expected and expected.span())


def test_prefilter_user_organisations_follow_the_address_set() -> None:
    """The cached organisations belong to the address set passed in: another user's set gives its own answer."""
    outreach = header("Catching up", USER, (KATHY,))
    assert prefilter(outreach, ME)
    assert not prefilter(outreach, frozenset({USER.email, "coach@parkcoaching.com"}))  # Kathy is a colleague
    assert prefilter(outreach, ME)


# -- the speed tricks never change a result ---------------------------------------------------------------------------

_WORDS = ["I'd", "like", "to", "introduce", "you", "Mary", "meet", "Steven", "connect", "connecting", "two", "both",
          "would", "be", "open", "an", "intro", "if", "interested", "?", "could", "refer", "me", "us", "forward",
          "this", "note", "network", "pass", "not", "a", "good", "time", "sure", "happy", "go", "ahead", "move",
          "email", "LinkedIn", "free", "Tuesday", "at", "10am", "thanks", "for", "the", "wonderful", "our", "services",
          "pricing", "demo", "book", "call", "with", "team", "<>", "any", "of", "your", "contacts", "whom", "so",
          ",", ".", "\n", "vorstellen", "euch", "möchte", "je", "vous", "présente", "os", "presento", "in", "touch",
          "put", "putting", "office", "order", "unsubscribe", "bcc", "moving", "introduced", "us", "mutual",
          "leave", "let", "say", "no", "ja", "gerne", "stell", "uns", "vor", "wenn", "wem", "easiest", "text",
          "WhatsApp", "check", "barely", "lunch", "Friday", "minutes", "when", "suit", "Dienstag", "um", "Uhr",
          "mardi", "10h", "convient", "llamada", "a las", "te", "presente", "ponga", "contacto", "Dr."]


@given(st.lists(st.sampled_from(_WORDS), max_size=40))
@settings(max_examples=300, deadline=None)
def test_gates_and_boundary_stripping_do_not_change_matches(words: list[str]) -> None:
    """Every rule finds the same first match as its original IGNORECASE pattern on the raw text, gates or not."""
    import re

    from introd import classify as c

    text = " ".join(words)
    t = c._Text.of(text)
    tables = (c.INTRO_RULES, c.INTRO_PARTY_RULES, c.OPTIN_ASK_RULES, c.OPTIN_NO_RULES, c.OPTIN_YES_RULES,
              c.BLANKET_RULES, c.INTRO_REQUEST_RULES, c.CHANNEL_RULES, c.SCHEDULING_RULES, c.THANKS_INTRO_RULES,
              c.SALESY_RULES, c.CONTEXT_RULES, c.HARD_NEGATIVE_RULES)
    for table in tables:
        for (name, pattern), fast in zip(table, c._compile(table), strict=True):
            slow = re.compile(pattern, re.IGNORECASE | re.MULTILINE).search(text)
            got = fast.search(t) if fast.is_open(t) else None
            assert (got is None) == (slow is None), name
            if got and slow:
                assert got.span() == slow.span(), name


# -- structure: who the message is addressed to --------------------------------------------------------------------

COLLEAGUE = Address("Bo Lund", "bo@jonesre.com")
NAOMI = Address("Naomi Clarke", "naomi@clarke-photo.com")
INTRO_QUOTE = "On Mon, Kathy wrote:\nSteven, Mary - delighted to introduce you two. Mary brokers furniture."
ASK_QUOTE = "On Mon, Kathy wrote:\nSteven, would you like me to introduce you to Mary Smith? She brokers furniture."


@pytest.mark.parametrize("text", [
    "I'd love to introduce you to Acme Scheduler, the calendar tool for busy teams.",
    "Ich möchte Ihnen kurz unser Unternehmen vorstellen.",
    "Je me permets de vous présenter Routix, notre logiciel de tournées.",
])
def test_intro_phrase_to_a_single_recipient_is_not_an_intro(text: str) -> None:
    """An intro phrase in mail to one person (a pitch) does not make an intro: an intro addresses its parties."""
    assert label(msg(text, to=(USER,))) is Label.NOT_INTRO


@pytest.mark.parametrize("text", [
    "Je vous présente le compte rendu de la réunion de lundi.",
    "Os presento el presupuesto revisado para la obra.",
])
def test_presenting_a_document_is_not_an_intro(text: str) -> None:
    """"Je vous présente le ..." / "os presento el ..." present a thing, not a person, even to two people."""
    assert label(msg(text, to=(USER, MARY))) is Label.NOT_INTRO


def test_angle_pair_needs_a_person_on_the_message() -> None:
    """"Billing <> CRM" pairs systems; "Mary <> Steven" pairs people who are on the message."""
    assert label(msg("Notes from the Billing <> CRM call are in the doc.", to=(USER, MARY))) is Label.NOT_INTRO
    assert label(msg("Mary <> Steven, over to you.", to=(USER, MARY))) is Label.INTRO


def test_hand_off_phrases_make_an_intro_only_across_organisations() -> None:
    """"Glad to connect you ... I'll let you two take it from here" is an intro when the parties are outsiders."""
    text = "Glad to connect you. Naomi photographs food; Steven sells shop space.\nI'll let you two take it from here."
    assert label(msg(text, to=(USER, NAOMI))) is Label.INTRO
    assert label(msg("I'll leave it to you two to settle the rota.", sender=BOSS, to=(USER, COLLEAGUE))) \
        is Label.NOT_INTRO


def test_thanking_for_an_intro_does_not_make_one() -> None:
    """A sentence that thanks for the "mise en relation" is thanks, not a new intro."""
    c = classify(msg("Merci beaucoup pour la mise en relation, Kathy !", sender=MARY, to=(USER, KATHY),
                     quoted=INTRO_QUOTE, reply=True), ME)
    assert c.label is Label.THANKS


# -- opt-in asks and answers, more languages --------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "¿Te parecería bien que te ponga en contacto con Mary Smith? Vende mobiliario de oficina.",
    "¿Estarías abierto a que te presente a Mary? Creo que os entenderíais.",
    "Serais-tu d'accord pour que je te mette en contact avec Mary ?",
    "Mary asked me for an introduction to you last week. Would you be open to that?",
])
def test_optin_ask_more_phrasings(text: str) -> None:
    """Spanish subjunctive asks, French "d'accord pour que" and "open to that?" after an intro mention ask first."""
    assert label(msg(text)) is Label.OPTIN_ASK


def test_one_recipient_ask_is_not_an_intro_even_with_you_two() -> None:
    """An ask to one person that adds "I think you two would get on" stays an opt-in ask."""
    text = "Would you be open to me introducing you to Mary? I think you two would get on."
    assert label(msg(text)) is Label.OPTIN_ASK


def test_asking_to_be_introduced_in_a_question_is_a_request_not_an_ask() -> None:
    """"Könntest du mich mit Dr. Meier bekannt machen?" asks for an intro for oneself (titles do not end it)."""
    assert label(msg("Könntest du mich mit Dr. Meier von der Stadt bekannt machen?", sender=MARY)) \
        is Label.INTRO_REQUEST


@pytest.mark.parametrize("text", [
    "Kathy - yes please, go ahead.",
    "Hola Kathy:\n\n¡Claro! Preséntanos cuando quieras.",
    "Hallo Kathy,\n\nja gerne, stell uns einfach vor.",
    "Happy to be connected, thanks.",
])
def test_optin_yes_after_a_salutation_or_in_other_languages(text: str) -> None:
    """A yes after "Name -" or "Hola Name:", or in German/Spanish, answers a quoted ask."""
    assert label(msg(text, sender=MARY, to=(KATHY,), quoted=ASK_QUOTE, reply=True)) is Label.OPTIN_YES


def test_nearest_quoted_message_decides_whether_a_yes_answers_an_ask() -> None:
    """Below a quoted intro (the nearest quoted message) a "sure" is not an opt-in answer, even if an ask is older."""
    quoted = INTRO_QUOTE + "\n\n" + ASK_QUOTE
    c = classify(msg("Sure, happy to help.", sender=MARY, to=(USER, KATHY), quoted=quoted, reply=True), ME)
    assert c.label is not Label.OPTIN_YES
    assert c.has_context


@pytest.mark.parametrize("text", [
    "I'm going to have to say no this time, sorry.",
    "Ich muss leider passen, ich habe keine Kapazitäten.",
    "Je préfère ne pas donner suite pour le moment.",
    "Ahora mismo no tengo disponibilidad, lo siento.",
])
def test_optin_no_more_phrasings(text: str) -> None:
    """"Say no", "muss passen", "ne pas donner suite" and "no tengo disponibilidad" decline an ask."""
    assert label(msg(text, sender=MARY, to=(KATHY,), quoted=ASK_QUOTE, reply=True)) is Label.OPTIN_NO


# -- requests ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Dürfte ich mich bei einigen Ihrer Kunden mit meinem Angebot melden? Wenn ja, bei wem?",
    "¿Podría presentarme a algunos de sus clientes para ofrecer nuestros servicios? Si es así, ¿a quiénes?",
    "Pourriez-vous parler de moi à quelques-uns de vos clients ? Peu importe qui.",
])
def test_blanket_request_in_other_languages(text: str) -> None:
    """"Wenn ja, bei wem?", "si es así, ¿a quiénes?" and "peu importe qui" ask for the network at large."""
    assert label(msg(text, sender=MARY)) is Label.BLANKET_REQUEST


@pytest.mark.parametrize("text", [
    "Would you be comfortable introducing me to your CFO?",
    "¿Me podrías poner en contacto con la directora de compras?",
    "Just checking whether an introduction to Mary would still be possible.",
])
def test_intro_request_more_phrasings(text: str) -> None:
    """"Comfortable introducing me", "¿me podrías poner en contacto?" and "would an intro be possible" request."""
    assert label(msg(text, sender=MARY)) is Label.INTRO_REQUEST


def test_refer_me_to_a_document_is_not_a_request() -> None:
    """"Could you refer me to the section on fees?" asks for a document, not a person."""
    assert label(msg("Could you refer me to the section on late fees in the lease?", sender=BOSS)) \
        is Label.NOT_INTRO


# -- channel switch and scheduling inside an intro thread -----------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Texting is far easier for me: 555-0100.",
    "I hardly ever check email these days, sorry.",
    "Let's switch to WhatsApp, it's quicker.",
    "I'll message you on Signal tonight.",
    "Am besten erreichen Sie mich telefonisch.",
    "Mejor llámame al móvil.",
])
def test_channel_switch_more_phrasings(text: str) -> None:
    """Preferring another channel, rarely checking email, or moving to WhatsApp/Signal switch channel."""
    assert label(msg(text, sender=MARY, to=(USER, KATHY), quoted=INTRO_QUOTE, reply=True)) is Label.CHANNEL_SWITCH


@pytest.mark.parametrize("text", [
    "Could we do breakfast next Friday?",
    "Do you have 20 minutes later this week?",
    "When would suit you for a chat?",
    "Donnerstag um 9 Uhr passt mir.",
    "Jeudi 14h me convient très bien.",
    "¿Te va bien el martes a las 10?",
])
def test_scheduling_more_phrasings(text: str) -> None:
    """Meals, minutes, "when would suit" and German/French/Spanish day-and-time replies are scheduling."""
    assert label(msg(text, sender=MARY, to=(USER, KATHY), quoted=INTRO_QUOTE, reply=True)) is Label.SCHEDULING


# -- thanks and subject context ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Thanks for the intro call yesterday. Our proposal and pricing are below.",
    "Thanks for connecting the dots on the Q2 numbers.",
    "As a thank-you, we're introducing free delivery for members.",
])
def test_thanks_for_other_things_is_not_intro(text: str) -> None:
    """Thanks for an intro *call*, for connecting the dots, or a thank-you next to "introducing" is not thanks."""
    assert label(msg(text, sender=BOSS)) is Label.NOT_INTRO


def test_german_thanks_for_the_introduction() -> None:
    """"Vielen Dank für die Vorstellung" thanks for the intro."""
    assert label(msg("Vielen Dank für die Vorstellung!", sender=MARY, to=(KATHY,), quoted=INTRO_QUOTE,
                     reply=True)) is Label.THANKS


def test_subject_context_needs_two_organisations() -> None:
    """A colleague's "Re: intro deck" reply that fixes a time is work mail, not an intro thread."""
    c = msg("Let's meet at 5pm to go through it.", subject="Intro deck for Vidal", sender=COLLEAGUE, reply=True)
    assert label(c) is Label.NOT_INTRO


def test_meet_subject_needs_a_person_on_the_message() -> None:
    """"Meet Pepper" (a new puppy) to neighbours is not an intro subject; names of the parties in a pair are."""
    assert label(msg("Come say hi on Sunday at 2pm!", subject="Meet Pepper", to=(USER, MARY), reply=True)) \
        is Label.NOT_INTRO
    c = msg("Easiest is to text me: 555-0100.", subject="Steven (Jones RE) / Naomi (Clarke Photo)", sender=NAOMI,
            to=(USER,), cc=(KATHY,), reply=True)
    assert label(c) is Label.CHANNEL_SWITCH


def test_prefilter_passes_new_one_to_one_threads_from_outside() -> None:
    """A new 1:1 thread from an outsider with a bland subject passes; a colleague's or a reply does not."""
    assert prefilter(header("Quick question", KATHY, (USER,)), ME)
    assert not prefilter(header("Quick question", BOSS, (USER,)), ME)
    assert not prefilter(header("Re: Quick question", KATHY, (USER,), reply=True), ME)
    assert not prefilter(header("Quick question", KATHY, (USER,), cc=(BOSS,)), ME)


# -- generalisation: phrase families without the usual keywords ------------------------------------------------

PRIYA = Address("Priya Shah", "priya@shah-logistics.com")
SAM = Address("Sam Okafor", "sam@acme-fulfilment.com")
RAJ = Address("Raj Malhotra", "raj@malhotra-capital.com")
WEAK_ASK_QUOTE = "On Mon, Kathy wrote:\n> Would it be useful to talk to Marco Ruiz? He buys for a grocery chain."


@pytest.mark.parametrize("text", [
    "Would it be useful to talk to Marco Ruiz? He bought baked goods for a grocery chain for years.",
    "Would you like to meet Priya Nair? She produces animated explainers.",
    "Are you interested in meeting Omar Haddad, or is this a busy month?",
    "Shall I put you two in touch? Tom runs a test lab.",
    "Hättest du Lust, Jonas Weber kennenzulernen? Er baut eine Rösterei auf.",
    "Soll ich dich mit Jonas vernetzen?",
    "Ça t'intéresserait d'échanger avec Claire Dubois ?",
    "Veux-tu que je te présente Claire ? Elle exporte au Japon.",
    "¿Te interesaría hablar con Lucía Moreno? Dirige un estudio de packaging.",
    "¿Quieres que te presente a Lucía?",
])
def test_optin_asks_without_introduce(text: str) -> None:
    """Asks that offer a named person without the word "introduce", in four languages, are optin_ask."""
    assert label(msg(text)) is Label.OPTIN_ASK


def test_weak_ask_between_colleagues_is_work() -> None:
    """"Would you like to talk to Marcus in IT?" between colleagues of one company is not an opt-in ask."""
    assert label(msg("Would you like to talk to Marcus in IT about the laptop?", sender=BOSS)) is Label.NOT_INTRO


@pytest.mark.parametrize("text", [
    "Hätten Sie Interesse an einem kurzen Austausch, wie unsere Software Ihnen hilft?",
    "Happy to connect you with our solutions team if you're interested.",
    "Would you be interested in a quick demo of our platform?",
    "Si te interesa, te pongo en contacto con nuestro equipo comercial.",
    "Seriez-vous intéressé par une démonstration de notre solution ?",
])
def test_vendor_pitches_are_not_optin_asks(text: str) -> None:
    """A vendor offering its own team, product or demo pitches; it does not ask first about a person."""
    assert label(msg(text, sender=Address("Tara Singh", "tara@stackbase.com"))) is Label.NOT_INTRO


@pytest.mark.parametrize("text", [
    "Absolutely, loop us in!",
    "Avec plaisir, merci !",
    "Claro que sí, encantada.",
    "Gern, stell uns vor!",
    "That would be great, thanks.",
    "I'd love to meet him.",
])
def test_short_optin_yes_in_four_languages(text: str) -> None:
    """Short yeses below a quoted ask that never said "introduce" are optin_yes."""
    assert label(msg(text, sender=USER, to=(KATHY,), quoted=WEAK_ASK_QUOTE, reply=True)) is Label.OPTIN_YES


def test_optin_yes_below_an_outlook_style_quote() -> None:
    """An Outlook-style quote (From/Sent/To/Subject, no ">" markers) still gives the ask as context."""
    quoted = ("From: Kathy Park <kathy@parkcoaching.com>\nSent: Monday, March 2, 2026 10:00 AM\nTo: Steven\n"
              "Subject: Marco\n\nWould you like to meet Marco Ruiz? He buys for a grocery chain.")
    assert label(msg("Sure thing, happy to.", sender=USER, to=(KATHY,), quoted=quoted, reply=True)) \
        is Label.OPTIN_YES


@pytest.mark.parametrize("text", [
    "Thanks, but it's not for me right now.",
    "Nein danke, eher nicht.",
    "Non merci, pas pour le moment.",
    "No, gracias, de momento no.",
])
def test_optin_no_more_families(text: str) -> None:
    """"Not for me", "eher nicht", "pas pour le moment" and "de momento no" decline an ask."""
    assert label(msg(text, sender=USER, to=(KATHY,), quoted=WEAK_ASK_QUOTE, reply=True)) is Label.OPTIN_NO


def test_yes_to_a_scheduling_message_is_not_an_optin_answer() -> None:
    """"Perfecto, el jueves" below a quoted scheduling message answers that message, not an ask."""
    quoted = "El lun, Rubén escribió:\n> Irene, ¿te viene bien el jueves por la tarde?"
    c = classify(msg("Perfecto, el jueves a las 17:00.", sender=MARY, to=(USER,), cc=(KATHY,), quoted=quoted,
                     reply=True, subject="Rubén y Irene"), ME)
    assert Label.OPTIN_YES not in c.labels


@pytest.mark.parametrize("text", [
    "Adding Sam, who runs ops at Acme Fulfilment.\nSam, Priya is the founder I mentioned.",
    "Sam, this is Priya - she ships furniture across the EU.",
    "Sam, say hi to Priya! She ships furniture across the EU.",
])
def test_keyword_free_intros_across_organisations(text: str) -> None:
    """Intros without "introduce"/"meet" (adding X, who...; this is X; say hi to X) count across organisations."""
    assert label(msg(text, sender=RAJ, to=(PRIYA,), cc=(SAM,))) is Label.INTRO


@pytest.mark.parametrize("text", [
    "Adding Bo from finance, who can answer the budget question.",
    "Team, this is Mia, our new designer. Say hi to Mia on Monday!",
])
def test_keyword_free_intro_phrases_inside_one_company_are_not_intros(text: str) -> None:
    """Looping in a colleague or welcoming a new hire inside one company is work mail."""
    assert label(msg(text, sender=BOSS, to=(USER, COLLEAGUE))) is Label.NOT_INTRO


def test_say_hi_for_me_is_a_greeting() -> None:
    """"Say hi to Mum for me" passes on greetings; it introduces nobody."""
    friends = (Address("Ian Lowe", "ian.lowe@gmail.com"), Address("Amy Lowe", "amy.lowe@gmail.com"))
    assert label(msg("Say hi to Mum for me!", sender=Address("Tess", "tess@gmail.com"), to=friends)) \
        is Label.NOT_INTRO


@pytest.mark.parametrize("text", [
    "I'd like to introduce a change to the release process.",
    "Je vous présente aujourd'hui le bilan du trimestre.",
    "J'ai le plaisir de vous présenter ci-joint le rapport annuel.",
    "Les presento a continuación el informe anual.",
    "Morgen stelle ich euch die neue Roadmap vor.",
    "Notes from the Marketing <> Sales sync are in the doc.",
])
def test_presenting_things_and_team_pairs_are_not_intros(text: str) -> None:
    """Introducing a change, presenting a report or roadmap, or pairing two teams with "<>" is not an intro."""
    assert label(msg(text, sender=BOSS, to=(USER, COLLEAGUE))) is Label.NOT_INTRO


@pytest.mark.parametrize("text", [
    "I'm around Thursday afternoon if that suits.",
    "I'm free any morning next week.",
    "Je suis dispo mardi en fin de journée.",
    "¿Te viene bien el jueves?",
    "Ich wäre nächste Woche Dienstag oder Mittwoch frei.",
])
def test_scheduling_without_the_usual_keywords(text: str) -> None:
    """Availability statements in four languages are scheduling inside an intro thread."""
    assert label(msg(text, sender=MARY, to=(USER, KATHY), quoted=INTRO_QUOTE, reply=True)) is Label.SCHEDULING


@pytest.mark.parametrize("text", [
    "Could we just talk by phone instead? I'm on site all week.",
    "Rather than emailing back and forth, can I call you?",
    "Können wir lieber telefonieren statt per Mail?",
    "On pourrait plutôt s'appeler ?",
])
def test_channel_switch_instead_of_email(text: str) -> None:
    """Asking to talk by phone instead of email is channel_switch, not scheduling."""
    assert label(msg(text, sender=MARY, to=(USER, KATHY), quoted=INTRO_QUOTE, reply=True)) is Label.CHANNEL_SWITCH


@pytest.mark.parametrize("text", [
    "Pourrais-tu me mettre en relation avec ton contact à la mairie ?",
    "Peux-tu me présenter à la directrice des achats ?",
    "¿Podrías ponerme en contacto con la responsable de compras?",
    "¿Conoces a alguien en Supermercados Brisa?",
    "Kennst du jemanden bei der Stadtverwaltung?",
    "Any chance you could introduce me to your CFO?",
])
def test_intro_requests_more_languages(text: str) -> None:
    """Requests to be put in touch, in French, Spanish, German and English, are intro_request."""
    assert label(msg(text, sender=MARY)) is Label.INTRO_REQUEST


def test_blanket_request_anyone_in_your_network() -> None:
    """"Anyone in your network who might need a bookkeeper ... my services" asks for the network at large."""
    text = "Is there anyone in your network who might need a bookkeeper? My services start at a flat monthly fee."
    assert label(msg(text, sender=MARY)) is Label.BLANKET_REQUEST
