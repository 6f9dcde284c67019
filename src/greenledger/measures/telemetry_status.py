"""Hourly status of continuous measures derived from telemetry (小时运行状态, automatic).

A continuous measure whose parameter is bound to a telemetry point gets one status row per hour
from that point's hourly rollup: the hour's mean inside the parameter's range → running, outside
→ stopped (the measure was not in effect, e.g. the fan back at 50 Hz or waste-heat recovery
cold). Hours without data stay empty (a gap, not a stop). Rows typed in by people are never
overridden, and running the derivation twice writes nothing new.
"""

import datetime
import uuid

from django.utils import timezone

from .models import HourlyStatus, Measure, ParameterSource, ScheduleKind
from .services import hour_start, record_hourly_status

NAMESPACE = uuid.UUID("0b5d3f0e-6a1c-4f7e-9d2b-8c4a7e1f2a33")


def bound_parameter(measure):
    return next((p for p in measure.parameters.all()
                 if p.source == ParameterSource.TELEMETRY and p.telemetry_point), None)


def derive(measure, start, end):
    """Write telemetry-derived rows for the whole hours in [start, end); return how many."""
    from greenledger.telemetry.models import MeasuringPoint, RollupHour

    param = bound_parameter(measure)
    if param is None:
        return 0
    point = MeasuringPoint.objects.filter(site_id=measure.site_id, code=param.telemetry_point).first()
    if point is None:
        return 0
    rollups = RollupHour.objects.filter(point=point, bucket__gte=hour_start(start), bucket__lt=end, count__gt=0)
    taken = set(HourlyStatus.objects.filter(measure=measure, hour__gte=hour_start(start), hour__lt=end,
                                            superseded=False).values_list("hour", "source"))
    by_people = {hour for hour, source in taken if source != "telemetry"}
    derived = {hour for hour, source in taken if source == "telemetry"}
    written = 0
    for rollup in rollups:
        mean = rollup.sum / rollup.count
        status = "running" if param.in_range(mean) else "stopped"
        if rollup.bucket in by_people:
            continue
        client_id = uuid.uuid5(NAMESPACE, f"{measure.pk}/{rollup.bucket.isoformat()}/{status}")
        if rollup.bucket in derived and HourlyStatus.objects.filter(pk=client_id).exists():
            continue
        note = f"{param.telemetry_point} {mean:.4g}{param.unit}"
        record_hourly_status(measure, rollup.bucket, status, note=note, source="telemetry", client_id=client_id)
        written += 1
    return written


def derive_recent(now=None, hours=3):
    """The scheduler's step: the last few whole hours of every continuous, telemetry-bound measure."""
    now = now or timezone.now()
    end = hour_start(now)
    start = end - datetime.timedelta(hours=hours)
    measures = Measure.objects.filter(schedule=ScheduleKind.CONTINUOUS, active=True).prefetch_related("parameters")
    return sum(derive(measure, start, end) for measure in measures)
