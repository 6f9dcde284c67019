"""Emission anomalies (碳排放异常): hours whose emissions left the expected band, and why.

The band of an hour is learned from the same hour of the week in the previous ``weeks`` weeks
(default 8): mean ± k·std (k = 3), with the spread floored at 5 % of the mean so a very steady
history does not flag noise. Consecutive hours above the band form one EmissionAnomaly, linked
to what happened in that window at the point's workshop: measure records, anomalies and hourly
status rows that were not "running" ("carbon up because waste-heat recovery stopped 10:00–12:00").

Review flag (rule of the measure ledger): when a run of records *without* an anomaly was written
at that workshop during an abnormal period, a ``ReviewFlag(kind="emission")`` asks the shift
leader to look again, and shift leaders of the site are notified.
"""

import datetime
import statistics
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .factors import FactorNotFound, select_factor
from .models import EmissionAnomaly
from .services import profile_of
from .telemetry_bridge import point_activity

HOUR = datetime.timedelta(hours=1)
WEEK = datetime.timedelta(days=7)
MIN_SPREAD = 0.05
MIN_RUN = 2  # records without anomaly in an abnormal window that trigger a review flag


@dataclass
class Window:
    start: datetime.datetime
    end: datetime.datetime
    actual: float
    expected: float
    band_high: float


def band(history, hour, weeks=8, k=3.0):
    """(mean, upper bound) for ``hour`` from the same hour of the previous weeks, or None."""
    values = [history[hour - WEEK * i] for i in range(1, weeks + 1) if (hour - WEEK * i) in history]
    if len(values) < 3:
        return None
    mean = statistics.fmean(values)
    spread = max(statistics.pstdev(values), abs(mean) * MIN_SPREAD)
    return mean, mean + k * spread


def abnormal_windows(history, start, end, weeks=8, k=3.0):
    """Windows of consecutive hours in [start, end) whose value lies above their band."""
    windows = []
    hour = start
    while hour < end:
        value = history.get(hour)
        limits = band(history, hour, weeks, k) if value is not None else None
        if limits is not None and value > limits[1]:
            last = windows[-1] if windows else None
            if last is not None and last.end == hour:
                last.end, last.actual = hour + HOUR, last.actual + value
                last.expected += limits[0]
                last.band_high += limits[1]
            else:
                windows.append(Window(hour, hour + HOUR, value, limits[0], limits[1]))
        hour += HOUR
    return windows


def explain(site, workshop, start, end):
    """Records, anomalies and non-running hours at the workshop in the window, and a sentence."""
    from greenledger.measures.models import Anomaly, ExecutionRecord, HourlyStatus

    measures_filter = {"measure__site": site}
    if workshop is not None:
        measures_filter["measure__stage"] = workshop
    records = list(ExecutionRecord.objects.filter(occurred_at__gte=start, occurred_at__lt=end, superseded=False,
                                                  **measures_filter).select_related("measure").order_by("occurred_at"))
    anomalies = list(Anomaly.objects.filter(occurred_at__gte=start - HOUR, occurred_at__lt=end,
                                            **measures_filter).select_related("measure"))
    hourly = list(HourlyStatus.objects.filter(hour__gte=start, hour__lt=end, superseded=False,
                                              **measures_filter).exclude(status="running").select_related("measure")
                  .order_by("hour"))
    parts = []
    zone = timezone.get_current_timezone()
    by_measure = {}
    for row in hourly:
        by_measure.setdefault((row.measure, row.status), []).append(row.hour)
    for (measure, status), hours in by_measure.items():
        parts.append(_("%(measure)s %(status)s %(start)s–%(end)s") % {
            "measure": measure.name, "status": dict(row.__class__._meta.get_field("status").choices)[status],
            "start": hours[0].astimezone(zone).strftime("%H:%M"),
            "end": (hours[-1] + HOUR).astimezone(zone).strftime("%H:%M")})
    for anomaly in anomalies:
        parts.append(_("anomaly: %(symptom)s") % {"symptom": anomaly.symptom[:80]})
    return records, anomalies, hourly, "；".join(parts)


def kg_factor(site, point, year):
    activity = point_activity(point)
    if activity is None:
        return None
    profile = profile_of(site)
    try:
        return select_factor(activity, year=year, region=profile.grid_region, gwp_set=profile.gwp_set).kg_per_unit
    except FactorNotFound:
        return None


@transaction.atomic
def detect(site, start, end, points=None, weeks=8, k=3.0, history=None):
    """Flag abnormal hours of the site's consumption points in [start, end); returns new EmissionAnomaly rows.

    ``history`` ({point code: {hour: value}}) may be given by the caller (tests, batch jobs);
    otherwise it is read from telemetry's hourly rollups.
    """
    from .telemetry_bridge import consumption_points, hourly_series

    points = list(points if points is not None else consumption_points(site))
    created = []
    for point in points:
        factor = kg_factor(site, point, start.year)
        if factor is None:
            continue
        series = (history or {}).get(point.code)
        if series is None:
            series = hourly_series(site, point.code, start - WEEK * weeks, end)
        workshop = point.workshop or (point.equipment.workshop if point.equipment_id else None)
        for window in abnormal_windows(series, start, end, weeks, k):
            if EmissionAnomaly.objects.filter(site=site, point_code=point.code, start=window.start).exists():
                continue
            f = float(factor)
            records, anomalies, hourly, text = explain(site, workshop, window.start, window.end)
            row = EmissionAnomaly.objects.create(
                site=site, workshop=workshop, point_code=point.code, start=window.start, end=window.end,
                actual_kg=dec(window.actual * f), expected_kg=dec(window.expected * f),
                band_high_kg=dec(window.band_high * f), excess_kg=dec((window.actual - window.expected) * f),
                explanation=text or _("No measure record, anomaly or stop explains it."))
            row.records.set(records)
            row.anomalies.set(anomalies)
            row.hourly.set(hourly)
            review_flags(row, records, anomalies)
            created.append(row)
    return created


def dec(value):
    return Decimal(str(round(value, 3)))


def review_flags(row, records, anomalies):
    """A run of "no anomaly" records during an abnormal period: ask the shift leader to review."""
    from greenledger.core.notifications import notify
    from greenledger.measures.models import ReviewFlag
    from greenledger.measures.services import shift_leaders

    quiet = [r for r in records if not r.has_anomaly]
    if len(quiet) < MIN_RUN or anomalies:
        return []
    flags = []
    zone = timezone.get_current_timezone()
    window = f"{row.start.astimezone(zone):%m-%d %H:%M}–{row.end.astimezone(zone):%H:%M}"
    for measure in {r.measure for r in quiet}:
        mine = [r for r in quiet if r.measure_id == measure.pk]
        message = _("%(n)d records of %(measure)s report no anomaly while emissions at %(point)s were %(kg)s kg CO2 "
                    "above expected (%(window)s). Please review on site.") % {
            "n": len(mine), "measure": measure.name, "point": row.point_code, "kg": row.excess_kg, "window": window}
        if ReviewFlag.objects.filter(measure=measure, record=mine[-1], kind=ReviewFlag.Kind.EMISSION_REVIEW).exists():
            continue
        flags.append(ReviewFlag.objects.create(measure=measure, record=mine[-1], kind=ReviewFlag.Kind.EMISSION_REVIEW,
                                               message=message))
    leaders = shift_leaders(row.site)
    if flags and leaders:
        notify(leaders, _("Emissions abnormal while records say normal"), flags[0].message,
               link=f"/measures/records/{flags[0].record_id}/", channels=())
    return flags
