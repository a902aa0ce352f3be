"""Explainable rules: a Message in, a label with the rules that fired and their evidence out.

Every rule is a named, precompiled regex (or a small structural check) that votes for one label; the primary
label is the first voted label in ``Label`` order.  Labels that only make sense inside an intro conversation
(opt-in answers, scheduling, thanks, channel switches) need *context*: the quoted intro below a reply, an
intro subject, a relayed message, or an intro phrase in the message itself.  The rules are written from
docs/intro-model.md and the etiquette articles, never tuned on single corpus files.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from introd.message import Address, Message


class Label(str, enum.Enum):
    """Primary label of one message; earlier members win when several rules fire."""

    INTRO = "intro"
    OPTIN_ASK = "optin_ask"
    OPTIN_NO = "optin_no"
    OPTIN_YES = "optin_yes"
    BLANKET_REQUEST = "blanket_request"
    INTRO_REQUEST = "intro_request"
    CHANNEL_SWITCH = "channel_switch"
    SCHEDULING = "scheduling"
    THANKS = "thanks"
    NOT_INTRO = "not_intro"


@dataclass(frozen=True)
class Evidence:
    """One rule that fired and the text that made it fire."""

    rule: str
    label: Label | None  # the label the rule votes for; None for modifiers (salesy, relayed, automated)
    text: str


@dataclass(frozen=True)
class Classification:
    """The decision for one message: primary label, secondary labels, scores and evidence."""

    message_id: str
    label: Label
    also: tuple[Label, ...] = ()
    salesy: float = 0.0  # 0..1, outreach that pitches (pricing, demo, discount)
    relayed: bool = False  # a LinkedIn-style notification relaying a person's message
    evidence: tuple[Evidence, ...] = ()

    @property
    def intro_related(self) -> bool:
        """True for every label but not_intro."""
        return self.label is not Label.NOT_INTRO

    @property
    def labels(self) -> frozenset[Label]:
        """The primary label and every label in ``also``."""
        return frozenset((self.label, *self.also))

    @property
    def has_context(self) -> bool:
        """True when a context rule fired (quoted intro, intro subject, mention of an earlier intro)."""
        return any(e.rule.startswith(CONTEXT_PREFIX) for e in self.evidence)


CONTEXT_PREFIX = "context."
SNIPPET = 120
MAX_TEXT = 3000  # an intro, ask or reply is short; a 200 kB newsletter must not cost 200 kB of regex work
MAX_QUOTED = 2500  # the nearest quoted messages are at the top of the quote; older history adds little
SALESY_THRESHOLD = 0.5

_I = re.IGNORECASE | re.MULTILINE
NAME = r"(?-i:[A-Z][\w'’-]+)"  # a capitalised word, whatever the surrounding flags
_WEEKDAYS = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_NOT_A_NAME = (
    r"(?!(?:" + _WEEKDAYS + r"|January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Today|Tomorrow|Me|Us|Up|Zoom|Teams|The|Our|Your|This|That|Deadline|Everyone|All|Team|Hi|Hello"
    r"|Folks|Guys|Thanks|Mum|Mom|Dad|Grandma|Grandpa|Grandad|Granny|Nan)\b)"
)
# What an intro verb presents: a person (a capitalised name, "mon ami", "a Laura"), never "le bilan" or "el informe".
# (Negative lookaheads on determiners, so that the rules keep running on the lower-cased text.)
_PERSON_FR = (r"(?!(?:(?:ci-joint|ci-dessous|ci-après|aujourd'hui|brièvement|rapidement|ici|donc|enfin|maintenant)\s+)?"
              r"(?:(?:le|la|les|un|une|des|du|notre|nos|votre|vos|ce|cet|cette|ces|nouveau|nouvelle)\b|l'|(?:mon|ma|mes)\s+"
              r"(?!(?:amie?|collègue|associée?|contact|cliente?|partenaire)s?\b)))")
_PERSON_ES = (r"(?!(?:(?:hoy|aquí|brevemente|adjunto|adjunta)\s+)?(?:(?:el|la|los|las|un|una|unos|unas|nuestr\w*"
              r"|este|esta"
              r"|estos|estas|su|sus|nuevo|nueva)\b|mis?\s+(?!(?:amig|coleg|soci|contact|client)\w*)|a\s+continuación))")
# German: "ich stelle euch die Zahlen vor" presents a thing; a person follows without an article.
_NO_THING_DE = r"(?:(?!\b(?:die|das|den|dem|der|des|ein|eine|einen|unser\w*|kurz\s+unser\w*)\b)[^.!?\n])"

def _merged(*rules: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """The table with same-named entries joined into one rule (alternatives of one regex, at the first entry).

    Related phrasings are written apart for readability but run as one rule: every rule costs a gate check and
    a search per text, so fewer, larger rules are faster than many small ones.
    """
    joined: dict[str, list[str]] = {}
    for name, pattern in rules:
        joined.setdefault(name, []).append(pattern)
    return tuple((name, "|".join(patterns)) for name, patterns in joined.items())


# ----------------------------------------------------------------------------------------------------
# Rule tables: (name, pattern), searched in the author's own words unless the table says otherwise.

INTRO_RULES: tuple[tuple[str, str], ...] = _merged(
    ("intro.introduce_you",
     r"\bintroduc(?:e|ing)\s+(?:you(?:\s+(?:both|two|all))?\s+(?:to|and)\b(?!\s+(?:our|the\s+(?:new|latest))\b)"
     r"|y'?all\b|both\s+of\s+you|the\s+two\s+of\s+you|you\s+(?:both|two)\b|each\s+other\b"
     r"|" + _NOT_A_NAME + NAME + r"(?:\s+" + NAME + r")?\s+(?:to|and)\s+(?:you|" + NAME + r")"
     r"|my\s+(?:good\s+)?(?:friend|colleague|client|former\s+colleague|contact)\b)"),
    ("intro.pleased_to_introduce",
     r"\b(?:(?:like|love|want(?:ed)?|happy|pleased|glad|delighted|excited|thrilled|honou?red|allow\s+me)\s+to"
     r"|let\s+me)\s+introduce\s+(?!myself|ourselves|our\b|my\s+(?:company|business|services|firm|agency|team)\b"
     r"|the\s+(?:new|latest)\b|a\s+new\b|you\s+to\s+(?:our|my|the)\b)"
     r"(?!(?:a|an|some|any|this|that|these|those|new|more|changes?|several|improvements?|process|processes|(?:the|our)\s+"
     r"(?!two\b))\b)"),
    ("intro.meet_name",
     r"(?:^|[.!:;]\s+|\b(?:like\s+you\s+to|want\s+you\s+to|you\s+should|you\s+(?:two|both)\s+should|please)\s+)"
     r"meet\s+(?:my\s+(?:friend|colleague|client)\s+)?" + _NOT_A_NAME + NAME),
    ("intro.name_meet_name", NAME + r"\s*[,–—-]\s*meet\s+" + _NOT_A_NAME + NAME),
    ("intro.angle_pair", r"\w\s*<\s*-?\s*>\s*\w"),
    ("intro.connecting_you",
     r"\bconnect(?:ing)?\s+(?:you\s+(?:two|both|all)\b|the\s+two\s+of\s+you|you\s+(?:with|to|and)\s+"
     + _NOT_A_NAME + NAME + r")"),
    ("intro.in_touch",
     r"\b(?:put(?:ting)?|get(?:ting)?)\s+(?:you(?:\s+(?:two|both|all))?|the\s+two\s+of\s+you)\s+in\s+(?:touch|contact)\b(?!\s+with\s+(?:our|the|a|an)\s+(?:\w+\s+)?(?:team|department|support|desk|group"
     r"|office|specialists?|experts?|account)\b)"),
    # "Sam, this is Priya", "Sam - Priya is the founder I mentioned", "Sam, say hi to Priya": a keyword-free
    # intro.  Weak on its own, so it counts only when the parties are outside the sender's organisation.
    ("intro.this_is_name",
     r"^[ \t]*" + _NOT_A_NAME + NAME + r"\s*[,:–—-]+\s*(?:this\s+is|say\s+(?:hi|hello)\s+to|das\s+ist|voici|este\s+es"
     r"|esta\s+es|je\s+te\s+présente)\s+" + NAME),
    ("intro.keyword_free", r"\b(?:say|wave)\s+(?:hi|hello)\s+to\s+" + _NOT_A_NAME + NAME + r"(?!\s+for\s+me\b)"),
    ("intro.keyword_free",
     r"\bis\s+the\s+(?:[\w-]+\s+){0,3}?(?:i|we)(?:'ve|\s+have)?\s+(?:mentioned|told\s+you\s+about|was\s+telling\s+you\s+about"
     r"|spoke\s+(?:to\s+you\s+)?(?:about|of))\b"),
    ("intro.should_know",
     r"\byou\s+(?:two|both)\s+(?:should|must|need\s+to)\s+(?:meet|talk|connect|know\s+each\s+other|chat)"
     r"|\b(?:thought|think)\s+you\s+(?:two|both)\s+(?:should|would|might)"),
    ("intro.de",
     r"\b(?:möchte|will|darf\s+ich|würde)\b[^.!?\n]{0,60}\b(?:euch|Ihnen|dir|einander)\b" + _NO_THING_DE + r"{0,60}"
     r"\bvor(?:zu)?stellen\b|\bstelle\s+(?:euch|Ihnen|dir)\b" + _NO_THING_DE + r"{0,80}\bvor\b"
     r"|\bbekannt\s+(?:zu\s+)?machen\b|\b(?:miteinander\s+)?in\s+(?:Kontakt|Verbindung)\s+(?:zu\s+)?bringen\b"
     r"|\bmiteinander\s+vernetzen\b"),
    ("intro.fr",
     r"\bje\s+(?:vous|te)\s+présente\s+" + _PERSON_FR + r"|\b(?:de|à)\s+(?:vous|te)\s+présenter\s+" + _PERSON_FR +
     r"|\b(?:vous\s+)?mettre\s+en\s+(?:contact|relation)\b|\bmise\s+en\s+relation\b"
     r"|\b(?:vous|te)\s+met(?:s|te|tre|tions)\s+en\s+(?:contact|relation)\b"),
    ("intro.es",
     r"\b(?:os|les|te)\s+present(?:o|e|ara|ase)(?:\s*[.:!,;]|\s+" + _PERSON_ES + r")" +
     r"|\bponer(?:os|les|te)\s+en\s+contacto\b|\b(?:os|les|te)\s+pong(?:o|a|amos)\s+en\s+contacto\b"
     r"|\bpresentar(?:os|les|te)\b(?!\s+(?:nuestr|mi\s+empresa|el|la|los|las|un|una|este|esta|a\s+continuación)\b)"
     r"|\bconectar(?:os|les)\b"),
    ("intro.it_pt",
     r"\bvi\s+presento\b|\bmetter(?:vi|la|lo)\s+in\s+contatto\b|\bapresent(?:o|ar)[-\s]?(?:vos|vocês|lhes)\b"
     r"|\bcolocar\s+vocês\s+em\s+contato\b"),
)

# Weaker intro phrases: they make an intro only when the message is addressed to two or more people from
# different organisations (the parties), since "I'll leave it to you two" is also ordinary team mail.
INTRO_PARTY_RULES: tuple[tuple[str, str], ...] = (
    ("intro.hand_off",
     r"\b(?:I'?ll|I\s+will|I'?m\s+going\s+to)\s+(?:let\s+you(?:\s+(?:two|both|all))?\s+(?:take\s+it\s+from\s+here"
     r"|take\s+over|carry\s+on|connect|find\s+a\s+time)|leave\s+(?:it\s+(?:to|with)\s+you|you\s+(?:two|both|all)"
     r"\s+to\s+it|the\s+rest\s+to\s+you))"
     r"|\bje\s+vous\s+laisse\s+(?:prendre\s+contact|échanger|poursuivre|organiser|en\s+discuter)"
     r"|\bos\s+dejo\s+(?:para\s+que|que\s+(?:habléis|habl|os\s+pongáis))"
     r"|\b(?:ich\s+)?überlasse\s+(?:ich\s+)?(?:euch|Ihnen)\s+(?:den\s+Rest|das\s+Weitere|alles\s+Weitere)"),
    ("intro.connect_you",
     r"\b(?:happy|glad|pleased|delighted|great|excited)\s+to\s+(?:connect|link\s+up)\s+you\b"
     r"(?!\s+(?:to|with)\s+(?:our|my|the|a|an)\b)"),
    # "Adding Sam, who runs ops at Acme", "cc'ing Priya (founder of X)": bringing a described person into the
    # thread.  Counts only when the named person is on the message and the parties are outside the sender's org.
    ("intro.looping_in",
     r"(?:^|[.!;:—–-]\s*|\b(?:am|I'?m)\s+)(?:adding|cc'?(?:ing|'ing)|cc-ing|copying|looping\s+in|bringing\s+in|including"
     r"|ich\s+nehme|je\s+mets\s+en\s+copie|j'ajoute|añado\s+a|pongo\s+en\s+copia\s+a)\s+(?:in\s+)?(?:my\s+(?:friend"
     r"|contact)\s+)?(" + _NOT_A_NAME + NAME + r")(?:\s+" + NAME + r")?(?:\s*\([^)\n]{0,60}\))?\s*(?:[,—–(-]|\s(?:here"
     r"|who|from|at|of|as|in\s+(?:Kopie|cc)))"),
)
WEAK_ASKS = frozenset({"optin_ask.talk_to"})
# Intro rules that count only when the parties are outside the sender's organisation.
CROSS_ORG_INTRO = frozenset({"intro.this_is_name", "intro.keyword_free", "intro.looping_in"})

# A sentence with an intro phrase and one of these is an offer to introduce, not the introduction.
CONDITIONAL = re.compile(
    r"\?|\bif\s+(?:you(?:'re|\s+are|'d|\s+would)?\s+(?:be\s+)?(?:interested|open|keen|up\s+for|like|want|think))"
    r"|\bif\s+(?:that(?:'s|\s+is|\s+would|\s+works)|this\s+(?:would|works|is)|it\s+(?:would|helps|works))"
    r"|\bwould\s+you\b|\bare\s+you\s+(?:open|interested|up\s+for)|\bmind\s+if\b|\bshall\s+I\b"
    r"|\b(?:can|could|may)\s+I\b|\bwant\s+me\s+to\b|\blet\s+me\s+know\s+if\b"
    r"|\bsi\s+(?:tu\s+(?:veux|le\s+souhaites|es\s+(?:partant|d'accord|intéress))|vous\s+(?:voulez|le\s+souhaitez"
    r"|êtes\s+(?:partant|d'accord|intéress))|(?:ça|cela)\s+(?:t'|vous\s+)(?:intéresse|dit|tente|va))"
    r"|\b(?:wenn|falls)\s+(?:du|Sie|ihr|es\s+(?:dich|Sie|euch)|dich|Sie)\b[^.!?\n]{0,30}\b(?:möchtest|möchten|magst|mögen"
    r"|willst|wollen|Interesse|interessiert|Lust|passt)"
    r"|\bsi\s+(?:quieres|queréis|quiere|te\s+(?:interesa|parece|apetece|viene\s+bien)|le\s+(?:interesa|parece)"
    r"|os\s+(?:interesa|parece))",
    _I,
)

# Who an opt-in ask offers: a named person, "my friend", "someone who ...".  The rule runs on the lower-cased text;
# classify checks that a bare word at the end of the match is capitalised (a name) in the author's text.
_SOMEONE = (r"(?:(?:my|a)\s+(?:good\s+|old\s+)?(?:friend|colleague|contact|former\s+\w+|mentor|buddy)\b|someone\b"
            r"|somebody\b|an?\s+\w+\s+(?:who|at|from)\b|" + _NOT_A_NAME + r"[^\W\d_][\w'’-]+)")
_SOMEONE_WORDS = frozenset({"friend", "colleague", "contact", "mentor", "buddy", "someone", "somebody", "who", "at",
                            "from"})
_LAST_WORD = re.compile(r"[\w'’-]+$")
# A vendor's "happy to connect you with our solutions team" or "Interesse an einer Demo unserer Software?" pitches.
PITCH = re.compile(
    r"\b(?:our|unser\w*|notre|nos|nuestr[oa]s?)\s+(?:[\w-]+\s+){0,2}?(?:team|solutions?|products?|services|experts?"
    r"|specialists?|sales|platform|software|tool|offer\w*|consultants?|account|engineers|Lösung\w*|Produkt\w*|Angebot\w*"
    r"|Experten|Plattform|Vertrieb\w*|Berater\w*|équipe|produits?|offres?|plateforme|equipo|soluci[oó]n\w*|productos?"
    r"|expertos|plataforma|servicios)\b|\bdemo\b|\bfree\s+trial\b|\bunverbindlich\w*",
    _I,
)

OPTIN_ASK_RULES: tuple[tuple[str, str], ...] = (
    ("optin_ask.open_to",
     r"\b(?:would|will|are)\s+you\s+be\s+(?:open|interested|up|willing|keen|happy)\b[^.?!\n]{0,80}"
     r"\b(?:(?:intro|introduc|connect)\w*\b(?!\s+(?:me|us)\b)|meet|in\s+touch"
     r"|(?:speak|talk|chat)(?:ing)?\s+(?:with|to)\s+" + NAME + r")"
     r"|\bare\s+you\s+(?:open|interested|up\s+for)\b[^.?!\n]{0,60}\b(?:intro|introduc|connect|meet)"),
    ("optin_ask.mind_if",
     r"\b(?:mind|ok(?:ay)?|alright|all\s+right)\s+if\s+I\s+(?:introduce|connect|put\s+you|make\s+(?:an|the)\s+"
     r"intro|share\s+your|pass\s+(?:along\s+)?your|loop\s+you)"),
    ("optin_ask.may_i",
     r"\b(?:can|could|may|shall|should)\s+I\s+(?:introduce|connect)\s+you\b|\bwant\s+me\s+to\s+"
     r"(?:introduce|connect)\s+you\b|\b(?:interested\s+in|open\s+to|up\s+for)\s+an?\s+(?:intro|introduction)\b"),
    ("optin_ask.conditional_offer",
     r"\b(?:happy|glad|love|delighted|willing)\s+to\s+(?:connect|introduce|put)\s+you\b[^.?!\n]{0,100}"
     r"\bif\s+(?:you(?:'re|\s+are|'d|\s+would|\s+think|\s+want)|that|this|it)\b"),
    ("optin_ask.open_to_that",
     r"\b(?:intro(?:duction)?|introduc\w*|connect\w*|in\s+touch)\b[^?]{0,200}?\b(?:would|are)\s+you\s+(?:be\s+)?"
     r"(?:open|interested|up|ok(?:ay)?|happy)\s+(?:to|for|in|with)\s+(?:that|this|it)\b"),
    ("optin_ask.de",
     r"\b(?:hättest|hätten|wärst|wären|hast|habt)\s+(?:du|Sie|ihr)\b[^.?!\n]{0,60}\b(?:Interesse|offen|Lust|interessiert)\b"
     r"(?:[^.?!\n]|(?<=Dr)\.|(?<=Prof)\.|(?<=Fr)\.|(?<=Hr)\.){0,80}?(?:kennen\s*(?:zu\s*)?lernen|vorstell|vorgestellt|kontakt|vernetz|verbind|bekannt|austausch"
     r"|sprechen|reden|treffen|unterhalten|kennenlernen)"
     r"|\b(?:möchtest|möchten|magst|mögen|willst|würdest|würden)\s+(?:du|Sie|ihr)\b[^.?!\n]{0,60}"
     r"\bkennen\s*(?:zu\s*)?lernen\b"
     r"|\b(?:soll|darf|kann)\s+ich\s+(?:euch|dich|Sie|Ihnen|dir)\b[^.?!\n]{0,60}\b(?:verbinden|vernetzen|bekannt\s+machen"
     r"|vorstellen|in\s+Kontakt\s+bringen|zusammenbringen)\b"
     r"|\bwäre\s+es\s+(?:für\s+(?:dich|Sie|euch)\s+)?(?:interessant|hilfreich|sinnvoll|spannend|nützlich)\b[^.?!\n]{0,60}"
     r"\bmit\b"),
    ("optin_ask.fr",
     r"\bseriez[- ]vous\s+(?:ouvert|intéressé|partant|d'accord)|\bserais[- ]tu\s+(?:ouvert|intéressé|partant"
     r"|d'accord)|\b(?:tu|vous)\s+(?:serais|seriez)\s+(?:ouvert|intéressé|partant|d'accord)"
     r"|\b(?:ça|cela)\s+(?:t'|vous\s+)(?:intéresserait|dirait|plairait|serait\s+utile|intéresse|dit)\b[^.?!\n]{0,60}"
     r"\b(?:échanger|rencontrer|parler|discuter|faire\s+(?:la\s+)?connaissance|être\s+mise?s?\s+en|que\s+je\s+(?:te|vous)\s+"
     r"(?:présente|mette))"
     r"|\b(?:aimerais|aimeriez|voudrais|voudriez|veux|voulez|souhaiterais|souhaiteriez|souhaites|souhaitez)"
     r"[- ](?:tu|vous)"
     r"\s+(?:que\s+je\s+(?:te|vous)\s+(?:présente|mette)|rencontrer|échanger\s+avec|faire\s+la\s+connaissance"
     r"|être\s+mise?s?\s+en|parler\s+(?:avec|à))"),
    ("optin_ask.es",
     r"\b(?:te|le|os|les)\s+(?:interesar[ií]a|interesa|gustar[ií]a|vendr[ií]a\s+bien|parece(?:r[ií]a)?\s+(?:bien|útil))\s+(?:\w+\s+){0,2}?(?:conocer(?:le|la|lo)?\b|hablar\b|charlar\s+con|conversar\s+con"
     r"|reunirte\s+con|tomar\s+un\s+café\s+con|(?:una\s+)?(?:charla|llamada|reunión|conversación)\s+con|que\s+(?:te|le|os|les)"
     r"\s+(?:presente|ponga|pusiera|presentara|conecte))"
     r"|\b(?:quieres|quiere|queréis|quieren)\s+que\s+(?:te|le|os|les)\s+(?:presente|ponga\s+en\s+contacto|conecte)"
     r"|\bestar[ií]a(?:s|is)?\s+(?:abiert|interesad)[oa]s?\b"),
    # Asks that never say "introduce": "would it be useful to talk to Raj?", "interested in meeting Priya?".
    # Weak alone, so they count only across organisations (see classify).
    ("optin_ask.talk_to",
     r"\bwould\s+(?:it|that)\s+be\s+(?:\w+\s+)?(?:useful|helpful|worth(?:while)?|valuable|good|interesting)\s+(?:for\s+you\s+)?"
     r"to\s+(?:talk|speak|chat|connect|meet|get\s+to\s+know)(?:\s+(?:to|with))?\s+" + _SOMEONE
     + r"|\b(?:would|do)\s+you\s+(?:like|want)\s+to\s+(?:meet|talk\s+to|speak\s+(?:to|with)|chat\s+with"
     r"|connect\s+with|get\s+to\s+know|have\s+a\s+(?:chat|call|coffee)\s+with)\s+" + _SOMEONE
     + r"|\b(?:interested\s+in|keen\s+(?:on|to)|open\s+to)\s+(?:meeting|meet|talking\s+(?:to|with)|speaking\s+with"
     r"|chatting\s+with|connecting\s+with|a\s+(?:chat|call|coffee|conversation)\s+with|getting\s+to\s+know)\s+"
     + _SOMEONE
),
)

OPTIN_NO_RULES: tuple[tuple[str, str], ...] = _merged(
    ("optin_no.pass",
     r"\b(?:I'?ll|I\s+will|I'?d\s+(?:rather|better)|going\s+to|have\s+to|must|need\s+to|think\s+I'?ll|gonna)"
     r"\s+(?:have\s+to\s+)?pass\b|\bpass\s+(?:on\s+(?:this|the\s+intro)|for\s+now)\b"),
    ("optin_no.bad_time",
     r"\bnot\s+(?:a\s+(?:good|great)|the\s+right|an?\s+ideal)\s+time\b|\b(?:no|don'?t\s+have\s+(?:the|any)?"
     r"|limited|zero)\s+bandwidth\b|\btoo\s+(?:busy|swamped|stretched|slammed)\b|\bplate\s+is\s+(?:full|too)"),
    ("optin_no.not_interested",
     r"\b(?:not|n't)\s+(?:really\s+)?(?:interested|looking\s+(?:to|for)|taking\s+(?:on|new))\b"
     r"|\b(?:would|'d)\s+rather\s+not\b|\bno,?\s+thanks?(?:\s+you)?\b|\bhave\s+to\s+decline\b"
     r"|\b(?:respectfully|politely)\s+decline\b|\bhold\s+off\b|\bnot\s+(?:right\s+)?now\b"),
    ("optin_no.say_no",
     r"\b(?:going\s+to|have\s+to|I'?ll|I\s+will|I'?d|must|need\s+to|gonna)\s+(?:have\s+to\s+)?say\s+no\b"
     r"|\bsay(?:ing)?\s+no\s+(?:to\s+this|on\s+this|for\s+now|this\s+time)\b"),
    ("optin_no.de_fr_es",
     r"\b(?:muss|müssen)\s+(?:ich\s+)?(?:leider\s+)?passen\b|\bkeine\s+(?:freien\s+)?(?:Kapazität\w*|Zeit)\b"
     r"|\b(?:préf[èe]re|vais|dois)\s+(?:ne\s+pas|pas)\s+(?:y\s+)?donner\s+suite\b|\bpas\s+(?:le\s+bon\s+moment"
     r"|disponible)\b|\bje\s+passe\s+mon\s+tour\b"
     r"|\bno\s+tengo\s+(?:tiempo|disponibilidad|capacidad|hueco)\b|\bprefiero\s+no\b|\bahora\s+mismo\s+no\b"),
    ("optin_no.not_for_me",
     r"\bnot\s+(?:for\s+me|(?:the\s+right|a\s+good|a\s+great)\s+fit|at\s+the\s+moment|this\s+time|for\s+now)\b"
     r"|\b(?:I'?ll|I\s+will|going\s+to|gonna|I'?d\s+(?:better|rather))\s+sit\s+(?:this\s+(?:one\s+)?)?out\b"
     r"|\bmaybe\s+(?:later|another\s+time|next\s+(?:quarter|year|month))\b|\bI'?d\s+prefer\s+not\b|\bplease\s+don'?t\b"
     r"|\bI'?m\s+(?:good|all\s+set)\s+for\s+now\b|\bI'?ll\s+(?:have\s+to\s+)?bow\s+out\b"),
    ("optin_no.not_for_me",
     r"\bnein,?\s+danke\b|\beher\s+nicht\b|\b(?:im\s+Moment|derzeit|momentan|aktuell)\s+(?:leider\s+)?nicht\b"
     r"|\bpasst\s+(?:gerade|momentan|aktuell|zurzeit|leider)\s+nicht\b"
     r"|\bnon,?\s+merci\b|\bpas\s+pour\s+(?:moi|l'instant|le\s+moment|maintenant)\b|\bje\s+(?:vais|préfère|dois)\s+décliner"
     r"|\bje\s+ne\s+suis\s+pas\s+(?:intéressée?|preneu(?:r|se))"
     r"|\bno,?\s+gracias\b|\bmejor\s+no\b|\bno\s+es\s+(?:un\s+)?(?:buen|el\s+mejor)\s+momento\b|\b(?:por\s+ahora|de\s+momento"
     r"|en\s+este\s+momento)\s+no\b"),
    ("optin_no.other_lang",
     r"\bleider\s+(?:keine\s+Zeit|nicht)\b|\bkein\s+Interesse\b|\blieber\s+nicht\b|\bpas\s+(?:le\s+temps|intéressé)"
     r"|\bno\s+me\s+interesa\b|\bno\s+tengo\s+tiempo\b"),
)

OPTIN_YES_RULES: tuple[tuple[str, str], ...] = _merged(
    ("optin_yes.opening",
     r"\A\W*(?:(?:hi|hello|hey|dear|hallo|hola|bonjour|salut|liebe[rs]?)\s+)?(?:\w+\s*[,:!.–—-]\s*)?\W*"
     r"(?:oh\s+|well\s+)?(?:sure|yes|yep|yeah|absolutely|of\s+course|definitely|certainly|gladly"
     r"|sounds\s+(?:great|good)|please\s+do|go\s+(?:ahead|for\s+it)|by\s+all\s+means|count\s+me\s+in|I'?m\s+in"
     r"|(?:I'?d|would)\s+love\s+(?:to|that)|I'?d\s+be\s+(?:happy|glad|delighted)|happy\s+to|ja|gerne|sehr\s+gerne"
     r"|avec\s+plaisir|volontiers|oui|bien\s+s[uû]r|con\s+gusto|claro|sí|adelante|por\s+supuesto"
     r"|gern|klar|natürlich|auf\s+jeden\s+Fall|unbedingt|d'accord|ok(?:ay)?|pourquoi\s+pas|ça\s+marche|carrément"
     r"|je\s+veux\s+bien|encantad[oa]|vale|perfecto|genial|desde\s+luego|cómo\s+no|por\s+qué\s+no|for\s+sure"
     r"|totally|why\s+not|great\s+idea|love\s+(?:to|that)|with\s+pleasure|yes\s+please|that\s+would\s+be"
     r"|that'?d\s+be|(?:very\s+)?keen|delighted|thrilled|loop\s+(?:us|me)\s+in)\b"),
    ("optin_yes.happy_to_meet",
     r"\b(?:happy|glad|delighted|love|keen|open)\s+to\s+(?:meet|connect|chat|talk|speak|be\s+introduced"
     r"|be\s+connected|help)\b"),
    ("optin_yes.go_ahead",
     r"\bgo\s+ahead\s+and\s+(?:connect|introduce|make|share)|\bplease\s+(?:connect|introduce)\s+us\b"
     r"|\bfeel\s+free\s+to\s+(?:connect|introduce|share|pass|make|give)"
     r"|(?:^|[.!]\s+)(?:please\s+)?(?:connect|introduce)\s+us\b"),
    ("optin_yes.loop_us_in",
     r"\b(?:loop|put|bring)\s+(?:us|me)\s+(?:in\b|together|in\s+touch)|\b(?:love|welcome|appreciate)\s+(?:an|the)\s+"
     r"(?:intro(?:duction)?|connection)\b|\b(?:intro(?:duction)?|connection)\s+would\s+be\s+(?:great|welcome|helpful|lovely"
     r"|much\s+appreciated)|\bhappy\s+for\s+you\s+to\s+(?:connect|introduce|share|pass|put|loop|make)"
     r"|\b(?:I'?d|I\s+would)\s+(?:love|like|be\s+keen)\s+to\s+(?:meet|talk\s+to|chat\s+with|speak\s+(?:to|with)|connect\s+with"
     r"|get\s+to\s+know|hear\s+from)\b"),
    ("optin_yes.other_lang",
     r"\bstell(?:t|en\s+Sie)?\s+uns\s+(?:\w+\s+){0,2}vor\b|\bpres[eé]nta(?:nos|me)\b|\bponnos\s+en\s+contacto\b"
     r"|\bprésente[sz]?-(?:nous|moi)\b|\bmet(?:s|tez)-nous\s+en\s+(?:contact|relation)\b"
     r"|\b(?:sehr\s+)?gerne?\b[^.!?\n]{0,40}\b(?:kennen\s*(?:zu\s*)?lernen|vorstellen|vernetzen|verbinden|Kontakt)"
     r"|\bfreue\s+mich\b[^.!?\n]{0,40}\b(?:kennen|Kontakt|Austausch|Vorstellung)|\bbring\s+uns\s+(?:\w+\s+)?zusammen"
     r"|\b(?:vernetz|verbind)e?\s+uns\b"
     r"|\bavec\s+plaisir\b|\bvolontiers\b|\bje\s+(?:suis|serais)\s+(?:ravie?|partante?|heureu(?:x|se))\s+(?:de\s+(?:le|la|les)"
     r"\s+(?:rencontrer|connaître)|d'échanger|de\s+faire\s+sa\s+connaissance)"
     r"|\bcon\s+(?:mucho\s+)?gusto\b|\bencantad[oa]\s+de\s+(?:conocer|hablar|charlar)|\bme\s+encantar[ií]a\s+(?:conocer"
     r"|hablar|charlar)|\bponme\s+en\s+contacto|\bclaro\s+que\s+s[ií]\b"),
)

BLANKET_RULES: tuple[tuple[str, str], ...] = (
    ("blanket_request.introduce_myself_to_any",
     r"\bintroduce\s+(?:myself|me|us|ourselves)\s+to\s+(?:any|some|a\s+few|several|all|those|whoever|anyone"
     r"|people)\b"),
    ("blanket_request.if_so_whom",
     r"\bif\s+so,?\s+(?:to\s+)?(?:whom|who)\b|\bwenn\s+ja,?\s+(?:(?:bei|an|mit|zu)\s+)?wem\b"
     r"|\bsi\s+es\s+así,?\s+¿?\s*(?:a|con)\s+qui[eé]n(?:es)?\b|\bsi\s+oui,?\s+(?:à|auprès\s+de)\s+qui\b"
     r"|\bpeu\s+importe\s+qui\b|\bda\s+igual\s+qui[eé]n\b|\begal\s+wer\b"),
)
NETWORK_GENERIC = re.compile(
    r"\b(?:any|some|all)\s+of\s+your\s+(?:\d+\s+)?(?:\w+\s+)?(?:contacts|connections|network|clients|customers"
    r"|colleagues|friends)\b|\b(?:anyone|anybody|someone|people|whoever)\s+(?:in\s+your\s+(?:network|circle"
    r"|contacts)|you\s+know)\b"
    r"|\b(?:einige[nrm]?|manche[nrm]?|ein\s+paar)\s+(?:Ihrer|deiner|eurer)\s+(?:Kontakte|Kunden|Bekannten)"
    r"|\b(?:algun[oa]s|vari[oa]s)\s+de\s+(?:sus|tus)\s+(?:contactos|clientes|conocidos)"
    r"|\b(?:quelques-uns|quelques\s+uns|certains|plusieurs)\s+de\s+(?:vos|tes)\s+(?:contacts|clients|relations)",
    _I,
)
SELF_PROMO = re.compile(
    r"\b(?:my|our)\s+(?:services|products?|solutions?|offerings?|company|business|agency|firm|expertise|platform)\b"
    r"|\bwho\s+(?:might|could|would)\s+(?:need|benefit|be\s+interested|use)"
    r"|\b(?:mein|unser)(?:e|em|en)?\s+(?:Angebot|Leistungen|Dienstleistung\w*|Produkt\w*)\b"
    r"|\bnuestr[oa]s?\s+(?:servicios|productos|seguros|soluciones)\b|\bnos\s+(?:services|produits|formations|offres)\b",
    _I,
)

# "Could you refer me to the clause..." asks for a document, not a person.
_NOT_A_DOCUMENT = (
    r"(?!\s+to\s+(?:the|this|that|these|those|a|an|our|your)\s+(?:\w+\s+)?(?:clause|section|page|paragraph|part"
    r"|doc|docs|document|documentation|link|article|policy|file|chapter|spec|ticket|thread|e-?mail|slide|source"
    r"|wiki|guide|manual|appendix|schedule|contract|form|template|folder|website|site|faq)s?\b)"
)
INTRO_REQUEST_RULES: tuple[tuple[str, str], ...] = _merged(
    ("intro_request.could_you_introduce_me",
     r"\b(?:could|would|can|will)\s+you\s+(?:please\s+|kindly\s+|possibly\s+)?(?:introduce|refer|connect"
     r"|recommend)\s+(?:me|us)\b" + _NOT_A_DOCUMENT),
    ("intro_request.put_me_in_touch",
     r"\b(?:could|would|can)\s+you\s+(?:please\s+|possibly\s+)?put\s+(?:me|us)\s+in\s+touch\b"),
    ("intro_request.willing_to_introduce",
     r"\b(?:would|could)\s+you\s+(?:be\s+(?:willing|able|open|comfortable|happy)(?:\s+to)?|mind)\s+(?:introduc"
     r"|referr?|connect|recommend|putt?)(?:e|ing)?\s+(?:me|us)\b" + _NOT_A_DOCUMENT),
    ("intro_request.forward_note",
     r"\b(?:could|would|can)\s+you\s+(?:please\s+|kindly\s+)?(?:be\s+(?:willing|able)\s+to\s+)?(?:forward|pass"
     r"(?:\s+(?:along|on))?|send)\s+(?:this|the\s+(?:following|note|message|below)|my\s+(?:note|message))"
     r"|\b(?:please|kindly)\s+(?:forward|pass\s+(?:along|on))\s+(?:this|the\s+following|my)\s+"
     r"(?:note|message|blurb|intro)"),
    ("intro_request.looking_for_intro",
     r"\b(?:looking\s+for|hoping\s+(?:for|to\s+get)|(?:would\s+)?appreciate|grateful\s+for|ask\s+(?:you\s+)?for)"
     r"\s+(?:an?\s+|your\s+)?(?:warm\s+)?(?:intro(?:duction)?|referral)\s+to\b"
     r"|\b(?:love|make|do)\s+(?:an|the|a\s+quick)\s+(?:warm\s+)?(?:intro(?:duction)?|referral)\s+to\b(?!\s+(?:you|each\s+other)\b)"),
    ("intro_request.know_anyone",
     r"\b(?:do|would)\s+you\s+(?:happen\s+to\s+)?(?:have|know)\s+(?:a\s+|any\s+)?(?:good\s+)?(?:connection|contact"
     r"|anyone|someone|somebody)\s+(?:for|at|in|who|that|with)\b"),
    ("intro_request.intro_possible",
     r"\b(?:intro(?:duction)?|referral)\s+to\s+" + NAME + r"[^.?!\n]{0,40}?\b(?:(?:would|might|could)\s+(?:still\s+)?be"
     r"|is\s+(?:still\s+)?)\s*(?:possible|doable|feasible|an\s+option)\b"),
    ("intro_request.other_lang",
     r"\bkönnte(?:st|n)?\s+(?:du|Sie)\s+mich\b(?:[^.?!\n]|(?<=Dr)\.|(?<=Prof)\.){0,60}\b(?:vorstellen|empfehlen|vermitteln|bekannt\s+machen"
     r"|in\s+Kontakt\s+bringen|verbinden)"
     r"|\bpourriez[- ]vous\s+me\s+(?:présenter|mettre\s+en)|\b(?:podrías|podría)\s+presentarme\b"
     r"|\b(?:me|nos)\s+(?:l[oa]s?\s+)?(?:podr[ií]as?|puedes|puede)\s+(?:presentar|poner\s+en\s+contacto"
     r"|recomendar)\b|\b(?:podr[ií]as?|puedes|puede)\s+(?:ponerme\s+en\s+contacto|recomendarme)\b"
     r"|\b(?:pourrais|pourriez|peux|pouvez|pourrait)[- ](?:tu|vous)\s+me\s+(?:présenter"
     r"|mettre\s+en\s+(?:contact|relation)"
     r"|recommander|faire\s+(?:rencontrer|connaître))|\b(?:j'aimerais|je\s+voudrais)\s+(?:beaucoup\s+)?"
     r"(?:être\s+mise?\s+en\s+(?:contact|relation)|(?:être\s+)?présentée?\s+à|que\s+tu\s+me\s+(?:présentes|mettes)"
     r"|que\s+vous\s+me\s+(?:présentiez|mettiez))|\b(?:connais|connaîtrais|connaissez|connaîtriez)[- ](?:tu|vous)\s+"
     r"quelqu'un\s+(?:chez|à|qui|dans)"
     r"|\b(?:podr[ií]as?|podéis|puedes|puede)\s+(?:presentarme|conectarme)\b|\b(?:me|nos)\s+(?:podr[ií]as?|puedes|puede)\s+"
     r"conectar\b|\bconoces\s+a\s+alguien\s+(?:en|de|que)\b|\bme\s+(?:encantar[ií]a|gustar[ií]a)\s+que\s+me\s+"
     r"(?:presentaras|presentases|pusieras\s+en\s+contacto)"
     r"|\b(?:kannst|könntest|würdest|können|könnten|würden)\s+(?:du|Sie)\s+mich\b[^.?!\n]{0,60}\b(?:vernetzen"
     r"|weiterempfehlen|zusammenbringen)|\bkennst\s+du\s+jemanden\s+(?:bei|in|der|die|von)\b"),
    ("intro_request.could_you_introduce_me",
     r"\bany\s+chance\s+you\s+(?:could|can|would|might)\s+(?:\w+\s+)?(?:introduce|connect|refer|put)\s+(?:me|us)\b"
     r"|\b(?:could|would|can)\s+you\s+(?:please\s+)?loop\s+(?:me|us)\s+in\s+with\b"),

)
NETWORK_CONTEXT = re.compile(
    r"\bnetwork|\bintroduc|\bmeet\b|\bconnect|\breferr?al|\bcareer|\bopportunit|\bbackground\b|\bposition\b",
    _I,
)

CHANNEL_RULES: tuple[tuple[str, str], ...] = _merged(
    ("channel_switch.move_to",
     r"\b(?:move|take|switch|continue|shift|carry\s+on)\s+(?:this|the\s+conversation|our\s+conversation|things|it"
     r"|the\s+discussion)?\s*(?:conversation\s+)?(?:off\s+(?:of\s+)?(?:LinkedIn|here|this\s+(?:platform|app))"
     r"|(?:over\s+)?(?:to|via|by|on)\s+(?:e-?mail|phone|text|WhatsApp|Signal|a\s+call|my\s+(?:e-?mail|phone)))"),
    ("channel_switch.struggles",
     r"\bnot\s+(?:very\s+|that\s+|too\s+|so\s+|really\s+)?(?:good|great|comfortable|active|used\s+to|familiar)"
     r"\s+(?:with|at|on)\s+(?:the\s+)?(?:LinkedIn|messaging|messages|InMail|this\s+(?:platform|app|system)"
     r"|the\s+messaging)"),
    ("channel_switch.rarely_check",
     r"\b(?:rarely|never|seldom|don'?t\s+(?:often\s+|really\s+)?)\s*(?:check|use|read|look\s+at)\s+(?:my\s+)?"
     r"(?:LinkedIn|messages\s+here|InMail|this\s+inbox|the\s+messaging)"),
    ("channel_switch.reach_me",
     r"\b(?:easier|easiest|best|better|quicker)\s+(?:way\s+)?to\s+(?:reach|contact|get\s+hold\s+of)\s+me\b"
     r"|\b(?:drop|send|shoot)\s+me\s+an?\s+(?:e-?mail|text)\s+(?:at|to)\b"),
    ("channel_switch.prefers",
     r"\b(?:WhatsApp|Signal|Telegram|text(?:ing)?|SMS|(?:the\s+)?phone|calling|a\s+call|e-?mail|LinkedIn)\s+"
     r"(?:is|are|works)\s+(?:much\s+|far\s+|a\s+lot\s+)?(?:easier|better|best|quicker|simpler)\s+for\s+me\b"
     r"|\b(?:easiest|best|simplest|quickest)\s+(?:is|would\s+be|way\s+is)\s+(?:to\s+)?(?:text|call|phone|ring"
     r"|WhatsApp|message|e-?mail)\b"),
    ("channel_switch.bad_with",
     r"\b(?:terrible|bad|hopeless|awful|useless|not\s+great|slow)\s+(?:at|with)\s+(?:keeping\s+up\s+with\s+"
     r"|checking\s+|answering\s+)?(?:e-?mails?|LinkedIn|messages|InMail|(?:my\s+)?inbox)"
     r"|\be-?mail\s+is\s+(?:a\s+black\s+hole|not\s+my\s+thing|hard\s+for\s+me)"
     r"|\b(?:barely|rarely|hardly|never|seldom)\s+(?:ever\s+)?check\s+(?:it|e-?mail|my\s+e-?mail|my\s+inbox"
     r"|LinkedIn|messages)\b"),
    ("channel_switch.use_other",
     r"\blet'?s\s+(?:just\s+)?(?:use|switch\s+to|move\s+to|stick\s+to|continue\s+(?:on|by|via))\s+(?:e-?mail"
     r"|the\s+phone|phone|WhatsApp|Signal|text|Slack)"
     r"|\b(?:message|text|ping|call|write\s+to)\s+you\s+(?:on|via|over|through)\s+(?:WhatsApp|Signal|Telegram|SMS"
     r"|text)\b"),
    ("channel_switch.instead",
     r"\b(?:talk|chat|speak|continue|discuss\s+(?:this|it)|do\s+(?:this|it)|catch\s+up|sort\s+(?:this|it)\s+out)\s+(?:\w+\s+)?"
     r"(?:by|over|on|via)\s+(?:the\s+)?(?:phone|telephone|WhatsApp|Signal|Telegram|text|SMS|e-?mail)\b[^.?!\n]{0,40}"
     r"\b(?:instead|rather)\b"
     r"|\binstead\s+of\s+(?:e-?mail(?:ing)?|LinkedIn|writing|typing|messaging|texting|(?:all\s+)?(?:these|this)\s+(?:e-?mails?"
     r"|messages))|\brather\s+than\s+(?:e-?mail(?:ing)?|LinkedIn|writing|typing|messaging|(?:going\s+)?back\s+and\s+forth)"
     r"|\b(?:statt|anstatt)\s+(?:per\s+|von\s+)?(?:E-?Mails?|Mail|LinkedIn|schreiben|hin\s+und\s+her)"
     r"|\blieber\s+(?:kurz\s+)?(?:telefonieren|anrufen|per\s+WhatsApp)"
     r"|\bplutôt\s+(?:que\s+(?:par\s+)?(?:mail|e-?mail|écrit|LinkedIn)|s'appeler|se\s+téléphoner|au\s+téléphone|par\s+WhatsApp)"
     r"|\bau\s+lieu\s+(?:de\s+s'écrire|des?\s+(?:e-?)?mails?)"
     r"|\ben\s+(?:vez|lugar)\s+de\s+(?:por\s+)?(?:correo|e-?mail|escribir|LinkedIn|mensajes)"),
    ("channel_switch.other_lang",
     r"\b(?:lieber|besser)\s+per\s+(?:E-?Mail|Telefon)\b|\bplutôt\s+par\s+(?:e-?mail|téléphone)"
     r"|\bmejor\s+por\s+(?:correo|teléfono|WhatsApp)"
     r"|\bmit\s+E-?Mails?\s+(?:\w+\s+)?schlecht\b|\bam\s+(?:einfachsten|besten|schnellsten)\s+erreich(?:en|st|t)"
     r"\s+(?:Sie|du|ihr)\s+mich\b"
     r"|\bmejor\s+(?:escr[ií]beme|ll[aá]mame|h[aá]blame)\b|\bcon\s+el\s+correo\s+(?:me\s+pierdo|soy\s+un\s+desastre)"
     r"|\bplus\s+simple\s+(?:de\s+me\s+joindre|par)\b|\bjoignable\s+(?:par|au)\s+téléphone\b"
     r"|\bpas\s+très\s+(?:à\s+l'aise|doué)\s+avec\s+(?:les\s+)?(?:e-?mails?|mails?|LinkedIn)"),
)

SCHEDULING_RULES: tuple[tuple[str, str], ...] = _merged(
    ("scheduling.are_you_free",
     r"\b(?:are|would|will)\s+you\s+be\s+(?:free|available|around)\b|\bare\s+you\s+(?:free|available|around)\b"),
    ("scheduling.day_works",
     r"\b" + _WEEKDAYS + r"\s+(?:at\s+\d|morning|afternoon|evening|works|would\s+work|is\s+(?:good|great|fine"
     r"|perfect))|\b(?:works|work)\s+(?:for|great\s+for|well\s+for)\s+me\b|\bhow\s+(?:about|does)\s+(?:next\s+)?"
     + _WEEKDAYS),
    ("scheduling.see_you",
     r"\bsee\s+you\s+(?:then|there|on\s|next|at\s)|\blooking\s+forward\s+to\s+(?:meeting|our)"),
    ("scheduling.coffee_call",
     r"\b(?:grab|get|have|do|set\s+up|schedule|book|arrange|find)\s+(?:a\s+)?(?:quick\s+|short\s+)?(?:time|coffee"
     r"|lunch|breakfast|drinks?|call|chat|meeting|slot|zoom)\b|\blet'?s\s+(?:meet|talk|chat|find\s+a\s+time"
     r"|grab|get\s+together)\b"),
    ("scheduling.great_to_meet",
     r"\b(?:great|nice|good|love|happy)\s+to\s+(?:meet|connect|chat|catch\s+up)\s+(?:with\s+you\s+)?(?:sometime"
     r"|soon|in\s+person|next\s+week|this\s+week|for\s+(?:coffee|lunch))"),
    ("scheduling.calendar",
     r"\bcalendly\b|\bcal\.com\b|\bmy\s+calendar\b|\bwhat\s+does\s+your\s+(?:week|calendar|schedule)\s+look"),
    ("scheduling.clock_time", r"\d{1,2}(?::\d{2})?\s*(?:am|pm)\b"),
    ("scheduling.short_call",
     r"\b(?:do|would|could)\s+you\s+have\s+(?:\d+|a\s+few|fifteen|twenty|thirty)\s+min(?:ute)?s\b"
     r"|\b(?:\d+|fifteen|twenty|thirty)[- ]min(?:ute)?s?\s+(?:call|chat|coffee|meeting|demo|catch[- ]up|zoom)\b"
     r"|\b(?:a|an)\s+(?:quick|short|brief)\s+(?:call|chat|coffee|meeting|catch[- ]up)\b"
     r"|\b" + _WEEKDAYS + r"\s+(?:lunch|coffee|breakfast|dinner|call)\b|\b(?:lunch|coffee|breakfast|dinner|call)\s+"
     r"(?:works|would\s+work)\b"),
    ("scheduling.when_suits",
     r"\bwhen\s+(?:would|does|is|might)\s+(?:\w+\s+)?(?:suit|work|good|convenient)"
     r"|\bwhat\s+(?:time|day)s?\s+(?:would\s+)?(?:suit|work)"
     r"|\b(?:with|send\s+(?:you|over))\s+(?:some|a\s+few)\s+(?:times|slots|dates)\b"),
    ("scheduling.de",
     r"\b(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)s?\b[^.!?\n]{0,30}\b(?:um\s+\d|vormittag"
     r"|nachmittag|abend|passt|geht)|\b(?:passt|passen)\s+(?:mir|uns|dir|Ihnen)\b|\bZeit\s+für\s+ein(?:en)?\s+"
     r"(?:kurzes\s+|kurzen\s+)?(?:Telefonat|Gespräch|Anruf|Treffen|Kennenlernen|Call)\b|\btelefonieren\b"
     r"|\b(?:Mittag|Abend)essen\b|\bum\s+\d{1,2}(?::\d{2})?\s+Uhr\b"),
    ("scheduling.fr",
     r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b[^.!?\n]{0,40}(?:\b\d{1,2}\s*h|\bmatin|\baprès-midi"
     r"|\bsoir|\bme\s+convient|\bvous\s+convient|\bte\s+convient)"
     r"|\bà\s+(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b|\b(?:me|vous|te)\s+convien(?:t|drait)\b"
     r"|\bun\s+(?:appel|déjeuner|rendez-vous)\b"),
    ("scheduling.es",
     r"\b(?:lunes|martes|miércoles|jueves|viernes|sábado|domingo)\b[^.!?\n]{0,40}\b(?:a\s+las\s+\d|por\s+la\s+"
     r"(?:mañana|tarde)|me\s+va\s+bien|te\s+va\s+bien)|\buna\s+llamada\b|\breuni[oó]n\b|\bquedar\b"
     r"|\b(?:me|te|le|os)\s+va\s+bien\b|\ba\s+las\s+\d{1,2}\b|\bhablar\s+por\s+tel[eé]fono\b"),
    ("scheduling.availability",
     r"\b(?:I'?m|I\s+am|we'?re|we\s+are|I'?ll\s+be|I\s+will\s+be)\s+(?:\w+\s+)?(?:free|around|available|in\s+town|flexible)\s+"
     r"(?:on\s|all\s|most\s|any\s|this\s|next\s|tomorrow|after\s|before\s|from\s|until\s|between\s|later|"
     + _WEEKDAYS + r")"
     r"|\b(?:free|available|around)\s+(?:any|most|all|every)\s+(?:morning|afternoon|evening|day|time)s?\b"
     r"|\b(?:any\s+(?:time|day|morning|afternoon)|anytime)\s+(?:next|this)\s+week\b"
     r"|\b(?:tomorrow|next\s+week|this\s+week|later\s+this\s+week)\s+(?:works|would\s+work|is\s+(?:good|fine|great|open)"
     r"|morning|afternoon)\b|\b(?:how|what)\s+about\s+(?:tomorrow|next\s+week|later\s+this\s+week|early|late|"
     + _WEEKDAYS + r")"
     r"|\b(?:my|our)\s+(?:mornings|afternoons|evenings|calendar|diary)\s+(?:are|is)\s+(?:pretty\s+|fairly\s+|quite\s+)?"
     r"(?:free|open|flexible|clear)\b|\b(?:hop|jump)\s+on\s+a\s+(?:call|zoom|quick\s+call)"),
    ("scheduling.availability_other_lang",
     r"\b(?:montags?|dienstags?|mittwochs?|donnerstags?|freitags?|(?<!guten\s)morgen|übermorgen|nächste\s+Woche|diese\s+Woche"
     r"|vormittags?|nachmittags?)\b[^.!?\n]{0,40}\b(?:frei|Zeit|verfügbar|flexibel|ginge|geht|klappt|könnte\s+ich|kann\s+ich)\b"
     r"|\b(?:frei|Zeit|verfügbar|flexibel)\b[^.!?\n]{0,30}\b(?:montag|dienstag|mittwoch|donnerstag|freitag|morgen|übermorgen"
     r"|nächste\s+Woche|diese\s+Woche|vormittag|nachmittag)"
     r"|\bwie\s+wäre\s+es\s+(?:mit|am)\b|\bwann\s+(?:passt|hast\s+du|haben\s+Sie|hättest|hätten|würde)"),
    ("scheduling.availability_other_lang",
     r"\b(?:je\s+suis|on\s+est|je\s+serai|je\s+serais)\s+(?:\w+\s+)?(?:dispo(?:nible)?s?|libre)\b|\bdispo\b"
     r"|\b(?:lundi|mardi|mercredi|jeudi|vendredi|demain|la\s+semaine\s+prochaine)\b[^.!?\n]{0,30}\b(?:ça\s+(?:te|vous)\s+va"
     r"|ça\s+marche|c'est\s+bon|je\s+peux|libre)\b|\bon\s+(?:se\s+(?:cale|fait|voit|capte|retrouve)|s'appelle)\b"
     r"|\b(?:quand|quel\s+jour|quelle\s+heure)\s+(?:es-tu|êtes-vous|serais-tu|seriez-vous|(?:te|vous)\s+(?:convient|arrange))"
     r"|\b(?:te|vous)\s+arrangerait\b"),
    ("scheduling.availability_other_lang",
     r"\b(?:te|le|os|les|me|nos)\s+(?:viene|vendr[ií]a|ir[ií]a)\s+bien\b|\b(?:estoy|estar[ée]|estar[ií]a)\s+(?:\w+\s+)?"
     r"(?:libre|disponible)\b|\bqué\s+tal\s+(?:el\s+)?(?:lunes|martes|miércoles|jueves|viernes|mañana|la\s+semana)"
     r"|\bcuándo\s+(?:te|le|os)\s+(?:viene|va|vendr)|\bnos\s+(?:vemos|tomamos|llamamos)\b"
     r"|\b(?:hablamos|quedamos)\s+(?:el|mañana|esta|la|este)\b"),
    ("scheduling.other_lang",
     r"\bTermin\b|\b(?:auf\s+einen\s+)?Kaffee\b|\btreffen\b|\bun\s+café\b|\bdisponible\b|\bun\s+caf[eé]\b"),
)

THANKS_INTRO_RULES: tuple[tuple[str, str], ...] = (
    ("thanks.for_intro",
     r"\b(?:thanks?|thank\s+you|grateful|appreciate)\b[^.!?\n]{0,40}\b(?:intro(?:duction)?\b(?!\s+(?:call|meeting"
     r"|session|course|class|workshop|deck|presentation|talk|webinar|video|training)\b|\s+to\s+(?!(?:you|us|me|him"
     r"|her|them|my|your|both)\b)(?-i:[a-z]))|connection\b|connecting\s+(?:us|me|the\s+two|you|with)\b"
     r"|referral|putting\s+us\s+in\s+touch|for\s+introducing\s+(?:us|me|the\s+two|you|" + NAME + r"))"),
    ("thanks.wonderful_intro",
     r"\b(?:wonderful|great|kind|lovely|thoughtful|generous|warm)\s+(?:intro(?:duction)?|connection)\b"),
    ("thanks.to_bcc", r"\b(?:moving|move|moved|moving\s+you|bumping)\s+(?:\w+\s+){0,2}to\s+bcc\b"),
    ("thanks.other_lang",
     r"\bdanke?\b[^.!?\n]{0,40}\b(?:Vorstellung|Kontakt|Verbindung)|\bmerci\b[^.!?\n]{0,40}"
     r"\b(?:mise\s+en\s+relation|présentation)|\bgracias\b[^.!?\n]{0,40}\b(?:presentación|contacto)"),
)
THANKS_GENERIC = re.compile(
    r"\A\W*(?:(?:hi|hey|dear)\s+\w+[,!.]?\s*)?(?:thanks|thank\s+you|many\s+thanks|much\s+appreciated|danke|merci"
    r"|gracias|grazie)\b",
    _I,
)

SALESY_RULES: tuple[tuple[str, str], ...] = (
    ("salesy.pricing", r"\bpric(?:ing|es)\b|\bquote\b|\bpackages?\b|\bper\s+(?:month|seat|user)\b|\$\d"),
    ("salesy.demo", r"\b(?:demo|free\s+trial|trial\s+account|walkthrough)\b"),
    ("salesy.discount", r"\bdiscount|\b\d+\s*%\s*off\b|\blimited[- ](?:time\s+)?offer\b|\bspecial\s+offer\b"),
    ("salesy.our_services",
     r"\b(?:our|my)\s+(?:services|solutions?|products?|platform|offerings?|agency)\b|\bwe\s+(?:help|helped|work"
     r"\s+with)\s+(?:companies|businesses|brands|clients|teams|firms)\b|\bcompanies\s+like\s+yours\b"),
    ("salesy.book_call",
     r"\bbook\s+(?:a\s+)?(?:call|meeting|demo|time)\s+with\s+(?:our|my|me)\b|\bour\s+team\s+(?:would|will)\b"
     r"|\b(?:15|20|30)[- ]minute\s+call\b"),
    ("salesy.roi",
     r"\bROI\b|\brevenue\b|\bleads\b|\bconversion|\bgrow\s+your\s+(?:business|sales)|\bpain\s+points?\b"
     r"|\bcase\s+stud(?:y|ies)\b|\bboost\s+your\b"),
)

CONTEXT_RULES: tuple[tuple[str, str], ...] = (
    ("context.mentions_intro",
     r"\b(?:introduced\s+(?:us|me|you)|(?:suggested|recommended)\s+(?:that\s+)?(?:I|we)\s+(?:reach\s+out|connect"
     r"|contact|get\s+in\s+touch|talk)|(?:mutual|our)\s+(?:friend|contact|connection)|referred\s+(?:me|by)"
     r"|gave\s+me\s+your\s+(?:name|contact|email|details)|following\s+up\s+on\s+\w+'?s\s+intro)"),
)

SUBJECT_INTRO = re.compile(
    r"<\s*-?\s*>|↔|⇄|\b(?:intro(?:duction)?|introducing|meet|connecting|vorstellung|présentation|presentación"
    r"|mise\s+en\s+relation)\s*[:–—-]?\s*" + _NOT_A_NAME + NAME
    + r"[^<>\n]{0,60}?\s(?:&|\+|/|x|and|und|et|y)\s+" + NAME,
    _I,
)
SUBJECT_CONTEXT = re.compile(
    r"\bintro(?:duction|ducing)?\b(?!\s+to\s+(?:the|our|a|an|your|my)\b)|<\s*>|\bconnecting\b|\breferral\b"
    r"|\bvorstellung\b|\bprésentation\b|\bpresentación\b",
    _I,
)
SUBJECT_NEGATIVE = re.compile(
    r"\b(?:policy|policies|course|training|webinar|newsletter|product|release|update|onboarding|module|guide"
    r"|lesson|chapter|workshop|seminar|tutorial|version|feature|sync|notes|minutes|recap|agenda|standup|stand-up"
    r"|retro|roadmap|handover|kick-?off)s?\b",
    _I,
)
# "Meet Biscuit" is an intro subject only when Biscuit is one of the people on the message.
SUBJECT_MEET = re.compile(r"\bmeet(?:ing)?\s+(" + NAME + r")", re.IGNORECASE)
SUBJECT_PAIR_SEPARATOR = re.compile(r"\s(?:/|&|\+|x|and|und|et|y)\s|<\s*-?\s*>|↔|⇄", re.IGNORECASE)
# Where one quoted message ends and the one it quoted begins.
QUOTE_HEADER = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Message\s+d'origine|Mensaje\s+original"
    r"|Forwarded\s+message|Weitergeleitete\s+Nachricht)|(?:From|Von|De)\s*:\s|On\s.{0,200}\swrote:"
    r"|Am\s.{0,200}\sschrieb|Le\s.{0,200}\sa\sécrit|El\s.{0,200}\sescribió)",
    re.IGNORECASE | re.MULTILINE,
)
REPLY_SUBJECT = re.compile(r"^\s*(?:re|aw|sv|antw|réf|r|ref)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)

# Hard negatives that outvote everything: a person who writes an intro does not write these.
HARD_NEGATIVE_RULES: tuple[tuple[str, str], ...] = (
    ("not_intro.out_of_office",
     r"\b(?:out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto[- ]?reply|I\s+am\s+currently\s+(?:away|out)"
     r"|on\s+(?:annual\s+)?leave\s+until|abwesenheitsnotiz|absent\s+du\s+bureau)\b"),
    ("not_intro.newsletter",
     r"\bunsubscribe\b|\bview\s+(?:this\s+email\s+)?in\s+(?:your\s+)?browser\b|\bmanage\s+(?:your\s+)?"
     r"(?:email\s+)?preferences\b|\byou(?:'re|\s+are)\s+receiving\s+this\b"),
    ("not_intro.receipt",
     r"\b(?:order\s+(?:number|#|no\.?)|receipt\s+(?:for|#)|invoice\s+(?:#|number)|your\s+order\s+has"
     r"|payment\s+(?:received|confirmation)|tracking\s+number)\b"),
    ("not_intro.invite",
     r"\b(?:join\s+(?:zoom|teams|the)\s+meeting|meeting\s+id:|invitation\s+from\s+google\s+calendar"
     r"|has\s+invited\s+you\s+to|accept\s+(?:this\s+)?invitation)\b"),
)

GREETING = re.compile(
    r"^[ \t>]*(?:(?:hi|hello|hey|dear|hallo|liebe[rs]?|bonjour|salut|hola|ciao|olá"
    r"|good\s+(?:morning|afternoon))\s+(" + NAME + r")|(" + NAME + r")\s*[,–—-]\s*$)",
    _I,
)


# Literal gates: a rule runs only when one of its lower-case literals occurs in the lower-cased text with every
# whitespace run made one space.  Each gate is a necessary condition of its pattern, so gates change speed, never
# results (tests/unit/test_classify.py checks this).  Rules without a gate always run.
_ME_US = tuple(f"{v} {o}" for v in ("introduce", "introducing", "refer", "referring", "connect", "connecting",
                                      "recommend", "recommending", "put", "putting") for o in ("me", "us"))
GATES: dict[str, tuple[str, ...]] = {
    "intro.introduce_you": ("introduc",),
    "intro.pleased_to_introduce": ("introduce",),
    "intro.meet_name": ("meet ",),
    "intro.name_meet_name": ("meet ",),
    "intro.angle_pair": ("<>", "< >", "<-", "< -"),  # not ">": every quoted line starts with one
    "intro.connecting_you": ("connect",),
    "intro.in_touch": ("touch", "in contact"),
    "intro.looping_in": ("adding", "cc", "copying", "looping in", "bringing in", "including", "ich nehme",
                        "en copie", "j'ajoute", "añado a", "pongo en copia"),
    "optin_ask.de": ("interess", "offen", "lust", "kennen", "soll ich", "darf ich", "kann ich", "wäre es"),
    "optin_ask.es": ("interes", "gustar", "vendr", "parece", "quier", "queréis", "estar"),
    "optin_yes.other_lang": ("uns", "presenta", "presénta", "ponnos", "présente", "-nous", "gern", "freue",
                            "plaisir", "volontiers", "je suis", "je serais", "gusto", "encantad", "encantar",
                            "ponme", "claro"),
    "intro_request.other_lang": ("mich", "pourr", "presentarme", "podr", "puede", "peux", "pouvez", "je voudrais",
                                 "aimerais", "quelqu'un", "conectar", "conoces", "que me", "kennst"),
    "intro.this_is_name": ("this is", "das ist", "voici", "este es", "esta es", "je te présente"),
    "intro.keyword_free": ("say h", "wave h", "is the"),
    "optin_no.not_for_me": ("not ", "sit ", "maybe", "prefer not", "don't", "dont", "for now", "bow out", "nein",
                           "eher", "nicht", "non", "pas ", "décliner", "gracias", "mejor no", "momento", "ahora"),
    "optin_yes.loop_us_in": ("loop ", "put ", "bring ", "love ", "welcome ", "appreciate ", "would be", "happy for",
                            "i'd ", "id ", "i would"),
    "channel_switch.instead": ("instead", "rather", "statt", "lieber", "plutôt", "au lieu", "en vez", "en lugar"),
    "scheduling.availability": ("free", "around", "available", "in town", "flexible", "any time", "anytime",
                               "how about", "what about", "hop on", "jump on", "next week", "this week", "tomorrow",
                               "clear"),
    "scheduling.availability_other_lang": ("frei", "zeit", "verfügbar", "flexibel", "ginge", "geht", "klappt",
                                          "könnte ich", "kann ich", "wie wäre", "wann ", "dispo", "libre", "ça ",
                                          "c'est bon", "je peux", "on se ", "on s'", "quand ", "quel", "arrangerait",
                                          "bien", "estoy", "estar", "qué tal", "cuándo", "nos ", "hablamos",
                                          "quedamos"),
    "intro.should_know": ("two", "both"),
    "intro.de": ("stelle", "bekannt", "kontakt", "verbindung", "vernetz"),
    "intro.fr": ("présent", "contact", "relation"),
    "intro.es": ("present", "contact", "conectar"),
    "intro.it_pt": ("present", "contatt", "contato"),
    "intro.hand_off": ("let you", "leave", "je vous laisse", "os dejo", "überlasse"),
    "intro.connect_you": ("connect you", "link up you"),
    "optin_ask.open_to_that": ("would you", "are you"),
    "optin_ask.open_to": ("you be", "are you"),
    "optin_ask.mind_if": ("if i",),
    "optin_ask.may_i": ("i introduce", "i connect", "me to introduce", "me to connect", "an intro", "a intro"),
    "optin_ask.conditional_offer": ("connect you", "introduce you", "put you"),
    "optin_ask.fr": ("vous", "tu ", "ça t'", "cela t'"),
    "optin_ask.talk_to": ("would it be", "would that be", "you like to", "you want to", "interested in", "keen ",
                          "open to"),
    "optin_no.pass": ("pass",),
    "optin_no.bad_time": ("time", "bandwidth", "too", "plate"),
    "optin_no.not_interested": ("interested", "looking", "taking", "rather not", "no thank", "no, thank", "decline",
                               "hold off", "not now", "not right now"),
    "optin_no.say_no": ("say no", "saying no"),
    "optin_no.de_fr_es": ("passen", "kein", "donner suite", "pas le bon", "pas disponible", "passe mon tour",
                         "no tengo", "prefiero no", "ahora mismo no"),
    "optin_no.other_lang": ("leider", "kein", "lieber", "pas ", "no me", "no tengo"),
    "optin_yes.happy_to_meet": ("happy to", "glad to", "delighted to", "love to", "keen to", "open to"),
    "optin_yes.go_ahead": ("go ahead", "connect us", "introduce us", "feel free"),
    "blanket_request.introduce_myself_to_any": ("introduce",),
    "blanket_request.if_so_whom": ("if so", "wenn ja", "si es así", "si oui", "peu importe", "da igual", "egal wer"),
    "intro_request.put_me_in_touch": ("touch",),
    "intro_request.forward_note": ("forward", "pass", "send"),
    "intro_request.looking_for_intro": ("intro to", "introduction to", "referral to"),
    "intro_request.know_anyone": ("you happen", "you have", "you know"),
    "intro_request.could_you_introduce_me": (*_ME_US, "loop me", "loop us"),
    "intro_request.willing_to_introduce": _ME_US,
    "intro_request.intro_possible": ("intro", "referral"),
    "channel_switch.move_to": ("linkedin", "here", "this platform", "this app", "mail", "phone", "text", "whatsapp",
                              "signal", "a call"),
    "channel_switch.struggles": ("linkedin", "messag", "inmail", "this platform", "this app", "this system"),
    "channel_switch.rarely_check": ("linkedin", "messages here", "inmail", "this inbox", "the messaging"),
    "channel_switch.reach_me": ("reach", "contact me", "hold of me", "me an"),
    "channel_switch.prefers": ("for me", "easiest", "best", "simplest", "quickest"),
    "channel_switch.bad_with": ("mail", "linkedin", "messages", "inmail", "inbox", "check"),
    "channel_switch.use_other": ("let", "you on", "you via", "you over", "you through"),
    "channel_switch.other_lang": ("per e", "per telefon", "plutôt par", "mejor ", "schlecht", "erreich",
                                  "con el correo", "plus simple", "joignable", "pas très"),
    "scheduling.are_you_free": ("you be", "are you"),
    "scheduling.day_works": ("day at", "day morning", "day afternoon", "day evening", "day works", "day would",
                            "day is", "for me", "great for", "well for", "how about", "how does"),
    "scheduling.see_you": ("see you", "forward to"),
    "scheduling.coffee_call": ("time", "coffee", "lunch", "breakfast", "drink", "call", "chat", "meeting",
                               "slot", "zoom", "let"),
    "scheduling.great_to_meet": (" to meet", " to connect", " to chat", " to catch"),
    "scheduling.calendar": ("calendly", "cal.com", "calendar", "your week", "your schedule"),
    "scheduling.short_call": ("min", "quick", "short", "brief", "day lunch", "day coffee", "day breakfast",
                              "day dinner", "day call", "works", "would work"),
    "scheduling.when_suits": ("when", "what", "times", "slots", "dates"),
    "scheduling.de": ("tag", "mittwoch", "passt", "passen", "zeit für", "telefonieren", "essen", "uhr"),
    "scheduling.fr": ("di", "convien", "un appel", "un déjeuner", "un rendez-vous"),
    "scheduling.es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo", "una llamada",
                     "reuni", "quedar", "va bien", "a las", "hablar por"),
    "scheduling.other_lang": ("termin", "kaffee", "treffen", "café", "cafe", "disponible"),
    "thanks.for_intro": ("thank", "grateful", "apprecia"),
    "thanks.wonderful_intro": tuple(f"{a} {n}" for a in ("wonderful", "great", "kind", "lovely", "thoughtful",
                                     "generous", "warm") for n in ("intro", "connection")),
    "thanks.to_bcc": ("bcc",),
    "thanks.other_lang": ("dank", "merci", "gracias"),
    "salesy.pricing": ("pric", "quote", "package", "per ", "$"),
    "salesy.demo": ("demo", "trial", "walkthrough"),
    "salesy.discount": ("discount", "%off", "% off", "offer"),
    "salesy.our_services": (*(f"{w} {n}" for w in ("our", "my") for n in ("service", "solution", "product", "platform",
                             "offering", "agency")), "we help", "we work with", "companies like"),
    "salesy.book_call": ("book", "our team", "minute"),
    "salesy.roi": ("roi", "revenue", "leads", "conversion", "grow your", "pain point", "case stud", "boost your"),
    "context.mentions_intro": ("introduced", "suggested", "recommended", "mutual", "our friend", "our contact",
                               "our connection", "referred", "gave me your", "following up"),
    "not_intro.out_of_office": ("office", "automatic reply", "auto", "currently", "leave until", "abwesenheit",
                                "absent"),
    "not_intro.newsletter": ("unsubscribe", "browser", "preferences", "receiving this"),
    "not_intro.receipt": ("order", "receipt", "invoice", "payment", "tracking"),
    "not_intro.invite": ("join", "meeting id", "google calendar", "invited you", "invitation"),
}

def _lower_pattern(pattern: str) -> str:
    """The pattern with its literal letters lower-cased (escapes such as \\S or \\A left alone)."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        out.append(ch if escaped else ch.lower())
        escaped = not escaped and ch == "\\"
    return "".join(out)


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex (split at '|' outside groups and classes)."""
    parts: list[str] = []
    depth, start, escaped, in_class = 0, 0, False, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Rule:
    """One named rule: literal gates, a precompiled regex, and how to run it fast.

    A regex that starts with ``\\b`` cannot use the regex engine's first-character scan, which makes it about
    three times slower; when every alternative starts with ``\\b`` it is stripped and checked here instead, which
    finds exactly the same leftmost match.
    """

    __slots__ = ("bounded", "gates", "name", "on_lower", "rx")

    def __init__(self, name: str, pattern: str) -> None:
        self.name = name
        self.gates = GATES.get(name, ())
        self.on_lower = "(?-i:" not in pattern  # rules that need capitals keep IGNORECASE on the raw text
        alts = _alternatives(pattern)
        self.bounded = all(a.startswith("\\b") for a in alts)
        if self.bounded:
            pattern = "|".join(a[2:] for a in alts)
        if self.on_lower:
            self.rx = re.compile(_lower_pattern(pattern), re.MULTILINE)
        else:
            self.rx = re.compile(pattern, _I)

    def is_open(self, t: _Text) -> bool:
        """True when the rule must run: it has no gate, or one of its literals occurs."""
        return not self.gates or any(map(t.gate.__contains__, self.gates))  # map() keeps the loop in C

    def finditer(self, t: _Text) -> Iterator[re.Match[str]]:
        text = t.lower if self.on_lower else t.raw
        pos = 0
        while True:
            m = self.rx.search(text, pos)
            if m is None:
                return
            i = m.start()
            if self.bounded and (i > 0 and _is_word(text[i - 1])) == (i < len(text) and _is_word(text[i])):
                pos = i + 1  # not at a word boundary: the original \\b would not match here
                continue
            yield m
            pos = max(m.end(), i + 1)

    def search(self, t: _Text) -> re.Match[str] | None:
        return next(self.finditer(t), None)


def _compile(rules: Iterable[tuple[str, str]]) -> tuple[Rule, ...]:
    return tuple(Rule(name, pattern) for name, pattern in rules)


_INTRO = _compile(INTRO_RULES)
# In a quote the organisations of the parties are unknown, so the keyword-free intro rules do not count there.
_INTRO_QUOTED = tuple(r for r in _INTRO if r.name not in CROSS_ORG_INTRO)
_INTRO_PARTY = _compile(INTRO_PARTY_RULES)
_OPTIN_ASK = _compile(OPTIN_ASK_RULES)
_OPTIN_ASK_STRONG = tuple(r for r in _OPTIN_ASK if r.name not in WEAK_ASKS)
_OPTIN_NO = _compile(OPTIN_NO_RULES)
_OPTIN_YES = _compile(OPTIN_YES_RULES)
_BLANKET = _compile(BLANKET_RULES)
_REQUEST = _compile(INTRO_REQUEST_RULES)
_CHANNEL = _compile(CHANNEL_RULES)
_SCHEDULING = _compile(SCHEDULING_RULES)
_THANKS = _compile(THANKS_INTRO_RULES)
_SALESY = _compile(SALESY_RULES)
_CONTEXT = _compile(CONTEXT_RULES)
_HARD_NEGATIVE = _compile(HARD_NEGATIVE_RULES)
_NETWORK_GENERIC = Rule("blanket_request.network_generic", NETWORK_GENERIC.pattern)
_SELF_PROMO = Rule("blanket_request.self_promo", SELF_PROMO.pattern)
_SENTENCE_END = re.compile(r"(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)(?<!\bProf)(?<!\bSt)[.!?\n]")
_ABBREVIATIONS = frozenset({"dr", "mr", "ms", "mrs", "prof", "st"})


# ----------------------------------------------------------------------------------------------------
# Prefilter: headers only


# The leading \b is shared by all word alternatives: written once outside the group, the regex finds the same
# matches about four times faster (the engine no longer tries twenty alternatives at every position).
PREFILTER_SUBJECT = re.compile(
    r"\b(?:intro|meet\b|meeting\s+" + NAME
    + r"|connect(?:ing|ion)?\b|referr?(?:al|ed|ing)?\b"
    r"|refer\b|vorstell|bekannt|kennenlernen|présent|presentaci[oó]n|presento\b|in\s+touch\b"
    r"|networking\b|favou?r\b|put\s+you\b|mise\s+en\s+relation|contacto\b)|<\s*-?\s*>|↔",
    re.IGNORECASE,
)
FREEMAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
    "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "web.de", "mail.com",
    "fastmail.com", "hey.com", "yandex.com", "orange.fr", "free.fr", "t-online.de",
})
MAX_SHAPE_PEOPLE = 5  # an intro has three or four people; a 12-person thread is a meeting, not an intro


def _org(email: str) -> str:
    """The organisation an address stands for: its domain, or the address itself at a freemail provider."""
    domain = email.rpartition("@")[2]
    return email if domain in FREEMAIL else domain


@lru_cache(maxsize=64)  # one address set per account: computed once, not once per message
def _orgs_of(addresses: frozenset[str]) -> frozenset[str]:
    """The organisations of the user's own addresses."""
    return frozenset(_org(a) for a in addresses)


def _prefilter_subject(subject: str) -> bool:
    """``PREFILTER_SUBJECT.search(subject) is not None``, without the regex for most subjects.

    An ASCII subject is first screened for one lower-case literal of each alternative that can match ASCII text
    ("présent" and "↔" cannot): on ASCII text IGNORECASE is ASCII case folding, so a subject holding none of them
    cannot match.  Any other subject runs the regex, as under IGNORECASE "ı" and "İ" match "i".
    """
    if not subject:
        return False
    if subject.isascii():
        low = subject.lower()
        # One chained test is twice as fast as any() over a tuple, and the regex costs 25 times as much.
        if not ("intro" in low or "<" in low or "meet" in low or "connect" in low or "refer" in low
                or "vorstell" in low or "bekannt" in low or "kennenlernen" in low or "present" in low
                or "touch" in low or "networking" in low or "fav" in low or "put" in low or "mise" in low
                or "contacto" in low):
            return False
    return PREFILTER_SUBJECT.search(subject) is not None


def prefilter(msg: Message, user_addresses: frozenset[str]) -> bool:
    """Header-only test: could ``msg`` be intro-related, so that its body is worth fetching?

    Passes: relayed notifications; intro-ish subjects (automated mail only with an explicit pair subject); the
    user writing to two people of different organisations, or starting a thread with someone outside; someone
    writing to the user plus a person of another organisation; and a *new* 1:1 thread from a person outside the
    user's organisations with the user as the only recipient (an opt-in ask or request under a bland subject
    such as "Quick question").  Replies are not passed on shape alone: ``pipeline.select_candidates`` already
    passes replies linked to candidate threads, so a bland "Re:" is fetched only when its thread is a candidate.
    Budget: colleagues, lists, automated mail and replies make up most of a mailbox, so new 1:1 threads from
    outside people keep the fetched share well under 10%.
    """
    if msg.relayed_by:
        return True
    subject = msg.subject
    subject_hit = _prefilter_subject(subject)
    if msg.automated:
        # Lists, no-reply senders and invites are not intros; only an explicit pair subject earns a fetch.
        return subject_hit and SUBJECT_INTRO.search(subject) is not None
    if subject_hit:
        return True
    sender = msg.sender
    if sender is None:
        return False
    from_user = sender.email in user_addresses
    user_orgs = _orgs_of(user_addresses)
    others: set[str] = set()
    user_addressed = False
    for addr in msg.to + msg.cc:
        if addr.email in user_addresses:
            user_addressed = True
        elif addr.email != sender.email:
            others.add(addr.email)
    if len(others) + 1 > MAX_SHAPE_PEOPLE:
        return False
    if from_user:
        # The user introducing two people, or asking one person first (a new thread to someone outside).
        orgs = {_org(e) for e in others} - user_orgs
        if len(others) >= 2:
            return len(orgs) >= 2
        return bool(orgs) and not msg.in_reply_to and REPLY_SUBJECT.match(subject) is None
    if not user_addressed:
        return False
    if not others:
        # A new 1:1 thread from a person outside the user's organisations: maybe an opt-in ask or a request.
        return (_org(sender.email) not in user_orgs and not msg.cc and not msg.in_reply_to
                and REPLY_SUBJECT.match(subject) is None)
    # Someone writing to the user and at least one other person from a different organisation.
    orgs = {_org(e) for e in others} | {_org(sender.email)}
    return len(others) >= 1 and len(orgs - user_orgs) >= 2


# ----------------------------------------------------------------------------------------------------
# Classification


def _snippet(text: str, start: int, end: int) -> str:
    """The matched text with a little context, on one line, at most SNIPPET characters."""
    lo = max(0, start - 20)
    hi = min(len(text), max(end, lo + 40) + 20)
    out = " ".join(text[lo:hi].split())
    return out if len(out) <= SNIPPET else out[: SNIPPET - 1] + "…"


def _after_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at ``dot`` ends a title such as "Dr." rather than a sentence."""
    word = text[max(0, dot - 5):dot].rsplit(None, 1)
    return bool(word) and word[-1].lower() in _ABBREVIATIONS


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence around text[start:end] (bounded by . ! ? or a newline; '?' stays in)."""
    lo = start
    while lo > 0:
        ch = text[lo - 1]
        if ch in "!?\n" or (ch == "." and not _after_abbreviation(text, lo - 1)):
            break
        lo -= 1
    m = _SENTENCE_END.search(text, end)
    hi = m.end() if m else len(text)
    return text[lo:hi]


@dataclass(frozen=True)
class _Text:
    """One text three ways: as written, lower-cased, and lower-cased with single spaces for the literal gates."""

    raw: str
    lower: str
    gate: str

    @classmethod
    def of(cls, raw: str) -> _Text:
        lower = raw.lower()
        return cls(raw, lower, " ".join(lower.split()))



def _first(rules: tuple[Rule, ...], t: _Text) -> tuple[str, re.Match[str]] | None:
    for rule in rules:
        if rule.is_open(t):
            m = rule.search(t)
            if m:
                return rule.name, m
    return None


def _all(rules: tuple[Rule, ...], t: _Text) -> list[tuple[str, re.Match[str]]]:
    out = []
    for rule in rules:
        if rule.is_open(t):
            m = rule.search(t)
            if m:
                out.append((rule.name, m))
    return out


def _first_name(addr: Address) -> str:
    name = addr.name.strip().strip("'\"")
    if "," in name:  # "Smith, Mary"
        name = name.split(",", 1)[1]
    first = name.split()[0] if name.split() else addr.email.split("@")[0].split(".")[0]
    return first.lower()


def _greets_each(text: str, recipients: tuple[Address, ...]) -> str | None:
    """Evidence when the body greets two recipients in turn and each greeting's paragraph names the other."""
    firsts = {_first_name(a) for a in recipients}
    spots: list[tuple[int, str]] = []
    for m in GREETING.finditer(text):
        name = (m.group(1) or m.group(2) or "").lower()
        if name in firsts and all(name != n for _, n in spots):
            spots.append((m.start(), name))
    for i in range(len(spots) - 1):
        (pa, a), (pb, b) = spots[i], spots[i + 1]
        before, after = text[pa:pb].lower(), text[pb:].lower()
        if re.search(r"\b" + re.escape(b) + r"\b", before) or re.search(r"\b" + re.escape(a) + r"\b", after):
            return _snippet(text, pa, pb)
    return None


def _recipients(msg: Message) -> tuple[Address, ...]:
    sender = msg.sender.email if msg.sender else ""
    seen: dict[str, Address] = {}
    for a in msg.to + msg.cc:
        if a.email != sender:
            seen.setdefault(a.email, a)
    return tuple(seen.values())


_NETWORK_GATES = ("your", "ihrer", "deiner", "eurer", "sus ", "tus ", "vos ", "tes ")
_NAME_WORD = re.compile(r"[^\W\d_]{2,}")


def _participant_names(msg: Message) -> frozenset[str]:
    """Lower-cased words of the display names of everyone on the message (sender, To, Cc)."""
    people = ((msg.sender,) if msg.sender else ()) + msg.to + msg.cc
    return frozenset(w.lower() for a in people for w in _NAME_WORD.findall(a.name))


def _names_someone(text: str, names: frozenset[str]) -> bool:
    """True when ``text`` contains a word of a participant's display name."""
    return any(w.lower() in names for w in _NAME_WORD.findall(text))


def _count_names(text: str, names: frozenset[str]) -> int:
    """How many distinct participant name words ``text`` contains."""
    return len({w.lower() for w in _NAME_WORD.findall(text)} & names)


def _spans_orgs(msg: Message) -> bool:
    """True when the people on the message belong to two or more organisations."""
    people = ((msg.sender,) if msg.sender else ()) + msg.to + msg.cc
    return len({_org(a.email) for a in people}) >= 2


def _offers_someone(t: _Text, m: re.Match[str]) -> bool:
    """True when a weak ask's match ends in a person: "my friend", "someone who", or a capitalised name."""
    last = _LAST_WORD.search(m.group())
    if last is None:
        return False
    if last.group().lower() in _SOMEONE_WORDS or m.group().startswith(("my ", "a ")):
        return True
    pos = m.start() + last.start()
    return len(t.raw) == len(t.lower) and t.raw[pos:pos + 1].isupper()


def _outside_parties(msg: Message, recipients: tuple[Address, ...]) -> bool:
    """True when two or more recipients belong to organisations other than the sender's (the parties)."""
    own = _org(msg.sender.email) if msg.sender else ""
    return len({_org(a.email) for a in recipients} - {own}) >= 2


_WORD_BEFORE = re.compile(r"[^\W\d_][\w'’-]*\W*$")
_WORD_AFTER = re.compile(r"\W*([^\W\d_][\w'’-]*)")


def _pair_names_someone(m: re.Match[str], names: frozenset[str]) -> bool:
    """True when a word right beside the "<>" of ``m`` is a word of a participant's display name."""
    text = m.string
    before = _WORD_BEFORE.search(text, max(0, m.start() - 40), m.start() + 1)
    after = _WORD_AFTER.match(text, m.end() - 1)
    words = ((before.group(0) if before else "").strip(" \t,.:;'’-").lower(),
             (after.group(1) if after else "").lower())
    return any(w in names for w in words if w)


def _asks_for_self(sentence: str) -> bool:
    """True when the sentence asks to be introduced ("Könntest du mich mit X bekannt machen?")."""
    return _first(_REQUEST, _Text.of(sentence)) is not None


def _quoted_context(qt: _Text) -> tuple[str, str, re.Match[str]] | None:
    """What the nearest quoted message that says anything intro-like is: "intro", "optin_ask" or "request".

    The quote is cut into messages at reply headers ("On ... wrote:", "-----Original Message-----", "From:");
    the first message with a hit decides.  In it an unconditional intro sentence wins, then an opt-in ask (an ask
    rule, or an intro phrase in a conditional sentence), then a request.  ``should_know`` ("you two would hit it
    off") appears in asks as often as in intros, so it only counts when nothing else does.
    """
    cuts = [0, *(m.start() for m in QUOTE_HEADER.finditer(qt.raw) if m.start() > 0), len(qt.raw)]
    for lo, hi in itertools.pairwise(cuts):
        block = qt if (lo, hi) == (0, len(qt.raw)) else _Text.of(qt.raw[lo:hi])
        if len(block.gate) < 8:
            continue
        hits = _quoted_hits(block)
        if hits:
            _, kind, name, m = min(hits, key=lambda h: (h[0], h[3].start()))
            return kind, name, m
    return None


def _quoted_hits(block: _Text) -> list[tuple[int, str, str, re.Match[str]]]:
    """Every intro-like hit in one quoted message as (rank, kind, rule, match); lower rank wins."""
    hits: list[tuple[int, str, str, re.Match[str]]] = []
    for rule in _INTRO_QUOTED:
        if rule.is_open(block):
            for m in rule.finditer(block):
                if CONDITIONAL.search(_sentence(m.string, m.start(), m.end())):
                    hits.append((1, "optin_ask", rule.name, m))
                else:
                    hits.append((3 if rule.name == "intro.should_know" else 0, "intro", rule.name, m))
                    break
    for rules, rank, kind in ((_OPTIN_ASK, 1, "optin_ask"), (_REQUEST, 2, "request"), (_BLANKET, 2, "request")):
        if any(h[0] < rank for h in hits):
            break  # a better-ranked hit already wins; the rest could not change the answer
        for rule in rules:
            if rule.is_open(block):
                found = rule.search(block)
                if found:
                    hits.append((rank, kind, rule.name, found))
    return hits


def is_reply(msg: Message) -> bool:
    """True for a reply (In-Reply-To set or a Re:-style subject)."""
    return bool(msg.in_reply_to) or REPLY_SUBJECT.match(msg.subject) is not None


def classify(msg: Message, user_addresses: frozenset[str]) -> Classification:
    """Label one message by explainable rules; every rule that fired is in ``evidence``."""
    ev: list[Evidence] = []
    t = _Text.of(msg.new_text[:MAX_TEXT])
    qt = _Text.of(msg.quoted_text[:MAX_QUOTED])

    def note(rule: str, label: Label | None, text: str) -> None:
        ev.append(Evidence(rule, label, " ".join(text.split())[:SNIPPET]))

    def vote(rule: str, label: Label | None, m: re.Match[str], src: _Text = t) -> None:
        text = src.raw if len(m.string) == len(src.raw) else m.string  # quote the author's own casing
        ev.append(Evidence(rule, label, _snippet(text, m.start(), m.end())))

    relayed = bool(msg.relayed_by)
    if relayed:
        note("relayed", None, f"relayed by {msg.relayed_by}")
    if msg.automated and not relayed:
        note("automated", Label.NOT_INTRO, ", ".join(msg.automated))
        return Classification(msg.message_id, Label.NOT_INTRO, relayed=False, evidence=tuple(ev))

    subject = msg.subject
    reply = is_reply(msg)

    for name, m in _all(_HARD_NEGATIVE, t):
        vote(name, Label.NOT_INTRO, m)
    if ev and any(e.label is Label.NOT_INTRO for e in ev):
        return Classification(msg.message_id, Label.NOT_INTRO, relayed=relayed, evidence=tuple(ev))

    # Intro phrases: an unconditional sentence introduces; a conditional one ("if you're open to it?") asks.
    # An intro addresses its parties: with fewer than two recipients (and no relay) an intro phrase is a pitch
    # ("I'd like to introduce you to our platform") or a one-sided mention, so it does not vote intro.
    recipients = _recipients(msg)
    parties = len(recipients) >= 2 or relayed
    names = _participant_names(msg)
    intro_hit = False
    ask_hit = False
    spans = _spans_orgs(msg)
    outside = _outside_parties(msg, recipients)
    for rule in _INTRO:
        if not rule.is_open(t):
            continue
        name = rule.name
        for m in rule.finditer(t):
            sentence = _sentence(m.string, m.start(), m.end())
            if _first(_THANKS, _Text.of(sentence)):
                continue  # "Merci pour la mise en relation" thanks for an intro; it does not make one
            if CONDITIONAL.search(sentence):
                if _asks_for_self(sentence) or PITCH.search(sentence):
                    continue  # a request (voted below) or a vendor's "connect you with our team if ..."
                if name in CROSS_ORG_INTRO and not spans:
                    continue
                if not ask_hit:
                    vote(name.replace("intro.", "optin_ask.conditional_"), Label.OPTIN_ASK, m)
                ask_hit = True
            elif name in CROSS_ORG_INTRO and not (outside or relayed):
                continue  # "Team, this is Priya" or "say hi to Bo" among colleagues is not an intro
            elif name == "intro.angle_pair" and not (spans and _pair_names_someone(m, names)):
                continue  # "Salesforce <> HubSpot sync", "Marketing <> Sales" pair systems or teams
            elif not parties:
                vote(name + ".one_recipient", None, m)
                break
            else:
                vote(name, Label.INTRO, m)
                intro_hit = True
                break
    if len(recipients) >= 2:
        greeting = _greets_each(t.raw, recipients)
        if greeting:
            note("intro.greets_each_party", Label.INTRO, greeting)
            intro_hit = True
        firsts = {_first_name(a) for a in recipients}
        if not intro_hit and len({_org(a.email) for a in recipients}) >= 2:
            for rule in _INTRO_PARTY:
                if rule.is_open(t):
                    if rule.name in CROSS_ORG_INTRO and not outside:
                        continue
                    for m in rule.finditer(t):
                        if rule.name == "intro.looping_in" and m.group(1).lower() not in firsts:
                            continue  # the person brought in must be on the message
                        if not CONDITIONAL.search(_sentence(m.string, m.start(), m.end())):
                            vote(rule.name, Label.INTRO, m)
                            intro_hit = True
                            break
    if not reply and subject and parties:
        pair = SUBJECT_INTRO.search(subject)
        if pair and SUBJECT_NEGATIVE.search(subject) is None and _names_someone(subject, names) and spans:
            note("intro.subject_pair", Label.INTRO, subject)
            intro_hit = True

    for name, m in _all(_OPTIN_ASK if spans or relayed else _OPTIN_ASK_STRONG, t):
        if name in WEAK_ASKS and not _offers_someone(t, m):
            continue  # "would you like to talk to Bo?" between colleagues is work; "... to meet tomorrow" is no ask
        if PITCH.search(_sentence(m.string, m.start(), m.end())):
            continue  # "happy to connect you with our solutions team if you're interested" is a vendor's pitch
        vote(name, Label.OPTIN_ASK, m)
        ask_hit = True

    # Requests.
    blanket = _first(_BLANKET, t)
    if blanket is None and any(map(t.gate.__contains__, _NETWORK_GATES)):
        generic = _NETWORK_GENERIC.search(t) if _SELF_PROMO.search(t) else None
        if generic:
            blanket = ("blanket_request.network_for_services", generic)
    if blanket:
        vote(blanket[0], Label.BLANKET_REQUEST, blanket[1])
    request_hit = False
    for name, m in _all(_REQUEST, t):
        if name == "intro_request.forward_note" and not NETWORK_CONTEXT.search(t.raw):
            continue
        vote(name, Label.INTRO_REQUEST, m)
        request_hit = True

    # Context: is this message part of an intro conversation?
    context = intro_hit or ask_hit or request_hit or blanket is not None
    quoted_kind = ""
    if qt.raw:
        quoted = _quoted_context(qt)
        if quoted:
            quoted_kind, _, quoted_hit = quoted
            vote(f"{CONTEXT_PREFIX}quoted_{quoted_kind}", None, quoted_hit, qt)
            context = True
    # The subject is the weakest context: it counts in a reply or a message to two or more people, and only when
    # the people on it span two organisations ("Re: presentación cliente Vidal" between colleagues is work).
    if subject and (reply or parties) and SUBJECT_NEGATIVE.search(subject) is None and _spans_orgs(msg):
        if SUBJECT_CONTEXT.search(subject):
            note(f"{CONTEXT_PREFIX}subject", None, subject)
            context = True
        else:
            meet = SUBJECT_MEET.search(subject)
            if (meet and meet.group(1).lower() in names) or (
                    SUBJECT_PAIR_SEPARATOR.search(subject) and _count_names(subject, names) >= 2):
                note(f"{CONTEXT_PREFIX}subject_names_pair", None, subject)
                context = True
    for name, m in _all(_CONTEXT, t):
        vote(name, None, m)
        context = True
    self_evident_thanks = _all(_THANKS, t)
    if self_evident_thanks or relayed:
        context = True

    if context:
        # Opt-in answers only answer an ask: not when the quote below is the intro itself.
        # A quote that holds no ask (say, a scheduling message) means this reply answers that, not an ask.
        answers_ask = quoted_kind in ("optin_ask", "request") or (not qt.raw and quoted_kind == "")
        if answers_ask and not intro_hit and reply:
            for name, m in _all(_OPTIN_NO, t):
                vote(name, Label.OPTIN_NO, m)
            if not any(e.label is Label.OPTIN_NO for e in ev):
                for name, m in _all(_OPTIN_YES, t):
                    vote(name, Label.OPTIN_YES, m)
        elif quoted_kind == "intro":
            hit = _first(_OPTIN_NO, t)
            if hit:
                vote(hit[0], Label.OPTIN_NO, hit[1])
        for name, m in _all(_CHANNEL, t):
            vote(name, Label.CHANNEL_SWITCH, m)
        for name, m in _all(_SCHEDULING, t):
            vote(name, Label.SCHEDULING, m)
        for name, m in self_evident_thanks:
            vote(name, Label.THANKS, m)
        if not self_evident_thanks:
            generic_thanks = THANKS_GENERIC.search(t.raw)
            if generic_thanks:
                vote("thanks.generic", Label.THANKS, generic_thanks)

    voted = {e.label for e in ev if e.label is not None and e.label is not Label.NOT_INTRO}
    ordered = [lab for lab in Label if lab in voted]
    if not ordered:
        # salesy qualifies intro-related mail only; not scoring the rest keeps long newsletters cheap
        return Classification(msg.message_id, Label.NOT_INTRO, relayed=relayed, evidence=tuple(ev))
    salesy_hits = 0
    for name, m in _all(_SALESY, t):
        vote(name, None, m)
        salesy_hits += 1
    salesy = round(1.0 - 0.65**salesy_hits, 3) if salesy_hits else 0.0
    return Classification(msg.message_id, ordered[0], tuple(ordered[1:]), salesy, relayed, tuple(ev))
