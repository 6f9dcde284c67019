"""Rollups (15 分钟 / 小时 / 日汇总) kept current as readings arrive, late ones included.

After a batch of readings is stored (:func:`refresh_batch`, a fixed number of queries per batch
whatever the number of points): every 15-minute bucket the new good readings touch is brought up
to date — merged in memory from its row when all new readings lie after its last one (live data;
the same additions in the same order as a recompute, so the same figures), recomputed from the
raw good readings otherwise (late data) — the deltas are re-chained through each touched run and
the bucket after it (a delta depends on the last value before its bucket), the hours holding
changed quarters are recomputed from their 15-minute rows and the days from their hours (from the
15-minute rows where the site's midnight is not a whole UTC hour). All three tables are written
with ``INSERT … ON CONFLICT (point_id, bucket) DO UPDATE`` (PostgreSQL: from ``unnest`` arrays).

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

    ``touched`` maps a MeasuringPoint (with ``site`` loaded) to the timestamps stored for it; every
    15-minute bucket they fall into is recomputed from the raw readings (no incremental shortcut).
    :func:`refresh_batch` is the faster door intake uses.
    """
    refresh_batch({point: [(ts, None) for ts in stamps] for point, stamps in touched.items() if stamps})


def refresh_point(point, timestamps):
    refresh({point: timestamps})


# Set-based refresh ------------------------------------------------------------------------------
#
# One batch of intake touches many points; everything below costs a fixed number of queries per
# batch (each chunked), not per point:
#
# 1. the existing 15-minute rows in the touched runs (and, for cumulative meters, the row before
#    and after each run: deltas chain through them);
# 2. a 15-minute bucket whose new readings all lie after its last rolled-up reading (live data, or
#    a new bucket) is merged in memory from its row and the new readings, in time order — the same
#    additions in the same order as a recompute from raw, so the same figures to the last bit;
#    any other bucket (late data inside or before what it holds) is recomputed from the raw good
#    readings (one query for all of them);
# 3. deltas are re-chained through every run as before, and the bucket after each run re-derived;
# 4. the hours holding changed quarters are recomputed from their 15-minute rows, and the days
#    from their hours (from the 15-minute rows when the site's day does not start on a whole UTC
#    hour, e.g. UTC+05:30).

RANGE_CHUNK = 300


def _adapter(conn):
    """Database value of an aware datetime; values read back from the database pass through."""
    if conn.vendor != "sqlite":
        return conn.ops.adapt_datetimefield_value
    zone = conn.timezone

    def adapt(value):
        if value is None or isinstance(value, str):
            return value
        return str(value.astimezone(zone).replace(tzinfo=None))
    return adapt


def _reader(conn):
    """Aware UTC datetime from what the database returns (SQLite: text in UTC)."""
    if conn.vendor != "sqlite":
        return lambda value: value
    fromiso = datetime.datetime.fromisoformat
    utc = datetime.UTC

    def read(value):
        if isinstance(value, str):
            value = fromiso(value)
        return value.replace(tzinfo=utc) if value.tzinfo is None else value.astimezone(utc)
    return read


def _ranges(cursor, sql, ranges, adapt, order):
    """Run ``sql`` (with a ``{where}`` slot) over OR-ed (point, [start, end)) ranges, in chunks."""
    out = []
    for i in range(0, len(ranges), RANGE_CHUNK):
        part = ranges[i:i + RANGE_CHUNK]
        params = []
        for pid, start, end in part:
            params += [pid, adapt(start), adapt(end)]
        where = " OR ".join(["(point_id = %s AND {col} >= %s AND {col} < %s)"] * len(part))
        cursor.execute(sql.format(where=where.format(col=order[1])) + f" ORDER BY {order[0]}, {order[1]}", params)
        out += cursor.fetchall()
    return out


class Row(Bucket):
    """A rollup row read from the database (its values kept as returned, e.g. SQLite text stamps)."""

    __slots__ = ("bucket",)

    @classmethod
    def of(cls, record, read):
        row = cls()
        (_pid, bucket, row.count, row.sum, row.min, row.max, first_ts, row.first_value, last_ts, row.last_value,
         row.delta) = record
        row.bucket, row.first_ts, row.last_ts = read(bucket), read(first_ts), read(last_ts)
        return row

    def copy(self):
        other = Bucket()
        for name in Bucket.__slots__:
            setattr(other, name, getattr(self, name))
        return other

    def same(self, other):
        return all(getattr(self, name) == getattr(other, name) for name in Bucket.__slots__)


def _neighbours(cursor, table, wanted, adapt, read, before):
    """{(point_id, key): Row}: the row right before ``bound`` (or the first at/after it) for each
    (point_id, key, bound) in ``wanted``."""
    found = {}
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    op, direction = ("<", "DESC") if before else (">=", "ASC")
    for i in range(0, len(wanted), 200):
        part = wanted[i:i + 200]
        selects, params = [], []
        for n, (pid, _key, bound) in enumerate(part):
            selects.append(f"SELECT * FROM (SELECT {n} AS n, {columns} FROM {table} WHERE point_id = %s AND "
                           f"bucket {op} %s ORDER BY bucket {direction} LIMIT 1) AS s{n}")
            params += [pid, adapt(bound)]
        cursor.execute(" UNION ALL ".join(selects), params)
        for record in cursor.fetchall():
            pid, key, _bound = part[record[0]]
            found[(pid, key)] = Row.of(record[1:], read)
    return found


def refresh_batch(new, conn=None):
    """Bring the rollups up to date after the good readings in ``new`` were stored.

    ``new`` maps a MeasuringPoint (with ``site`` loaded) to ``[(ts, value)]`` of the readings this
    batch inserted (never duplicates). A value of ``None`` means "unknown": its bucket is recomputed
    from the raw readings.
    """
    conn = conn or connection
    adapt, read = _adapter(conn), _reader(conn)
    points = {p.pk: p for p, readings in new.items() if readings}
    if not points:
        return
    per_point = {}  # pid -> {quarter: [(ts, value)]}
    run_ranges = []  # (pid, start, end)
    for pid in sorted(points):
        quarters = defaultdict(list)
        for ts, value in new[points[pid]]:
            quarters[floor_quarter(ts)].append((ts, value))
        per_point[pid] = quarters
        run_ranges += [(pid, a, b) for a, b in runs(sorted(quarters), QUARTER)]
    table15 = Rollup15m._meta.db_table
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    with conn.cursor() as cursor:
        existing = defaultdict(dict)  # pid -> {bucket: Row}
        for record in _ranges(cursor, f"SELECT {columns} FROM {table15} WHERE {{where}}", run_ranges, adapt,
                              ("point_id", "bucket")):
            row = Row.of(record, read)
            existing[record[0]][row.bucket] = row
        # 2. merge in memory where that is exact, else recompute from raw
        result = defaultdict(dict)  # pid -> {bucket: Bucket} of rewritten quarters
        recompute = []
        for pid, quarters in per_point.items():
            for quarter, items in quarters.items():
                items.sort(key=lambda item: item[0])
                row = existing[pid].get(quarter)
                if any(value is None for _ts, value in items) or (row is not None and items[0][0] <= row.last_ts):
                    recompute.append((pid, quarter, quarter + QUARTER))
                    continue
                bucket = row.copy() if row is not None else Bucket()
                for ts, value in items:
                    bucket.add_reading(ts, value)
                result[pid][quarter] = bucket
        if recompute:
            recompute.sort()
            merged = []
            for pid, start, end in recompute:  # adjacent quarters of a point in one range
                if merged and merged[-1][0] == pid and merged[-1][2] == start:
                    merged[-1][2] = end
                else:
                    merged.append([pid, start, end])
            fresh = defaultdict(dict)
            for pid, ts, value in _ranges(
                    cursor, f"SELECT point_id, ts, value FROM {Reading._meta.db_table} WHERE quality = "
                    f"{Quality.GOOD} AND ({{where}})", [tuple(m) for m in sorted(merged)], adapt, ("point_id", "ts")):
                ts = read(ts)
                quarter = floor_quarter(ts)
                bucket = fresh[pid].get(quarter)
                if bucket is None:
                    bucket = fresh[pid][quarter] = Bucket()
                bucket.add_reading(ts, value)
            for pid, start, _end in recompute:
                if start in fresh[pid]:
                    result[pid][start] = fresh[pid][start]
        # 3. deltas of cumulative meters, chained through each run
        cumulative = [r for r in run_ranges if points[r[0]].cumulative]
        previous = following = {}
        if cumulative:
            previous = _neighbours(cursor, table15, [(pid, a, a) for pid, a, _b in cumulative], adapt, read, True)
            following = _neighbours(cursor, table15, [(pid, a, b) for pid, a, b in cumulative], adapt, read, False)
        changed = defaultdict(dict)  # pid -> {bucket: Bucket} to write
        by_point_runs = defaultdict(list)
        for pid, a, b in run_ranges:
            by_point_runs[pid].append((a, b))
        for pid, point_runs in by_point_runs.items():
            rewritten, rows = result[pid], existing[pid]
            if not points[pid].cumulative:
                for b in rewritten.values():
                    b.delta = None
                changed[pid] = {q: b for q, b in rewritten.items() if q not in rows or not rows[q].same(b)}
                continue
            last_written = None  # (bucket, last_value) of the newest bucket of an earlier run
            for index, (start, end) in enumerate(point_runs):
                before = previous.get((pid, start))
                prev_value = before.last_value if before is not None else None
                if last_written is not None and (before is None or last_written[0] > before.bucket):
                    prev_value = last_written[1]
                elif before is not None and before.bucket in changed[pid]:
                    prev_value = changed[pid][before.bucket].last_value
                buckets = sorted({q for q in rows if start <= q < end} | {q for q in rewritten if start <= q < end})
                for q in buckets:
                    b = rewritten.get(q)
                    if b is None:
                        b = rows[q].copy()
                    b.delta = counter_delta(prev_value, b.first_value, b.last_value)
                    prev_value = b.last_value
                    if q not in rows or not rows[q].same(b):
                        changed[pid][q] = b
                    last_written = (q, b.last_value)
                after = following.get((pid, start))
                nxt = point_runs[index + 1][0] if index + 1 < len(point_runs) else None
                if after is not None and (nxt is None or after.bucket < nxt):
                    delta = counter_delta(prev_value, after.first_value, after.last_value)
                    if delta != after.delta:
                        b = after.copy()
                        b.delta = delta
                        changed[pid][after.bucket] = b
        quarter_rows = [b.row(pid, q) for pid, bs in changed.items() for q, b in bs.items()]
        if not quarter_rows:
            return
        write(cursor, Rollup15m, quarter_rows, adapt)
        # 4. hours from quarters, days from hours
        hours = {(pid, floor_hour(q)) for pid, bs in changed.items() for q in bs}
        write(cursor, RollupHour, aggregate(cursor, table15, hours, lambda pid, h: h + HOUR, adapt, read), adapt)
        zones = {pid: site_zone(p) for pid, p in points.items()}
        day_end, whole, partial = {}, set(), set()
        for pid, day in {(pid, floor_day(q, zones[pid])) for pid, bs in changed.items() for q in bs}:
            end = day_end[(pid, day)] = floor_day(day + DAY + datetime.timedelta(hours=3), zones[pid])  # DST-safe
            (whole if day.minute == 0 and end.minute == 0 else partial).add((pid, day))

        def end_of(pid, day):
            return day_end[(pid, day)]
        day_rows = aggregate(cursor, RollupHour._meta.db_table, whole, end_of, adapt, read)
        day_rows += aggregate(cursor, table15, partial, end_of, adapt, read)
        write(cursor, RollupDay, day_rows, adapt)


def aggregate(cursor, table, keys, end_of, adapt, read):
    """Rows of the coarser buckets ``keys`` ({(point_id, start)}, each ending at ``end_of(pid, start)``)
    summed from the finer rows of ``table`` in bucket order."""
    if not keys:
        return []
    spans = [(pid, start, end_of(pid, start)) for pid, start in sorted(keys)]
    ranges = []
    for pid, start, end in spans:
        if ranges and ranges[-1][0] == pid and ranges[-1][2] >= start:
            ranges[-1][2] = max(ranges[-1][2], end)
        else:
            ranges.append([pid, start, end])
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    out = []  # (point_id, start, Bucket)
    at, b = 0, None
    for record in _ranges(cursor, f"SELECT {columns} FROM {table} WHERE {{where}}", [tuple(r) for r in ranges],
                          adapt, ("point_id", "bucket")):
        pid, bucket = record[0], read(record[1])
        while at < len(spans) and (spans[at][0] < pid or (spans[at][0] == pid and spans[at][2] <= bucket)):
            at, b = at + 1, None
        if at == len(spans) or spans[at][0] != pid or bucket < spans[at][1]:
            continue
        if b is None:
            b = Bucket()
            b.first_ts, b.first_value = record[6], record[7]
            out.append((pid, spans[at][1], b))
        b.count += record[2]
        b.sum += record[3]
        b.min = record[4] if b.min is None else min(b.min, record[4])
        b.max = record[5] if b.max is None else max(b.max, record[5])
        b.last_ts, b.last_value = record[8], record[9]  # rows come in bucket order
        if record[10] is not None:
            b.delta = (b.delta or 0.0) + record[10]
    return [b.row(pid, start) for pid, start, b in out]


def write(cursor, model, rows, adapt):
    """Upsert rollup rows (lists in COLUMNS order) through an open cursor."""
    if not rows:
        return
    table = model._meta.db_table
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in COLUMNS[2:])
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    rows = sorted(rows, key=lambda r: (r[0], r[1]))  # one lock order for concurrent writers
    one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    if cursor.db.vendor == "postgresql":  # one array per column: a long VALUES list is slow to bind
        types = ["bigint", "timestamptz", "bigint", "float8", "float8", "float8", "timestamptz", "float8",
                 "timestamptz", "float8", "float8"]
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "
                       f"ON CONFLICT (point_id, bucket) DO UPDATE SET {updates}", [list(c) for c in zip(*rows)])
        return
    chunk = 500
    for i in range(0, len(rows), chunk):
        part = rows[i:i + chunk]
        params = []
        for r in part:
            params += [r[0], adapt(r[1]), r[2], r[3], r[4], r[5], adapt(r[6]), r[7], adapt(r[8]), r[9], r[10]]
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(part))} "
                       f"ON CONFLICT (point_id, bucket) DO UPDATE SET {updates}", params)


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
