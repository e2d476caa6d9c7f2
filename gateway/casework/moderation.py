"""Moderation (issue 18): a moderator makes a public version of an answered case's question and answer,
with redaction proposed by `proposals.propose`, and publishes it in the open column; a publication can be
withdrawn. Each step is recorded on the case (a note event with who and what) and logged.

What blocks publishing, checked again on the final texts whatever the page sent:
- the case is not answered or closed, or has no answer;
- the resident was asked for consent and did not give it: the form, phone and walk-in entry and the webhook
  ask ("may be published without my personal data"); mail and Open311 never ask, and there the moderator
  decides;
- a text is empty or longer than `MAX_TEXT`;
- any email address, phone number or identity code (valid or mistyped) is left: these are never public,
  whatever the moderator chose (`BLOCKING`). A city's own service number in an answer is blocked too: the
  answer says "the customer service" instead;
- a ticked photo is not an image of the case without metadata (`photo_metadata.bare_type`).
Names, registration plates and street addresses may be left: a street address is often the place the
feedback is about, and an official's or a councillor's name may be public. What is left is recorded on the
publish event (kinds and counts) and logged, never its words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import Connection

from gateway.casework.photo_metadata import bare_type
from gateway.casework.proposals import Finding, apply, propose
from gateway.errors import NoSuchCase, SenderFault
from gateway.model import Case, CaseStatus, Channel, EventKind
from gateway.store import cases as case_store
from gateway.store import moderation as store
from gateway.store.cases import EventRow
from gateway.store.db import Database
from gateway.store.moderation import Published, Waiting
from gateway.store.public import publish as store_publish

log = structlog.get_logger(__name__)

MAX_TEXT = 5_000  # characters of a public question or answer (the form's own bound on a resident's text)
MAX_WHY = 500
BLOCKING = frozenset({"identity-code", "identity-code-invalid", "email", "phone"})
PUBLISHABLE = (CaseStatus.ANSWERED, CaseStatus.CLOSED)
ASKS_CONSENT = (Channel.WEB, Channel.PHONE, Channel.WALK_IN)  # the form, the webhook, staff entry
Consent = Literal["given", "refused", "not-asked"]
Reason = Literal[
    "not-answered", "no-answer", "no-consent", "empty", "too-long", "personal-data", "photo", "not-published",
    "no-reason",
]  # fmt: skip
_DOTTED = re.compile(r"^([^\W\d_]{2,})[._]([^\W\d_]{2,})(?:[._]([^\W\d_]{2,}))?@", re.I)  # liisa.virtanen@


class Refused(SenderFault):
    """Publishing or withdrawing refused: `reason` a machine word for the page, `left` the personal data
    that blocks publishing (the text it is in, "question" or "answer", and the finding)."""

    def __init__(self, reason: Reason, message: str, left: Sequence[tuple[str, Finding]] = ()) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.left = tuple(left)


@dataclass(frozen=True, slots=True)
class Part:
    """A text of the public version, with the redactions proposed for it."""

    text: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Photo:
    id: int
    filename: str
    content_type: str  # of a bare image (photo_metadata); "" when it may not be published
    ticked: bool  # in the case's publication (standing or withdrawn)

    @property
    def publishable(self) -> bool:
        return bool(self.content_type)


@dataclass(frozen=True, slots=True)
class Draft:
    """A case as a moderator meets it: the texts to publish with their proposals, the photos, and what
    stands in the way."""

    case: Case
    question: Part
    answer: Part
    original_question: str  # the resident's text
    original_answer: str  # the latest answer the resident was sent
    names: tuple[str, ...]  # the names the case knows, for the proposals
    photos: tuple[Photo, ...]
    consent: Consent
    publication: Published | None

    @property
    def blocked(self) -> Reason | None:
        """Why this case cannot be published whatever the texts, or None."""
        return _blocked(self.case, self.original_answer)

    @property
    def is_published(self) -> bool:
        return self.publication is not None and self.publication.withdrawn_at is None


def normalise(text: str) -> str:
    """A text as the page and the column hold it: line ends as \\n (a browser sends a textarea's \\r\\n)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _proposals(text: str, draft: Draft) -> Part:
    return Part(text, tuple(propose(text, draft.case.language, draft.names)))


def redact(part: Part, accepted: Collection[int]) -> str:
    """*part*'s text with its proposals of the given numbers (their places in `part.findings`) applied."""
    return apply(part.text, [f for i, f in enumerate(part.findings) if i in accepted])


class Moderation:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reads ------------------------------------------------------------------------------------------

    def waiting(self, offset: int, limit: int) -> tuple[int, tuple[Waiting, ...]]:
        """Answered cases that may be published and never were, newest change first."""
        statuses, asking = [str(s) for s in PUBLISHABLE], [str(c) for c in ASKS_CONSENT]
        with self._db.read() as conn:
            return store.waiting(conn, statuses, asking, offset, limit)

    def published(self, offset: int, limit: int) -> tuple[int, tuple[Published, ...]]:
        with self._db.read() as conn:
            return store.published(conn, offset, limit)

    def draft(self, code: str, question: str | None = None, answer: str | None = None) -> Draft:
        """The case *code* for moderation. The texts are *question* and *answer* when given (the page sent
        them back), else the standing or withdrawn publication's, else the resident's text and the
        answer they were sent. NoSuchCase when there is no such case."""
        with self._db.read() as conn:
            case = _case(conn, code)
            events = case_store.list_events(conn, case.id)
            staff = store.user_names(conn, _addresses(events))
            stored = store.stored_attachments(conn, case.id)
            ticked = set(store.photo_ids(conn, case.id))
            publication = store.publication(conn, case.id)
        names = _names(case, events, staff)
        original_question = normalise(case.text or case.subject).strip()
        original_answer = normalise(_answer(events)).strip()
        if question is None or answer is None:
            question = publication.question if publication else original_question
            answer = publication.answer if publication else original_answer
        draft = Draft(
            case=case,
            question=Part(question, ()),
            answer=Part(answer, ()),
            original_question=original_question,
            original_answer=original_answer,
            names=names,
            photos=tuple(Photo(a.id, a.filename, bare_type(a.content) or "", a.id in ticked) for a in stored),
            consent=_consent(case),
            publication=publication,
        )
        return _with_proposals(draft)

    def photo(self, code: str, attachment_id: int) -> tuple[str, bytes] | None:
        """An attachment of the case for the moderator's eyes: (content type, bytes) of a JPEG, PNG or
        WebP, with its metadata or without; None for anything else."""
        with self._db.read() as conn:
            found = store.stored_attachment(conn, code, attachment_id)
        kind = _image_type(found.content) if found is not None else None
        return None if found is None or kind is None else (kind, found.content)

    def public_photo(self, code: str, attachment_id: int) -> tuple[str, bytes] | None:
        """A photo of a published case that the moderator ticked, when its bytes are still bare."""
        with self._db.read() as conn:
            found = store.published_photo(conn, code, attachment_id)
        kind = bare_type(found.content) if found is not None else None
        return None if found is None or kind is None else (kind, found.content)

    # -- writes -----------------------------------------------------------------------------------------

    def publish(
        self,
        code: str,
        question: str,
        answer: str,
        photo_ids: Iterable[int],
        moderator_email: str,
        now: datetime,
    ) -> Published:
        """Publish case *code* with these texts and photos, replacing any publication it had. Refused
        (see the module's docstring) with nothing written."""
        question, answer, photos = normalise(question).strip(), normalise(answer).strip(), set(photo_ids)
        with self._db.write() as conn:
            [case] = case_store.lock_cases(conn, [_case(conn, code).id])
            events = case_store.list_events(conn, case.id)
            if (reason := _blocked(case, _answer(events))) is not None:
                raise Refused(reason, f"case {code} cannot be published: {reason}")
            if not question or not answer:
                raise Refused("empty", "the public question and answer must both have words")
            if len(question) > MAX_TEXT or len(answer) > MAX_TEXT:
                raise Refused("too-long", f"a public text is over {MAX_TEXT} characters")
            names = _names(case, events, store.user_names(conn, _addresses(events)))
            found = [("question", f) for f in propose(question, case.language, names)]
            found += [("answer", f) for f in propose(answer, case.language, names)]
            if blocking := [(part, f) for part, f in found if f.kind in BLOCKING]:
                kinds = sorted({f.kind for _, f in blocking})
                raise Refused("personal-data", f"personal data left: {', '.join(kinds)}", blocking)
            bare = {a.id for a in store.stored_attachments(conn, case.id) if bare_type(a.content)}
            if photos - bare:
                raise Refused("photo", f"photos {sorted(photos - bare)} are no bare images of case {code}")
            left = dict(sorted(Counter(f.kind for _, f in found).items()))
            store_publish(conn, case.id, question, answer, now, moderator_email)
            store.set_photos(conn, case.id, photos)
            data: dict[str, Any] = {
                "published": True, "question": question, "answer": answer, "photos": sorted(photos),
                "left": left,
            }  # fmt: skip
            case_store.insert_event(
                conn, case.id, EventKind.NOTE, now, actor=moderator_email,
                text="published in the open column", data=data,
            )  # fmt: skip
            case_store.update_case(conn, case.id, updated_at=now)  # Open311's updated_after finds it
            published = store.publication(conn, case.id)
        log.info("case published", case=code, by=moderator_email, photos=len(photos), left=left)
        assert published is not None
        return published

    def withdraw(self, code: str, moderator_email: str, why: str, now: datetime) -> None:
        """Take case *code* out of the open column; *why* is required and kept on the case."""
        why = " ".join(why.split())
        if not why or len(why) > MAX_WHY:
            raise Refused("no-reason", f"a withdrawal needs a reason of 1-{MAX_WHY} characters")
        with self._db.write() as conn:
            [case] = case_store.lock_cases(conn, [_case(conn, code).id])
            if not store.withdraw(conn, case.id, now):
                raise Refused("not-published", f"case {code} is not in the open column")
            case_store.insert_event(
                conn, case.id, EventKind.NOTE, now, actor=moderator_email,
                text=f"withdrawn from the open column: {why}", data={"withdrawn": True, "why": why},
            )  # fmt: skip
            case_store.update_case(conn, case.id, updated_at=now)
        log.info("publication withdrawn", case=code, by=moderator_email)


def _with_proposals(draft: Draft) -> Draft:
    return Draft(
        draft.case, _proposals(draft.question.text, draft), _proposals(draft.answer.text, draft),
        draft.original_question, draft.original_answer, draft.names, draft.photos, draft.consent,
        draft.publication,
    )  # fmt: skip


def _blocked(case: Case, answer: str) -> Reason | None:
    if case.status not in PUBLISHABLE:
        return "not-answered"
    if not answer.strip():
        return "no-answer"
    return "no-consent" if _consent(case) == "refused" else None


def _case(conn: Connection, code: str) -> Case:
    case = case_store.get_case(conn, code=code)
    if case is None:
        raise NoSuchCase(f"no case {code}")
    return case


def _answer(events: Sequence[EventRow]) -> str:
    """The latest answer the resident was sent; the latest answer when none was relayed (a resident who
    left no address has the answer on the tracking page only)."""
    answers = [e for e in events if e.kind == EventKind.ANSWER and e.text.strip()]
    relayed = [e for e in answers if (e.data or {}).get("relayed")]
    return (relayed or answers)[-1].text if answers else ""


def _consent(case: Case) -> Consent:
    if case.channel not in ASKS_CONSENT:
        return "not-asked"
    return "given" if case.publish_consent else "refused"


def _addresses(events: Sequence[EventRow]) -> set[str]:
    """The staff addresses the events name: who acted, answered or entered the case."""
    found = {e.actor.lower() for e in events if "@" in e.actor}
    for e in events:
        for key in ("answered_by", "entered_by"):
            value = (e.data or {}).get(key)
            if isinstance(value, str) and "@" in value:
                found.add(value.lower())
    return found


def _names(case: Case, events: Sequence[EventRow], staff: Mapping[str, str]) -> tuple[str, ...]:
    """The names the case knows: the resident's, the answering officials' (as recorded with their
    answers), the staff accounts that acted on it, and a "first.last@" address read as a name."""
    names = [case.resident_name]
    names += [str((e.data or {}).get("answered_by_name") or "") for e in events if e.kind == EventKind.ANSWER]
    names += list(staff.values())
    for address in [case.resident_email, *_addresses(events)]:
        if m := _DOTTED.match(address or ""):
            names.append(" ".join(w.capitalize() for w in m.groups() if w))
    return tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))


def _image_type(data: bytes) -> str | None:
    """JPEG, PNG or WebP by the first bytes (what a browser shows); metadata or not."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
