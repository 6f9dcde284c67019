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
import math
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from . import partitions, rollups
from .models import Gap, IntakeError, MeasuringPoint, Quality, Quantity, Reading, Rollup15m, RollupDay, RollupHour

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
GAP_FACTOR = 1.5  # a spacing above 1.5 expected intervals means at least one reading is missing
STALE_FACTOR = 3  # no reading for more than 3 expected intervals: the point is stale
INSERT_CHUNK = 1000


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


class Rejected(Exception):
    def __init__(self, field_name, rule, message):
        super().__init__(message)
        self.field, self.rule, self.message = field_name, rule, str(message)


# Parsing ----------------------------------------------------------------------------------------


def parse_ts(raw, tz, now=None):
    """A device timestamp: aware datetime, ISO 8601 text, or Unix seconds/milliseconds.

    ``now`` (default: the current time) is the reference for "in the future"."""
    if isinstance(raw, datetime.datetime):
        ts = raw
    elif isinstance(raw, bool) or raw is None or raw == "":
        raise Rejected("ts", "required", _("A timestamp is required."))
    elif isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            raise Rejected("ts", "datetime", _("The timestamp is not a date and time."))
        seconds = raw / 1000 if raw > 1e11 else raw
        try:
            ts = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
        except (OverflowError, OSError, ValueError):
            raise Rejected("ts", "datetime", _("The timestamp is not a date and time."))
    else:
        text = str(raw).strip()
        try:
            ts = parse_datetime(text.replace("/", "-"))
        except ValueError:
            ts = None
        if ts is None:
            try:
                return parse_ts(float(text), tz, now)
            except ValueError:
                raise Rejected("ts", "datetime", _("The timestamp is not a date and time."))
    if timezone.is_naive(ts):
        ts = ts.replace(tzinfo=tz)
    if ts > (now or timezone.now()) + FUTURE_TOLERANCE:
        raise Rejected("ts", "future", _("The timestamp lies in the future."))
    return ts.astimezone(datetime.UTC)


def parse_value(raw):
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if raw is None or raw == "":
        raise Rejected("v", "required", _("A value is required."))
    try:
        value = float(str(raw).strip().replace(",", "")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise Rejected("v", "number", _("The value is not a number."))
    if not math.isfinite(value):
        raise Rejected("v", "number", _("The value is not a finite number."))
    return value


def unpack(item):
    """(point, ts, value) from a tuple or a dict with point/ts/v (or value)."""
    if isinstance(item, dict):
        return item.get("point"), item.get("ts"), item.get("v", item.get("value"))
    if isinstance(item, (list, tuple)) and len(item) == 3:
        return item
    raise Rejected("", "format", _("A reading needs a point, a timestamp and a value."))


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
    result = IngestResult()
    now = timezone.now()
    items = list(readings)
    parsed = []  # (index, point-or-code, ts, value, raw item)
    codes = set()
    errors = []  # (index, item, point_code, Rejected)
    for index, item in enumerate(items):
        try:
            point, ts, value = unpack(item)
            if isinstance(point, MeasuringPoint):
                ts_tz = ZoneInfo(point.site.time_zone) if site is None else tz
            else:
                if point is None or str(point).strip() == "":
                    raise Rejected("point", "required", _("A point code is required."))
                point = str(point).strip()
                codes.add(point)
                ts_tz = tz
            parsed.append((index, point, parse_ts(ts, ts_tz, now), parse_value(value), item))
        except Rejected as exc:
            code = item.get("point", "") if isinstance(item, dict) else (item[0] if isinstance(item, (list, tuple))
                                                                         and item else "")
            errors.append((index, item, getattr(code, "code", code), exc))
    known = {}
    if codes:
        if site is None:
            raise ValueError("ingest() needs a site to resolve point codes")
        known = {p.code: p for p in MeasuringPoint.objects.filter(site=site, code__in=codes).select_related("site")}
    rows = {}  # (point_id, ts) -> (index, point, ts, value, quality)
    repeated = defaultdict(int)  # point -> duplicates
    conflicts = []
    for index, point, ts, value, item in parsed:
        if isinstance(point, str):
            found = known.get(point)
            if found is None:
                errors.append((index, item, point, Rejected(
                    "point", "unknown_point", _("Unknown measuring point %(code)s.") % {"code": point})))
                continue
            point = found
        key = (point.id, ts)
        if key in rows:
            result.duplicates += 1
            repeated[point] += 1
            if rows[key][3] != value:
                conflicts.append((index, item, point, ts, value, rows[key][3]))
            continue
        quality = Quality.OUT_OF_RANGE if point.is_out_of_range(value) else Quality.GOOD
        rows[key] = (index, point, ts, value, quality)

    with transaction.atomic():
        previous_last = {}
        stored = store(rows, source, received_at, result, conflicts, repeated, previous_last)
        for index, item, point, ts, value, kept in conflicts:
            errors.append((index, item, point.code, Rejected(
                "v", "conflict", _("A different value (%(kept)s) is already stored for this point and time; "
                                   "the first value is kept.") % {"kept": kept})))
        for index, item, code, exc in sorted(errors, key=lambda e: e[0]):
            if exc.rule != "conflict":
                result.rejected += 1
            result.errors.append({"index": index, "field": exc.field, "rule": exc.rule, "message": exc.message})
        if errors:
            IntakeError.objects.bulk_create([
                IntakeError(site=site or (code.site if isinstance(code, MeasuringPoint) else None), source=source,
                            point_code=str(code)[:200], rule=exc.rule, message=exc.message[:500],
                            payload=payload_text(item), topic=topic[:300], received_at=received_at)
                for index, item, code, exc in errors])
        if stored or repeated:
            update_status(stored, repeated, rows, received_at)
        if stored:
            detect_gaps(stored, previous_last)
            rollups.refresh_batch({p: [(ts, v) for ts, q, v in tss if q == Quality.GOOD] for p, tss in stored.items()})
    return result


def lock_points(point_ids):
    """On PostgreSQL, serialise intake per point so concurrent workers never lose a rollup update."""
    if connection.vendor != "postgresql" or not point_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(7341, s.id)) FROM "
                       "(SELECT id FROM unnest(%s::int[]) AS id ORDER BY id) AS s", [sorted(point_ids)])


COPY_MIN = 200  # PostgreSQL: batches from this size go through COPY into a staging table


def store(rows, source, received_at, result, conflicts, repeated, previous_last):
    """Insert rows with ON CONFLICT DO NOTHING; returns {point: [(ts, quality, value)]} of the new ones."""
    if not rows:
        return {}
    points = {}
    for _index, point, _ts, _value, _quality in rows.values():
        points[point.id] = point
    lock_points(points.keys())
    from .models import PointStatus

    # the newest reading of each point before this batch (read under the lock): live data lies
    # after it, which lets gap detection skip its queries
    previous_last.update(PointStatus.objects.filter(point_id__in=list(points)).values_list("point_id", "last_ts"))
    partitions.ensure_for({ts for _pid, ts in rows})
    ordered = sorted(rows.values(), key=lambda r: (r[1].id, r[2]))
    postgres = connection.vendor == "postgresql"
    if postgres:
        keys = [(r[1].id, r[2]) for r in ordered]  # as RETURNING gives them back: aware datetimes
        adapted_received = received_at

        def returned(records):
            return map(tuple, records)
    else:  # SQLite: what Django's backend writes (naive text in the connection's zone), without its checks
        zone = connection.timezone
        keys = [(r[1].id, r[2].astimezone(zone).replace(tzinfo=None)) for r in ordered]
        adapted_received = str(received_at.astimezone(zone).replace(tzinfo=None))

        def returned(records):  # naive datetimes (declared type converter) or text
            return ((pid, datetime.datetime.fromisoformat(ts) if isinstance(ts, str) else ts) for pid, ts in records)
    inserted = set()
    with connection.cursor() as cursor:
        if postgres and len(ordered) >= COPY_MIN:
            copy_rows(cursor, ordered, keys, source, received_at, inserted)
        else:
            for i in range(0, len(ordered), INSERT_CHUNK):
                part = ordered[i:i + INSERT_CHUNK]
                params = []
                for (pid, ts), (_index, _point, _ts, value, quality) in zip(keys[i:i + INSERT_CHUNK], part):
                    params += [pid, ts if postgres else str(ts), value, adapted_received, source, quality]
                placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(part))
                cursor.execute(
                    "INSERT INTO telemetry_reading (point_id, ts, value, received_at, source, quality) "
                    f"VALUES {placeholders} ON CONFLICT (point_id, ts) DO NOTHING RETURNING point_id, ts", params)
                inserted.update(returned(cursor.fetchall()))
    stored = defaultdict(list)
    duplicates = []
    good = Quality.GOOD
    for key, (index, point, ts, value, quality) in zip(keys, ordered):
        if key in inserted:
            stored[key[0]].append((ts, quality, value))
            if quality != good:
                result.flagged += 1
        else:
            duplicates.append((point, ts, value, index))
    result.stored += len(ordered) - len(duplicates)
    if duplicates:
        result.duplicates += len(duplicates)
        for point, _ts, _value, _index in duplicates:
            repeated[point] += 1
        existing = existing_values(duplicates)
        for point, ts, value, index in duplicates:
            kept = existing.get((point.pk, ts))
            if kept is not None and kept != value:
                conflicts.append((index, {"point": point.code, "ts": ts.isoformat(), "v": value}, point, ts, value,
                                  kept))
    return {points[pid]: stamps for pid, stamps in stored.items()}


def copy_rows(cursor, ordered, keys, source, received_at, inserted):
    """PostgreSQL: COPY the batch into a temporary staging table, then one INSERT … SELECT … ON
    CONFLICT DO NOTHING RETURNING into the (partitioned) reading table, in (point, ts) order."""
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS telemetry_reading_stage (point_id bigint, "
                   "ts timestamptz, value double precision, quality smallint) ON COMMIT DELETE ROWS")
    cursor.execute("TRUNCATE telemetry_reading_stage")
    with cursor.cursor.copy("COPY telemetry_reading_stage (point_id, ts, value, quality) FROM STDIN") as copy:
        for (pid, ts), row in zip(keys, ordered):
            copy.write_row((pid, ts, row[3], row[4]))
    cursor.execute("INSERT INTO telemetry_reading (point_id, ts, value, received_at, source, quality) "
                   "SELECT point_id, ts, value, %s, %s, quality FROM telemetry_reading_stage ORDER BY point_id, ts "
                   "ON CONFLICT (point_id, ts) DO NOTHING RETURNING point_id, ts", [received_at, source])
    inserted.update(map(tuple, cursor.fetchall()))


def as_utc(value):
    """A timestamp as the database hands it back from RETURNING (SQLite: naive UTC) -> aware UTC."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def existing_values(duplicates):
    by_point = defaultdict(list)
    for point, ts, _value, _index in duplicates:
        by_point[point.pk].append(ts)
    found = {}
    for point_id, stamps in by_point.items():
        for ts, value in Reading.objects.filter(point_id=point_id, ts__in=stamps).values_list("ts", "value"):
            found[(point_id, ts)] = value
    return found


def update_status(stored, repeated, rows, received_at):
    """Last value, last seen and running counts per point (one upsert per batch)."""
    ops = connection.ops
    params = []
    for point in sorted(set(stored) | set(repeated), key=lambda p: p.pk):
        stamps = stored.get(point, [])
        last_ts = max(ts for ts, _q, _v in stamps) if stamps else None
        last_value = rows[(point.pk, last_ts)][3] if stamps else None
        flagged = sum(1 for _ts, q, _v in stamps if q != Quality.GOOD)
        params.append([point.pk, ops.adapt_datetimefield_value(last_ts), last_value,
                       ops.adapt_datetimefield_value(received_at), len(stamps), repeated.get(point, 0), flagged])
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO telemetry_pointstatus (point_id, last_ts, last_value, last_received_at, readings, "
            "duplicates, out_of_range) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (point_id) DO UPDATE SET "
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
    """Record new gaps around the stored readings and mark recorded gaps they fill.

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
    for point, stamps in sorted(stored.items(), key=lambda item: item[0].pk):
        new = sorted(ts for ts, _q, _v in stamps)
        interval = datetime.timedelta(seconds=max(point.expected_interval_seconds, 1))
        lo, hi = new[0], new[-1]
        last = previous_last.get(point.pk)
        if (last is not None and lo > last) or point.pk in first_ever:
            sequence = ([last] if last is not None else []) + new
            for a, b in zip(sequence, sequence[1:]):
                if (b - a) > interval * GAP_FACTOR:
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
