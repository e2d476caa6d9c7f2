"""The console's queues and case file on both databases (issue 18): each queue holds what it says, the
counts agree with the lists, a handler's scope hides other departments, search by code, address and words."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gateway.store import queues
from gateway.store.casefile import attachment, case_file
from gateway.store.cases import insert_case, insert_event
from gateway.store.db import Database
from gateway.store.tables import attachments

NOW = datetime(2026, 12, 4, 10, tzinfo=UTC)
STATUSES = {  # what each queue holds, as the console's words say
    "new": ("new",),
    "open": ("new", "routed", "waiting"),
    "due-soon": ("routed",),
    "overdue": ("new", "routed"),
    "waiting": ("waiting",),
}


def _case(
    db: Database, code: str, status: str, department: str | None, due: timedelta | None, **more: object
) -> int:
    with db.write() as conn:
        return insert_case(
            conn, code=code, status=status, channel="web", created_at=NOW - timedelta(days=1),
            updated_at=NOW, resident_email=str(more.pop("email", "")), resident_name="", language="fi",
            subject=str(more.pop("subject", "aihe")), text=str(more.pop("text", "teksti")),
            department=department,
            due_at=NOW + due if due is not None else None, **more,
        )  # fmt: skip


def test_queues_counts_scope_and_search(db: Database) -> None:
    _case(db, "HEL-0000-0001", "new", None, None)
    _case(db, "HEL-0000-0002", "routed", "tyoyksikko", timedelta(hours=3), email="a@example.fi")
    _case(db, "HEL-0000-0003", "routed", "tyoyksikko", timedelta(days=3), text="Lumi kasautuu portille")
    _case(db, "HEL-0000-0004", "routed", "kirjaamo", timedelta(hours=-2))
    _case(db, "HEL-0000-0005", "waiting", "kirjaamo", timedelta(days=2))
    _case(db, "HEL-0000-0006", "answered", "kirjaamo", None)
    with db.read() as conn:
        counts = queues.overview(conn, NOW).counts
        assert {k: counts[k] for k in ("new", "open", "due-soon", "overdue", "waiting")} == {
            "new": 1, "open": 5, "due-soon": 1, "overdue": 1, "waiting": 1,
        }  # fmt: skip
        for queue in ("new", "open", "due-soon", "overdue", "waiting"):
            page = queues.queue_page(conn, queue, NOW)
            assert page.total == counts[queue] == len(page.lines)
        assert [c.code for c in queues.queue_page(conn, "open", NOW).lines][:2] == [
            "HEL-0000-0004",
            "HEL-0000-0002",
        ]
        mine = queues.queue_page(conn, "open", NOW, departments=["tyoyksikko"])
        assert {c.code for c in mine.lines} == {"HEL-0000-0002", "HEL-0000-0003"}
        assert (
            queues.overview(conn, NOW, departments=[]).counts["open"] == 0
        )  # a handler of no department sees nothing
        assert queues.overview(conn, NOW).by_department == {"-": 1, "tyoyksikko": 2, "kirjaamo": 2}
        # what the overview knows of a queue's size is what counting it gives
        seen = queues.overview(conn, NOW)
        for queue, department in [("open", None), ("overdue", None), ("open", "kirjaamo"), ("new", None)]:
            counted = queues.queue_page(conn, queue, NOW, department=department).total
            assert seen.total(queue, department) == counted
        assert seen.total("closed", None) is None and seen.total("waiting", "kirjaamo") is None
        assert seen.total("open", "nobody") == 0
        assert [c.code for c in queues.queue_page(conn, "", NOW, search="hel-0000-0005").lines] == [
            "HEL-0000-0005"
        ]
        assert [c.code for c in queues.queue_page(conn, "", NOW, search="A@Example.fi").lines] == [
            "HEL-0000-0002"
        ]
        assert [c.code for c in queues.queue_page(conn, "", NOW, search="lumi portille").lines] == [
            "HEL-0000-0003"
        ]
        assert queues.queue_page(conn, "", NOW, search="100%_").total == 0  # LIKE's wildcards are escaped
        assert queues.queue_page(conn, "", NOW, search="lumi", departments=["kirjaamo"]).total == 0


def test_paging_and_sorting(db: Database) -> None:
    for n in range(queues.PAGE_SIZE + 5):
        _case(db, f"HEL-0000-1{n:03d}", "routed", "kirjaamo", timedelta(hours=n + 1))
    with db.read() as conn:
        first = queues.queue_page(conn, "open", NOW)
        second = queues.queue_page(conn, "open", NOW, page=2)
        last_first = queues.queue_page(conn, "open", NOW, descending=True)
    assert (first.pages, len(first.lines), len(second.lines)) == (2, queues.PAGE_SIZE, 5)
    assert first.lines[0].code == "HEL-0000-1000" and last_first.lines[0].code == second.lines[-1].code


def test_the_case_file_and_its_attachments_stay_with_their_case(db: Database) -> None:
    one = _case(db, "HEL-0000-0001", "routed", "kirjaamo", timedelta(days=1))
    _case(db, "HEL-0000-0002", "routed", "kirjaamo", timedelta(days=1))
    with db.write() as conn:
        event = insert_event(conn, one, "opened", NOW, actor="a@example.fi", text="teksti")  # type: ignore[arg-type]
        conn.execute(
            attachments.insert().values(
                case_id=one,
                event_id=event,
                filename="kuva.jpg",
                content_type="image/jpeg",
                size=3,
                content=b"abc",
            )
        )
    with db.read() as conn:
        found = case_file(conn, "HEL-0000-0001")
        assert found is not None and [e.kind for e in found.events] == ["opened"]
        [photo] = found.attachments
        assert attachment(conn, "HEL-0000-0001", photo.id) == ("kuva.jpg", "image/jpeg", b"abc")
        assert attachment(conn, "HEL-0000-0002", photo.id) is None  # another case's id shows nothing
        assert case_file(conn, "HEL-9999-9999") is None


def test_every_page_by_due_time_is_the_plain_sort_of_its_queue(db: Database) -> None:
    """Each page by due time, both ways, whole or of one department or of a handler's scope, is what
    sorting the queue's cases by due time (those without one last, then by id) gives: the page's ids are
    chosen from the index before their rows are read (queues.queue_page), and an index range cut inside
    a run of equal due times must still give a total order."""
    rnd = random.Random(7)
    statuses = ("new", "routed", "routed", "routed", "routed", "waiting", "answered")
    departments = (None, "kirjaamo", "kirjaamo", "tyoyksikko", "puistot")
    known = []
    for n in range(8 * queues.PAGE_SIZE):
        status, department = rnd.choice(statuses), rnd.choice(departments)
        # Many equal due times and missing ones, and one status far past a page: each index range is cut
        # inside runs of equal times, so the order must be total in every part, not only in the whole.
        due = None if rnd.random() < 0.2 else timedelta(hours=rnd.randint(-12, 12))
        code = f"HEL-0000-{n:04d}"
        known.append((_case(db, code, status, department, due), code, status, department, due))
    assert sum(1 for k in known if k[2] == "routed" and k[4] is not None) > 3 * queues.PAGE_SIZE
    with db.read() as conn:
        for queue in ("new", "open", "due-soon", "overdue", "waiting"):
            for scope, department in ((None, None), (None, "kirjaamo"), (["kirjaamo", "puistot"], None)):
                held = [
                    k for k in known
                    if k[2] in STATUSES[queue]
                    and (scope is None or k[3] in scope) and (department is None or k[3] == department)
                    and (queue != "overdue" or (k[4] is not None and k[4] < timedelta(0)))
                    and (queue != "due-soon" or (k[4] is not None and timedelta(0) <= k[4] < queues.DUE_SOON))
                ]  # fmt: skip
                for descending in (False, True):
                    dated = sorted((k for k in held if k[4] is not None), key=lambda k: (k[4], k[0]))
                    undated = sorted((k for k in held if k[4] is None), key=lambda k: k[0])
                    if descending:
                        dated.reverse()
                        undated.reverse()
                    expected = [k[1] for k in dated + undated]
                    pages = max(1, -(-len(expected) // queues.PAGE_SIZE))
                    for number in range(1, pages + 1):
                        page = queues.queue_page(
                            conn, queue, NOW, departments=scope, department=department,
                            descending=descending, page=number,
                        )  # fmt: skip
                        start = (number - 1) * queues.PAGE_SIZE
                        assert [c.code for c in page.lines] == expected[start : start + queues.PAGE_SIZE], (
                            queue, scope, department, descending, number,
                        )  # fmt: skip
