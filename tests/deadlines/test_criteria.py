"""Each regime's statutory criteria, as its rule pack states them (no database needed)."""

from __future__ import annotations

import pytest

from core.criteria import CaseFacts, assess
from core.deadlines import load_rule_packs

PACKS = load_rule_packs()


def facts(harm: str, abuse: str = "suspected", concerns: bool = True) -> CaseFacts:
    return CaseFacts(harm=harm, abuse_or_neglect=abuse, interagency_concerns=concerns)


def test_every_regime_states_its_criteria_and_their_basis() -> None:
    for regime in ("scr", "lcspr", "sar", "cpr", "apr", "susr"):
        criteria = PACKS[regime].criteria
        assert criteria is not None, regime
        assert criteria.basis and criteria.tests


# Issue 25 point 3: only the SCR test (LSCB Regulations 2006 reg 5(2)) asks about working
# together; the LCSPR's own test is in tests/cli/test_rules_2026.py.
@pytest.mark.parametrize("regime", ["scr"])
def test_the_child_test_needs_a_death_or_serious_harm_with_concern_about_working_together(
    regime: str,
) -> None:
    criteria = PACKS[regime].criteria
    assert criteria is not None
    assert assess(criteria, facts("died", concerns=False)).met
    assert assess(criteria, facts("seriously_harmed", concerns=True)).met
    below = assess(criteria, facts("seriously_harmed", concerns=False))
    assert not below.met
    assert below.route == "critical_incident_review"
    assert "critical incident review" in below.reason
    assert not assess(criteria, facts("died", abuse="not_suspected")).met


def test_a_sar_covers_a_living_adult_who_experienced_serious_abuse_or_neglect() -> None:
    criteria = PACKS["sar"].criteria
    assert criteria is not None
    alive = assess(criteria, facts("serious_abuse_or_neglect"))
    assert alive.met
    assert alive.test is not None and alive.test.startswith("s.44(1), (3)")
    died = assess(criteria, facts("died"))
    assert died.met and died.test is not None and died.test.startswith("s.44(1)-(2)")


def test_a_sar_below_the_threshold_is_offered_as_a_discretionary_review() -> None:
    criteria = PACKS["sar"].criteria
    assert criteria is not None
    below = assess(criteria, facts("serious_abuse_or_neglect", concerns=False))
    assert not below.met
    assert below.route == "discretionary_review"
    assert "s.44(4)" in below.reason


@pytest.mark.parametrize("regime", ["cpr", "apr", "susr"])
def test_welsh_reviews_below_the_threshold_go_to_a_professional_forum(regime: str) -> None:
    criteria = PACKS[regime].criteria
    assert criteria is not None
    assert assess(criteria, facts("seriously_harmed", concerns=False)).met
    below = assess(criteria, facts("seriously_harmed", abuse="not_suspected", concerns=False))
    assert not below.met and below.route == "professional_forum"


def test_the_susr_pack_lists_its_clocks_each_with_a_source() -> None:
    pack = PACKS["susr"]
    milestones = {rule.milestone: rule.source for rule in pack.rules}
    assert {"chair_decision", "government_notification", "review_completion"} <= set(milestones)
    assert all(source.strip() for source in milestones.values())
    assert milestones["government_notification"].startswith("board rule")
