"""The carbon app's only door into telemetry: consumption and series from its rollups.

``import_consumption`` turns a period's metered consumption into ActivityRecords (origin
telemetry, one per point and period), so reports read one kind of activity data whatever its
source and keep the figures they used. Late data that changes a rollup is picked up by importing
again: the stored row is corrected (a new row that supersedes it), never edited.

Meters must not overlap: a site main meter and its sub-meters would count twice. Points flagged
``generation`` (own PV/wind) are not consumption; they feed the renewable self-sufficiency figure.
"""

import datetime
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from greenledger.evidence.services import insert_sealed

from .activities import TELEMETRY_QUANTITIES, UnitError, convert, normalise_unit
from .models import ActivityRecord, Origin
from . import services

NAMESPACE = uuid.UUID("0b7e3f52-8a4d-4c55-9d1a-5f2e6c7b8a90")
CONSUMPTION_QUANTITIES = {"electricity": ("electricity", "kWh"), "power": ("electricity", "kWh"),
                          "natural_gas": ("natural_gas", "m3")}


def available():
    try:
        from greenledger.telemetry import services as telemetry  # noqa: F401
        from greenledger.telemetry.models import MeasuringPoint  # noqa: F401
    except ImportError:
        return False
    return True


def day_bounds(site, start: datetime.date, end: datetime.date):
    zone = ZoneInfo(site.time_zone or "Asia/Shanghai")
    first = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    last = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return first, last


def consumption_points(site):
    """Active consumption meters of the site, without sub-meters.

    An equipment meter in a workshop that also has a workshop meter (no equipment) of the same
    activity is a sub-meter: counting both would count its energy twice, so it is left out.
    """
    from greenledger.telemetry.models import MeasuringPoint

    points = list(MeasuringPoint.objects.filter(site=site, active=True, generation=False,
                                                quantity__in=list(CONSUMPTION_QUANTITIES))
                  .select_related("equipment__workshop", "workshop").order_by("code"))

    def key(point):
        workshop_id = point.workshop_id or (point.equipment.workshop_id if point.equipment_id else None)
        return workshop_id, CONSUMPTION_QUANTITIES[point.quantity][0]

    metered = {key(p) for p in points if not p.equipment_id}
    return [p for p in points if not p.equipment_id or key(p) not in metered]


def detection_points(site):
    """Meters whose hours the emission-anomaly detector watches: every active consumption meter,
    sub-meters included. Nothing is summed there, and a sub-meter (e.g. one fan's kW) shows a
    lapse that its workshop meter would hide in the noise."""
    from greenledger.telemetry.models import MeasuringPoint

    return list(MeasuringPoint.objects.filter(site=site, active=True, generation=False,
                                              quantity__in=list(CONSUMPTION_QUANTITIES))
                .select_related("equipment__workshop", "workshop").order_by("code"))


def metered_sites():
    """Sites with at least one active consumption meter."""
    from greenledger.core.models import Site
    from greenledger.telemetry.models import MeasuringPoint

    return Site.objects.filter(pk__in=MeasuringPoint.objects.filter(
        active=True, generation=False, quantity__in=list(CONSUMPTION_QUANTITIES)).values("site"))


@transaction.atomic
def import_consumption(site, start, end, points=None, user=None):
    """Write the period's consumption of each point as an ActivityRecord; returns (written, unchanged)."""
    from greenledger.telemetry.services import consumption

    services.check_period(start, end)
    points = list(points if points is not None else consumption_points(site))
    first, last = day_bounds(site, start, end)
    totals = consumption(points, first, last, resolution="hour") if points else {}
    # a point's earlier rows inside [start, end] are its consumption over part of the period (a
    # month-to-date import, a day): the new row corrects them instead of being counted beside them
    inside = {}
    for row in ActivityRecord.objects.filter(site=site, origin=Origin.TELEMETRY, period_start__gte=start,
                                             period_end__lte=end, superseded=False):
        inside.setdefault(row.point_code, []).append(row)
    new, corrected, unchanged = [], [], 0
    now = timezone.now()
    for point in points:
        activity, unit = CONSUMPTION_QUANTITIES[point.quantity]
        unit = meter_unit(point, unit)
        quantity = Decimal(str(round(totals.get(point.pk, 0.0), 4)))
        rows = inside.get(point.code, [])
        client_id = uuid.uuid5(NAMESPACE, f"{site.pk}/{point.code}/{start}/{end}/{quantity}")
        if any(row.pk == client_id for row in rows):  # this very quantity for this very period is current
            unchanged += 1
            corrected.extend(row.pk for row in rows if row.pk != client_id)
            continue
        if ActivityRecord.objects.filter(pk=client_id).exists():
            unchanged += 1
            continue
        current = max(rows, default=None, key=lambda r: ((r.period_start, r.period_end) == (start, end),
                                                         r.period_end - r.period_start))
        exact = current is not None and (current.period_start, current.period_end) == (start, end)
        workshop = point.workshop or (point.equipment.workshop if point.equipment_id else None)
        new.append(ActivityRecord(
            id=client_id, site=site, workshop=workshop, equipment=point.equipment, period_start=start,
            period_end=end, activity=activity, quantity=quantity, unit=unit, origin=Origin.TELEMETRY,
            point_code=point.code, recorded_at=now, recorded_by=user, corrects=current,
            correction_reason=("" if current is None else "telemetry rollups changed (late data)" if exact
                               else "period extended (month to date)")))
        corrected.extend(row.pk for row in rows)
    insert_sealed(new)
    ActivityRecord.objects.filter(pk__in=corrected).update(superseded=True)
    return len(new), unchanged


def meter_unit(point, default):
    """The point's own unit when it is one the activity understands (e.g. MWh, 万m³), else ``default``."""
    if point.quantity == "power" or not point.unit:
        return default  # consumption() integrates kW into kWh
    try:
        unit = normalise_unit(point.unit)
        convert(1, unit, default)
    except UnitError:
        return default
    return unit


def self_sufficiency(site, start, end):
    """(own generation kWh, consumption kWh) from telemetry, or None without generation points."""
    from greenledger.telemetry.models import MeasuringPoint
    from greenledger.telemetry.services import consumption

    generation = list(MeasuringPoint.objects.filter(site=site, active=True, generation=True,
                                                    quantity__in=["electricity", "power"]))
    if not generation:
        return None
    used = [p for p in consumption_points(site) if p.quantity in ("electricity", "power")]
    first, last = day_bounds(site, start, end)
    produced = sum(consumption(generation, first, last).values())
    consumed = sum(consumption(used, first, last).values()) if used else 0.0
    return produced, consumed


def hourly_series(site, point_code, start, end):
    """{hour start: value} of a point from the hourly rollups, or {} when the point is unknown."""
    from greenledger.telemetry.models import MeasuringPoint
    from greenledger.telemetry.services import series

    point = MeasuringPoint.objects.filter(site=site, code=point_code).first()
    if point is None:
        return {}
    return {bucket: value for bucket, value in series(point, start, end, "hour") if value is not None}


def point_activity(point):
    return TELEMETRY_QUANTITIES.get("electricity" if point.quantity == "power" else point.quantity)
