"""The app clock: real UTC time, or a fast one that several test processes share through a setting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gateway.errors import SettingsError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def app_clock(fast_clock: str = "") -> Clock:
    """Real time for "", else for "<speed>@<unix epoch>" a clock running *speed* times fast since *epoch*.

    Every process given the same setting reads the same time, so a test can run three daemons through
    days of deadlines in seconds. Only due times follow this clock; leases of scheduled tasks are on the
    database's clock, so they stay real (docs/decisions/0006-deadlines.md).
    """
    if not fast_clock:
        return utc_now
    speed_text, _, epoch_text = fast_clock.partition("@")
    try:
        speed, epoch = float(speed_text), datetime.fromtimestamp(float(epoch_text), UTC)
    except (ValueError, OverflowError, OSError):
        raise SettingsError(f"fast_clock: expected '<speed>@<unix epoch>', got {fast_clock!r}") from None
    if speed <= 0:
        raise SettingsError(f"fast_clock: the speed must be more than 0, got {speed_text!r}")

    def fast() -> datetime:
        return epoch + (datetime.now(UTC) - epoch) * speed

    return fast
