"""Each corpus scenario reaches its expected stage, role and due actions when given the manifest's own labels."""

from __future__ import annotations

import pytest
from tests.corpus_loader import Scenario, load_scenarios, parse_sample, scenario_analysis

from introd.classify import Classification, Evidence, Label
from introd.intros import IntroAnalysis

SCENARIOS = load_scenarios()


def oracle_analysis(sc: Scenario) -> IntroAnalysis | None:
    """The scenario's intro-thread analysis with the manifest's expected labels as the classifications."""
    messages = [parse_sample(s) for s in sc.samples]
    labels = {
        m.message_id: Classification(
            m.message_id,
            Label(s.label),
            also=tuple(Label(a) for a in s.also),
            salesy=0.8 if s.salesy else 0.0,
            relayed=m.relayed_by is not None,
            evidence=(Evidence("oracle", Label(s.label), "from the corpus manifest"),),
        )
        for s, m in zip(sc.samples, messages, strict=True)
    }
    return scenario_analysis(sc, messages, labels)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_with_oracle_labels(scenario: Scenario) -> None:
    """With the manifest's labels, the intro thread reaches the expected stage, role and due kinds at ``now``."""
    analysis = oracle_analysis(scenario)
    assert analysis is not None, f"no intro found; note: {scenario.note}"
    got = (analysis.state.stage.value, analysis.state.role.value, sorted({d.kind.value for d in analysis.due}))
    expected = (scenario.stage, scenario.role, sorted(scenario.due))
    assert got == expected, f"\nexpected {expected}\n     got {got}\nnote: {scenario.note}"
