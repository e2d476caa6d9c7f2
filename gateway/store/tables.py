"""The database schema: receipts, cases, their events and attachments, and the outbox."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from gateway.store.types import UTCDateTime

# Named constraints so that Alembic's batch mode on SQLite can find them again (docs/findings.md).
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

# The receipt: what a channel committed before it acknowledged. Raw bytes and envelope, nothing derived.
receipts = Table(
    "receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("mail_from", Text, nullable=True),  # SMTP reverse-path, "" for <>
    Column("rcpt_tos", JSON, nullable=False),
    Column("peer", String(64), nullable=False, default=""),
    Column("sha256", String(64), nullable=False),
    # pending -> done | parked ; parked receipts wait for `gateway reprocess`
    Column("state", String(16), nullable=False, default="pending"),
    Column("outcome", String(32), nullable=True),  # new-case, follow-up, duplicate, automatic, loop ...
    Column("message_id", Text, nullable=True),
    Column("case_id", ForeignKey("cases.id"), nullable=True),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("processed_at", UTCDateTime(), nullable=True),
    # issue 17: a submission's tracking code, drawn before it is stored and shown at once; who sent it
    # and the idempotency key it gave (one receipt per client and key)
    Column("tracking_code", String(32), nullable=True),
    Column("client", String(64), nullable=False, default=""),
    Column("idempotency_key", String(255), nullable=True),
    Index("ix_receipts_state_id", "state", "id"),
    Index("ix_receipts_tracking_code", "tracking_code", unique=True),
    Index("ix_receipts_client_idempotency_key", "client", "idempotency_key", unique=True),
    Index("ix_receipts_sha256", "sha256"),
    Index("ix_receipts_peer_received_at", "peer", "received_at"),  # new cases per client an hour
)

# Message bytes live in tables of their own, written once and never updated. In the same row as the state,
# every lease and every state change rewrote the whole message: SQLite rewrites a row's overflow pages when
# any column changes, 17 KB of WAL for a 1-byte update of an 8 KB row (docs/decisions/0010-bodies-apart.md).
receipt_bodies = Table(
    "receipt_bodies",
    metadata,
    Column("receipt_id", Id, ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True),
    Column("raw", LargeBinary, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("resident_email", Text, nullable=False, default=""),
    Column("resident_name", Text, nullable=False, default=""),
    Column("language", String(2), nullable=False, default="fi"),
    Column("subject", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("message_id", Text, nullable=True),  # the resident's first Message-ID, for threading our replies
    # the routing decision, stored with the case and never recomputed (issue 3)
    Column("department", String(64), nullable=True),
    Column("rule", String(128), nullable=True),
    Column("priority", String(16), nullable=True),
    Column("decision", JSON, nullable=True),
    Column("due_at", UTCDateTime(), nullable=True),
    Column("first_response_due_at", UTCDateTime(), nullable=True),
    # what a web, API, phone or walk-in submission told besides its text (issue 17)
    Column("category", String(64), nullable=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("address", Text, nullable=False, default=""),
    Column("resident_phone", Text, nullable=False, default=""),
    Column("publish_consent", Boolean, nullable=False, default=False),
    Index("ix_cases_resident_email", "resident_email"),
    Index("ix_cases_updated_at", "updated_at"),  # Open311's updated_after/updated_before
    Index("ix_cases_created_at_id", "created_at", "id"),  # Open311's listing: newest first, by date
    Index("ix_cases_status_due_at_id", "status", "due_at", "id"),  # queues: a page of ids from the index
    Index("ix_cases_status_department_due_at_id", "status", "department", "due_at", "id"),  # a handler's
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", Text, nullable=False, default=""),
    Column("receipt_id", ForeignKey("receipts.id"), nullable=True),
    Column("text", Text, nullable=False, default=""),
    Column("data", JSON, nullable=True),
    Index("ix_case_events_case_id", "case_id", "id"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", ForeignKey("case_events.id", ondelete="CASCADE"), nullable=True),
    Column("filename", Text, nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Index("ix_attachments_case_id", "case_id"),
)

# Every Message-ID we have seen or sent, with its case: dedupe of inbound mail and threading of replies.
message_ids = Table(
    "message_ids",
    metadata,
    Column("message_id", Text, primary_key=True),
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), nullable=True),
    Column("direction", String(8), nullable=False),  # in | out
    Column("receipt_id", ForeignKey("receipts.id"), nullable=True),
)

# The outbox: every mail or webhook call we owe, written in the same transaction as its cause.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),  # receipt, forward, relay, reminder, webhook ...
    Column("case_id", ForeignKey("cases.id", ondelete="SET NULL"), nullable=True),
    Column("transport", String(16), nullable=False, default="mail"),  # mail | webhook
    Column("recipient", Text, nullable=False),  # an address, or a URL for webhooks
    Column("mail_from", Text, nullable=False, default=""),  # envelope sender, "" for <>
    Column("message_id", Text, nullable=True),
    Column("state", String(16), nullable=False, default="pending"),  # pending | sent | parked
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_outbox_recipient_kind_created_at", "recipient", "kind", "created_at"),
    Index("ix_outbox_case_id_kind", "case_id", "kind"),
    Index("ix_outbox_message_id", "message_id"),  # a bounce names the Message-IDs it returns
)

outbox_bodies = Table(
    "outbox_bodies",
    metadata,
    Column("outbox_id", Id, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True),
    Column("body", LargeBinary, nullable=False),  # the whole RFC 5322 message, or the JSON document
)

# One row per IMAP mailbox: where reading got to, and which process may read it (issue 4). The lease keeps
# two nodes sharing PostgreSQL from reading one mailbox at once; it is compared with the app clock, like
# the receipt and outbox leases.
mailboxes = Table(
    "mailboxes",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("uidvalidity", BigInteger, nullable=True),
    Column("last_uid", BigInteger, nullable=False, default=0),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Work that must happen at a time (issue 5): reminders, interim notices, alarms. The unique dedupe key makes
# planning idempotent; a lease on the database's clock lets one process at a time fire a task, and only the
# lease holder marks it done, in the transaction that queues its mail (docs/decisions/0006-deadlines.md).
scheduled_tasks = Table(
    "scheduled_tasks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),  # reminder | interim | alarm
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), nullable=True),
    Column("due_at", UTCDateTime(), nullable=False),  # on the app clock, like the case's due time
    Column("planned_for", UTCDateTime(), nullable=True),  # the case's due time when the task was planned
    Column("state", String(16), nullable=False, default="pending"),  # pending | done | cancelled | failed
    Column("outcome", String(32), nullable=True),  # sent, obsolete, late, too-soon, held, no-recipient
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),  # on the database's clock
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("done_at", UTCDateTime(), nullable=True),
    Index("ix_scheduled_tasks_state_due_at", "state", "due_at"),
    Index("ix_scheduled_tasks_case_id_state", "case_id", "state"),
)

# What the deadline planner last saw of each case: the status and due time its tasks were planned for, and
# since when the case waits for the resident. A case whose row is missing or differs was changed without
# being planned again; the deadline worker's sweep finds it and plans it (self-healing).
case_clocks = Table(
    "case_clocks",
    metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("status_seen", String(16), nullable=False),
    Column("due_seen", UTCDateTime(), nullable=True),
    Column("waiting_since", UTCDateTime(), nullable=True),
    Column("planned_at", UTCDateTime(), nullable=False),
)

# What the city has made public of a case (issue 17; moderation fills it in issue 18): the public texts of
# the question and the answer. Only cases with a row here and no `withdrawn_at` are listed in public.
publications = Table(
    "publications",
    metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("question", Text, nullable=False, default=""),
    Column("answer", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime(), nullable=False),
    Column("published_by", Text, nullable=False, default=""),
    Column("withdrawn_at", UTCDateTime(), nullable=True),
    Index("ix_publications_published_at", "published_at"),
    # issue 18: the open column lists and counts the published, newest first, from this index alone
    Index("ix_publications_withdrawn_at_published_at_case_id", "withdrawn_at", "published_at", "case_id"),
)

# The systems that may send feedback in (issue 17): `gateway client add NAME [--open311]`. A webhook
# client signs its requests with its secret (HMAC-SHA256), so the secret itself is kept; an Open311 client
# sends its api_key in the request, so only its SHA-256 is kept (docs/decisions/0027-web-front-door.md).
api_clients = Table(
    "api_clients",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # webhook | open311
    Column("secret", Text, nullable=False, default=""),  # the webhook's HMAC key
    Column("key_sha256", String(64), nullable=True, unique=True),  # the Open311 api_key's hash
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
)

# Staff accounts (issue 18): `gateway user add EMAIL --role ...`. The password is kept only as its argon2
# hash; a user is never deleted, only disabled, so that the events they signed keep naming someone.
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),  # lower-case
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),  # agent | handler | moderator | admin
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime(), nullable=True),
    Column("password_changed_at", UTCDateTime(), nullable=False),
)

# The departments whose cases a handler sees and answers (keys of departments.yaml).
user_departments = Table(
    "user_departments",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department", String(64), primary_key=True),
)

# Staff sessions, kept on the server so that logging out or disabling a user ends them at once. The id is
# the SHA-256 of the cookie's random token: a copy of this table logs nobody in.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),  # the absolute end, whatever the use
    Column("csrf_token", String(64), nullable=False),
    Index("ix_staff_sessions_user_id", "user_id"),
    Index("ix_staff_sessions_expires_at", "expires_at"),
)

# The photos a moderator ticked when publishing a case (issue 18): only these attachments of the case are
# served at /open/{code}/photos/{id}, and only while the publication stands. A new publication of the case
# replaces them (the publication's row is deleted and inserted again, which cascades here).
publication_photos = Table(
    "publication_photos",
    metadata,
    Column("case_id", ForeignKey("publications.case_id", ondelete="CASCADE"), primary_key=True),
    Column("attachment_id", ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True),
)
