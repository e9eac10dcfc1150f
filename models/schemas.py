"""Pydantic domain models: what comes in (``…In``) and what goes out (pseudonymised views).

Only :class:`SubjectIn` and :class:`IdentityView` carry identity; everything else is safe to show
to the wider group, to Prefect and in emails.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core.criteria import Harm
from core.deadlines.engine import Period
from core.limits import NAME_MAX, Summary, Text
from core.regime import FamilyStep, RecipientRole
from models.orm import Regime

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _nhs_number(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"\d{10}", digits):
        raise ValueError("an NHS number has 10 digits")
    # Modulus 11 check digit, as the NHS number standard defines it.
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    if check == 10 or check != int(digits[9]):
        raise ValueError("the NHS number's check digit is wrong")
    return digits


Email = Annotated[str, AfterValidator(_email)]
NonEmpty = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(str.strip)]
"""A name-sized text, refused when blank (the ``…In`` models strip whitespace first)."""
NonEmptyText = Annotated[Text, Field(min_length=1)]


def fields_of(row: object, model: type[BaseModel]) -> dict[str, Any]:
    """The attributes of ``row`` that ``model`` has fields for (an ORM row into a view)."""
    return {name: getattr(row, name) for name in model.model_fields if hasattr(row, name)}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AgencyIn(_In):
    name: NonEmpty
    sector: NonEmpty = "other"
    contact_email: Email | None = None
    safeguarding_lead_email: Email | None = None


class BoardIn(_In):
    name: NonEmpty
    chair_email: Email
    business_manager_email: Email
    national_panel_email: Email
    performance_committee_email: Email | None = Field(
        default=None,
        description="The performance committee: its quarterly report and learning summaries "
        "(the business manager's address if not given).",
    )
    local_authority: str | None = Field(
        default=None,
        description="The agency that is the local authority (it notifies the national panel of "
        "serious incidents for an LCSPR): one of the agencies' names.",
    )
    learning_committee_email: Email | None = Field(
        default=None, description="The learning and development committee (learning summaries)."
    )
    agencies: list[AgencyIn] = Field(min_length=1)
    addresses: dict[RecipientRole, Email] = Field(
        default_factory=dict,
        description="Other recipients of the regimes' notices, by role: "
        "director_of_childrens_services, director_of_adult_social_services, ofsted, "
        "department_for_education, secretary_of_state, welsh_government.",
    )

    @model_validator(mode="after")
    def _agency_names_unique(self) -> BoardIn:
        own = sorted({"chair", "business_manager", "national_panel"} & set(self.addresses))
        if own:
            raise ValueError(f"addresses: {own[0]} has its own field ({own[0]}_email)")
        seen: set[str] = set()
        for agency in self.agencies:
            if agency.name.casefold() in seen:
                raise ValueError(f"agencies: {agency.name!r} is listed twice")
            seen.add(agency.name.casefold())
        if self.local_authority is not None and self.local_authority.casefold() not in seen:
            raise ValueError(
                f"local_authority: {self.local_authority!r} is not one of the board's agencies"
            )
        return self


class ReferrerIn(_In):
    name: NonEmpty
    email: Email


class SubjectIn(_In):
    full_name: NonEmpty
    date_of_birth: date
    address: NonEmptyText
    nhs_number: Annotated[str, AfterValidator(_nhs_number)] | None = None


class ParallelProceedingsIn(_In):
    criminal_investigation: bool = False
    court: bool = False
    inquest: bool = False
    notes: Text = ""


class LocalAuthorityNotificationIn(_In):
    """The local authority's serious incident notification (LCSPR: Children Act 2004 s.16C),
    within five working days of becoming aware: to the national panel and Ofsted, and for a
    looked-after child also the Secretary of State."""

    sent_on: date
    to: list[Literal["national_panel", "ofsted", "secretary_of_state"]] = Field(min_length=1)

    @model_validator(mode="after")
    def _panel_is_told(self) -> LocalAuthorityNotificationIn:
        if "national_panel" not in self.to:
            raise ValueError("to: the notification goes to the national panel (national_panel)")
        return self


class ReferralIn(_In):
    """A referral as the business manager records it (Wirral framework Appendix A)."""

    regime: Regime
    pseudonym: Annotated[str, Field(min_length=1, max_length=60)]
    referring_agency: NonEmpty
    referrer: ReferrerIn
    notified_on: date
    incident_date: date
    incident_known_on: date | None = Field(
        default=None,
        description="When the local authority (the partnership) became aware of the incident, "
        "where it differs from the board's notified_on: the serious incident notification's "
        "five working days count from it (Children Act 2004 s.16C).",
    )
    harm: Harm
    abuse_or_neglect: Literal["known", "suspected", "not_suspected"]
    interagency_concerns: bool
    domestic_homicide: bool = Field(
        default=False,
        description="A death by a relative, partner or member of the same household "
        "(Domestic Violence, Crime and Victims Act 2004 s.9).",
    )
    agencies_involved: list[NonEmpty] = Field(min_length=1)
    summary: Summary
    parallel_proceedings: ParallelProceedingsIn = ParallelProceedingsIn()
    subject: SubjectIn
    local_authority_notification: LocalAuthorityNotificationIn | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> ReferralIn:
        if self.notified_on < self.incident_date:
            raise ValueError("notified_on: the board cannot be notified before the incident_date")
        if self.incident_known_on is not None and self.incident_known_on < self.incident_date:
            raise ValueError("incident_known_on: is before the incident_date")
        if self.subject.date_of_birth > self.incident_date:
            raise ValueError("subject.date_of_birth: is after the incident_date")
        return self


class AgencyView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    sector: str
    contact_email: str | None
    safeguarding_lead_email: str | None


class ReferralView(BaseModel):
    """The pseudonymised referral: no subject identity, no referrer name."""

    reference: str
    regime: Regime
    pseudonym: str
    stage: str
    status: str
    referring_agency: str
    notified_on: date
    incident_date: date
    incident_known_on: date
    harm: str
    abuse_or_neglect: str
    interagency_concerns: bool
    domestic_homicide: bool
    agencies_involved: list[str]
    summary: str
    criminal_investigation: bool
    court_proceedings: bool
    inquest: bool
    parallel_notes: str


class IdentityView(BaseModel):
    """Identity, shown only on an audited ``--reveal``."""

    model_config = ConfigDict(from_attributes=True)

    full_name: str
    date_of_birth: date
    address: str
    nhs_number: str | None


class DelayIn(_In, Period):
    """A delay to a review (e.g. parallel criminal proceedings): why, when, and what learning
    was captured meanwhile. Open while ``end`` (``--to``) is empty."""

    what: ClassVar[str] = "delay"
    end_field: ClassVar[str] = "to"

    reason: NonEmptyText
    learning: Text = ""


class DelayView(BaseModel):
    """A recorded delay, as ``reviews status`` shows it."""

    model_config = ConfigDict(from_attributes=True)

    reason: str
    start: date
    end: date | None
    learning: str
    moves_dates: bool = False


class FamilyStepIn(_In):
    """One step of the family's involvement, as the business manager records it. The family
    member's name and relationship, when given, are identity: kept in ``review_name``."""

    step: FamilyStep
    on_date: date
    recorded_by: NonEmpty
    how: Annotated[str, Field(max_length=NAME_MAX)] = ""
    note: Text = ""
    member_name: Annotated[str, Field(max_length=NAME_MAX)] | None = None
    relationship: Annotated[str, Field(max_length=100)] = "family member"


class FamilyStepView(BaseModel):
    """A recorded family step without the family member's identity."""

    model_config = ConfigDict(from_attributes=True)

    step: str
    on_date: date
    how: str
    recorded_by: str


class ReviewStatusView(BaseModel):
    """One open review in the ``status`` listing."""

    reference: str
    regime: Regime
    pseudonym: str
    stage: str
    waiting_at: str | None
    next_milestone: str | None
    next_deadline: date | None
    days_left: int | None
    run_state: str | None = None  # Prefect's word for the run, when Prefect was asked
    delays: list[DelayView] = Field(default_factory=list)
    family: list[FamilyStepView] = Field(default_factory=list)
