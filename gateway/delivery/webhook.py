"""Delivering webhooks: an HTTP POST of the case document, signed, with an idempotency key."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from gateway.errors import PermanentFailure, TemporaryFailure
from gateway.notifier.handover import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    idempotency_key,
    signature,
)
from gateway.store.outbox import Claimed

RETRYABLE = {408, 425, 429}


class WebhookTransport:
    """POSTs outbox rows whose transport is "webhook"; the row's recipient is the URL.

    The signing secret is looked up when sending, by URL, from the current configuration's
    `secret_env`: it is never stored in the database, and a rotated secret applies to retries.
    """

    def __init__(self, secret_for: Callable[[str], str | None], timeout: float = 15.0) -> None:
        self._secret_for = secret_for
        self._timeout = timeout

    async def deliver(self, item: Claimed) -> None:
        secret = self._secret_for(item.recipient)
        if not secret:
            raise TemporaryFailure(f"no signing secret for {item.recipient}: set the department's secret_env")
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "city-feedback-gateway",
            SIGNATURE_HEADER: signature(item.body, secret, timestamp),
            TIMESTAMP_HEADER: str(timestamp),
            IDEMPOTENCY_HEADER: idempotency_key(item.message_id or str(item.id)),
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
                response = await client.post(item.recipient, content=item.body, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return
        reason = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            raise TemporaryFailure(reason)
        raise PermanentFailure(reason)
