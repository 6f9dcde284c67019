"""Rollups (15 分钟 / 小时 / 日汇总) kept current as readings arrive, late ones included.

Correctness over cleverness: after readings are stored, every 15-minute bucket they touch is
recomputed from the raw good readings, the bucket after each touched run gets its ``delta``
re-derived (it depends on the last value before it), and the hours and days around those buckets
are recomputed from the 15-minute rows. All three tables are written with
``INSERT … ON CONFLICT (point_id, bucket) DO UPDATE``, the same SQL on SQLite and PostgreSQL.

``delta`` (cumulative meters only) is the counter increase from the last good reading before the
bucket to the bucket's last reading, so the deltas of consecutive buckets add up to the increase
over any period. A counter that goes down (reset or meter exchange) counts from the first value
after the drop (the increase inside the bucket, never negative).

Hours follow UTC (every time zone in use is a whole number of hours from UTC, give or take 15-
and 30-minute zones, whose hours are still whole 15-minute buckets); days start at midnight in the
site's time zone.
"""

import datetime
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.db import connection

from .models import Quality, Reading, Rollup15m, RollupDay, RollupHour

QUARTER = datetime.timedelta(minutes=15)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
RUN_BREAK = datetime.timedelta(days=1)  # buckets further apart than this are fetched separately
COLUMNS = ["point_id", "bucket", "count", "sum", "min", "max", "first_ts", "first_value", "last_ts", "last_value",
           "delta"]
TABLES = {"15m": Rollup15m, "hour": RollupHour, "day": RollupDay}


def floor_quarter(ts):
    ts = ts.astimezone(datetime.UTC)
    return ts.replace(minute=ts.minute - ts.minute % 15, second=0, microsecond=0)


def floor_hour(ts):
    return ts.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(ts, tz):
    local = ts.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(datetime.UTC)


def site_zone(point):
    return ZoneInfo(point.site.time_zone or "Asia/Shanghai")


def runs(sorted_values, step):
    """Split sorted bucket starts into runs [(first, last)] wherever they lie more than RUN_BREAK apart."""
    result = []
    for value in sorted_values:
        if result and value - result[-1][1] <= RUN_BREAK:
            result[-1][1] = value
        else:
            result.append([value, value])
    return [(a, b + step) for a, b in result]


def counter_delta(previous_last, first, last):
    if previous_last is None:
        return max(last - first, 0.0)
    delta = last - previous_last
    return delta if delta >= 0 else max(last - first, 0.0)


class Bucket:
    __slots__ = ("count", "sum", "min", "max", "first_ts", "first_value", "last_ts", "last_value", "delta")

    def __init__(self):
        self.count, self.sum, self.min, self.max = 0, 0.0, None, None
        self.first_ts = self.first_value = self.last_ts = self.last_value = self.delta = None

    def add_reading(self, ts, value):
        self.count += 1
        self.sum += value
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts, self.first_value = ts, value
        if self.last_ts is None or ts >= self.last_ts:
            self.last_ts, self.last_value = ts, value

    def add_rollup(self, row):
        self.count += row.count
        self.sum += row.sum
        self.min = row.min if self.min is None else min(self.min, row.min)
        self.max = row.max if self.max is None else max(self.max, row.max)
        if self.first_ts is None or row.first_ts < self.first_ts:
            self.first_ts, self.first_value = row.first_ts, row.first_value
        if self.last_ts is None or row.last_ts >= self.last_ts:
            self.last_ts, self.last_value = row.last_ts, row.last_value
        if row.delta is not None:
            self.delta = (self.delta or 0.0) + row.delta

    def row(self, point_id, bucket):
        return [point_id, bucket, self.count, self.sum, self.min, self.max, self.first_ts, self.first_value,
                self.last_ts, self.last_value, self.delta]


def upsert(model, rows, conn=None):
    """Write rollup rows (lists in COLUMNS order), replacing the buckets that exist."""
    if not rows:
        return
    conn = conn or connection
    ops = conn.ops
    table = model._meta.db_table
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in COLUMNS[2:])
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    rows = sorted(rows, key=lambda r: (r[0], r[1]))  # one lock order for concurrent writers
    chunk = 500
    with conn.cursor() as cursor:
        for i in range(0, len(rows), chunk):
            part = rows[i:i + chunk]
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(part))
            params = []
            for r in part:
                params.extend([r[0], ops.adapt_datetimefield_value(r[1]), r[2], r[3], r[4], r[5],
                               ops.adapt_datetimefield_value(r[6]), r[7], ops.adapt_datetimefield_value(r[8]),
                               r[9], r[10]])
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {placeholders} "
                           f"ON CONFLICT (point_id, bucket) DO UPDATE SET {updates}", params)


def refresh(touched):
    """Recompute the rollups around newly stored good readings.

    ``touched`` maps a MeasuringPoint (with ``site`` loaded) to the timestamps stored for it.
    """
    for point, timestamps in sorted(touched.items(), key=lambda item: item[0].pk):
        if timestamps:
            refresh_point(point, timestamps)


def refresh_point(point, timestamps):
    quarters = sorted({floor_quarter(ts) for ts in timestamps})
    changed = []  # 15-minute buckets rewritten
    rows = []
    for start, end in runs(quarters, QUARTER):
        buckets = defaultdict(Bucket)
        readings = Reading.objects.filter(point_id=point.pk, ts__gte=start, ts__lt=end, quality=Quality.GOOD)
        for ts, value in readings.values_list("ts", "value").iterator(chunk_size=5000):
            buckets[floor_quarter(ts)].add_reading(ts, value)
        previous = (Rollup15m.objects.filter(point_id=point.pk, bucket__lt=start).order_by("-bucket")
                    .values_list("last_value", flat=True).first())
        for bucket in sorted(buckets):
            b = buckets[bucket]
            if point.cumulative:
                b.delta = counter_delta(previous, b.first_value, b.last_value)
                previous = b.last_value
            rows.append(b.row(point.pk, bucket))
            changed.append(bucket)
        if point.cumulative:
            following = Rollup15m.objects.filter(point_id=point.pk, bucket__gte=end).order_by("bucket").first()
            if following is not None:
                delta = counter_delta(previous, following.first_value, following.last_value)
                if delta != following.delta:
                    b = Bucket()
                    b.add_rollup(following)
                    b.delta = delta
                    rows.append(b.row(point.pk, following.bucket))
                    changed.append(following.bucket)
    upsert(Rollup15m, rows)
    if changed:
        refresh_coarse(point, changed)


def refresh_coarse(point, quarters):
    """Recompute hours and days containing ``quarters`` from the 15-minute rollups."""
    tz = site_zone(point)
    days = sorted({floor_day(q, tz) for q in quarters})
    hours = {floor_hour(q) for q in quarters}
    hour_rows, day_rows = [], []
    for start, end in runs(days, DAY):
        end = floor_day(end + datetime.timedelta(hours=3), tz)  # DST-safe end of the last day
        by_hour, by_day = defaultdict(Bucket), defaultdict(Bucket)
        for row in Rollup15m.objects.filter(point_id=point.pk, bucket__gte=start, bucket__lt=end).order_by("bucket"):
            hour = floor_hour(row.bucket)
            if hour in hours:
                by_hour[hour].add_rollup(row)
            by_day[floor_day(row.bucket, tz)].add_rollup(row)
        hour_rows += [b.row(point.pk, h) for h, b in by_hour.items()]
        day_rows += [b.row(point.pk, d) for d, b in by_day.items()]
    upsert(RollupHour, hour_rows)
    upsert(RollupDay, day_rows)


def rebuild_coarse_from_quarters(points, start, end):
    """Hours and days of ``points`` in [start, end) from the 15-minute rows (bulk demo loads)."""
    for point in points:
        quarters = list(Rollup15m.objects.filter(point_id=point.pk, bucket__gte=start, bucket__lt=end)
                        .values_list("bucket", flat=True))
        if quarters:
            refresh_coarse(point, quarters)
