"""`DeadlinePolicy`: when reminders, interim notices and alarms fall around a case's due time."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.deadlines.worktime import Duration

# Frozen values, so sharing them as defaults is safe.
ONE_WORKING_DAY = Duration(1, "working_days", "1 working day")
FIVE_WORKING_DAYS = Duration(5, "working_days", "5 working days")
AT_DUE = Duration(0, "hours", "0 hours")


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """The schedule around a case's answer due time, counted in the department's working time.

    Reminders to the handler fall *remind_before* the due time; the resident's interim notice falls
    *interim_at* before it (0 hours: at the due time) and again every *interim_every* while the case stays
    unanswered; the alarm to the escalation contact falls at the due time and every *alarm_every* after.
    """

    remind_before: tuple[Duration, ...] = (ONE_WORKING_DAY,)
    interim_at: tuple[Duration, ...] = (AT_DUE,)
    interim_every: Duration = FIVE_WORKING_DAYS
    alarm_every: Duration = ONE_WORKING_DAY


DEFAULT_POLICY = DeadlinePolicy()
