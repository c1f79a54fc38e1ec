"""The instant every test that starts a whole simulation runs its services at.

10:00 Asia/Tokyo on the next day the kiosk opens (never earlier than the machine's clock, so
certificates made "now" by the test's PKI are already valid): the same hour, an ordinary open
day, whatever the machine's date, hour or time zone. Tests about time set their own instant.
"""

from __future__ import annotations

from datetime import UTC, datetime

from host.session.hours import next_opening


def service_morning() -> datetime:
    return next_opening(datetime.now(UTC))
