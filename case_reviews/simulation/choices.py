"""What ``reviews simulate`` can be asked to run: the regimes (each with its example referral)
and the scenarios, each the route the chair decides. Light to import, so a wrong choice is
refused in one line before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from core.deadlines import load_rule_packs

EXAMPLE_FOR_REGIME = {
    "scr": "scr-child-t",
    "lcspr": "lcspr-child-m",
    "sar": "sar-adult-b",
    "cpr": "cpr-child-w",
    "apr": "apr-adult-w",
    "susr": "susr-adult-d",
}
Scenario = Literal["full", "cir", "iar", "concise", "extended", "forum", "national", "no-review"]
SCENARIO_DECISION: dict[str, str] = {
    "full": "full_review",
    "cir": "critical_incident_review",
    "iar": "individual_agency_review",
    "concise": "concise_review",
    "extended": "extended_review",
    "forum": "professional_forum",
    "national": "national_review",  # an LCSPR's rapid review refers it to the national panel
    "no-review": "no_review",
}


def scenarios_for(regime: str, rules_dir: Path | None = None) -> list[str]:
    """The scenarios the regime's routes allow (its rule pack's ``paths``), in their order."""
    paths = load_rule_packs(rules_dir)[regime].paths
    return [name for name, decision in SCENARIO_DECISION.items() if decision in paths]


__all__ = ["EXAMPLE_FOR_REGIME", "SCENARIO_DECISION", "Scenario", "scenarios_for"]
