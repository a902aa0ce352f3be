"""The classifier and the intro model measured on the hand-labelled corpus in tests/corpus."""

from __future__ import annotations

import pytest
from tests.corpus_loader import analyse_scenario, classify_corpus, load_negatives, load_scenarios

from introd.classify import Label
from introd.explain import explain_file, render_text, to_record

# Floors: each label's precision and recall on the corpus must stay at or above these.
PRECISION_FLOOR = 0.90
RECALL_FLOOR = 0.90
MIN_INTRO_SCENARIOS = 60
MIN_NEGATIVES = 150


@pytest.fixture(scope="module")
def scored():  # type: ignore[no-untyped-def]
    return classify_corpus()


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 60 intro scenarios and 150 hard negatives, every label represented."""
    scenarios = load_scenarios()
    assert len(scenarios) >= MIN_INTRO_SCENARIOS
    assert len(load_negatives()) >= MIN_NEGATIVES
    labels = {s.label for sc in scenarios for s in sc.samples}
    assert {lab.value for lab in Label} - {"not_intro"} <= labels


@pytest.mark.parametrize("label", [lab.value for lab in Label])
def test_label_precision_and_recall_meet_the_floor(scored, label: str) -> None:  # type: ignore[no-untyped-def]
    """Each label's precision and recall on the corpus are at least the floor."""
    scores, _ = scored
    wrong = [(e, p, n) for e, p, n in scores.mistakes() if label in (e, p)]
    assert scores.precision(label) >= PRECISION_FLOOR, wrong
    assert scores.recall(label) >= RECALL_FLOOR, wrong


def test_intro_related_is_almost_never_missed(scored) -> None:  # type: ignore[no-untyped-def]
    """Intro-related vs not: precision and recall both at least 0.95."""
    precision, recall = scored[0].intro_related()
    assert precision >= 0.95
    assert recall >= 0.95


SCENARIOS = load_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_state_and_due_actions(scenario) -> None:  # type: ignore[no-untyped-def]
    """Each scenario's intro thread reaches the expected stage, role and due actions at its clock."""
    analysis = analyse_scenario(scenario)
    assert analysis is not None, f"no intro found ({scenario.note})"
    got = (analysis.state.stage.value, analysis.state.role.value, frozenset(d.kind.value for d in analysis.due))
    assert got == (scenario.stage, scenario.role, scenario.due), scenario.note


def test_explain_prints_a_followable_decision_for_every_file() -> None:
    """`explain` on every corpus file names a label and, for intro-related ones, at least one rule with evidence."""
    samples = [s for sc in SCENARIOS for s in sc.samples] + load_negatives()
    for sample in samples:
        record = to_record(explain_file(sample.path, frozenset()), None)
        text = render_text(record)
        assert record["label"] in {lab.value for lab in Label}, text
        if record["intro_related"]:
            assert record["rules"] and all(r["evidence"] for r in record["rules"]), text
