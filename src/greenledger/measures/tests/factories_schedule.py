"""Builders for scheduler and compliance tests: local times and records made at a given moment."""

import datetime
from zoneinfo import ZoneInfo

from greenledger.measures import services

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day, hour=0, minute=0):
    """An aware moment in the sites' default zone: ``at("2024-10-14", 8, 5)``."""
    day = datetime.date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


ON_TIME = datetime.timedelta(minutes=5)


def record_at(measure, person, occurred_at, entered_after=ON_TIME, late_reason="", **extra):
    """A record executed at ``occurred_at`` and entered ``entered_after`` later (late if beyond grace)."""
    now = occurred_at + entered_after
    record, _created, _warnings = services.record_execution(services.RecordInput(
        measure=measure, executor=person, entered_by=person.user, occurred_at=occurred_at,
        late_reason=late_reason, confirmed=True, **extra), now=now)
    return record
