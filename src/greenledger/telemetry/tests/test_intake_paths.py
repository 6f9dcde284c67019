"""The fast intake paths: rollups computed in the database equal a plain Python recompute to the
last bit, the SQLite plan that guarantees it, the duplicate fallback of the insert without
RETURNING, the per-batch timestamp cache and the paused cycle collector."""

import datetime
import gc
import random

import pytest
from django.db import connection

from greenledger.telemetry import intake, rollups, services
from greenledger.telemetry.models import (
    IntakeError, PointStatus, Quality, Reading, Rollup15m, RollupDay, RollupHour,
)

from .factories import at, make_point

pytestmark = pytest.mark.django_db
MIN = datetime.timedelta(minutes=1)
FIELDS = ("count", "sum", "min", "max", "first_ts", "first_value", "last_ts", "last_value", "delta")


def stored(model, point):
    return {row[0]: row[1:] for row in model.objects.filter(point=point).values_list("bucket", *FIELDS)}


def as_dict(buckets):
    return {key: tuple(getattr(b, name) for name in FIELDS) for key, b in buckets.items()}


def reference(point):
    """Every rollup of ``point`` recomputed in Python from its raw good readings, adding in time order."""
    quarters = {}
    for ts, value in Reading.objects.filter(point=point, quality=Quality.GOOD).order_by("ts").values_list("ts",
                                                                                                         "value"):
        quarters.setdefault(rollups.floor_quarter(ts), rollups.Bucket()).add_reading(ts, value)
    previous = None
    for q in sorted(quarters):
        b = quarters[q]
        b.delta = rollups.counter_delta(previous, b.first_value, b.last_value) if point.cumulative else None
        previous = b.last_value
    hours, days = {}, {}
    for q in sorted(quarters):
        hours.setdefault(rollups.floor_hour(q), rollups.Bucket()).add_rollup(quarters[q])
    for h in sorted(hours):
        days.setdefault(rollups.floor_day(h, rollups.site_zone(point)), rollups.Bucket()).add_rollup(hours[h])
    return as_dict(quarters), as_dict(hours), as_dict(days)


def test_rollups_equal_a_python_recompute_to_the_last_bit(site):
    """Values with many significant bits, sent out of order in several batches (live, late,
    out of range, duplicates): the sums must be the time-ordered ones, exactly."""
    rng = random.Random(7)
    meter = make_point(site, code="E", quantity="electricity", cumulative=True, interval=60)
    power = make_point(site, code="P", quantity="power", interval=60, valid_max=120)
    readings = []
    counter = 5000.0
    for m in range(0, 3 * 24 * 60, 3):
        counter += rng.uniform(0, 3.3)
        if m == 2000:
            counter = 12.5  # meter exchange: the counter starts again
        readings.append((meter, at(1) + m * MIN, counter))
        readings.append((power, at(1) + m * MIN + datetime.timedelta(seconds=17), rng.uniform(0, 1000) / 7))
    rng.shuffle(readings)
    for i in range(0, len(readings), 700):
        services.ingest(readings[i:i + 700], "mqtt")
    services.ingest(readings[:300], "mqtt")  # duplicates change nothing
    for point in (meter, power):
        quarters, hours, days = reference(point)
        assert len(quarters) > 250 and len(days) == 4
        assert stored(Rollup15m, point) == quarters
        assert stored(RollupHour, point) == hours
        assert stored(RollupDay, point) == days
    assert Reading.objects.filter(point=power, quality=Quality.OUT_OF_RANGE).exists()


def test_live_batches_extend_the_newest_rows_with_the_same_figures(site, monkeypatch):
    """Live data (every batch after the newest reading) extends the 15-minute rows in Python instead
    of recomputing them from raw: buckets continued across batches, a counter reset, a point that
    gets a late reading (which takes the recompute). The figures are the Python recompute's."""
    rng = random.Random(11)
    meter = make_point(site, code="E", quantity="electricity", cumulative=True, interval=60)
    power = make_point(site, code="P", quantity="power", interval=60)
    recomputed = []
    original = rollups.SQLiteSQL.aggregate if connection.vendor == "sqlite" else rollups.PostgresSQL.aggregate

    def spy(self, target, source, spans):
        if target is Rollup15m and source is None:
            recomputed.extend(pid for pid, _b, _e in spans)
        return original(self, target, source, spans)

    monkeypatch.setattr(rollups.SQLiteSQL if connection.vendor == "sqlite" else rollups.PostgresSQL, "aggregate", spy)
    counter = 100.0
    minute = 0
    for batch in range(12):  # 7 minutes per batch: most buckets span two or three batches
        readings = []
        for _ in range(7):
            counter = 3.25 if minute == 40 else counter + rng.uniform(0, 2.7)  # meter exchange at minute 40
            readings.append((meter, at(2) + minute * MIN, counter))
            readings.append((power, at(2) + minute * MIN + datetime.timedelta(seconds=31), rng.uniform(0, 900) / 7))
            minute += 1
        rng.shuffle(readings)
        services.ingest(readings, "mqtt")
    assert recomputed == []  # every batch took the extending path
    services.ingest([(power, at(2) + 5 * MIN, 1 / 3)], "mqtt")  # a late reading: recomputed from raw
    assert set(recomputed) == {power.pk}
    for point in (meter, power):
        quarters, hours, days = reference(point)
        assert len(quarters) == 6
        assert stored(Rollup15m, point) == quarters
        assert stored(RollupHour, point) == hours
        assert stored(RollupDay, point) == days


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite statements")
def test_sqlite_aggregates_walk_the_spans_in_order_without_a_sorter(site):
    """The time-ordered sums on SQLite rest on this plan: spans outer (rowid order, no temporary
    B-tree for the GROUP BY), the source's primary-key index inner."""
    with connection.cursor() as cursor:
        sql = rollups.SQLiteSQL(cursor)
        sql.load_spans([(1, at(1), at(1, 0, 15))])
        for target, source in ((Rollup15m, None), (RollupHour, Rollup15m), (RollupDay, RollupHour)):
            cursor.execute("EXPLAIN QUERY PLAN " + sql.statement(target, source))
            plan = [row[-1] for row in cursor.fetchall()]
            assert not any("TEMP B-TREE" in step for step in plan), plan
            scans = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
            assert scans[0] == "SCAN k" and "INDEX sqlite_autoindex" in scans[1], plan


def test_a_large_batch_mixing_new_and_stored_readings_counts_exactly(site):
    """The insert without RETURNING falls back when some readings were stored before: the new
    ones are all stored, the others counted as duplicates, different values as conflicts."""
    point = make_point(site, interval=60)
    first = [(point, at(1) + m * MIN, float(m)) for m in range(0, 600, 2)]
    services.ingest(first, "http")
    again = [(p, ts, v + 0.5 if i % 50 == 0 else v) for i, (p, ts, v) in enumerate(first[:150])]
    fresh = [(point, at(1) + m * MIN, float(m)) for m in range(1, 600, 2)]
    result = services.ingest(again + fresh, "http")
    assert len(again + fresh) > intake.COPY_MIN
    assert (result.stored, result.duplicates, result.rejected) == (300, 150, 0)
    assert [e["rule"] for e in result.errors] == ["conflict"] * 3
    assert [e["index"] for e in result.errors] == [0, 50, 100]
    assert IntakeError.objects.filter(rule="conflict").count() == 3
    assert Reading.objects.filter(point=point).count() == 600
    assert Reading.objects.get(point=point, ts=at(1)).value == 0.0  # the first value is kept
    status = PointStatus.objects.get(point=point)
    assert (status.readings, status.duplicates, status.last_ts) == (600, 150, at(1) + 599 * MIN)
    quarters, hours, _days = reference(point)
    assert stored(Rollup15m, point) == quarters and stored(RollupHour, point) == hours


def test_timestamps_are_parsed_once_per_batch_and_errors_stay_per_reading(site):
    make_point(site, code="A")
    make_point(site, code="B")
    same = "2026-03-01T08:00:00+08:00"
    result = services.ingest([
        {"point": "A", "ts": same, "v": 1}, {"point": "B", "ts": same, "v": 2.5},
        {"point": "A", "ts": "yesterday", "v": 1}, {"point": "B", "ts": "yesterday", "v": 1},
        {"point": "A", "ts": at(1, 0, 1).timestamp(), "v": "3,000.5"}, {"point": "B", "ts": same, "value": 2.5},
        {"point": "", "ts": same, "v": 1}, ["A", same], {"point": "C", "ts": "2099-01-01T00:00:00Z", "v": 1},
    ], "http", site=site)
    assert (result.stored, result.duplicates, result.rejected) == (3, 1, 5)
    assert [(e["index"], e["rule"]) for e in result.errors] == [
        (2, "datetime"), (3, "datetime"), (6, "required"), (7, "format"), (8, "future")]
    assert Reading.objects.get(point__code="A", ts=at(1, 0, 1)).value == 3000.5
    assert set(Reading.objects.filter(ts=at(1, 0)).values_list("value", flat=True)) == {1.0, 2.5}


def test_the_cycle_collector_runs_again_after_a_batch(site):
    point = make_point(site)
    assert gc.isenabled()
    services.ingest([(point, at(1, 0, m), 1.0) for m in range(10)], "http")
    assert gc.isenabled()
    with pytest.raises(ValueError):
        services.ingest([("X", at(1), 1.0)], "http")  # a code needs a site
    assert gc.isenabled()


def test_mqtt_payload_names_the_topic_point_without_copying_named_readings():
    from greenledger.telemetry.mqtt import readings_of

    assert readings_of("FAN", b'[{"ts": 1, "v": 2}, {"point": "X", "ts": 1, "v": 3}]') == [
        {"ts": 1, "v": 2, "point": "FAN"}, {"point": "X", "ts": 1, "v": 3}]
    with pytest.raises(ValueError):
        readings_of("FAN", b'[1, 2]')
