"""A daemon's process leaves what it holds after starting out of the collector's full passes (gc.freeze,
decision 0030), once it has started and not before; run in a child process, so that the suite's own
collector is left alone."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import asyncio, gc
from gateway.runtime.daemon import _freeze_when_ready

async def main():
    ready = asyncio.Event()
    task = asyncio.create_task(_freeze_when_ready(ready))
    await asyncio.sleep(0.05)
    before = gc.get_freeze_count()
    ready.set()
    await task
    print(before, gc.get_freeze_count())

asyncio.run(main())
"""


def test_the_process_is_frozen_once_it_has_started() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after = (int(n) for n in done.stdout.split())
    assert before == 0 and after > 10_000  # the modules, the app: tens of thousands of objects
