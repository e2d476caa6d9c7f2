"""Deadlines (issue 5): the arithmetic, the `deadlines:` block, reminders, notices and alarms end to end."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.cli.main import main
from gateway.deadlines.clock import add_office_time, before, repeat_key, resumed_due, wanted_tasks
from gateway.deadlines.plan import set_status
from gateway.deadlines.policy import DEFAULT_POLICY
from gateway.model import CaseStatus
from gateway.notifier.reply_address import reply_address
from gateway.rules import ConfigError, HolidayCalendar, WorkCalendar, load_config, parse_duration
from gateway.rules import working_time_between as wtb
from gateway.store import cases as case_store
from gateway.store.tables import outbox, scheduled_tasks
from tests.conftest import REPO
from tests.support.daemon import TEST_SECRET, RunningDaemon, wait_for
from tests.support.mail import all_cases, forward_mail, make_mail, outbox_mail, send, settled

HELSINKI = ZoneInfo("Europe/Helsinki")
CAL = WorkCalendar(HELSINKI, holidays=HolidayCalendar("FI"))
FIXTURE = REPO / "tests" / "fixtures" / "config"
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))


# -- arithmetic -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(due=instants, since=instants, paused=spans)
def test_a_pause_moves_the_due_time_by_exactly_the_office_time_spent_waiting(
    due: datetime, since: datetime, paused: timedelta
) -> None:
    resumed = since + paused
    moved = resumed_due(due, since, resumed, CAL)
    assert moved >= due
    assert wtb(due, moved, CAL) == wtb(since, resumed, CAL)
    if moved != due:  # it lands in office hours (or at a close), never on a holiday or weekend
        assert CAL.is_working_day(CAL.local_date(moved - timedelta(microseconds=1)))


@settings(max_examples=300, deadline=None)
@given(start=instants, amount=spans)
def test_adding_office_time_is_the_inverse_of_measuring_it(start: datetime, amount: timedelta) -> None:
    assert wtb(start, add_office_time(start, amount, CAL), CAL) == amount


@settings(max_examples=300, deadline=None)
@given(due=instants, n=st.integers(0, 10), unit=st.sampled_from(["working days", "working hours", "hours"]))
def test_a_point_before_the_due_time_is_before_it_and_on_a_working_day(
    due: datetime, n: int, unit: str
) -> None:
    at = before(due, parse_duration(f"{n} {unit}"), CAL)
    assert at <= due
    if n and unit.startswith("working"):
        assert CAL.is_working_day(CAL.local_date(at - timedelta(microseconds=1)))
        if unit == "working hours":
            assert wtb(at, due, CAL) == timedelta(hours=n)


def test_a_working_day_before_keeps_the_place_in_the_day() -> None:
    tuesday = datetime(2026, 3, 10, 13, 0, tzinfo=HELSINKI)
    assert before(tuesday, parse_duration("1 working day"), CAL) == datetime(
        2026, 3, 9, 13, 0, tzinfo=HELSINKI
    )
    monday = datetime(2026, 3, 9, 10, 0, tzinfo=HELSINKI)
    assert before(monday, parse_duration("1 working day"), CAL) == datetime(
        2026, 3, 6, 10, 0, tzinfo=HELSINKI
    )
    # Good Friday 2026 is 3 April, Easter Monday 6 April: a holiday weekend is skipped.
    tuesday_after_easter = datetime(2026, 4, 7, 9, 0, tzinfo=HELSINKI)
    assert before(tuesday_after_easter, parse_duration("1 working day"), CAL) == datetime(
        2026, 4, 2, 9, 0, tzinfo=HELSINKI
    )


def test_a_due_time_wants_reminders_an_interim_notice_and_an_alarm() -> None:
    due = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    now = due - timedelta(days=3)
    keys = [t.key for t in wanted_tasks("HEL-AAAA-BBBB", due, DEFAULT_POLICY, CAL, now)]
    assert keys == [
        "reminder:HEL-AAAA-BBBB:2026-03-10T14:00:00Z:1working_days",
        "interim:HEL-AAAA-BBBB:2026-03-10T14:00:00Z:0hours",
        "alarm:HEL-AAAA-BBBB:2026-03-10T14:00:00Z:1",
    ]
    late = [t.kind for t in wanted_tasks("HEL-AAAA-BBBB", due, DEFAULT_POLICY, CAL, due + timedelta(1))]
    assert late == ["interim", "alarm"], "no reminder for a due time already past"
    assert repeat_key("alarm:C:D:3") == ("alarm:C:D:4", 4)
    assert repeat_key("interim:C:D:0hours") == ("interim:C:D:+1", 1)
    assert repeat_key("interim:C:D:+1") == ("interim:C:D:+2", 2)


# -- configuration ----------------------------------------------------------------------------------


def _config_with(tmp_path: Path, top: str, talvi: str = "") -> Path:
    folder = tmp_path / "config"
    shutil.copytree(FIXTURE, folder)
    text = (folder / "departments.yaml").read_text()
    text = text.replace("departments:\n", f"{top}departments:\n", 1)
    text = text.replace(
        "    answer_within: 2 working days\n", f"    answer_within: 2 working days\n{talvi}", 1
    )
    (folder / "departments.yaml").write_text(text)
    return folder


def test_the_deadlines_block_sets_the_schedule_and_a_department_refines_it(tmp_path: Path) -> None:
    folder = _config_with(
        tmp_path,
        "deadlines:\n  remind_before: [2 working days, 4 working hours]\n  alarm_every: 4 hours\n",
        "    deadlines: {interim_at: [], alarm_every: 2 working hours}\n",
    )
    config = load_config(folder / "departments.yaml", folder / "rules.yaml")
    kirjaamo, talvi = config.deadline_policy("kirjaamo"), config.deadline_policy("talvi")
    assert [str(d) for d in kirjaamo.remind_before] == ["2 working days", "4 working hours"]
    assert str(kirjaamo.alarm_every) == "4 hours" and str(kirjaamo.interim_every) == "5 working days"
    assert talvi.remind_before == kirjaamo.remind_before and talvi.interim_at == ()
    assert str(talvi.alarm_every) == "2 working hours"
    assert config.deadline_policy(None) == config.deadlines


def test_a_bad_deadlines_block_is_reported_with_file_and_line(tmp_path: Path) -> None:
    folder = _config_with(tmp_path, "deadlines:\n  remind_before: 2 fortnights\n  alarm_evry: 1 day\n")
    with pytest.raises(ConfigError) as caught:
        load_config(folder / "departments.yaml", folder / "rules.yaml")
    problems = [str(p) for p in caught.value.problems]
    expected = "departments.yaml:7: deadlines.remind_before: cannot read duration '2 fortnights'"
    assert any(expected in p and "unknown unit 'fortnights'" in p for p in problems), problems
    assert any("departments.yaml:8: deadlines: unknown key 'alarm_evry'" in p for p in problems), problems


# -- end to end, in one daemon with a clock the test moves --------------------------------------------


def _move_to(gateway: RunningDaemon, when: datetime) -> None:
    gateway.clock.move_to(when)


def _mail(gateway: RunningDaemon, kind: str) -> list[Message]:
    return [m for m in outbox_mail(gateway.maildir) if m["Message-ID"].strip("<>").startswith(f"{kind}.")]


def _task_keys(gateway: RunningDaemon) -> list[tuple[str, str, str | None]]:
    with gateway.db.read() as conn:
        rows = conn.execute(
            select(scheduled_tasks.c.dedupe_key, scheduled_tasks.c.state, scheduled_tasks.c.outcome)
        ).all()
    return [(r.dedupe_key, r.state, r.outcome) for r in rows]


def _queued_kinds(gateway: RunningDaemon) -> list[str]:
    with gateway.db.read() as conn:
        return sorted(conn.execute(select(outbox.c.kind)).scalars())


def _open_case(gateway: RunningDaemon) -> tuple[object, Message]:
    send(gateway.port, make_mail(sender="Matti <matti@example.fi>"))
    [forward] = wait_for(lambda: forward_mail(gateway.maildir), what="the forward")
    [case] = all_cases(gateway.db)
    # Nobody called plan_deadlines: the worker's sweep plans the new case by itself.
    wait_for(lambda: len(_task_keys(gateway)) == 3, what="the case's tasks")
    return case, forward


def test_reminder_interim_notice_and_repeating_alarms_each_go_once(gateway: RunningDaemon) -> None:
    case, forward = _open_case(gateway)
    due = case.due_at.replace(tzinfo=UTC)
    reminder_at = before(
        due, parse_duration("1 working day"), gateway.live.current.department("talvi").calendar
    )

    _move_to(gateway, reminder_at + timedelta(minutes=1))
    [reminder] = wait_for(lambda: _mail(gateway, "reminder"), what="the reminder")
    assert reminder["To"].addresses[0].addr_spec == "talvi@urakoitsija.example"
    assert reminder["In-Reply-To"] == forward["Message-ID"], "threaded to the forward"
    assert reminder["Reply-To"].addresses[0].addr_spec == reply_address(
        "palaute@hel.example", case.code, case.department or "", TEST_SECRET
    )
    assert reminder["Subject"].startswith(f"[{case.code}] Muistutus")

    _move_to(gateway, due + timedelta(minutes=1))
    [interim] = wait_for(lambda: _mail(gateway, "interim"), what="the interim notice")
    [alarm] = wait_for(lambda: _mail(gateway, "alarm"), what="the alarm")
    assert interim["To"].addresses[0].addr_spec == "matti@example.fi"
    assert "Talvikunnossapito" in interim.get_content() and "urakoitsija" not in interim.get_content()
    assert interim["Auto-Submitted"] == "auto-replied"
    assert alarm["To"].addresses[0].addr_spec == "talvi@urakoitsija.example"  # no escalation: its email
    assert "numero 1" in alarm.get_content()

    calendar = gateway.live.current.department("talvi").calendar
    from gateway.rules import add_working_time

    second = add_working_time(due, parse_duration("1 working day"), calendar)
    _move_to(gateway, second + timedelta(minutes=1))
    wait_for(lambda: len(_mail(gateway, "alarm")) == 2, what="the second alarm")

    # Staff ask the resident something: the case waits, the alarms stop, the clock pauses.
    # Each moment is read from the clock once and that value used everywhere: two reads differ by
    # milliseconds, and in office hours so do the due times computed from them (issue 15).
    waited_from = gateway.clock()
    with gateway.db.write() as conn:
        row = case_store.get_case(conn, case_id=case.id)
        assert row is not None
        set_status(conn, row, CaseStatus.WAITING, waited_from, gateway.live.current)
    third = add_working_time(second, parse_duration("1 working day"), calendar)
    _move_to(gateway, third + timedelta(hours=1))
    resumed_at = gateway.clock()
    with gateway.db.write() as conn:
        row = case_store.get_case(conn, case_id=case.id)
        assert row is not None and row.due_at == due
        resumed = set_status(conn, row, CaseStatus.ROUTED, resumed_at, gateway.live.current)
    assert resumed.due_at == resumed_due(due, waited_from, resumed_at, calendar)
    assert resumed.due_at is not None and resumed.due_at > due
    wait_for(lambda: any(k.startswith("alarm:") and k.endswith(":1") and s == "pending"
                         for k, s, _ in _task_keys(gateway) if resumed.due_at.strftime("%Y-%m-%dT") in k),
             what="tasks for the moved due time")  # fmt: skip

    keys = _task_keys(gateway)
    assert len(_mail(gateway, "alarm")) == 2 and len(_mail(gateway, "reminder")) == 1
    assert len(_mail(gateway, "interim")) == 1
    assert any(k.startswith("alarm:") and k.endswith(":3") for k, s, o in keys if s == "cancelled")
    with gateway.db.read() as conn:
        queued = [r.dedupe_key for r in conn.execute(select(outbox.c.dedupe_key))]
    assert len(queued) == len(set(queued))
    sent = {k for k, s, o in keys if o == "sent"}
    assert sent <= set(queued), "every task that says sent has its mail queued under its own key"


def test_an_answered_case_gets_no_more_notices(gateway: RunningDaemon) -> None:
    case, _ = _open_case(gateway)
    with gateway.db.write() as conn:
        row = case_store.get_case(conn, case_id=case.id)
        assert row is not None
        set_status(conn, row, CaseStatus.ANSWERED, gateway.clock(), gateway.live.current)
    _move_to(gateway, case.due_at.replace(tzinfo=UTC) + timedelta(days=10))
    wait_for(lambda: all(s != "pending" for _, s, _ in _task_keys(gateway)), what="tasks cancelled")
    assert not _mail(gateway, "alarm") and not _mail(gateway, "interim") and not _mail(gateway, "reminder")


def test_a_case_answered_without_planning_is_caught_when_its_task_fires(gateway: RunningDaemon) -> None:
    """The lead's code may change a status without calling plan_deadlines: the task re-checks the case."""
    case, _ = _open_case(gateway)
    with gateway.db.write() as conn:
        case_store.update_case(conn, case.id, status="closed", updated_at=gateway.clock())
    _move_to(gateway, case.due_at.replace(tzinfo=UTC) + timedelta(days=10))
    wait_for(lambda: all(s != "pending" for _, s, _ in _task_keys(gateway)), what="tasks settled")
    # Read the outbox rows once delivery has settled, not the maildir: a notice queued in the task's
    # transaction may not be delivered yet (issue 15: this check once caught the fault in half the runs).
    wait_for(lambda: settled(gateway.db), what="deliveries settled")
    assert _queued_kinds(gateway) == ["forward", "receipt"]
    assert {o for _, _, o in _task_keys(gateway)} <= {"obsolete", "replanned"}


def test_cases_overdue_and_case_status_on_the_command_line(
    start_gateway: Callable[..., RunningDaemon],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway = start_gateway()
    send(gateway.port, make_mail())
    wait_for(lambda: forward_mail(gateway.maildir), what="the forward")
    [case] = all_cases(gateway.db)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway.settings.database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(gateway.settings.config_dir))
    with gateway.db.write() as conn:  # overdue by a day on the real clock the command uses
        case_store.update_case(conn, case.id, due_at=datetime.now(UTC) - timedelta(days=1))
    capsys.readouterr()
    assert main(["cases", "--overdue", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["code"] == case.code and listed["department"] == "talvi" and listed["status"] == "routed"
    assert 86000 < listed["late_seconds"] < 87000
    assert main(["case", "status", case.code.lower(), "waiting", "--by", "Liisa"]) == 0
    assert main(["cases", "--overdue", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1]) == []
    assert main(["case", "status", case.code, "routed", "--by", "Liisa"]) == 0
    assert main(["cases", "--overdue"]) == 0
    assert case.code in capsys.readouterr().out


@pytest.mark.parametrize(("unreachable_days", "outcome"), [(1.0, "sent"), (3.0, "held")])
def test_the_interim_notice_honours_unreachable_days(
    start_gateway: Callable[..., RunningDaemon], unreachable_days: float, outcome: str
) -> None:
    """Issue 16's wiring bug: the daemon built its deadline worker without `unreachable_for`, so an
    interim notice to a resident whose mail bounced two days ago was held with any `unreachable_days`
    (the worker's own default of 3). Now the notice takes the outbound path, whose guard has the setting."""
    gateway = start_gateway(unreachable_days=unreachable_days)
    case, _ = _open_case(gateway)
    due = case.due_at.replace(tzinfo=UTC)
    with gateway.db.write() as conn:  # the receipt to the resident bounced two days before the due time
        conn.execute(
            outbox.update()
            .where(outbox.c.kind == "receipt")
            .values(state="bounced", next_attempt_at=due - timedelta(days=2))
        )
    _move_to(gateway, due + timedelta(minutes=1))
    wait_for(
        lambda: any(k.startswith("interim:") and s == "done" for k, s, _ in _task_keys(gateway)),
        what="the interim task",
    )
    [interim] = [o for k, s, o in _task_keys(gateway) if k.startswith("interim:") and s == "done"]
    assert interim == outcome
    assert ("interim" in _queued_kinds(gateway)) is (outcome == "sent")
