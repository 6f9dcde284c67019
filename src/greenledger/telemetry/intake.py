"""One batch of intake: reading the readings (:class:`Batch`) and storing them (:func:`insert`).

:func:`greenledger.telemetry.services.ingest` drives both; this module holds the per-reading
work, kept lean because it runs for every reading:

- **Reading** — a reading is a dict with point/ts/v (or value) or a (point, ts, value) tuple.
  Timestamps are parsed once per distinct raw value in the batch (a gateway sends many points with
  the same stamp) and converted there and then to what the database stores; float and int values
  are taken as they are. Anything unusual goes through the full checks of
  :func:`~greenledger.telemetry.services.parse_ts` and
  :func:`~greenledger.telemetry.services.parse_value`. Repeats inside the batch are dropped here
  (counted as duplicates; a different value is a conflict).
- **Storing** — the rows go in with the driver's bulk path and ``ON CONFLICT DO NOTHING`` (SQLite:
  ``executemany``; PostgreSQL: ``COPY`` into a temporary staging table, then one
  ``INSERT … SELECT``), without ``RETURNING``: when the row count says every row went in (live
  data) nothing else is needed. Otherwise the insert is rolled back to a savepoint, the readings
  already stored are looked up and only the others inserted, so duplicates and conflicting values
  are still found and counted exactly.
"""

import datetime
import math
from collections import defaultdict

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

try:
    from psycopg.errors import UniqueViolation
except ImportError:  # SQLite-only installations
    class UniqueViolation(Exception):
        pass

from . import rollups
from .models import MeasuringPoint, Quality, Reading

COPY_MIN = 200  # PostgreSQL: batches from this size go through COPY into a staging table
INSERT_CHUNK = 1000
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
GOOD = Quality.GOOD
INF = math.inf
savepoint = getattr(transaction, "savepoint_create", None) or transaction.savepoint  # Django 6.1 renamed it


# Reading ----------------------------------------------------------------------------------------


class Rejected(Exception):
    def __init__(self, field_name, rule, message):
        super().__init__(message)
        self.field, self.rule, self.message = field_name, rule, str(message)


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


class Batch:
    """The readings of one ingest call, validated and deduplicated, in arrival order.

    ``rows`` are the insert rows ``(point_id, database ts, value, quality)``; ``stamps`` (aware
    UTC) and ``indexes`` (position in the request) run parallel to them.
    """

    def __init__(self, site, tz, now):
        self.site, self.tz, self.now = site, tz, now
        self.to_db = db_timestamp(connection)
        self.rows, self.stamps, self.indexes = [], [], []
        self.seen = {}  # (point_id, database ts) -> position in rows
        self.points = {}  # point_id -> MeasuringPoint
        self.limits = {}  # point_id -> (valid_min, valid_max) of points with a valid range
        self.quarters = set()  # (point_id, 15-minute bucket) of the good rows
        self.repeated = defaultdict(int)  # point_id -> duplicates
        self.conflicts = []  # (index, item, point, ts, value, kept value)
        self.errors = []  # (index, item, point code, Rejected)
        self.caches = {}  # time zone -> {raw ts: (ts, database ts, quarter) or Rejected}
        self.zones = {}  # point_id -> time zone (points given without a site)
        self.plain = {}  # point_id -> MeasuringPoint without a valid range (the inline path of read())

    def read(self, items):
        """Validate and deduplicate ``items``.

        The common shape — a dict naming a known point of the site with a timestamp already seen in
        the batch and a finite float, not repeated — is handled inline; anything else (the first
        reading of a timestamp, ints, text, repeats, readings of points with a valid range, errors)
        goes through :meth:`read_one` and :meth:`add`."""
        known = self.resolve(items)
        cache = self.caches.setdefault(self.tz, {}) if self.site is not None else {}
        seen, rows, stamps, indexes, quarters = self.seen, self.rows, self.stamps, self.indexes, self.quarters
        plain = self.plain
        for index, item in enumerate(items):
            try:  # the inline path: every lookup must hit, else the general path takes the item
                point = plain[known[item["point"]].id]
                ts, db_ts, quarter = cache[item["ts"]]
                value = item["v"]
                if type(value) is not float or not -INF < value < INF:
                    raise KeyError
                key = (point.id, db_ts)
                if key in seen:
                    raise KeyError
            except (KeyError, TypeError, ValueError, AttributeError):
                self.read_one(index, item, known, cache)
                continue
            seen[key] = len(rows)
            rows.append((key[0], db_ts, value, GOOD))
            stamps.append(ts)
            indexes.append(index)
            quarters.add((key[0], quarter))
        return self

    def read_one(self, index, item, known, cache):
        try:
            if type(item) is dict:
                code, raw_ts = item.get("point"), item.get("ts")
                raw_value = item["v"] if "v" in item else item.get("value")
            else:
                code, raw_ts, raw_value = unpack(item)
            point = known.get(code) if type(code) is str else None
            if point is None:
                point = code if isinstance(code, MeasuringPoint) else self.point_of(code, known)
            found = cache.get(raw_ts) if type(raw_ts) is str else None
            ts, db_ts, quarter = found if type(found) is tuple else self.stamp(raw_ts, point)
            value = raw_value if type(raw_value) is float and math.isfinite(raw_value) else number(raw_value)
            if point is None:
                raise Rejected("point", "unknown_point",
                               _("Unknown measuring point %(code)s.") % {"code": code_text(code)})
        except Rejected as exc:
            self.errors.append((index, item, code_text(item_code(item)), exc))
            return
        self.add(index, item, point, ts, db_ts, quarter, value)

    @staticmethod
    def point_of(code, known):
        """The point of a code (None when unknown: reported after the timestamp and value checks)."""
        text = code_text(code)
        if not text:
            raise Rejected("point", "required", _("A point code is required."))
        return known.get(text)

    def resolve(self, items):
        """{code as sent: MeasuringPoint} of the point codes named in ``items`` (one query)."""
        try:
            sent = {item["point"] for item in items}
        except (KeyError, TypeError):  # not all dicts naming a hashable point: the general way
            sent = {item_code(item) for item in items if not isinstance(item_code(item), (list, dict, set))}
        sent = {code for code in sent if not isinstance(code, MeasuringPoint)}
        codes = {code_text(code) for code in sent}
        codes.discard("")
        if not codes:
            return {}
        if self.site is None:
            raise ValueError("ingest() needs a site to resolve point codes")
        points = points_by_code(self.site, codes)
        known = dict(points)
        for code in sent:
            point = points.get(code_text(code))
            if point is not None and type(code) is str:
                known[code] = point
        return known

    def stamp(self, raw, point):
        """(aware UTC ts, database ts, 15-minute bucket) of a raw timestamp, parsed once per batch."""
        tz = self.tz if self.site is not None or point is None else self.zone(point)
        cache = self.caches.get(tz)
        if cache is None:
            cache = self.caches[tz] = {}
        if type(raw) in (str, int, float, datetime.datetime):
            # text is looked up as it is (the inline path of read()); other types by (type, value),
            # so that True never finds the entry of 1
            key = raw if type(raw) is str else (type(raw), raw)
            found = cache.get(key)
            if found is None:
                found = cache[key] = self.convert(raw, tz)
        else:
            found = self.convert(raw, tz)
        if type(found) is not tuple:
            raise found
        return found

    def zone(self, point):
        """The time zone of naive timestamps of a point given without a site: its site's."""
        tz = self.zones.get(point.pk)
        if tz is None:
            tz = self.zones[point.pk] = rollups.site_zone(point)
        return tz

    def convert(self, raw, tz):
        try:
            ts = parse_ts(raw, tz, self.now)
        except Rejected as exc:
            return exc
        return ts, self.to_db(ts), rollups.floor_quarter(ts)

    def add(self, index, item, point, ts, db_ts, quarter, value):
        pid = point.id
        key = (pid, db_ts)
        at = self.seen.get(key)
        if at is not None:
            self.repeated[pid] += 1
            kept = self.rows[at][2]
            if kept != value:
                self.conflicts.append((index, item, point, ts, value, kept))
            return
        if pid not in self.points:
            self.points[pid] = point
            if point.valid_min is not None or point.valid_max is not None:
                self.limits[pid] = (point.valid_min, point.valid_max)
            elif type(point) is MeasuringPoint:
                self.plain[pid] = point
        quality = GOOD
        limits = self.limits.get(pid)
        if limits is not None and ((limits[0] is not None and value < limits[0]) or
                                   (limits[1] is not None and value > limits[1])):
            quality = Quality.OUT_OF_RANGE
        else:
            self.quarters.add((pid, quarter))
        self.seen[key] = len(self.rows)
        self.rows.append((pid, db_ts, value, quality))
        self.stamps.append(ts)
        self.indexes.append(index)


# what intake reads of a point; the other fields load on access
POINT_FIELDS = [f for f in MeasuringPoint._meta.concrete_fields if f.attname in {
    "id", "site_id", "code", "valid_min", "valid_max", "cumulative", "expected_interval_seconds", "quantity"}]


def points_by_code(site, codes):
    """{code: MeasuringPoint} of ``site`` (the site object attached), in one plain query: the ORM
    spent ten times the query's own time compiling a 100-code IN list on every batch."""
    codes = sorted(codes)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in POINT_FIELDS)
    names = [f.attname for f in POINT_FIELDS]
    out = {}
    with connection.cursor() as cursor:
        for i in range(0, len(codes), 500):
            part = codes[i:i + 500]
            cursor.execute(f"SELECT {columns} FROM {MeasuringPoint._meta.db_table} WHERE site_id = %s "
                           f"AND code IN ({', '.join(['%s'] * len(part))})", [site.pk, *part])
            for row in cursor.fetchall():
                point = MeasuringPoint.from_db(connection.alias, names, row)
                point.cumulative = bool(point.cumulative)  # SQLite returns 0/1
                point.site = site
                out[point.code] = point
    return out


def item_code(item):
    if isinstance(item, dict):
        return item.get("point", "")
    if isinstance(item, (list, tuple)) and item:
        return item[0]
    return ""


def code_text(code):
    """The point code as text (a MeasuringPoint gives its code; None gives "")."""
    if isinstance(code, MeasuringPoint):
        return code.code
    return "" if code is None else str(code).strip()


def number(raw):
    if type(raw) is int:
        return float(raw)
    return parse_value(raw)


def db_timestamp(conn):
    """How a timestamp is written: SQLite stores Django's naive UTC text; PostgreSQL gets ISO text."""
    if conn.vendor == "sqlite":
        return rollups._adapter(conn)
    return lambda ts: ts.isoformat(" ")


# Storing ----------------------------------------------------------------------------------------


def insert(batch, source, received_at):
    """Insert ``batch.rows``; returns {position: stored value} of the rows that were already stored."""
    rows = batch.rows
    if not rows:
        return {}
    sid = savepoint()
    if write(rows, source, received_at) == len(rows):
        transaction.savepoint_commit(sid)
        return {}
    transaction.savepoint_rollback(sid)  # some were stored before: find which, insert the others
    stored = stored_values(batch)
    fresh = [row for position, row in enumerate(rows) if position not in stored]
    if write(fresh, source, received_at) != len(fresh):
        raise DatabaseError("readings of these points were stored concurrently; retry the batch")
    return stored


def write(rows, source, received_at):
    """Insert rows with ON CONFLICT DO NOTHING through the driver's bulk path; returns the rows inserted."""
    if not rows:
        return 0
    received = connection.ops.adapt_datetimefield_value(received_at)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_MIN:
            return copy_rows(cursor, rows, source, received)
        if connection.vendor == "sqlite":  # the driver's own executemany (Django's wrapper re-iterates)
            raw = connection.connection.cursor()
            raw.executemany("INSERT INTO telemetry_reading (point_id, ts, value, quality, received_at, source) "
                            f"VALUES (?, ?, ?, ?, {literal(received)}, {literal(source)}) "
                            "ON CONFLICT (point_id, ts) DO NOTHING", rows)
            return raw.rowcount
        count = 0
        for i in range(0, len(rows), INSERT_CHUNK):
            part = rows[i:i + INSERT_CHUNK]
            cursor.execute("INSERT INTO telemetry_reading (point_id, ts, value, quality, received_at, source) "
                           f"VALUES {', '.join(['(%s, %s::timestamptz, %s, %s, %s, %s)'] * len(part))} "
                           "ON CONFLICT (point_id, ts) DO NOTHING",
                           [v for row in part for v in (*row, received, source)])
            count += cursor.rowcount
        return count


def literal(text):
    """An SQL string literal (SQLite's qmark style: no placeholder can hide in it)."""
    return "'" + str(text).replace("'", "''") + "'"


def copy_rows(cursor, rows, source, received):
    """PostgreSQL: ``COPY`` straight into ``telemetry_reading`` (live data: none of the rows is stored
    yet); when one is, the COPY fails as a whole and the rows go through a temporary staging table
    and one ``INSERT … SELECT … ON CONFLICT DO NOTHING``. Returns the rows inserted."""
    tail = f"\t{copy_text(received)}\t{copy_text(source)}\n"
    text = "".join([f"{pid}\t{ts}\t{value!r}\t{quality}{tail}" for pid, ts, value, quality in rows])
    sid = savepoint()
    try:
        with cursor.cursor.copy("COPY telemetry_reading (point_id, ts, value, quality, received_at, source) "
                                "FROM STDIN") as copy:
            copy.write(text)
    except UniqueViolation:
        transaction.savepoint_rollback(sid)
    else:
        transaction.savepoint_commit(sid)
        return len(rows)
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS telemetry_reading_stage (point_id bigint, "
                   "ts timestamptz, value double precision, quality smallint, received_at timestamptz, "
                   "source text) ON COMMIT DELETE ROWS")
    cursor.execute("TRUNCATE telemetry_reading_stage")
    with cursor.cursor.copy("COPY telemetry_reading_stage FROM STDIN") as copy:
        copy.write(text)
    cursor.execute("INSERT INTO telemetry_reading (point_id, ts, value, quality, received_at, source) "
                   "SELECT * FROM telemetry_reading_stage ON CONFLICT (point_id, ts) DO NOTHING")
    return cursor.rowcount


def copy_text(value):
    """A value in COPY's text format."""
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def stored_values(batch):
    """{position: value} of the batch's rows whose (point, ts) is already stored."""
    spans = {}
    for (pid, _ts, _v, _q), ts in zip(batch.rows, batch.stamps):
        lo, hi = spans.get(pid, (ts, ts))
        spans[pid] = (min(lo, ts), max(hi, ts))
    found = {}
    for pid, (lo, hi) in spans.items():
        for ts, value in Reading.objects.filter(point_id=pid, ts__gte=lo, ts__lte=hi).values_list("ts", "value"):
            found[(pid, ts.astimezone(datetime.UTC))] = value
    out = {}
    for position, ((pid, _ts, _v, _q), ts) in enumerate(zip(batch.rows, batch.stamps)):
        value = found.get((pid, ts))
        if value is not None:
            out[position] = value
    return out
