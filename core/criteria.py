"""The statutory criteria of a regime, as data in its rule pack, and their plain evaluation.

A pack's ``criteria`` names its legal basis, the harms a referral may report under it, and the
alternative tests that make a review mandatory (each a set of conditions on the referral's
facts). A referral that meets none is routed as the pack says: put to the committee as a
critical incident review (Wirral framework s.6), offered as a discretionary review (Care Act
2014 s.44(4)), or refused.

Pure: no database, no clock.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Harm = Literal["died", "seriously_harmed", "serious_abuse_or_neglect"]
"""What happened to the subject: died; seriously harmed; or (an adult, alive) experienced
serious abuse or neglect (Care Act 2014 s.44(3))."""

HARM_WORDS: dict[str, str] = {
    "died": "died",
    "seriously_harmed": "seriously harmed",
    "serious_abuse_or_neglect": "alive, and experienced serious abuse or neglect",
}


class CaseFacts(BaseModel):
    """The referral's facts the criteria read (pseudonymised)."""

    model_config = ConfigDict(from_attributes=True)

    harm: str
    abuse_or_neglect: str
    interagency_concerns: bool
    domestic_homicide: bool = False


class CriteriaTest(BaseModel):
    """One alternative: every condition given must hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1, description="The test in the words of its source.")
    harm: tuple[str, ...] = ()
    abuse_or_neglect: tuple[str, ...] = ()
    interagency_concerns: bool | None = None
    domestic_homicide: bool | None = Field(
        default=None,
        description="The death is, or appears to be, by a relative, partner or household member "
        "(Domestic Violence, Crime and Victims Act 2004 s.9).",
    )

    def holds(self, facts: CaseFacts) -> bool:
        return (
            (not self.harm or facts.harm in self.harm)
            and (not self.abuse_or_neglect or facts.abuse_or_neglect in self.abuse_or_neglect)
            and (
                self.interagency_concerns is None
                or facts.interagency_concerns == self.interagency_concerns
            )
            and (
                self.domestic_homicide is None or facts.domestic_homicide == self.domestic_homicide
            )
        )


class Criteria(BaseModel):
    """A regime's statutory criteria (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    basis: str = Field(min_length=1, description="The law or guidance, e.g. 'Care Act 2014 s.44'.")
    harms: tuple[Harm, ...] = Field(min_length=1, description="Harms a referral may report.")
    tests: tuple[CriteriaTest, ...] = Field(min_length=1)
    below_threshold: Literal[
        "critical_incident_review",
        "discretionary_review",
        "professional_forum",
        "no_review",
        "refuse",
    ] = "critical_incident_review"
    below_threshold_note: str = Field(
        default="", description="What the board does with a case below the threshold, and why."
    )


class Assessment(BaseModel):
    """The criteria applied to a case: met (by which test), or where the case goes instead."""

    met: bool
    basis: str
    test: str | None = None
    route: str | None = Field(default=None, description="Where a case below the threshold goes.")
    reason: str

    @property
    def summary(self) -> str:
        """One line for the gate forms and the CLI."""
        if self.met:
            return f"met ({self.basis}): {self.test}"
        return f"not met ({self.basis}): {self.reason}"


_ROUTES = {
    "critical_incident_review": "put to the committee as a critical incident review",
    "discretionary_review": "put to the committee for a discretionary review",
    "professional_forum": "put to the committee for a multi-agency professional forum",
    "no_review": "put to the partners as no review",
    "refuse": "refused: no statutory review applies",
}


def assess(criteria: Criteria, facts: CaseFacts) -> Assessment:
    """Apply ``criteria`` to ``facts``."""
    for test in criteria.tests:
        if test.holds(facts):
            return Assessment(
                met=True, basis=criteria.basis, test=test.label, reason="the statutory test is met"
            )
    route = criteria.below_threshold
    note = f" ({criteria.below_threshold_note})" if criteria.below_threshold_note else ""
    return Assessment(
        met=False,
        basis=criteria.basis,
        route=route,
        reason=f"no statutory test is met: {_ROUTES[route]}{note}",
    )
