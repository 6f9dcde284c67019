"""Emission anomalies (碳排放异常): hours whose emissions left the expected band, and why.

The band of an hour is learned from the same hour of the week in the previous ``weeks`` weeks
(default 8): mean ± k·std (k = 3), with the spread floored at 5 % of the mean so a very steady
history does not flag noise. Consecutive hours above the band form one EmissionAnomaly.

Detection runs again and again over overlapping windows (the scheduler looks at the last few
whole hours every quarter of an hour, see :mod:`greenledger.carbon.scheduled`), so a run of
abnormal hours that touches a stored anomaly of the same point extends it, and hours already
covered add nothing: each abnormal hour is counted once, whenever and however often it is seen.

What explains an anomaly is looked up among the measures that can act on the point: those of its
workshop, and those whose measure effect concerns what the point meters (a waste-heat recovery
that saves boiler gas explains the boiler's gas meter in another workshop; an effect naming the
point). The anomaly links their execution records and anomalies in the window, their hourly
status rows that were not "running" ("waste-heat recovery stopped 10:00–12:00") and the lapses
of their effects (the fan running at 50 Hz instead of 30 Hz).

Review flag (rule of the measure ledger): when a run of records *without* an anomaly was written
at that workshop during an abnormal period, a ``ReviewFlag(kind="emission")`` asks the shift
leader to look again, and shift leaders of the site are notified.
"""

import datetime
import statistics
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .factors import FactorNotFound, select_factor
from .models import EffectMethod, EmissionAnomaly, MeasureEffect
from .services import profile_of
from .telemetry_bridge import point_activity

HOUR = datetime.timedelta(hours=1)
WEEK = datetime.timedelta(days=7)
MIN_SPREAD = 0.05
MIN_RUN = 2  # records without anomaly in an abnormal window that trigger a review flag
RECENT_HOURS = 6  # the scheduler re-examines this many whole hours, so late data is still seen


@dataclass
class Window:
    start: datetime.datetime
    end: datetime.datetime
    actual: float
    expected: float
    band_high: float
    hours: list = field(default_factory=list)  # (hour, value, mean, upper bound) of each abnormal hour


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
                last.hours.append((hour, value, *limits))
            else:
                windows.append(Window(hour, hour + HOUR, value, limits[0], limits[1], [(hour, value, *limits)]))
        hour += HOUR
    return windows


# What explains it ------------------------------------------------------------------------------


def effect_activity(effect):
    """The activity a measure effect saves outside its own workshop (recovered heat → boiler fuel)."""
    if effect.method == EffectMethod.RECOVERY_OUTPUT:
        return effect.parameters.get("fuel", "natural_gas")
    return None


def related_measures(site, workshop, point=None):
    """Ids of the measures that can explain emissions at ``point`` (see module docstring)."""
    from greenledger.measures.models import Measure

    measures = Measure.objects.filter(site=site)
    ids = set((measures.filter(stage=workshop) if workshop is not None else measures).values_list("pk", flat=True))
    if point is not None:
        activity = point_activity(point)
        for effect in MeasureEffect.objects.filter(measure__site=site):
            if point.code in (effect.points or []) or (activity and effect_activity(effect) == activity):
                ids.add(effect.measure_id)
    return ids


def effect_lapses(site, measure_ids, start, end):
    """(measure, Lapse) of the measures' effects that overlap [start, end)."""
    from .effects import compute_effect

    zone = ZoneInfo(site.time_zone or "Asia/Shanghai")
    first = start.astimezone(zone).date()
    last = (end - datetime.timedelta(microseconds=1)).astimezone(zone).date()
    found = []
    for effect in MeasureEffect.objects.filter(measure_id__in=measure_ids).select_related(
            "measure__site", "measure__equipment"):
        try:
            result = compute_effect(effect, first, last)
        except (FactorNotFound, TypeError, InvalidOperation):
            continue  # an effect that cannot be computed explains nothing; the effects page shows why
        for lapse in result.lapses:
            # hour lapses overlap the window; record lapses (start == end) lie inside it
            if lapse.start < end and (lapse.end > start or lapse.start >= start):
                found.append((effect.measure, lapse))
    return found


def explain(site, workshop, start, end, point=None):
    """Records, anomalies and hourly rows that explain the window, and a sentence saying why."""
    from greenledger.measures.models import Anomaly, ExecutionRecord, HourlyStatus

    measure_ids = related_measures(site, workshop, point)
    records = list(ExecutionRecord.objects.filter(occurred_at__gte=start, occurred_at__lt=end, superseded=False,
                                                  measure__in=measure_ids)
                   .select_related("measure").order_by("occurred_at"))
    anomalies = list(Anomaly.objects.filter(occurred_at__gte=start - HOUR, occurred_at__lt=end,
                                            measure__in=measure_ids).select_related("measure"))
    hourly = list(HourlyStatus.objects.filter(hour__gte=start, hour__lt=end, superseded=False,
                                              measure__in=measure_ids).exclude(status="running")
                  .select_related("measure").order_by("hour"))
    parts = []
    zone = timezone.get_current_timezone()
    by_measure = {}
    for row in hourly:
        by_measure.setdefault((row.measure, row.status), []).append(row.hour)
    for (measure, status), hours in by_measure.items():
        parts.append(_("%(measure)s %(status)s %(start)s–%(end)s") % {
            "measure": measure.name, "status": dict(HourlyStatus._meta.get_field("status").choices)[status],
            "start": hours[0].astimezone(zone).strftime("%H:%M"),
            "end": (hours[-1] + HOUR).astimezone(zone).strftime("%H:%M")})
    lapses = effect_lapses(site, measure_ids, start, end)
    # hours of a lapse while "running" (the fan at 50 Hz), inside the window; stops are listed above
    running = set(HourlyStatus.objects.filter(pk__in=[pk for _m, lapse in lapses for pk in lapse.hourly],
                                              status="running", hour__gte=start, hour__lt=end)
                  .values_list("pk", flat=True))
    extra_hourly, extra_records = set(), set()
    for measure, lapse in lapses:
        if not running.intersection(lapse.hourly) and not lapse.records:
            continue  # a stop, already named above
        extra_hourly.update(running.intersection(lapse.hourly))
        extra_records.update(lapse.records)
        parts.append(_("%(measure)s %(reason)s %(start)s–%(end)s") % {
            "measure": measure.name, "reason": lapse.reason,
            "start": lapse.start.astimezone(zone).strftime("%H:%M"),
            "end": lapse.end.astimezone(zone).strftime("%H:%M")})
    if extra_hourly:
        hourly += list(HourlyStatus.objects.filter(pk__in=extra_hourly).select_related("measure"))
    known = {r.pk for r in records}
    if extra_records - known:
        records += list(ExecutionRecord.objects.filter(pk__in=extra_records - known).select_related("measure"))
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


# Detection -------------------------------------------------------------------------------------


@transaction.atomic
def detect(site, start, end, points=None, weeks=8, k=3.0, history=None):
    """Flag abnormal hours of the site's consumption meters in [start, end); returns the
    EmissionAnomaly rows written or extended.

    ``history`` ({point code: {hour: value}}) may be given by the caller (tests, batch jobs);
    otherwise it is read from telemetry's hourly rollups.
    """
    from .telemetry_bridge import detection_points, hourly_series

    points = list(points if points is not None else detection_points(site))
    touched = []
    for point in points:
        factor = kg_factor(site, point, start.year)
        if factor is None:
            continue
        series = (history or {}).get(point.code)
        if series is None:
            series = hourly_series(site, point.code, start - WEEK * weeks, end)
        workshop = point.workshop or (point.equipment.workshop if point.equipment_id else None)
        for window in abnormal_windows(series, start, end, weeks, k):
            row = store(site, point, workshop, window, float(factor))
            if row is not None:
                touched.append(row)
    return touched


def store(site, point, workshop, window, factor):
    """Write ``window`` as a new anomaly, or extend the stored ones it touches by the hours they
    do not cover yet; returns the row, or None when every hour was already counted."""
    stored = list(EmissionAnomaly.objects.select_for_update().filter(
        site=site, point_code=point.code, start__lte=window.end, end__gte=window.start).order_by("start"))
    covered = [(row.start, row.end) for row in stored]
    fresh = [h for h in window.hours if not any(s <= h[0] < e for s, e in covered)]
    if not fresh:
        return None
    actual = sum(value for _h, value, _m, _b in fresh)
    expected = sum(mean for _h, _v, mean, _b in fresh)
    high = sum(upper for _h, _v, _m, upper in fresh)
    if stored:
        row, absorbed = stored[0], stored[1:]
        for other in absorbed:  # late data joined two runs into one
            row.actual_kg += other.actual_kg
            row.expected_kg += other.expected_kg
            row.band_high_kg += other.band_high_kg
            row.excess_kg += other.excess_kg
        row.start = min([row.start, window.start] + [o.start for o in absorbed])
        row.end = max([row.end, window.end] + [o.end for o in absorbed])
        row.actual_kg += dec(actual * factor)
        row.expected_kg += dec(expected * factor)
        row.band_high_kg += dec(high * factor)
        row.excess_kg += dec((actual - expected) * factor)
    else:
        absorbed = []
        row = EmissionAnomaly(site=site, workshop=workshop, point_code=point.code, start=window.start,
                              end=window.end, actual_kg=dec(actual * factor), expected_kg=dec(expected * factor),
                              band_high_kg=dec(high * factor), excess_kg=dec((actual - expected) * factor))
    records, anomalies, hourly, text = explain(site, workshop, row.start, row.end, point)
    row.explanation = text or _("No measure record, anomaly or stop explains it.")
    try:
        with transaction.atomic():
            for other in absorbed:
                other.delete()
            row.save()
    except IntegrityError:
        return None  # another scheduler wrote this window a moment ago
    row.records.set(records)
    row.anomalies.set(anomalies)
    row.hourly.set(hourly)
    review_flags(row, records, anomalies)
    return row


def detect_recent(now=None, hours=RECENT_HOURS):
    """The scheduler's step: the last ``hours`` whole hours of every site with consumption meters."""
    from .telemetry_bridge import metered_sites

    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - datetime.timedelta(hours=hours)
    return sum(len(detect(site, start, end)) for site in metered_sites())


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
