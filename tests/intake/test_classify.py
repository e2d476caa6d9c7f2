"""Classifier.classify and may_answer against a real store (SQLite in tmp_path), no daemon: which kind a
message is, which case it belongs to, and why (issue 16; the rules of issue 15, decisions 0021a/b, 0022a).

The world: a case handed to `talvi` (resident matti@example.fi) with our hand-over and receipt in the
outbox, and a case rerouted from `talvi` to `puisto` since its first hand-over. Each row builds one
inbound message from that world and names the kind, the case and the `why` classify must give."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from gateway.intake.classify import Classifier
from gateway.model import Address, AutoReplySignal, Case, CaseStatus, InboundMessage, MessageKind
from gateway.model.tracking_code import new_code
from gateway.notifier.bounce_address import bounce_address
from gateway.notifier.compose import message_id_for
from gateway.notifier.reply_address import reply_address
from gateway.store import migrate, outbox
from gateway.store.db import Database, make_engine
from gateway.store.tables import outbox as outbox_table
from tests.support.mail import stored_case

SECRET = "a-long-enough-secret-of-the-unit-tests-0123456789"
PREFIX = "HEL"
CITY = "palaute@hel.example"
DOMAIN = "hel.example"
AUTHSERV = "mx.hel.example"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RESIDENT = "matti@example.fi"
STRANGER = "stranger@example.com"
BOUNCER = "mailer-daemon@mx.example.fi"
CONTRACTOR = "urakoitsija@contractor.example"  # a listed contact outside the staff domains
# The listed contacts of each department; hel.example is the city's staff domain.
CONTACTS = {
    "talvi": frozenset({"talvi@hel.example", CONTRACTOR}),
    "puisto": frozenset({"puisto@hel.example"}),
}


@dataclass(frozen=True)
class World:
    db: Database
    case: Case  # with talvi
    moved: Case  # handed to talvi first, rerouted to puisto since
    handover_id: str  # the Message-ID of our hand-over of `case`
    receipt_id: str  # the Message-ID of our receipt of `case`
    receipt_outbox_id: int
    moved_handover_id: str  # the Message-ID of the first hand-over of `moved`

    def token_address(self, case: Case, department: str) -> str:
        return reply_address(CITY, case.code, department, SECRET)


@dataclass(frozen=True)
class Incoming:
    msg: InboundMessage
    rcpt_tos: tuple[str, ...] = (CITY,)
    mail_from: str | None = None


def _new_case(conn: Connection, resident: str, department: str) -> Case:
    """A case with the columns intake's `_new_case` gives one."""
    return stored_case(
        conn,
        code=new_code(PREFIX),
        status=str(CaseStatus.ROUTED),
        channel="smtp",
        created_at=NOW,
        updated_at=NOW,
        resident_email=resident,
        resident_name="Matti Meikäläinen",
        language="fi",
        subject="Lunta kadulla",
        text="Kadulla on puoli metriä lunta.",
        message_id=f"first.{department}@example.fi",
        department=department,
        rule=f"{department}-rule",
    )


def _queue(conn: Connection, case: Case, kind: str, to: str) -> tuple[str, int]:
    """Our mail of *kind* on *case* in the outbox, with a Message-ID of ours as the planner makes it; its
    Message-ID and outbox id."""
    key = f"{kind}:{case.code}"
    message_id = message_id_for(key, DOMAIN, SECRET)
    item = outbox.OutboundItem(key, kind, to, b"composed", case.id, "mail", CITY, message_id)
    assert outbox.enqueue(conn, item, NOW)
    row_id = conn.execute(select(outbox_table.c.id).where(outbox_table.c.dedupe_key == key)).scalar_one()
    return message_id, int(row_id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Built once: classify only reads."""
    path: Path = tmp_path_factory.mktemp("classify") / "gateway.db"
    db = Database(make_engine(f"sqlite:///{path}"))
    migrate.upgrade(db)
    with db.write() as conn:
        case = _new_case(conn, RESIDENT, "talvi")
        handover_id, _ = _queue(conn, case, "forward", "talvi@hel.example")
        receipt_id, receipt_outbox_id = _queue(conn, case, "receipt", RESIDENT)
        moved = _new_case(conn, "liisa@example.fi", "puisto")  # its department now; talvi had it first
        moved_handover_id, _ = _queue(conn, moved, "forward", "talvi@hel.example")
    yield World(db, case, moved, handover_id, receipt_id, receipt_outbox_id, moved_handover_id)
    db.dispose()


def _classifier(trusted_authserv_id: str = "") -> Classifier:
    return Classifier(
        SECRET,
        PREFIX,
        lambda conn, case: CONTACTS.get(case.department or "", frozenset()),
        lambda case: frozenset({DOMAIN}),
        trusted_authserv_id,
    )


def _msg(sender: str, **values: object) -> InboundMessage:
    fields: dict[str, object] = {
        "message_id": f"{new_code(PREFIX).lower()}@example.org",
        "sender": Address(sender, "Joku"),
        "to": (CITY,),
        "subject": "Lunta kadulla",
        "text": "Kadulla on yhä lunta.",
        "reply_text": "Kadulla on yhä lunta.",
        "language": "fi",
    }
    fields.update(values)
    return InboundMessage(**fields)  # type: ignore[arg-type]


def _to(address: str, sender: str, **values: object) -> Incoming:
    """*sender* writing to *address* (envelope and To)."""
    return Incoming(_msg(sender, to=(address,), **values), (address,))


def _in_thread(w: World, sender: str, **values: object) -> Incoming:
    """*sender* answering our hand-over of the case, to the city's address."""
    return Incoming(_msg(sender, in_reply_to=w.handover_id, references=(w.handover_id,), **values))


def _dkim(domain: str, authserv: str = AUTHSERV, result: str = "pass") -> str:
    return f"{authserv}; spf=pass smtp.mailfrom={domain}; dkim={result} header.d={domain} header.s=s1"


STRONG: dict[str, object] = {"auto_reply": True, "auto_reply_signal": AutoReplySignal.STRONG}
WEAK: dict[str, object] = {"auto_reply_signal": AutoReplySignal.WEAK}

LISTED_WHO = "a listed contact of the department"
STAFF_WHO = "an address of the staff domains"
LISTED = f"{LISTED_WHO}, through the signed reply address"
STAFF = f"{STAFF_WHO}, through the signed reply address"
OUTDATED = "a reply address with a wrong or outdated token (rerouted since?)"
STRANGER_WHY = "neither a contact of the department nor at a staff domain"
NO_PASS = "no DKIM or DMARC pass for the sender's domain from our mail server"
UNSIGNED = "a delivery report we did not sign: kept, not believed"


@dataclass(frozen=True)
class Row:
    build: Callable[[World], Incoming]
    kind: MessageKind
    case: str | None  # "case", "moved" or None
    why: str
    trusted: str = field(default="")  # trusted_authserv_id


ROWS = [
    # -- new feedback and the resident writing again ------------------------------------------------
    pytest.param(Row(lambda w: Incoming(_msg(RESIDENT)), MessageKind.NEW, None, "new feedback"), id="new"),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), RESIDENT),
            MessageKind.FOLLOW_UP, "case", "the resident, through a reply address",
        ),
        id="resident-through-the-reply-address",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), "Matti@Example.FI"),
            MessageKind.FOLLOW_UP, "case", "the resident, through a reply address",
        ),
        id="resident-in-mixed-case-through-the-reply-address",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "wrong"), RESIDENT),
            MessageKind.FOLLOW_UP, "case", "the resident, through a reply address",
        ),
        id="resident-through-a-reply-address-of-a-wrong-token",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(_msg(RESIDENT, in_reply_to=w.receipt_id)),
            MessageKind.FOLLOW_UP, "case", "the resident, in the case's thread",
        ),
        id="resident-in-reply-to-our-receipt",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(_msg(RESIDENT, references=("unknown@example.org", w.receipt_id))),
            MessageKind.FOLLOW_UP, "case", "the resident, in the case's thread",
        ),
        id="resident-references-our-receipt",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(_msg(RESIDENT, subject=f"Re: [{w.case.code}]", tracking_code=w.case.code)),
            MessageKind.FOLLOW_UP, "case", "the resident, in the case's thread",
        ),
        id="resident-tracking-code-in-the-subject",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(_msg(RESIDENT, tracking_code=new_code(PREFIX))),
            MessageKind.NEW, None, "new feedback",
        ),
        id="resident-tracking-code-of-no-case",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(_msg(RESIDENT, in_reply_to="not-ours@example.org")),
            MessageKind.NEW, None, "new feedback",
        ),
        id="resident-in-reply-to-a-message-id-not-ours",
    ),
    # -- strangers quoting a case --------------------------------------------------------------------
    pytest.param(
        Row(
            lambda w: Incoming(_msg(STRANGER, in_reply_to=w.receipt_id)),
            MessageKind.NEW, None, "new feedback",
        ),
        id="stranger-in-reply-to-our-message-id",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(_msg(STRANGER, subject=f"Asia {w.case.code}", tracking_code=w.case.code)),
            MessageKind.NEW, None, "new feedback",
        ),
        id="stranger-tracking-code-in-the-subject",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), STRANGER),
            MessageKind.UNVERIFIED, "case", STRANGER_WHY,
        ),
        id="outsider-with-a-valid-token",
    ),
    # -- staff answering through the signed reply address --------------------------------------------
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), "talvi@hel.example"),
            MessageKind.ANSWER, "case", LISTED,
        ),
        id="listed-contact-with-a-valid-token",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi").upper(), "TALVI@hel.example"),
            MessageKind.ANSWER, "case", LISTED,
        ),
        id="listed-contact-with-a-valid-token-in-upper-case",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(
                _msg("talvi@hel.example", cc=(w.token_address(w.case, "talvi"),)), (CITY,)
            ),
            MessageKind.ANSWER, "case", LISTED,
        ),
        id="listed-contact-with-the-reply-address-in-cc",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), CONTRACTOR),
            MessageKind.ANSWER, "case", LISTED,
        ),
        id="listed-contact-outside-the-staff-domains",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), "sihteeri@hel.example"),
            MessageKind.ANSWER, "case", STAFF,
        ),
        id="staff-domain-address-with-a-valid-token",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), "sihteeri@hel.example.evil.example"),
            MessageKind.UNVERIFIED, "case", STRANGER_WHY,
        ),
        id="lookalike-of-the-staff-domain",
    ),
    pytest.param(
        Row(
            lambda w: _to(f"palaute+{w.case.code.lower()}.{'a' * 16}@hel.example", "talvi@hel.example"),
            MessageKind.UNVERIFIED, "case", OUTDATED,
        ),
        id="listed-contact-with-a-forged-token",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.moved, "talvi"), "talvi@hel.example"),
            MessageKind.UNVERIFIED, "moved", OUTDATED,
        ),
        id="old-department-after-a-reroute",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.moved, "puisto"), "puisto@hel.example"),
            MessageKind.ANSWER, "moved", LISTED,
        ),
        id="new-department-after-a-reroute",
    ),
    pytest.param(
        Row(
            lambda w: _to(reply_address(CITY, new_code(PREFIX), "talvi", SECRET), "talvi@hel.example"),
            MessageKind.NEW, None, "new feedback",
        ),
        id="reply-address-of-no-case",
    ),
    pytest.param(
        Row(lambda w: _in_thread(w, "talvi@hel.example"), MessageKind.UNVERIFIED, "case",
            "a handler without the signed reply address"),
        id="handler-in-the-thread-without-the-reply-address",
    ),
    # -- Authentication-Results, when our mail server's are trusted ----------------------------------
    pytest.param(
        Row(
            lambda w: _to(
                w.token_address(w.case, "talvi"), "talvi@hel.example", authentication_results=(_dkim(DOMAIN),)
            ),
            MessageKind.ANSWER, "case", LISTED,
            AUTHSERV,
        ),
        id="trusted-server-passed-dkim",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), "talvi@hel.example"),
            MessageKind.UNVERIFIED, "case", NO_PASS, AUTHSERV,
        ),
        id="trusted-server-no-header",
    ),
    pytest.param(
        Row(
            lambda w: _to(
                w.token_address(w.case, "talvi"),
                "talvi@hel.example",
                authentication_results=(_dkim(DOMAIN, authserv="mx.evil.example"),),
            ),
            MessageKind.UNVERIFIED, "case", NO_PASS, AUTHSERV,
        ),
        id="trusted-server-only-another-servers-header",
    ),
    pytest.param(
        Row(
            lambda w: _to(
                w.token_address(w.case, "talvi"),
                "sihteeri@hel.example",
                authentication_results=(_dkim(DOMAIN, result="fail"),),
            ),
            MessageKind.UNVERIFIED, "case", NO_PASS, AUTHSERV,
        ),
        id="trusted-server-failed-dkim",
    ),
    pytest.param(
        Row(
            lambda w: _to(w.token_address(w.case, "talvi"), STRANGER),
            MessageKind.UNVERIFIED, "case", STRANGER_WHY, AUTHSERV,
        ),
        id="trusted-server-outsider",
    ),
    pytest.param(
        Row(lambda w: _to(w.token_address(w.case, "talvi"), RESIDENT), MessageKind.FOLLOW_UP, "case",
            "the resident, through a reply address", AUTHSERV),
        id="trusted-server-resident-needs-no-pass",
    ),
    # -- automatic mail --------------------------------------------------------------------------------
    pytest.param(
        Row(lambda w: Incoming(_msg(STRANGER, **STRONG)), MessageKind.AUTOMATIC, None,
            "automatic mail that belongs to no case"),
        id="strong-automatic-without-a-case",
    ),
    pytest.param(
        Row(lambda w: Incoming(_msg(STRANGER, **WEAK)), MessageKind.NEW, None, "new feedback"),
        id="weak-automatic-without-a-case-opens-one",
    ),
    pytest.param(
        Row(lambda w: Incoming(_msg(RESIDENT, in_reply_to=w.receipt_id, **STRONG)), MessageKind.AUTOMATIC,
            "case", "the resident, in the case's thread"),
        id="strong-automatic-from-the-resident-in-the-thread",
    ),
    pytest.param(
        Row(lambda w: Incoming(_msg(RESIDENT, in_reply_to=w.receipt_id, **WEAK)), MessageKind.AUTOMATIC,
            "case", "the resident, in the case's thread"),
        id="weak-automatic-from-the-resident-in-the-thread",
    ),
    pytest.param(
        Row(lambda w: _in_thread(w, "talvi@hel.example", **WEAK), MessageKind.AUTOMATIC, "case",
            "automatic mail in the case's thread"),
        id="weak-automatic-from-the-handler-in-the-thread",
    ),
    pytest.param(
        Row(lambda w: _in_thread(w, STRANGER, **STRONG), MessageKind.AUTOMATIC, "case",
            "automatic mail in the case's thread"),
        id="strong-automatic-from-a-stranger-in-the-thread",
    ),
    pytest.param(
        Row(lambda w: _to(w.token_address(w.case, "talvi"), "talvi@hel.example", **STRONG),
            MessageKind.AUTOMATIC, "case", "automatic mail to a reply address"),
        id="strong-automatic-to-the-reply-address",
    ),
    pytest.param(
        Row(lambda w: _to(w.token_address(w.case, "talvi"), "talvi@hel.example", **WEAK),
            MessageKind.AUTOMATIC, "case", "automatic mail to a reply address"),
        id="weak-automatic-to-the-reply-address",
    ),
    # -- bounces ---------------------------------------------------------------------------------------
    pytest.param(
        Row(
            lambda w: Incoming(
                _msg(BOUNCER, bounce=True),
                (bounce_address(CITY, w.receipt_outbox_id, SECRET),),
                "",
            ),
            MessageKind.BOUNCE, "case", "a bounce of mail we signed",
        ),
        id="signed-bounce",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(
                # the signed address decides, not the Message-IDs the report quotes
                _msg(BOUNCER, bounce=True, bounced_message_ids=(w.moved_handover_id,)),
                (bounce_address(CITY, w.receipt_outbox_id, SECRET),),
                "",
            ),
            MessageKind.BOUNCE, "case", "a bounce of mail we signed",
        ),
        id="signed-bounce-quoting-another-case",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(
                _msg(BOUNCER, bounce=True, bounced_message_ids=(w.receipt_id,)),
                (bounce_address(CITY, w.receipt_outbox_id, SECRET),),
                BOUNCER,
            ),
            MessageKind.BOUNCE, "case", UNSIGNED,
        ),
        id="signed-address-without-the-null-reverse-path",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(
                _msg(BOUNCER, bounce=True, bounced_message_ids=(w.receipt_id,)),
                (bounce_address(CITY, w.receipt_outbox_id, "another-secret-of-32-bytes-or-more-0123"),),
                "",
            ),
            MessageKind.BOUNCE, "case", UNSIGNED,
        ),
        id="bounce-address-signed-with-another-key",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(
                _msg(BOUNCER, bounce=True, bounced_message_ids=(w.receipt_id,)), (CITY,), ""
            ),
            MessageKind.BOUNCE, "case", UNSIGNED,
        ),
        id="unsigned-bounce-quoting-our-message-id",
    ),
    pytest.param(
        Row(
            lambda w: Incoming(_msg(RESIDENT, bounce=True), (CITY,), ""),
            MessageKind.BOUNCE, None, UNSIGNED,
        ),
        id="unsigned-bounce-of-no-case",
    ),
]  # fmt: skip


def _case_id(w: World, which: str | None) -> int | None:
    return {"case": w.case.id, "moved": w.moved.id, None: None}[which]


@pytest.mark.parametrize("row", ROWS)
def test_classify(world: World, row: Row) -> None:
    incoming = row.build(world)
    with world.db.read() as conn:
        found = _classifier(row.trusted).classify(conn, incoming.msg, incoming.rcpt_tos, incoming.mail_from)
    assert (found.kind, found.why) == (row.kind, row.why)
    assert (found.case.id if found.case else None) == _case_id(world, row.case)


@pytest.mark.parametrize(
    ("sender", "trusted", "headers", "expected"),
    [
        pytest.param("talvi@hel.example", "", (), LISTED_WHO, id="listed"),
        pytest.param("Talvi@HEL.example", "", (), LISTED_WHO, id="listed-any-case"),
        pytest.param("sihteeri@hel.example", "", (), STAFF_WHO, id="staff-domain"),
        pytest.param("sihteeri@evilhel.example", "", (), None, id="not-the-staff-domain"),
        pytest.param("puisto@hel.example", "", (), STAFF_WHO, id="other-departments"),
        pytest.param(STRANGER, "", (), None, id="stranger"),
        pytest.param(STRANGER, AUTHSERV, (_dkim("example.com"),), None, id="stranger-with-a-pass"),
        pytest.param(CONTRACTOR, AUTHSERV, (_dkim("contractor.example"),), LISTED_WHO,
                     id="dkim-pass-of-the-from-domain"),
        pytest.param(CONTRACTOR, AUTHSERV, (f"{AUTHSERV}; dkim=pass header.i=@contractor.example",),
                     LISTED_WHO, id="dkim-pass-by-header-i"),
        pytest.param(CONTRACTOR, AUTHSERV, (f"{AUTHSERV}; dmarc=pass header.from=contractor.example",),
                     LISTED_WHO, id="dmarc-pass"),
        pytest.param("sihteeri@hel.example", AUTHSERV.upper(), (_dkim(DOMAIN),),
                     STAFF_WHO, id="authserv-id-in-any-case"),
        pytest.param(CONTRACTOR, AUTHSERV, (f"{AUTHSERV}; spf=pass smtp.mailfrom=contractor.example",), None,
                     id="spf-alone-is-not-enough"),
        pytest.param(CONTRACTOR, AUTHSERV, (_dkim("evil.example"),), None, id="dkim-pass-of-another-domain"),
        pytest.param(CONTRACTOR, AUTHSERV, (_dkim("contractor.example", result="fail"),), None,
                     id="dkim-fail"),
        pytest.param(CONTRACTOR, AUTHSERV, (_dkim("contractor.example", authserv="mx.evil.example"),), None,
                     id="another-servers-pass"),
        pytest.param(CONTRACTOR, AUTHSERV, (), None, id="no-header"),
    ],
)  # fmt: skip
def test_may_answer(
    world: World, sender: str, trusted: str, headers: tuple[str, ...], expected: str | None
) -> None:
    msg = _msg(sender, authentication_results=headers)
    with world.db.read() as conn:
        assert _classifier(trusted).may_answer(conn, world.case, msg) == expected
