"""Load the labelled corpus (tests/corpus) and score the classifier and the intro model on it."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from introd.classify import Classification, Label, classify
from introd.intros import IntroAnalysis, Timing, UserIdentity
from introd.message import Message, Skipped, parse_message
from introd.pipeline import analyse_mailbox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parent / "corpus"


@dataclass(frozen=True)
class Sample:
    """One labelled message file."""

    path: Path
    label: str
    also: tuple[str, ...] = ()
    folder: str = "INBOX"
    salesy: bool = False


@dataclass
class Scenario:
    """A slice of one user's mailbox with the expected intro state at ``now``."""

    name: str
    user: str
    user_name: str
    now: datetime
    stage: str
    role: str
    due: frozenset[str]
    timing: Timing
    samples: list[Sample] = field(default_factory=list)
    note: str = ""


def _aware(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def load_scenarios(root: Path = CORPUS) -> list[Scenario]:
    """Every scenario of scenarios/manifest.toml."""
    manifest = root / "scenarios" / "manifest.toml"
    if not manifest.exists():
        return []
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    out = []
    for raw in data.get("scenario", []):
        base = root / "scenarios" / raw["dir"]
        sc = Scenario(
            name=raw["dir"], user=raw["user"].lower(), user_name=raw.get("user_name", ""), now=_aware(raw["now"]),
            stage=raw["stage"], role=raw["role"], due=frozenset(raw.get("due", [])),
            timing=Timing(**raw.get("timing", {})), note=raw.get("note", ""),
        )
        for m in raw.get("message", []):
            sc.samples.append(Sample(base / m["file"], m["label"], tuple(m.get("also", [])),
                                     m.get("folder", "INBOX"), bool(m.get("salesy", False))))
        out.append(sc)
    return out


def load_negatives(root: Path = CORPUS) -> list[Sample]:
    """Every hard negative of negatives/manifest.toml."""
    manifest = root / "negatives" / "manifest.toml"
    if not manifest.exists():
        return []
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    return [Sample(root / "negatives" / m["file"], m.get("label", "not_intro")) for m in data.get("message", [])]


def parse_sample(sample: Sample) -> Message:
    """Parse one corpus file; the corpus is hand-written, so a parse failure is a test failure."""
    parsed = parse_message(sample.path.read_bytes(), folder=sample.folder)
    if isinstance(parsed, Skipped):
        raise AssertionError(f"{sample.path}: unparsable: {parsed.reason}")
    return parsed


@dataclass
class Scores:
    """Per-label precision and recall over the whole corpus."""

    confusion: Counter[tuple[str, str]]  # (expected, predicted) -> count
    total: int

    def precision(self, label: str) -> float:
        predicted = sum(n for (_, p), n in self.confusion.items() if p == label)
        return self.confusion[(label, label)] / predicted if predicted else 1.0

    def recall(self, label: str) -> float:
        expected = sum(n for (e, _), n in self.confusion.items() if e == label)
        return self.confusion[(label, label)] / expected if expected else 1.0

    def support(self, label: str) -> int:
        return sum(n for (e, _), n in self.confusion.items() if e == label)

    def intro_related(self) -> tuple[float, float]:
        """Precision and recall of the binary question "is this intro-related?"."""
        tp = sum(n for (e, p), n in self.confusion.items() if e != "not_intro" and p != "not_intro")
        fp = sum(n for (e, p), n in self.confusion.items() if e == "not_intro" and p != "not_intro")
        fn = sum(n for (e, p), n in self.confusion.items() if e != "not_intro" and p == "not_intro")
        return (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)

    def mistakes(self) -> list[tuple[str, str, int]]:
        return sorted(((e, p, n) for (e, p), n in self.confusion.items() if e != p), key=lambda x: -x[2])


def classify_corpus(root: Path = CORPUS) -> tuple[Scores, list[tuple[Sample, Classification]]]:
    """Classify every corpus message and tally expected vs predicted labels."""
    confusion: Counter[tuple[str, str]] = Counter()
    decisions = []
    for sc in load_scenarios(root):
        user = frozenset({sc.user})
        for sample in sc.samples:
            decision = classify(parse_sample(sample), user)
            confusion[(sample.label, decision.label.value)] += 1
            decisions.append((sample, decision))
    for sample in load_negatives(root):
        decision = classify(parse_sample(sample), frozenset())
        confusion[(sample.label, decision.label.value)] += 1
        decisions.append((sample, decision))
    return Scores(confusion, sum(confusion.values())), decisions


# The scenario's intro thread holds its intro, else its opt-in ask, else its request (docs/intro-model.md).
THREAD_ORDER = (Label.INTRO, Label.OPTIN_ASK, Label.INTRO_REQUEST, Label.BLANKET_REQUEST)


def scenario_analysis(sc: Scenario, messages: list[Message], labels: dict[str, Classification]
                      ) -> IntroAnalysis | None:
    """Analyse the scenario's messages under ``labels`` and return the analysis of its intro thread."""
    analyses = analyse_mailbox(messages, labels, UserIdentity(frozenset({sc.user}), sc.user_name), sc.now,
                               sc.timing)
    if not analyses:
        return None
    for wanted in THREAD_ORDER:
        for m in messages:
            if labels[m.message_id].label is wanted:
                for a in analyses:
                    if m.message_id in a.state.message_ids:
                        return a
    return analyses[0]


def analyse_scenario(sc: Scenario) -> IntroAnalysis | None:
    """The intro analysis of the scenario's intro thread, with the real classifier's labels."""
    messages = [parse_sample(s) for s in sc.samples]
    user = frozenset({sc.user})
    return scenario_analysis(sc, messages, {m.message_id: classify(m, user) for m in messages})


def markdown_table(scores: Scores) -> str:
    """The per-label table the README shows."""
    labels = [lab.value for lab in Label]
    lines = ["| label | messages | precision | recall |", "|---|---:|---:|---:|"]
    for lab in labels:
        lines.append(f"| `{lab}` | {scores.support(lab)} | {scores.precision(lab):.2f} | {scores.recall(lab):.2f} |")
    p, r = scores.intro_related()
    lines.append(f"| intro-related (any label but `not_intro`) | "
                 f"{sum(scores.support(x) for x in labels if x != 'not_intro')} | {p:.2f} | {r:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    scores, _ = classify_corpus()
    print(markdown_table(scores))
    for e, p, n in scores.mistakes():
        print(f"  expected {e}, got {p}: {n}", file=sys.stderr)
