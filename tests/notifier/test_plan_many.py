"""The sweep's batched planner does exactly what planning each case alone does, on both databases."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from gateway.deadlines import worker as deadline_worker
from gateway.deadlines.plan import plan_deadlines, plan_deadlines_many
from gateway.model import CaseStatus
from gateway.rules import Config, load_config
from gateway.rules.live import LiveConfig, read_config
from gateway.runtime.build import Gateway
from gateway.store import cases as case_store
from gateway.store.db import Database
from gateway.store.tables import case_clocks, scheduled_tasks
from tests.conftest import REPO
from tests.support.daemon import make_settings
from tests.support.mail import stored_case

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday morning
DUE = NOW + timedelta(days=7)

# (status, department, due, planned before at this status): new routed cases (the batch's fast path), a
# case with no due time, one answered, one planned while routed and since set waiting, one planned as is.
SHAPES: list[tuple[CaseStatus, str | None, datetime | None, CaseStatus | None]] = [
    (CaseStatus.ROUTED, "talvi", DUE, None),
    (CaseStatus.ROUTED, "kirjaamo", DUE + timedelta(days=1), None),
    (CaseStatus.NEW, None, None, None),
    (CaseStatus.ANSWERED, "talvi", DUE, None),
    (CaseStatus.WAITING, "talvi", DUE, CaseStatus.ROUTED),
    (CaseStatus.ROUTED, "kirjaamo", DUE, CaseStatus.ROUTED),
]


def _config() -> Config:
    directory = REPO / "tests" / "fixtures" / "config"
    return load_config(directory / "departments.yaml", directory / "rules.yaml")


def _cases(db: Database, group: str, config: Config) -> list[int]:
    ids: list[int] = []
    with db.write() as conn:
        for n, (status, department, due, planned_as) in enumerate(SHAPES):
            case = stored_case(
                conn, code=f"HEL-{group}{n:03d}-0000", status=str(planned_as or status), channel="smtp",
                created_at=NOW, updated_at=NOW, resident_email="r@example.fi", resident_name="",
                language="fi", subject="s", text="t", department=department, due_at=due,
            )  # fmt: skip
            if planned_as is not None:
                plan_deadlines(conn, case.id, NOW, config)
                case_store.update_case(conn, case.id, status=str(status), updated_at=NOW + timedelta(hours=1))
            ids.append(case.id)
    return ids


def _state(db: Database, ids: list[int]) -> list[object]:
    """Clocks and tasks per case, with the case's code taken out of the task keys."""
    out: list[object] = []
    with db.read() as conn:
        for case_id in ids:
            code = case_store.get_case(conn, case_id=case_id).code  # type: ignore[union-attr]
            clock = conn.execute(
                select(case_clocks.c.status_seen, case_clocks.c.due_seen, case_clocks.c.waiting_since).where(
                    case_clocks.c.case_id == case_id
                )
            ).first()
            found = conn.execute(
                select(
                    scheduled_tasks.c.dedupe_key,
                    scheduled_tasks.c.kind,
                    scheduled_tasks.c.due_at,
                    scheduled_tasks.c.planned_for,
                    scheduled_tasks.c.state,
                )
                .where(scheduled_tasks.c.case_id == case_id)
                .order_by(scheduled_tasks.c.dedupe_key)
            ).all()
            out.append((tuple(clock) if clock else None, [(r[0].replace(code, "C"), *r[1:]) for r in found]))
    return out


def test_planning_a_batch_equals_planning_each_case(db: Database) -> None:
    config = _config()
    one_by_one, batched = _cases(db, "A", config), _cases(db, "B", config)
    later = NOW + timedelta(hours=2)
    with db.write() as conn:
        added_alone = sum(plan_deadlines(conn, case_id, later, config) for case_id in one_by_one)
    with db.write() as conn:
        added_batched = plan_deadlines_many(conn, batched, later, config)
    assert added_batched == added_alone > 0
    alone, together = _state(db, one_by_one), _state(db, batched)
    assert together == alone
    assert [len(tasks) for _, tasks in together][:2] == [3, 3], "a new routed case gets its three tasks"
    with db.write() as conn:  # planning again adds nothing
        assert plan_deadlines_many(conn, batched, later, config) == 0


def test_the_sweep_plans_a_stretch_in_short_transactions(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, str(db.engine.url.render_as_string(hide_password=False)))
    # The sweep plans on the daemon's clock: a fixed one, or a due time a week after NOW falls within a
    # working day of the real date once that passes 2026-11-27, and the reminder is left out (issue 15).
    live = LiveConfig(settings, read_config(settings))
    daemon = Gateway(settings, live, db, clock=lambda: NOW + timedelta(hours=2))
    ids: list[int] = []
    with db.write() as conn:
        for n in range(5):
            case = stored_case(
                conn, code=f"HEL-SWEP-{n:04d}", status=str(CaseStatus.ROUTED), channel="smtp", created_at=NOW,
                updated_at=NOW, resident_email="r@example.fi", resident_name="", language="fi", subject="s",
                text="t", department="talvi", due_at=DUE,
            )  # fmt: skip
            ids.append(case.id)
    writes: list[bool] = []  # durable or not, per write transaction
    write = db.write

    def counted(durable: bool = True) -> contextlib.AbstractContextManager[Connection]:
        writes.append(durable)
        return write(durable)

    monkeypatch.setattr(db, "write", counted)
    monkeypatch.setattr(deadline_worker, "SWEEP_CHUNK", 2)
    assert daemon.deadlines.sweep() == 5
    # 2 + 2 + 1, none waiting for the disk: a plan a power cut undoes is made again (decision 0012)
    assert writes == [False, False, False]
    monkeypatch.undo()
    for clock, planned in _state(db, ids):
        assert clock is not None and len(planned) == 3  # each case planned: reminder, interim, alarm
