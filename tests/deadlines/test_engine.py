"""The clock engine: working days, calendar arithmetic, stop-the-clock, recurrence, errors.

Every expected date below was worked out by hand from a calendar; only the bank-holiday dates
themselves were checked against the ``holidays`` package. Bank holidays used (England & Wales):
2022: Thu 2 Jun spring, Fri 3 Jun platinum jubilee, Mon 19 Sep state funeral,
      Mon 26 Dec Boxing Day, Tue 27 Dec Christmas (substitute);
2023: Mon 2 Jan New Year (substitute), Mon 1 May, Mon 8 May coronation;
2026: Fri 3 Apr Good Friday, Mon 6 Apr Easter Monday, Fri 25 Dec, Mon 28 Dec Boxing (substitute);
2027: Fri 1 Jan, Fri 26 Mar Good Friday, Mon 29 Mar Easter Monday,
      Mon 27 Dec and Tue 28 Dec (substitutes: 25/26 Dec 2027 are a Saturday and Sunday);
2028: Mon 3 Jan New Year (substitute).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from core.deadlines import (
    STANDARD_EVENTS,
    ClockStop,
    Deadline,
    DeadlineEngine,
    UnknownEventError,
    UnknownMilestoneError,
    UnknownRegimeError,
    WorkingCalendar,
    load_rule_packs,
)

REGIMES = ["scr", "lcspr", "sar", "cpr", "apr"]


@pytest.fixture(scope="module")
def engine() -> DeadlineEngine:
    return DeadlineEngine(load_rule_packs())


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def by_milestone(deadlines: list[Deadline]) -> dict[str, Deadline]:
    return {d.milestone: d for d in deadlines}


def due_of(engine: DeadlineEngine, regime: str, milestone: str, **events: date) -> date:
    return by_milestone(engine.compute(regime, events))[milestone].due


def board_engine(tmp_path: Path, yaml_text: str) -> DeadlineEngine:
    (tmp_path / "board.yaml").write_text(yaml_text, encoding="utf-8")
    return DeadlineEngine(load_rule_packs(tmp_path))


# A board-local working-day rule in the common pack, so that every regime (not only lcspr,
# the one national regime with working-day rules) is exercised across bank holidays.
BOARD_WORKING_DAY_RULES = """
regime: "*"
rules:
  - milestone: timeline_return
    base: timelines_requested
    kind: working_days
    amount: 10
    source: board rule (ten working days)
  - milestone: board_briefing
    base: publication
    kind: working_days
    amount: 3
    direction: before
    source: board rule (brief members before publication)
"""


# --- WorkingCalendar -------------------------------------------------------------------------


def test_five_working_days_after_a_monday_is_the_next_monday(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 11, 16), 5) == date(2026, 11, 23)


def test_start_day_is_not_counted_even_when_it_is_a_weekend(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 11, 21), 1) == date(2026, 11, 23)  # Sat -> Mon
    assert calendar.subtract_working_days(date(2026, 11, 22), 1) == date(2026, 11, 20)  # Sun->Fri


def test_zero_working_days_is_the_same_day(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 12, 25), 0) == date(2026, 12, 25)


def test_negative_working_days_are_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        calendar.add_working_days(date(2026, 11, 16), -1)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 25),  # Christmas Day, Friday
        date(2026, 12, 28),  # Boxing Day substitute, Monday
        date(2027, 12, 27),  # Christmas Day substitute, Monday
        date(2027, 12, 28),  # Boxing Day substitute, Tuesday
        date(2028, 1, 3),  # New Year's Day substitute, Monday
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2022, 9, 19),  # state funeral of Queen Elizabeth II
        date(2023, 5, 8),  # coronation of Charles III
        date(2022, 6, 3),  # platinum jubilee
        date(2026, 11, 21),  # Saturday
        date(2026, 11, 22),  # Sunday
    ],
)
def test_weekends_and_bank_holidays_are_not_working_days(
    calendar: WorkingCalendar, day: date
) -> None:
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 24),  # Christmas Eve is a normal working day
        date(2027, 1, 4),  # first Monday of 2027
        date(2028, 2, 29),  # leap day, a Tuesday
        date(2022, 9, 20),  # day after the state funeral
    ],
)
def test_ordinary_weekdays_are_working_days(calendar: WorkingCalendar, day: date) -> None:
    assert calendar.is_working_day(day)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Mon 21 Dec 2026: 22, 23, 24, [25, 26, 27, 28 closed], 29, 30.
        (date(2026, 12, 21), 5, date(2026, 12, 30)),
        # Mon 20 Dec 2027: 21, 22, 23, 24, [25-28 closed, two substitutes], 29.
        (date(2027, 12, 20), 5, date(2027, 12, 29)),
        # Fri 23 Dec 2022: [26, 27 closed], 28, 29, 30, [2 Jan closed], 3, 4.
        (date(2022, 12, 23), 5, date(2023, 1, 4)),
        # Tue 31 Mar 2026: 1, 2, [3 Good Friday, 6 Easter Monday], 7, 8, 9.
        (date(2026, 3, 31), 5, date(2026, 4, 9)),
        # Thu 15 Sep 2022: 16, [19 state funeral], 20, 21, 22, 23.
        (date(2022, 9, 15), 5, date(2022, 9, 23)),
        # Fri 28 Apr 2023: [1 May], 2, 3, 4, 5, [8 May coronation], 9.
        (date(2023, 4, 28), 5, date(2023, 5, 9)),
        # Wed 1 Jun 2022: [2 spring, 3 jubilee], 6, 7, 8, 9, 10.
        (date(2022, 6, 1), 5, date(2022, 6, 10)),
        # Fri 25 Feb 2028: 28, 29 (leap day), 1 Mar, 2, 3.
        (date(2028, 2, 25), 5, date(2028, 3, 3)),
    ],
)
def test_working_days_skip_christmas_and_boxing_day_substitutes_and_one_off_holidays(
    calendar: WorkingCalendar, start: date, n: int, expected: date
) -> None:
    assert calendar.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Tue 5 Jan 2027 back: 4, [1 Jan], 31, 30, 29, [28, 25], 24, 23, 22.
        (date(2027, 1, 5), 7, date(2026, 12, 22)),
        # Wed 8 Apr 2026 back: 7, [6, 3 Easter], 2, 1, 31 Mar, 30, 27, 26.
        (date(2026, 4, 8), 7, date(2026, 3, 26)),
        # Wed 4 Jan 2023 back: 3, [2 Jan substitute], 30, 29, 28, [27, 26].
        (date(2023, 1, 4), 4, date(2022, 12, 28)),
    ],
)
def test_subtracting_working_days_skips_holidays_backwards(
    calendar: WorkingCalendar, start: date, n: int, expected: date
) -> None:
    assert calendar.subtract_working_days(start, n) == expected


def test_working_days_between_counts_the_end_but_not_the_start(
    calendar: WorkingCalendar,
) -> None:
    # (Mon 21 Dec 2026, Wed 30 Dec 2026]: 22, 23, 24, 29, 30.
    assert calendar.working_days_between(date(2026, 12, 21), date(2026, 12, 30)) == 5
    assert calendar.working_days_between(date(2026, 12, 30), date(2026, 12, 21)) == -5
    assert calendar.working_days_between(date(2026, 12, 24), date(2026, 12, 28)) == 0


def test_holiday_years_are_loaded_on_demand_across_a_new_year() -> None:
    fresh = WorkingCalendar()
    # Thu 30 Dec 2027: 31, [1, 2 weekend, 3 Jan 2028 substitute], 4.
    assert fresh.add_working_days(date(2027, 12, 30), 2) == date(2028, 1, 4)


def test_board_closure_days_are_not_working_days() -> None:
    closed_christmas_eve = WorkingCalendar(extra_closed_days=[date(2026, 12, 24)])
    # Mon 21 Dec 2026: 22, 23, [24 closed, 25, 28], 29, 30, 31.
    assert closed_christmas_eve.add_working_days(date(2026, 12, 21), 5) == date(2026, 12, 31)


def test_calendar_refuses_a_datetime(calendar: WorkingCalendar) -> None:
    with pytest.raises(TypeError, match="datetime"):
        calendar.is_working_day(datetime(2026, 11, 16, 9, 0))


# --- statutory facts ---------------------------------------------------------------------------


def test_lcspr_panel_notification_and_rapid_review_count_working_days(
    engine: DeadlineEngine,
) -> None:
    deadlines = by_milestone(engine.compute("lcspr", {"incident_known": date(2026, 11, 16)}))
    assert deadlines["panel_notification"].due == date(2026, 11, 23)
    assert deadlines["rapid_review"].due == date(2026, 12, 7)


def test_scr_panel_notification_and_review_completion_from_decision(
    engine: DeadlineEngine,
) -> None:
    deadlines = by_milestone(engine.compute("scr", {"decision": date(2026, 3, 31)}))
    assert deadlines["panel_notification"].due == date(2026, 4, 14)
    assert deadlines["review_completion"].due == date(2026, 9, 30)


@pytest.mark.parametrize(
    ("incident_known", "panel_notification", "rapid_review"),
    [
        # Christmas 2026 (Boxing Day substitute Mon 28) and New Year 2027 (Fri 1 Jan).
        (date(2026, 12, 21), date(2026, 12, 30), date(2027, 1, 14)),
        # Christmas 2027 (both substitutes, Mon 27 and Tue 28) and New Year 2028 (Mon 3 Jan).
        (date(2027, 12, 20), date(2027, 12, 29), date(2028, 1, 13)),
        # Easter 2026; rapid review: 10, 13-17, 20-23 April.
        (date(2026, 3, 31), date(2026, 4, 9), date(2026, 4, 23)),
        # State funeral; rapid review: ...23, 26-30 Sep, 3-7 Oct.
        (date(2022, 9, 15), date(2022, 9, 23), date(2022, 10, 7)),
    ],
)
def test_lcspr_working_day_clocks_skip_bank_holidays(
    engine: DeadlineEngine, incident_known: date, panel_notification: date, rapid_review: date
) -> None:
    deadlines = by_milestone(engine.compute("lcspr", {"incident_known": incident_known}))
    assert deadlines["panel_notification"].due == panel_notification
    assert deadlines["rapid_review"].due == rapid_review


@pytest.mark.parametrize(
    ("publication", "panel_copy"),
    [
        (date(2027, 1, 5), date(2026, 12, 22)),  # across New Year and Christmas 2026
        (date(2026, 4, 8), date(2026, 3, 26)),  # across Easter 2026
        (date(2023, 5, 10), date(2023, 4, 27)),  # back over the coronation and May Day 2023
    ],
)
def test_lcspr_panel_copy_is_seven_working_days_before_publication(
    engine: DeadlineEngine, publication: date, panel_copy: date
) -> None:
    # 10 May 2023 (Wed) back: 9, [8], 5, 4, 3, 2, [1 May], 28, 27 Apr.
    assert due_of(engine, "lcspr", "panel_copy", publication=publication) == panel_copy


def test_scr_panel_copy_is_seven_calendar_days_before_even_onto_christmas(
    engine: DeadlineEngine,
) -> None:
    assert due_of(engine, "scr", "panel_copy", publication=date(2027, 1, 1)) == date(2026, 12, 25)


@pytest.mark.parametrize(
    ("notified", "chair_decision"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),  # 2026 is not a leap year
        (date(2028, 1, 31), date(2028, 2, 29)),  # 2028 is
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 12, 15), date(2027, 1, 15)),  # across the year end
    ],
)
def test_scr_chair_decision_is_one_calendar_month_clamped_to_month_end(
    engine: DeadlineEngine, notified: date, chair_decision: date
) -> None:
    assert due_of(engine, "scr", "chair_decision", notified=notified) == chair_decision


@pytest.mark.parametrize(
    ("publication", "published_until"),
    [
        (date(2028, 2, 29), date(2029, 2, 28)),
        (date(2026, 11, 16), date(2027, 11, 16)),
    ],
)
def test_scr_report_stays_published_twelve_months(
    engine: DeadlineEngine, publication: date, published_until: date
) -> None:
    assert due_of(engine, "scr", "published_until", publication=publication) == published_until


# --- every regime ------------------------------------------------------------------------------


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize(
    ("decision", "review_completion"),
    [
        (date(2026, 3, 31), date(2026, 9, 30)),  # 31 -> 30 September
        (date(2027, 8, 31), date(2028, 2, 29)),  # into a leap February
        (date(2026, 8, 31), date(2027, 2, 28)),  # into an ordinary February
        (date(2025, 8, 29), date(2026, 2, 28)),  # 29th clamped: 2026 is not a leap year
        (date(2027, 8, 29), date(2028, 2, 29)),  # 29th exists in 2028
        (date(2026, 7, 15), date(2027, 1, 15)),  # across the year end
    ],
)
def test_review_completion_is_six_calendar_months_clamped_to_month_end(
    engine: DeadlineEngine, regime: str, decision: date, review_completion: date
) -> None:
    assert due_of(engine, regime, "review_completion", decision=decision) == review_completion


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize(
    ("final_report", "action_plan_signoff"),
    [
        (date(2026, 11, 27), date(2026, 12, 25)),  # lands on Christmas Day: not moved
        (date(2026, 11, 30), date(2026, 12, 28)),  # lands on a substitute day: not moved
        (date(2026, 3, 6), date(2026, 4, 3)),  # lands on Good Friday: not moved
        (date(2022, 8, 22), date(2022, 9, 19)),  # lands on the state funeral: not moved
        (date(2028, 2, 10), date(2028, 3, 9)),  # 29 days in February 2028
        (date(2026, 2, 10), date(2026, 3, 10)),  # 28 days in February 2026
    ],
)
def test_action_plan_signoff_counts_calendar_days_through_bank_holidays(
    engine: DeadlineEngine, regime: str, final_report: date, action_plan_signoff: date
) -> None:
    signoff = due_of(engine, regime, "action_plan_signoff", final_report=final_report)
    assert signoff == action_plan_signoff


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize(
    ("timelines_requested", "timeline_return"),
    [
        # Mon 21 Dec 2026: 22, 23, 24, 29, 30, 31, 4, 5, 6, 7 Jan.
        (date(2026, 12, 21), date(2027, 1, 7)),
        # Mon 20 Dec 2027: 21, 22, 23, 24, 29, 30, 31, [3 Jan substitute] 4, 5, 6 Jan.
        (date(2027, 12, 20), date(2028, 1, 6)),
        # Fri 23 Dec 2022: 28, 29, 30, [2 Jan substitute] 3, 4, 5, 6, 9, 10, 11 Jan.
        (date(2022, 12, 23), date(2023, 1, 11)),
        # Mon 22 Mar 2027: 23, 24, 25, [26 GF, 29 EM] 30, 31, 1, 2, 5, 6, 7 Apr.
        (date(2027, 3, 22), date(2027, 4, 7)),
        # Thu 15 Sep 2022: 16, [19 state funeral] 20-23, 26-30.
        (date(2022, 9, 15), date(2022, 9, 30)),
        # Fri 28 Apr 2023: [1 May] 2-5, [8 May coronation] 9-12, 15, 16.
        (date(2023, 4, 28), date(2023, 5, 16)),
        # Wed 1 Jun 2022: [2 spring, 3 jubilee] 6-10, 13-17.
        (date(2022, 6, 1), date(2022, 6, 17)),
        # Fri 25 Feb 2028: 28, 29, 1 Mar, 2, 3, 6, 7, 8, 9, 10.
        (date(2028, 2, 25), date(2028, 3, 10)),
    ],
)
def test_board_working_day_rule_skips_bank_holidays_in_every_regime(
    tmp_path: Path, regime: str, timelines_requested: date, timeline_return: date
) -> None:
    engine = board_engine(tmp_path, BOARD_WORKING_DAY_RULES)
    returned = due_of(engine, regime, "timeline_return", timelines_requested=timelines_requested)
    assert returned == timeline_return


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize(
    ("publication", "board_briefing"),
    [
        (date(2026, 12, 29), date(2026, 12, 22)),  # back over 28 and 25 Dec: 24, 23, 22
        (date(2026, 4, 7), date(2026, 3, 31)),  # back over Easter: 2, 1 Apr, 31 Mar
        (date(2022, 9, 21), date(2022, 9, 15)),  # back over the state funeral: 20, 16, 15
    ],
)
def test_before_rule_in_working_days_skips_holidays_in_every_regime(
    tmp_path: Path, regime: str, publication: date, board_briefing: date
) -> None:
    engine = board_engine(tmp_path, BOARD_WORKING_DAY_RULES)
    assert due_of(engine, regime, "board_briefing", publication=publication) == board_briefing


@pytest.mark.parametrize("regime", REGIMES)
def test_one_stop_pushes_review_completion_in_every_regime(
    engine: DeadlineEngine, regime: str
) -> None:
    stop = ClockStop(start=date(2026, 5, 1), end=date(2026, 5, 10), reason="criminal trial")
    deadlines = by_milestone(engine.compute(regime, {"decision": date(2026, 3, 31)}, [stop]))
    assert deadlines["review_completion"].due == date(2026, 10, 10)  # 30 Sep + 10 days
    assert deadlines["review_completion"].paused_days == 10


@pytest.mark.parametrize("regime", REGIMES)
def test_non_stoppable_rules_ignore_stops_in_every_regime(
    engine: DeadlineEngine, regime: str
) -> None:
    stop = ClockStop(start=date(2026, 4, 1), end=date(2026, 4, 30), reason="inquest")
    events = {"final_report": date(2026, 4, 1), "action_plan_signed_off": date(2026, 4, 2)}
    deadlines = by_milestone(engine.compute(regime, events, [stop]))
    assert deadlines["action_plan_signoff"].due == date(2026, 4, 29)
    assert deadlines["action_plan_signoff"].paused_days == 0
    assert deadlines["action_progress"].due == date(2026, 7, 2)


@pytest.mark.parametrize("regime", REGIMES)
def test_action_progress_recurs_every_three_months_from_the_signoff_in_every_regime(
    engine: DeadlineEngine, regime: str
) -> None:
    occurrences = engine.occurrences(
        regime, "action_progress", date(2026, 11, 30), until=date(2027, 12, 31)
    )
    # Each counted from 30 Nov, so the February clamp does not drag May to the 28th.
    assert occurrences == [
        date(2027, 2, 28),
        date(2027, 5, 30),
        date(2027, 8, 30),
        date(2027, 11, 30),
    ]


@pytest.mark.parametrize("regime", REGIMES)
def test_unknown_event_names_the_event_and_lists_known_ones(
    engine: DeadlineEngine, regime: str
) -> None:
    with pytest.raises(UnknownEventError) as raised:
        engine.compute(regime, {"decison": date(2026, 3, 31)})
    message = str(raised.value)
    assert "'decison'" in message
    assert regime in message
    for known in ("decision", "final_report", "action_plan_signed_off", "timelines_requested"):
        assert known in message


@pytest.mark.parametrize("regime", REGIMES)
def test_known_events_are_the_standard_ones_the_recorded_ones_and_rule_bases(
    engine: DeadlineEngine, regime: str
) -> None:
    # Issue 25 point 1: every event the case store records is a clock event (the common pack's
    # `events`), not only the standard ones and the bases of the regime's own rules.
    pack = engine.pack(regime)
    bases = {rule.base for rule in pack.rules}
    assert engine.known_events(regime) >= STANDARD_EVENTS | set(pack.events) | bases
    assert {"la_notified", "panel_notified", "rapid_review_sent", "taken_down"} <= (
        engine.known_events(regime)
    )


# --- stop-the-clock in detail (scr: decision Tue 31 Mar 2026, review due Wed 30 Sep 2026) ---

SCR_DECISION = {"decision": date(2026, 3, 31)}


def review_completion(engine: DeadlineEngine, *stops: ClockStop) -> Deadline:
    return by_milestone(engine.compute("scr", SCR_DECISION, stops))["review_completion"]


def stop(start: date, end: date) -> ClockStop:
    return ClockStop(start=start, end=end, reason="parallel proceedings")


def test_two_stops_push_review_completion_by_both(engine: DeadlineEngine) -> None:
    # 10 days (1-10 May) -> 10 Oct; then 25 Sep-4 Oct (10 days) -> 20 Oct.
    completion = review_completion(
        engine,
        stop(date(2026, 9, 25), date(2026, 10, 4)),
        stop(date(2026, 5, 1), date(2026, 5, 10)),
    )
    assert (completion.due, completion.paused_days) == (date(2026, 10, 20), 20)


def test_a_stop_after_the_original_due_date_counts_once_the_first_stop_pushed_it(
    engine: DeadlineEngine,
) -> None:
    # 1-10 May pushes 30 Sep to 10 Oct, so 5-6 Oct now falls inside: 12 Oct.
    completion = review_completion(
        engine,
        stop(date(2026, 5, 1), date(2026, 5, 10)),
        stop(date(2026, 10, 5), date(2026, 10, 6)),
    )
    assert (completion.due, completion.paused_days) == (date(2026, 10, 12), 12)


def test_stops_before_the_base_or_after_the_due_date_do_not_count(
    engine: DeadlineEngine,
) -> None:
    completion = review_completion(
        engine,
        stop(date(2026, 1, 1), date(2026, 1, 31)),
        stop(date(2026, 11, 1), date(2026, 11, 5)),
    )
    assert (completion.due, completion.paused_days) == (date(2026, 9, 30), 0)


def test_a_stop_straddling_the_decision_counts_from_the_decision_date(
    engine: DeadlineEngine,
) -> None:
    # 31 Mar-3 Apr inside the clock: 4 days.
    completion = review_completion(engine, stop(date(2026, 3, 25), date(2026, 4, 3)))
    assert (completion.due, completion.paused_days) == (date(2026, 10, 4), 4)


def test_a_stop_running_past_the_due_date_counts_to_its_end(engine: DeadlineEngine) -> None:
    # 20 Sep-10 Oct is 21 days; the clock is still stopped on 30 Sep, so due 21 Oct, after it.
    completion = review_completion(engine, stop(date(2026, 9, 20), date(2026, 10, 10)))
    assert (completion.due, completion.paused_days) == (date(2026, 10, 21), 21)


def test_overlapping_stops_do_not_pause_a_day_twice(engine: DeadlineEngine) -> None:
    # 1-10 May and 5-15 May together are 1-15 May: 15 days.
    completion = review_completion(
        engine,
        stop(date(2026, 5, 1), date(2026, 5, 10)),
        stop(date(2026, 5, 5), date(2026, 5, 15)),
    )
    assert (completion.due, completion.paused_days) == (date(2026, 10, 15), 15)


def test_stops_leave_panel_notification_alone(engine: DeadlineEngine) -> None:
    deadlines = by_milestone(
        engine.compute("scr", SCR_DECISION, [stop(date(2026, 4, 1), date(2026, 4, 10))])
    )
    assert deadlines["panel_notification"].due == date(2026, 4, 14)
    assert deadlines["panel_notification"].paused_days == 0
    assert deadlines["review_completion"].due == date(2026, 10, 10)


def test_stoppable_working_day_rule_moves_by_the_working_days_stopped(tmp_path: Path) -> None:
    engine = board_engine(
        tmp_path,
        """
regime: "*"
rules:
  - milestone: timeline_return
    base: timelines_requested
    kind: working_days
    amount: 10
    stoppable: true
    source: board rule
""",
    )
    # Mon 1 Jun 2026 + 10 working days = Mon 15 Jun. Stop Fri 5-Sun 7 Jun: 3 calendar days of
    # which one (Fri) is a working day, so the return is due one working day later.
    deadlines = engine.compute(
        "sar",
        {"timelines_requested": date(2026, 6, 1)},
        [stop(date(2026, 6, 5), date(2026, 6, 7))],
    )
    (returned,) = deadlines
    assert (returned.due, returned.paused_days) == (date(2026, 6, 16), 3)


def test_clock_stop_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        ClockStop(start=date(2026, 5, 10), end=date(2026, 5, 1), reason="trial")


@pytest.mark.parametrize("reason", ["", "   "])
def test_clock_stop_needs_a_reason(reason: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        ClockStop(start=date(2026, 5, 1), end=date(2026, 5, 1), reason=reason)


# --- recurrence ----------------------------------------------------------------------------------


def test_recurring_occurrences_clamp_from_the_base_each_time(engine: DeadlineEngine) -> None:
    occurrences = engine.occurrences(
        "scr", "action_progress", date(2026, 8, 31), until=date(2027, 8, 31)
    )
    # Not chained: 30 Nov, 28 Feb, then back to the 31st in May and August.
    assert occurrences == [
        date(2026, 11, 30),
        date(2027, 2, 28),
        date(2027, 5, 31),
        date(2027, 8, 31),
    ]


def test_recurring_occurrences_reach_a_leap_day(engine: DeadlineEngine) -> None:
    occurrences = engine.occurrences(
        "lcspr", "action_progress", date(2027, 11, 30), until=date(2028, 5, 30)
    )
    assert occurrences == [date(2028, 2, 29), date(2028, 5, 30)]


def test_recurring_occurrences_stop_before_until_when_it_is_not_a_due_date(
    engine: DeadlineEngine,
) -> None:
    occurrences = engine.occurrences(
        "sar", "action_progress", date(2026, 11, 30), until=date(2027, 5, 29)
    )
    assert occurrences == [date(2027, 2, 28)]
    assert engine.occurrences("sar", "action_progress", date(2026, 11, 30), date(2027, 2, 27)) == []


def test_compute_gives_the_first_occurrence_of_a_recurring_rule(engine: DeadlineEngine) -> None:
    progress = by_milestone(engine.compute("cpr", {"action_plan_signed_off": date(2026, 11, 30)}))
    assert progress["action_progress"].due == date(2027, 2, 28)
    assert progress["action_progress"].rule == "every 3 months after action_plan_signed_off"


def test_occurrences_refuse_a_one_off_rule(engine: DeadlineEngine) -> None:
    with pytest.raises(ValueError, match="not recurring"):
        engine.occurrences("scr", "panel_copy", date(2026, 1, 1), date(2027, 1, 1))


def test_occurrences_name_an_unknown_milestone(engine: DeadlineEngine) -> None:
    with pytest.raises(UnknownMilestoneError, match="'action_progres'"):
        engine.occurrences("scr", "action_progres", date(2026, 1, 1), date(2027, 1, 1))


# --- results and errors ------------------------------------------------------------------------


def test_deadlines_are_sorted_by_due_date_then_milestone(engine: DeadlineEngine) -> None:
    # chair_decision and panel_notification both fall on 15 Apr 2026.
    deadlines = engine.compute(
        "scr",
        {
            "notified": date(2026, 3, 15),
            "decision": date(2026, 4, 1),
            "publication": date(2027, 3, 1),
        },
    )
    assert [(d.milestone, d.due) for d in deadlines] == [
        ("chair_decision", date(2026, 4, 15)),
        ("panel_notification", date(2026, 4, 15)),
        ("review_completion", date(2026, 10, 1)),
        ("panel_copy", date(2027, 2, 22)),
        ("published_until", date(2028, 3, 1)),
    ]


def test_deadline_carries_its_rule_source_and_base(engine: DeadlineEngine) -> None:
    (panel_copy,) = engine.compute("lcspr", {"publication": date(2027, 1, 5)})
    assert panel_copy == Deadline(
        milestone="panel_copy",
        due=date(2026, 12, 22),
        rule="at the latest 7 working days before publication",
        source="Working Together 2023 ch.5 (the final report to the panel and the Secretary of "
        "State at least 7 working days before publication)",
        base_event="publication",
        base_date=date(2027, 1, 5),
        paused_days=0,
        basis="statutory guidance",
    )


def test_known_events_without_rules_give_no_deadlines(engine: DeadlineEngine) -> None:
    assert (
        engine.compute("sar", {"notified": date(2026, 1, 1), "incident_known": date(2026, 1, 1)})
        == []
    )


def test_unknown_regime_names_it_and_lists_known_ones(engine: DeadlineEngine) -> None:
    with pytest.raises(UnknownRegimeError) as raised:
        engine.compute("scrr", {"decision": date(2026, 3, 31)})
    message = str(raised.value)
    assert "'scrr'" in message
    for regime in REGIMES:
        assert regime in message


def test_regimes_are_listed_sorted(engine: DeadlineEngine) -> None:
    assert engine.regimes() == ["apr", "cpr", "lcspr", "sar", "scr", "susr"]


def test_compute_refuses_a_datetime_event(engine: DeadlineEngine) -> None:
    with pytest.raises(TypeError, match="datetime"):
        engine.compute("scr", {"decision": datetime(2026, 3, 31, 12, 0)})


def test_engine_uses_the_injected_calendar() -> None:
    closed_christmas_eve = WorkingCalendar(extra_closed_days=[date(2026, 12, 24)])
    engine = DeadlineEngine(load_rule_packs(), calendar=closed_christmas_eve)
    assert due_of(engine, "lcspr", "panel_notification", incident_known=date(2026, 12, 21)) == date(
        2026, 12, 31
    )
