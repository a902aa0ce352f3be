"""The intro model's public types: stages, roles, due kinds, timing, and what ``analyse`` returns.

The contract is docs/intro-model.md.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from introd.message import Address


class Stage(str, enum.Enum):
    """Where an introduction stands."""

    REQUESTED = "requested"
    OPTIN_ASKED = "optin_asked"
    OPTED_IN = "opted_in"
    DECLINED = "declined"
    INTRODUCED = "introduced"
    CONNECTED = "connected"
    MEETING_SET = "meeting_set"
    CLOSED = "closed"
    STALLED = "stalled"
    DEAD = "dead"


class Role(str, enum.Enum):
    """The user's part in an intro thread."""

    INTRODUCER = "introducer"
    INTRODUCED = "introduced"  # one of the parties being introduced
    REQUESTER = "requester"  # asked someone else for an intro
    ASKED = "asked"  # asked by someone to introduce them
    BYSTANDER = "bystander"  # only in Cc


class DueKind(str, enum.Enum):
    """Something introd noticed is due; most of them call for a draft."""

    REPLY_OWED = "reply_owed"  # the user owes a reply
    NUDGE = "nudge"  # a party owes a reply: nudge that party only
    INTRODUCER_NUDGE = "introducer_nudge"  # both parties silent after the user's intro
    NO_OPTIN = "no_optin"  # an intro was made without asking first
    ASK_FIRST = "ask_first"  # an intro in Drafts whose parties were never asked
    MAKE_INTRO = "make_intro"  # both parties opted in: write the intro
    CHANNEL_SWITCH = "channel_switch"  # a party struggles with relayed messaging: move to email
    DECLINE = "decline"  # a blanket self-promotional request deserves a polite no
    THANK_INTRODUCER = "thank_introducer"  # close the loop after connecting
    FOLLOWUP = "followup"  # "how did it go?"
    STALLED = "stalled"
    MOVE_ON = "move_on"  # unresponsive after the allowed nudges


@dataclass(frozen=True)
class Timing:
    """[timing] settings: thresholds in days (business days when configured)."""

    owe_reply_days: int = 2
    nudge_days: int = 5
    max_nudges: int = 2
    stalled_days: int = 7
    followup_days: int = 21
    history_days: int = 60  # candidate threads quiet longer than this when first seen are left dormant; 0: all
    business_days: bool = False
    timezone: str = "UTC"


@dataclass(frozen=True)
class DueAction:
    """One thing due on one intro; ``key`` is stable so the ledger can refuse repeats."""

    kind: DueKind
    thread_id: str
    key: str  # e.g. "<thread_id>:nudge:steven@example.com:1"
    since: datetime
    to: tuple[Address, ...] = ()  # who a draft for it would address
    bcc: tuple[Address, ...] = ()
    reply_to_message_id: str | None = None  # the message a draft would answer
    reason: str = ""  # one sentence a user can follow


@dataclass(frozen=True)
class IntroState:
    """Everything known about one intro thread."""

    thread_id: str
    subject: str
    stage: Stage
    role: Role
    introducer: Address | None
    parties: tuple[Address, ...]
    started: datetime
    last_activity: datetime
    last_written: dict[str, datetime] = field(default_factory=dict)  # email -> last message since the intro
    asked_first: dict[str, bool] = field(default_factory=dict)  # email -> asked before the intro
    agreed: dict[str, bool] = field(default_factory=dict)  # email -> opted in
    nudges_sent: dict[str, int] = field(default_factory=dict)  # email -> nudges already sent by the user
    message_ids: tuple[str, ...] = ()
    connected_at: datetime | None = None  # when the last party first wrote after the intro (all have written)


@dataclass(frozen=True)
class UserIdentity:
    """Who the user is: every address of the account and the display name."""

    addresses: frozenset[str]
    name: str = ""


@dataclass(frozen=True)
class UserControl:
    """Per-thread overrides the user gave (by thread id): done, muted, snoozed until, handled by the user."""

    done: frozenset[str] = frozenset()
    muted: frozenset[str] = frozenset()
    snoozed: Mapping[str, datetime] = field(default_factory=dict)
    handled: frozenset[str] = frozenset()  # "I'll handle it": no reply drafts for this thread


@dataclass(frozen=True)
class IntroAnalysis:
    """One intro's state and what is due on it at ``now``."""

    state: IntroState
    due: tuple[DueAction, ...]


# Kinds a user who said "I'll handle it" no longer wants drafted.
REPLY_KINDS = frozenset({DueKind.REPLY_OWED, DueKind.NO_OPTIN, DueKind.CHANNEL_SWITCH, DueKind.DECLINE})
