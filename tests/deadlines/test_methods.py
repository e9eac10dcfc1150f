"""Methods and routes as data: each method names its own steps; a board adds one in its
rule-pack directory without code; each regime's pack names the routes it offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.deadlines import RulePackError, load_rule_packs
from core.methods import find_method, load_methods
from core.paths import review_path


def test_each_built_in_method_names_its_own_steps() -> None:
    methods = load_methods()
    steps = {m.method: [s.name for s in m.steps] for m in methods.values()}
    assert steps["silp"] == ["learning_event", "recall_session"]
    assert steps["learning_together"] == ["case_group_conversations", "case_group_meeting"]
    assert steps["rca"] == ["practitioner_interviews", "rca_workshop"]
    assert steps["appreciative_inquiry"] == ["discovery_workshop", "design_workshop"]
    assert steps["welsh_model"] == ["learning_event", "review_panel"]
    assert all(m.source for m in methods.values())


def test_a_method_is_found_by_the_title_the_form_offers_or_by_its_id() -> None:
    methods = load_methods()
    assert find_method(methods, "SCIE Learning Together").method == "learning_together"
    assert find_method(methods, "rca").title == "Root cause analysis"
    with pytest.raises(LookupError, match="unknown methodology 'Tea leaves'; known: "):
        find_method(methods, "Tea leaves")


def test_a_board_adds_a_method_in_its_rule_pack_directory(tmp_path: Path) -> None:
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "hybrid.yaml").write_text(
        "method: hybrid\n"
        "title: Hybrid practitioner review\n"
        "source: board rule (Northbridge learning framework 2026)\n"
        "steps:\n"
        "  - {name: practitioner_workshop, title: Practitioner workshop, purpose: Analyse.}\n",
        encoding="utf-8",
    )
    methods = load_methods(tmp_path)
    assert [s.name for s in find_method(methods, "Hybrid practitioner review").steps] == [
        "practitioner_workshop"
    ]
    assert "silp" in methods  # the built-in ones stay
    # The board's packs still load: the methods folder is not read as a rule pack.
    assert "scr" in load_rule_packs(tmp_path)


def test_a_malformed_board_method_is_refused_naming_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "bad.yaml").write_text(
        "method: bad\ntitle: Bad\nsource: x\nsteps:\n  - {name: Bad Step, title: T, purpose: P}\n",
        encoding="utf-8",
    )
    with pytest.raises(RulePackError, match=r"bad\.yaml: steps\.0\.name: String should match"):
        load_methods(tmp_path)


def test_english_and_welsh_packs_offer_their_own_routes() -> None:
    packs = load_rule_packs()
    # Issue 25 point 4: an LCSPR's rapid review gives an LCSPR, no LCSPR or a national review;
    # the SCR framework's local routes stay as labelled board overrides.
    assert packs["lcspr"].paths == (
        "full_review",
        "no_review",
        "national_review",
        "critical_incident_review",
        "individual_agency_review",
        "professional_forum",
    )
    assert packs["lcspr"].board_paths == (
        "critical_incident_review",
        "individual_agency_review",
        "professional_forum",
    )
    for regime in ("scr", "sar"):
        assert packs[regime].paths == (
            "full_review",
            "critical_incident_review",
            "individual_agency_review",
            "professional_forum",
            "no_review",
        )
    for regime in ("cpr", "apr", "susr"):
        assert packs[regime].paths == (
            "concise_review",
            "extended_review",
            "professional_forum",
            "no_review",
        )


def test_each_route_says_what_it_walks() -> None:
    assert review_path("individual_agency_review").walks == ("agency_review", "monitoring")
    assert not review_path("individual_agency_review").has("timelines")
    assert review_path("professional_forum").walks == ("forum",)
    assert review_path("critical_incident_review").has("method")
    assert not review_path("critical_incident_review").has("publication")
    assert review_path("concise_review").has("publication")
    assert review_path("no_review").keeps_milestone("panel_notification")
    assert not review_path("no_review").keeps_milestone("review_completion")
