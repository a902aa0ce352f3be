"""Explainable rules: a Message in, a label with the rules that fired and their evidence out."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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
