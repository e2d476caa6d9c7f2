"""Handing a checked submission to intake: draw its tracking code, store it as a receipt through the
receipt port, and return what was stored — only then may a page or an API answer (issue 17)."""

from __future__ import annotations

import dataclasses

from gateway.model import Channel, NewReceipt, Stored
from gateway.model.tracking_code import new_code
from gateway.submission.document import Submission, encode
from gateway.web.context import WebContext


async def submit(
    ctx: WebContext, sub: Submission, *, peer: str, idempotency_key: str | None = None
) -> Stored:
    """Store *sub* (its `code` is drawn here) and return the receipt. With an idempotency key that this
    client used before, nothing new is stored: the answer names the first receipt and its code, and
    `same_body` says whether it was the same submission. Raises StorageError when nothing was stored."""
    sub = dataclasses.replace(sub, code=new_code(ctx.prefix))
    return await ctx.receiver.submit(
        NewReceipt(
            channel=Channel(sub.channel),
            raw=encode(sub),  # the store hashes it without the code drawn for this try
            mail_from=None,
            rcpt_tos=(),
            peer=peer,
            tracking_code=sub.code,
            client=sub.client,
            idempotency_key=idempotency_key,
        )
    )
