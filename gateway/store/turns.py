"""A sign, shared by the processes on one SQLite file, that a sender's receipt is waiting for the write
lock, so that intake commits and steps aside instead of finishing its batch (decision 0015)."""

from __future__ import annotations

import mmap
import os
import struct
import time
from pathlib import Path

_STAMP = struct.Struct("d")
STALE_S = 1.0  # a sign older than this was left by a process that died while waiting


class WaitingSign:
    """Eight bytes in a file beside the database, mapped into each process: the wall-clock time since
    which the receipt writer has been waiting for the lock, or 0. Aligned 8-byte stores are atomic on the
    machines we run on; a torn read would cost one early commit, nothing more."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _STAMP.size:
                os.ftruncate(fd, _STAMP.size)
            self._map = mmap.mmap(fd, _STAMP.size)
        finally:
            os.close(fd)

    def raise_(self) -> None:
        _STAMP.pack_into(self._map, 0, time.time())

    def lower(self) -> None:
        _STAMP.pack_into(self._map, 0, 0.0)

    def is_up(self) -> bool:
        since: float = _STAMP.unpack_from(self._map, 0)[0]
        return since != 0.0 and time.time() - since < STALE_S

    def wait_lowered(self, at_most: float, poll: float = 0.0002) -> None:
        """Give the waiting writer its turn: return once the sign is down, or after *at_most* seconds."""
        deadline = time.monotonic() + at_most
        while self.is_up() and time.monotonic() < deadline:
            time.sleep(poll)


class NoSign:
    """PostgreSQL (row locks, no one write lock) and in-memory SQLite: nobody waits for a turn."""

    def raise_(self) -> None:
        pass

    def lower(self) -> None:
        pass

    def is_up(self) -> bool:
        return False

    def wait_lowered(self, at_most: float, poll: float = 0.0002) -> None:
        pass
