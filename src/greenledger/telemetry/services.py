"""Telemetry services: intake of readings and the read functions other apps use.

Intake — :func:`ingest` is the one door every transport goes through (MQTT worker, OPC UA
worker, HTTP bulk API, CSV/Excel upload, demo)::

    result = ingest([("FAN-01.freq", "2026-05-01T08:00:00+08:00", 30.1), ...], source="mqtt", site=site)
    result.stored, result.duplicates, result.rejected, result.errors

- Idempotent on (point, device timestamp): the same reading sent twice is stored once and counted
  as a duplicate; a second, *different* value for the same timestamp keeps the first and is kept
  raw as an intake error (rule ``conflict``).
- A reading outside the point's valid range is stored with the quality flag ``OUT_OF_RANGE``
  (kept, shown, not rolled up). An unknown point, a value that is not a number or a timestamp that
  cannot be read (or lies more than five minutes in the future) is kept raw in
  :class:`~greenledger.telemetry.models.IntakeError` with the rule it broke. Nothing is dropped.
- Old timestamps (backfill from a PLC/controller cache after an outage) are accepted as they
  are; the rollups around them are recomputed, and a recorded gap they fall into is marked
  filled (:func:`detect_gaps`).
- Naive timestamps are read in the site's time zone; numbers are Unix seconds (or milliseconds
  when larger than 10^11).

Reads for other apps (the carbon app uses these; both read the rollups, never the raw table
except for ``resolution="raw"``):

- :func:`consumption` ``(points, start, end, resolution="hour") -> {point_id: float}``: for a
  cumulative meter the sum of the bucket increases (``delta``); for a power point (kW) the energy
  (mean kW × ¼ h summed over the 15-minute buckets with data = kWh); for any other point the sum of the values (points that report
  the amount of each interval). Buckets starting in [start, end) count.
- :func:`series` ``(point, start, end, resolution) -> [(bucket_start, value)]``: per bucket the
  increase for cumulative meters, the mean otherwise. ``resolution`` is ``raw``, ``15m``,
  ``hour``, ``day`` or ``auto`` (:func:`choose_resolution`).
"""

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from greenledger.core.bulk import cycle_collector_paused

from . import intake, partitions, rollups
from .intake import COPY_MIN, FUTURE_TOLERANCE, Batch, Rejected, parse_ts, parse_value, unpack  # noqa: F401
from .models import (
    Gap, IntakeError, MeasuringPoint, PointStatus, Quality, Quantity, Reading, Rollup15m, RollupDay, RollupHour,
)

GAP_FACTOR = 1.5  # a spacing above 1.5 expected intervals means at least one reading is missing
STALE_FACTOR = 3  # no reading for more than 3 expected intervals: the point is stale


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    flagged: int = 0
    errors: list = field(default_factory=list)  # {"index", "field", "rule", "message"}

    def as_dict(self):
        return {"stored": self.stored, "duplicates": self.duplicates, "rejected": self.rejected,
                "flagged": self.flagged}

    def add(self, other):
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.flagged += other.flagged
        self.errors += other.errors


def payload_text(item):
    try:
        return json.dumps(item, ensure_ascii=False, default=str)[:20000]
    except (TypeError, ValueError):
        return repr(item)[:20000]


def record_error(site, source, payload, rule, message, point_code="", topic=""):
    """Keep a payload that could not be read at all (bad JSON, wrong topic) for inspection."""
    return IntakeError.objects.create(site=site, source=source, point_code=str(point_code)[:200], rule=rule,
                                      message=str(message)[:500], payload=payload if isinstance(payload, str)
                                      else payload_text(payload), topic=topic[:300])


# Intake -----------------------------------------------------------------------------------------


def ingest(readings, source, site=None, topic="", received_at=None):
    """Validate, deduplicate and store readings; update status, gaps and rollups. See the module doc."""
    received_at = received_at or timezone.now()
    tz = ZoneInfo(site.time_zone) if site is not None and site.time_zone else ZoneInfo("Asia/Shanghai")
    items = readings if isinstance(readings, list) else list(readings)
    result = IngestResult()
    with cycle_collector_paused():
        batch = Batch(site, tz, timezone.now()).read(items)
        with transaction.atomic():
            previous_last = prepare(batch)
            stored = tally(batch, intake.insert(batch, source, received_at), result)
            record_errors(batch, result, site, source, topic, received_at)
            if stored or batch.repeated:
                update_status(stored, batch.repeated, received_at)
            if stored:
                detect_gaps({point: new.stamps for point, new in stored.items()}, previous_last)
                rollups.refresh_quarters(batch.points, batch.quarters,
                                         new={point.pk: s.good for point, s in stored.items() if s.good})
    return result


def prepare(batch):
    """Lock the batch's points, make sure their partitions exist; returns {point_id: last ts before}."""
    if not batch.rows:
        return {}
    lock_points(batch.points)
    if partitions.partitioned():
        partitions.ensure_for(set(batch.stamps))
    # the newest reading of each point before this batch (read under the lock): live data lies
    # after it, which lets gap detection skip its queries
    return dict(PointStatus.objects.filter(point_id__in=list(batch.points)).values_list("point_id", "last_ts"))


def lock_points(point_ids):
    """On PostgreSQL, serialise intake per point so concurrent workers never lose a rollup update."""
    if connection.vendor != "postgresql" or not point_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(7341, s.id)) FROM "
                       "(SELECT id FROM unnest(%s::int[]) AS id ORDER BY id) AS s", [rollups.array_literal(sorted(point_ids))])


@dataclass
class Stored:
    """What one batch stored for one point."""

    stamps: list  # timestamps, oldest first
    last_ts: datetime.datetime
    last_value: float
    flagged: int
    good: list  # (ts, value) of the good readings, oldest first


def tally(batch, already, result):
    """Count what was stored; ``already`` ({position: stored value}) are the readings that were
    stored before (duplicates, a different value is a conflict). Returns {point: Stored}."""
    rows, stamps = batch.rows, batch.stamps
    positions = defaultdict(list)
    for position, row in enumerate(rows):
        if position not in already:
            positions[row[0]].append(position)
    for position, kept in already.items():
        pid, _ts, value, _quality = rows[position]
        batch.repeated[pid] += 1
        if kept != value:
            point, ts = batch.points[pid], stamps[position]
            batch.conflicts.append((batch.indexes[position], {"point": point.code, "ts": ts.isoformat(), "v": value},
                                    point, ts, value, kept))
    stored = {}
    good = Quality.GOOD
    for pid, where in positions.items():
        readings = sorted([(stamps[i], rows[i][2]) for i in where if rows[i][3] == good])
        flagged = len(where) - len(readings)
        if flagged:
            every = sorted(stamps[i] for i in where)
            last = max(where, key=stamps.__getitem__)
            last_ts, last_value = stamps[last], rows[last][2]
        else:
            every = [ts for ts, _value in readings]
            last_ts, last_value = readings[-1]
        stored[batch.points[pid]] = Stored(every, last_ts, last_value, flagged, readings)
    result.stored = len(rows) - len(already)
    result.duplicates = sum(batch.repeated.values())
    result.flagged = sum(s.flagged for s in stored.values())
    return stored


def record_errors(batch, result, site, source, topic, received_at):
    """Report rejected readings and conflicts in request order and keep them as intake errors."""
    errors = list(batch.errors)
    for index, item, point, _ts, _value, kept in batch.conflicts:
        errors.append((index, item, point.code, Rejected(
            "v", "conflict", _("A different value (%(kept)s) is already stored for this point and time; "
                               "the first value is kept.") % {"kept": kept})))
    errors.sort(key=lambda e: e[0])
    for index, _item, _code, exc in errors:
        if exc.rule != "conflict":
            result.rejected += 1
        result.errors.append({"index": index, "field": exc.field, "rule": exc.rule, "message": exc.message})
    if errors:
        IntakeError.objects.bulk_create([
            IntakeError(site=site, source=source, point_code=str(code)[:200], rule=exc.rule,
                        message=exc.message[:500], payload=payload_text(item), topic=topic[:300],
                        received_at=received_at)
            for _index, item, code, exc in errors])


def update_status(stored, repeated, received_at):
    """Last value, last seen and running counts per point (one upsert per batch)."""
    adapt = connection.ops.adapt_datetimefield_value
    received = adapt(received_at)
    by_id = {point.pk: new for point, new in stored.items()}
    params = []
    for pid in sorted(set(by_id) | set(repeated)):  # one lock order for concurrent writers
        new, duplicates = by_id.get(pid), repeated.get(pid, 0)
        if new is None:
            params.append([pid, None, None, received, 0, duplicates, 0])
        else:
            params.append([pid, adapt(new.last_ts), new.last_value, received, len(new.stamps), duplicates,
                           new.flagged])
    if connection.vendor == "postgresql":  # one statement from one array per column
        rows = ("SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[], %s::timestamptz[], "
                "%s::int[], %s::int[], %s::int[])")
        run, params = "execute", rollups.array_params(params)
    else:
        rows, run = "VALUES (%s, %s, %s, %s, %s, %s, %s)", "executemany"
    with connection.cursor() as cursor:
        getattr(cursor, run)(
            "INSERT INTO telemetry_pointstatus (point_id, last_ts, last_value, last_received_at, readings, "
            f"duplicates, out_of_range) {rows} ON CONFLICT (point_id) DO UPDATE SET "
            "last_value = CASE WHEN telemetry_pointstatus.last_ts IS NULL OR excluded.last_ts >= "
            "telemetry_pointstatus.last_ts THEN excluded.last_value ELSE telemetry_pointstatus.last_value END, "
            "last_ts = CASE WHEN telemetry_pointstatus.last_ts IS NULL OR excluded.last_ts >= "
            "telemetry_pointstatus.last_ts THEN excluded.last_ts ELSE telemetry_pointstatus.last_ts END, "
            "last_received_at = excluded.last_received_at, "
            "readings = telemetry_pointstatus.readings + excluded.readings, "
            "duplicates = telemetry_pointstatus.duplicates + excluded.duplicates, "
            "out_of_range = telemetry_pointstatus.out_of_range + excluded.out_of_range", params)


# Gaps -------------------------------------------------------------------------------------------


def detect_gaps(stored, previous_last=None):
    """Record new gaps around the stored readings ({point: [ts, oldest first]}) and mark recorded
    gaps they fill.

    ``previous_last`` ({point_id: newest ts before this batch}) gives the fast path for live data:
    when every new reading is newer than that, the only neighbour is that reading and no recorded
    gap can be filled (recorded gaps end at or before it). A point's first readings (no other
    reading, no recorded gap) take the same path without a neighbour; one query for all of them.
    """
    now = timezone.now()
    previous_last = previous_last or {}
    first_ever = set()  # points whose only readings are these and that have no recorded gap
    unseen = {point.pk: len(stamps) for point, stamps in stored.items() if previous_last.get(point.pk) is None}
    if unseen:
        with connection.cursor() as cursor:
            cursor.execute("SELECT point_id, COUNT(*) FROM telemetry_reading WHERE point_id IN (%s) GROUP BY point_id"
                           % ", ".join(["%s"] * len(unseen)), list(unseen))
            first_ever = {pid for pid, n in cursor.fetchall() if n == unseen[pid]}
        first_ever -= set(Gap.objects.filter(point_id__in=first_ever).values_list("point_id", flat=True))
    for point, new in sorted(stored.items(), key=lambda item: item[0].pk):
        interval = datetime.timedelta(seconds=max(point.expected_interval_seconds, 1))
        limit = interval * GAP_FACTOR
        lo, hi = new[0], new[-1]
        last = previous_last.get(point.pk)
        if (last is not None and lo > last) or point.pk in first_ever:
            sequence = ([last] if last is not None else []) + new
            for a, b in zip(sequence, sequence[1:]):
                if (b - a) > limit:
                    missing = max(round((b - a) / interval) - 1, 1)
                    Gap.objects.get_or_create(point=point, start=a, end=b,
                                              defaults={"missing": missing, "detected_at": now})
            continue
        readings = Reading.objects.filter(point_id=point.pk)
        before = readings.filter(ts__lt=lo).aggregate(m=Max("ts"))["m"]
        after = readings.filter(ts__gt=hi).aggregate(m=Min("ts"))["m"]
        sequence = ([before] if before else []) + list(
            readings.filter(ts__gte=lo, ts__lte=hi).order_by("ts").values_list("ts", flat=True)) + (
            [after] if after else [])
        found = [(a, b) for a, b in zip(sequence, sequence[1:]) if (b - a) > interval * GAP_FACTOR]
        span_start, span_end = sequence[0], sequence[-1]
        open_gaps = Gap.objects.filter(point=point, filled_at__isnull=True, start__lt=span_end, end__gt=span_start)
        existing = set()
        for gap in open_gaps:
            inside = sum(1 for ts in new if gap.start < ts < gap.end)
            if inside:
                gap.filled_at, gap.filled_readings = now, inside
                gap.save(update_fields=["filled_at", "filled_readings"])
            else:
                existing.add((gap.start, gap.end))
        for a, b in found:
            if (a, b) not in existing:
                missing = max(round((b - a) / interval) - 1, 1)
                Gap.objects.get_or_create(point=point, start=a, end=b, defaults={"missing": missing, "detected_at": now})


# Reads for other apps -----------------------------------------------------------------------------

RESOLUTIONS = {"15m": Rollup15m, "hour": RollupHour, "day": RollupDay}


def choose_resolution(start, end):
    """Raw up to 2 days, 15-minute up to 2 weeks, hourly up to 6 months, daily beyond."""
    span = end - start
    if span <= datetime.timedelta(days=2):
        return "raw"
    if span <= datetime.timedelta(days=14):
        return "15m"
    if span <= datetime.timedelta(days=183):
        return "hour"
    return "day"


def consumption(points, start, end, resolution="hour"):
    """Consumption per point over buckets starting in [start, end): see the module docstring."""
    model = RESOLUTIONS[resolution]
    points = list(points)
    ids = [getattr(p, "pk", p) for p in points]
    objects = {p.pk: p for p in MeasuringPoint.objects.filter(pk__in=ids)}
    result = {pid: 0.0 for pid in objects}
    rows = model.objects.filter(point_id__in=list(objects), bucket__gte=start, bucket__lt=end)
    cumulative = [pid for pid, p in objects.items() if p.cumulative]
    for pid, total in rows.filter(point_id__in=cumulative).values("point_id").annotate(t=Sum("delta")).values_list(
            "point_id", "t"):
        result[pid] = total or 0.0
    # energy of a power point is integrated over quarters with data, whatever the resolution asked:
    # a day with one hour of readings must not count as 24 hours at that mean
    power = [pid for pid, p in objects.items() if not p.cumulative and p.quantity == Quantity.POWER]
    quarters = Rollup15m.objects.filter(point_id__in=power, bucket__gte=start, bucket__lt=end)
    for pid, total, count in quarters.values_list("point_id", "sum", "count"):
        result[pid] += (total / count) * 0.25 if count else 0.0
    amounts = [pid for pid, p in objects.items() if not p.cumulative and p.quantity != Quantity.POWER]
    for pid, total in rows.filter(point_id__in=amounts).values("point_id").annotate(t=Sum("sum")).values_list(
            "point_id", "t"):
        result[pid] = total or 0.0
    return result


def series(point, start, end, resolution="auto"):
    """[(bucket_start, value)] of one point in [start, end); see the module docstring."""
    if resolution == "auto":
        resolution = choose_resolution(start, end)
    if resolution == "raw":
        readings = list(Reading.objects.filter(point_id=point.pk, ts__gte=start, ts__lt=end, quality=Quality.GOOD)
                        .order_by("ts").values_list("ts", "value"))
        if not point.cumulative:
            return readings
        previous = (Reading.objects.filter(point_id=point.pk, ts__lt=start, quality=Quality.GOOD).order_by("-ts")
                    .values_list("value", flat=True).first())
        out = []
        for ts, value in readings:
            out.append((ts, rollups.counter_delta(previous, value, value)))
            previous = value
        return out
    rows = RESOLUTIONS[resolution].objects.filter(point_id=point.pk, bucket__gte=start, bucket__lt=end).order_by(
        "bucket")
    if point.cumulative:
        return [(b, d) for b, d in rows.values_list("bucket", "delta")]
    return [(b, s / c if c else None) for b, s, c in rows.values_list("bucket", "sum", "count")]
