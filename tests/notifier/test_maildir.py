"""The maildir transport on the real filesystem: each message once in new/, durable before it counts."""

from __future__ import annotations

import asyncio
import email
import hashlib
import os
import socket
from pathlib import Path

import pytest

from gateway.delivery.transports import MaildirTransport
from gateway.errors import TemporaryFailure
from gateway.store.outbox import Claimed


def item(n: int, body: bytes | None = None) -> Claimed:
    raw = (
        body
        if body is not None
        else f"Subject: mail {n}\r\nMessage-ID: <m{n}@hel.example>\r\n\r\nbody {n}\r\n"
    )
    data = raw if isinstance(raw, bytes) else raw.encode()
    return Claimed(n, "receipt", "mail", f"r{n}@example.org", "", f"<m{n}@hel.example>", data, 0, n)


def delivered(root: Path) -> dict[str, email.message.Message]:
    found = {}
    for path in sorted((root / "new").iterdir()):
        msg = email.message_from_bytes(path.read_bytes())
        found[str(msg["Subject"])] = msg
    return found


def test_a_batch_lands_in_new_with_its_envelope_and_nothing_left_in_tmp(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path)
    results = asyncio.run(transport.deliver_many([item(n) for n in range(1, 21)]))
    assert results == [None] * 20
    mails = delivered(tmp_path)
    assert sorted(mails) == sorted(f"mail {n}" for n in range(1, 21))
    assert mails["mail 7"]["X-Envelope-To"] == "<r7@example.org>"
    assert mails["mail 7"].get_payload().strip() == "body 7"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_delivering_again_after_a_crash_writes_no_second_copy(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path)
    asyncio.run(transport.deliver_many([item(1), item(2)]))
    # The outbox did not get to record them as sent; the retry comes with one new message.
    results = asyncio.run(transport.deliver_many([item(1), item(2), item(3)]))
    assert results == [None, None, None]
    assert len(list((tmp_path / "new").iterdir())) == 3
    # A mail reader moved one to cur/: still no second copy.
    first = next((tmp_path / "new").iterdir())
    first.rename(tmp_path / "cur" / f"{first.name}:2,")
    asyncio.run(transport.deliver(item(1)))
    asyncio.run(transport.deliver(item(2)))
    assert len(list((tmp_path / "new").iterdir())) + len(list((tmp_path / "cur").iterdir())) == 3


def test_a_message_that_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path)
    blocker = item(2)
    digest = hashlib.sha256(b"<m2@hel.example>").hexdigest()[:16]
    # tmp/<its name> is a folder: opening it for writing fails, for this message only.
    (tmp_path / "tmp" / f"{blocker.id:012d}.{digest}.{socket.gethostname()}").mkdir()
    results = asyncio.run(transport.deliver_many([item(1), blocker, item(3)]))
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], TemporaryFailure)
    assert sorted(delivered(tmp_path)) == ["mail 1", "mail 3"]


def test_a_folder_that_cannot_be_synced_fails_the_whole_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If new/ cannot be fsynced the renames may not survive a crash: nothing may count as sent."""
    transport = MaildirTransport(tmp_path)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    results = asyncio.run(transport.deliver_many([item(1), item(2)]))
    assert all(isinstance(r, TemporaryFailure) for r in results)
    monkeypatch.setattr(os, "fsync", real_fsync)
    # The retry finds the files already renamed and writes no second copy.
    assert asyncio.run(transport.deliver_many([item(1), item(2)])) == [None, None]
    assert sorted(delivered(tmp_path)) == ["mail 1", "mail 2"]
