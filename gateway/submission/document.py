"""A submission made outside mail (the web form, the webhook, Open311, a phone call or a visit entered by
staff): the value, its stored form (the receipt's raw bytes, JSON) and the message intake makes of it.

The web channel checks a submission and stores it as a receipt before it answers; intake's parsers read
it back with `to_message` exactly as they parse a mail's bytes, so every channel meets the same classify,
routing, deadlines and receipt mail (DESIGN.md, "every channel feeds one receipt port").
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from gateway.model import Address, Attachment, InboundMessage
from gateway.submission.photos import MAX_PHOTOS, PhotoRejected, clean

FORMAT = 1  # the version of the stored document: a reader refuses one it does not know
SUBJECT_CHARS = 80  # what of the text's first line becomes the case's subject
STAFF_CHANNELS = ("phone", "walk-in")  # entered by staff, whose address is the submission's client


@dataclass(frozen=True, slots=True)
class Photo:
    filename: str  # as the submitter named it; made safe when it is cleaned
    content_type: str  # sniffed from the bytes by the channel
    content: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Submission:
    """What a resident told the city through a form or an API, as checked by the channel."""

    code: str  # the tracking code drawn for it before it was stored
    text: str
    language: str  # fi, sv or en: the page's or the request's
    channel: str  # web, open311, phone, walk-in (a `model.Channel` value)
    category: str | None = None  # a key of departments.yaml's `categories:`
    address: str = ""  # the place in words
    location: tuple[float, float] | None = None  # (lat, lon)
    name: str = ""
    email: str = ""
    phone: str = ""
    publish_consent: bool = False
    photos: tuple[Photo, ...] = ()
    client: str = ""  # the API client, "form" for the web form, the staff member for phone and walk-in
    desk: str = ""  # phone and walk-in: the desk or office where it was taken


def encode(sub: Submission) -> bytes:
    """The receipt's raw bytes: canonical JSON (sorted keys), photos in base64."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "code": sub.code,
        "text": sub.text,
        "language": sub.language,
        "channel": sub.channel,
        "category": sub.category,
        "address": sub.address,
        "location": list(sub.location) if sub.location else None,
        "name": sub.name,
        "email": sub.email,
        "phone": sub.phone,
        "publish_consent": sub.publish_consent,
        "photos": [
            {
                "filename": p.filename,
                "content_type": p.content_type,
                "content": base64.b64encode(p.content).decode(),
            }
            for p in sub.photos
        ],
        "client": sub.client,
        "desk": sub.desk,
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def decode(raw: bytes) -> Submission:
    """The submission *raw* holds; ValueError (the receipt is parked with it) when it is not one."""
    doc = json.loads(raw)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a submission document of format {FORMAT}")
    location = doc.get("location")
    return Submission(
        code=str(doc["code"]),
        text=str(doc["text"]),
        language=str(doc["language"]),
        channel=str(doc["channel"]),
        category=doc.get("category"),
        address=str(doc.get("address") or ""),
        location=(float(location[0]), float(location[1])) if location else None,
        name=str(doc.get("name") or ""),
        email=str(doc.get("email") or ""),
        phone=str(doc.get("phone") or ""),
        publish_consent=bool(doc.get("publish_consent")),
        photos=tuple(
            Photo(str(p["filename"]), str(p["content_type"]), base64.b64decode(p["content"]))
            for p in doc.get("photos") or ()
        ),
        client=str(doc.get("client") or ""),
        desk=str(doc.get("desk") or ""),
    )


def subject_of(text: str) -> str:
    """A subject for the case from the first words of its text (mail has one; a form has none)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= SUBJECT_CHARS else first[: SUBJECT_CHARS - 1].rstrip() + "…"


def message_id_of(code: str, channel: str) -> str:
    """A Message-ID for the submission: unique, and the same on every reprocessing of its receipt, so
    that intake's dedupe by Message-ID holds for submissions too."""
    return f"{code.lower()}.{channel}@submission.invalid"


def to_message(raw: bytes, **_: object) -> InboundMessage:
    """Parse a submission's receipt into the message intake handles, like `gateway.mail.parse` for mail.

    Photos are cleaned here, in a parser process and not in the web request: every piece of metadata
    (EXIF with its GPS position) is removed before anything is stored for display (issue 17). A photo
    that does not survive cleaning is left out and counted."""
    sub = decode(raw)
    attachments: list[Attachment] = []
    left_out = 0
    for photo in sub.photos[:MAX_PHOTOS]:
        try:
            cleaned = clean(photo.content, photo.filename)
        except PhotoRejected:
            left_out += 1
            continue
        attachments.append(
            Attachment(cleaned.filename, cleaned.content_type, len(cleaned.content), cleaned.content)
        )
    left_out += max(0, len(sub.photos) - MAX_PHOTOS)
    return InboundMessage(
        message_id=message_id_of(sub.code, sub.channel),
        sender=Address(sub.email.lower(), sub.name),
        to=(),
        subject=subject_of(sub.text),
        text=sub.text,
        reply_text=sub.text,
        language=sub.language,
        attachments=tuple(attachments),
        attachments_left_out=left_out,
        category=sub.category,
        location=sub.location,
        address=sub.address,
        phone=sub.phone,
        publish_consent=sub.publish_consent,
        entered_by=sub.client if sub.channel in STAFF_CHANNELS else "",
        desk=sub.desk,
    )
