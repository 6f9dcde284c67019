"""Small builders for telemetry tests (no fixture files)."""

import datetime

from django.utils import timezone

from greenledger.core.models import Equipment
from greenledger.telemetry.models import MeasuringPoint

UTC = datetime.UTC


def make_point(site, code="FAN-01.freq", quantity="frequency", cumulative=False, interval=60, **extra):
    equipment = Equipment.objects.filter(workshop__site=site).first()
    return MeasuringPoint.objects.create(
        site=site, code=code, name=extra.pop("name", code), equipment=extra.pop("equipment", equipment),
        quantity=quantity, cumulative=cumulative, expected_interval_seconds=interval, **extra)


def at(day=1, hour=0, minute=0, second=0, month=3, year=2026):
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def recent(minutes):
    """A whole-minute UTC time ``minutes`` ago."""
    return timezone.now().astimezone(UTC).replace(second=0, microsecond=0) - datetime.timedelta(minutes=minutes)
