"""Intake: idempotent on (point, ts), flags and errors instead of drops, rollups kept current
(late data included), gaps found and filled by backfill, status figures."""

import datetime

import pytest

from greenledger.telemetry import services
from greenledger.telemetry.models import (
    Gap, IntakeError, PointStatus, Quality, Reading, Rollup15m, RollupDay, RollupHour,
)

from .factories import at, make_point

pytestmark = pytest.mark.django_db
MIN = datetime.timedelta(minutes=1)


def test_same_reading_twice_is_stored_once(site):
    point = make_point(site)
    batch = [("FAN-01.freq", at(1, 8, m), 30.0 + m) for m in range(5)]
    first = services.ingest(batch, "http", site=site)
    second = services.ingest(batch, "http", site=site)
    assert (first.stored, first.duplicates) == (5, 0)
    assert (second.stored, second.duplicates, second.rejected) == (0, 5, 0)
    assert Reading.objects.filter(point=point).count() == 5
    assert PointStatus.objects.get(point=point).duplicates == 5
    assert PointStatus.objects.get(point=point).readings == 5


def test_duplicates_inside_one_batch_and_conflicting_values(site):
    point = make_point(site)
    result = services.ingest([("FAN-01.freq", at(1, 8), 30), ("FAN-01.freq", at(1, 8), 30),
                              ("FAN-01.freq", at(1, 8), 31)], "http", site=site)
    assert (result.stored, result.duplicates, result.rejected) == (1, 2, 0)
    assert Reading.objects.get(point=point).value == 30
    [error] = result.errors
    assert error["rule"] == "conflict" and error["index"] == 2
    later = services.ingest([("FAN-01.freq", at(1, 8), 35)], "http", site=site)
    assert later.duplicates == 1 and later.errors[0]["rule"] == "conflict"
    assert IntakeError.objects.filter(rule="conflict").count() == 2


def test_bad_readings_are_kept_raw_with_the_rule(site):
    make_point(site, valid_min=0, valid_max=50)
    result = services.ingest([
        {"point": "FAN-01.freq", "ts": "2026-03-01T08:00:00+08:00", "v": 30},
        {"point": "NOPE", "ts": "2026-03-01T08:00:00+08:00", "v": 1},
        {"point": "FAN-01.freq", "ts": "2026-03-01T08:01:00+08:00", "v": "abc"},
        {"point": "FAN-01.freq", "ts": "yesterday", "v": 1},
        {"point": "FAN-01.freq", "ts": "2026-03-01T08:02:00+08:00", "v": 99},
        {"point": "FAN-01.freq", "ts": "2099-01-01T00:00:00Z", "v": 1},
    ], "http", site=site)
    assert (result.stored, result.rejected, result.flagged) == (2, 4, 1)
    assert [(e["index"], e["field"], e["rule"]) for e in result.errors] == [
        (1, "point", "unknown_point"), (2, "v", "number"), (3, "ts", "datetime"), (5, "ts", "future")]
    assert IntakeError.objects.count() == 4
    assert '"abc"' in IntakeError.objects.get(rule="number").payload
    flagged = Reading.objects.get(value=99)
    assert flagged.quality == Quality.OUT_OF_RANGE
    # the flagged reading is kept but stays out of the rollups
    assert Rollup15m.objects.get().count == 1 and Rollup15m.objects.get().max == 30


def test_timestamps_naive_epoch_and_milliseconds(site):
    point = make_point(site)
    epoch = at(1, 0).timestamp()
    services.ingest([("FAN-01.freq", "2026-03-01 08:00:00", 1), ("FAN-01.freq", epoch + 60, 2),
                     ("FAN-01.freq", int((epoch + 120) * 1000), 3)], "http", site=site)
    stamps = list(Reading.objects.filter(point=point).order_by("ts").values_list("ts", flat=True))
    # 08:00 Shanghai is 00:00 UTC
    assert stamps == [at(1, 0), at(1, 0, 1), at(1, 0, 2)]


def test_rollups_for_instantaneous_points(site):
    point = make_point(site)
    services.ingest([(point, at(1, 8, m), float(m)) for m in range(60)], "mqtt")
    quarters = list(Rollup15m.objects.filter(point=point).order_by("bucket"))
    assert len(quarters) == 4
    assert (quarters[0].count, quarters[0].sum, quarters[0].min, quarters[0].max) == (15, sum(range(15)), 0, 14)
    hour = RollupHour.objects.get(point=point)
    assert hour.count == 60 and hour.sum == sum(range(60)) and hour.delta is None
    day = RollupDay.objects.get(point=point)
    assert day.bucket == datetime.datetime(2026, 2, 28, 16, tzinfo=datetime.UTC)  # Shanghai midnight
    assert services.series(point, at(1, 8), at(1, 9), "15m")[0] == (at(1, 8), 7.0)


def test_counter_deltas_add_up_and_late_data_updates_them(site):
    meter = make_point(site, code="E-ASSY", quantity="electricity", cumulative=True, interval=300)
    services.ingest([(meter, at(1, 8, 5 * i), 1000.0 + 10 * i) for i in range(12) if i != 4], "mqtt")
    deltas = dict(Rollup15m.objects.filter(point=meter).values_list("bucket", "delta"))
    assert deltas == {at(1, 8): 20.0, at(1, 8, 15): 30.0, at(1, 8, 30): 30.0, at(1, 8, 45): 30.0}
    assert sum(deltas.values()) == 110.0 - 0  # 1000 -> 1110 (first bucket counts from its first reading)
    # a late reading at 08:20 (belongs to the second bucket) leaves totals right
    services.ingest([(meter, at(1, 8, 20), 1040.0)], "mqtt")
    assert Rollup15m.objects.get(point=meter, bucket=at(1, 8, 15)).count == 3
    assert RollupHour.objects.get(point=meter).delta == 110.0
    # a late reading before everything shifts the first delta, and the next bucket follows
    services.ingest([(meter, at(1, 7, 59), 995.0)], "mqtt")
    assert Rollup15m.objects.get(point=meter, bucket=at(1, 8)).delta == 20.0 + 5.0
    assert RollupHour.objects.get(point=meter, bucket=at(1, 8)).delta == 115.0
    assert services.consumption([meter], at(1, 0), at(2, 0)) == {meter.pk: 115.0}
    assert services.consumption([meter], at(1, 0), at(2, 0), "15m") == {meter.pk: 115.0}


def test_counter_reset_does_not_go_negative(site):
    meter = make_point(site, code="E", quantity="electricity", cumulative=True, interval=900)
    services.ingest([(meter, at(1, 8), 500.0), (meter, at(1, 8, 15), 510.0), (meter, at(1, 8, 30), 2.0),
                     (meter, at(1, 8, 31), 5.0)], "mqtt")
    assert [d for _b, d in services.series(meter, at(1, 8), at(1, 9), "15m")] == [0.0, 10.0, 3.0]


def test_power_consumption_is_energy(site):
    power = make_point(site, code="P", quantity="power", interval=60)
    services.ingest([(power, at(1, 8, m), 120.0) for m in range(60)], "mqtt")
    assert services.consumption([power], at(1, 0), at(2, 0)) == {power.pk: pytest.approx(120.0)}
    assert services.consumption([power], at(1, 0), at(2, 0), "day") == {power.pk: pytest.approx(120.0)}


def test_gap_is_found_and_filled_by_backfill(site):
    point = make_point(site, interval=60)
    services.ingest([(point, at(1, 8, m), 30.0) for m in range(10)], "mqtt")
    assert not Gap.objects.exists()
    # the link drops at 08:10 and comes back at 08:40
    services.ingest([(point, at(1, 8, 40), 30.0)], "mqtt")
    gap = Gap.objects.get()
    assert (gap.start, gap.end, gap.missing, gap.filled_at) == (at(1, 8, 9), at(1, 8, 40), 30, None)
    # the PLC's cache is read out: the missing minutes arrive with their original timestamps
    result = services.ingest([(point, at(1, 8, m), 31.0) for m in range(10, 40)], "opcua")
    assert result.stored == 30
    gap.refresh_from_db()
    assert gap.filled_at is not None and gap.filled_readings == 30
    assert Gap.objects.count() == 1
    assert RollupHour.objects.get(point=point).count == 41


def test_partial_backfill_leaves_the_rest_as_a_gap(site):
    point = make_point(site, interval=60)
    services.ingest([(point, at(1, 8), 1.0), (point, at(1, 9), 1.0)], "mqtt")
    services.ingest([(point, at(1, 8, m), 1.0) for m in range(1, 31)], "mqtt")
    gaps = list(Gap.objects.order_by("start"))
    assert gaps[0].filled_at is not None
    assert [(g.start, g.end, g.filled_at) for g in gaps[1:]] == [(at(1, 8, 30), at(1, 9), None)]


def test_status_keeps_the_newest_value_even_when_backfill_arrives_later(site):
    point = make_point(site)
    services.ingest([(point, at(1, 9), 2.0)], "mqtt")
    services.ingest([(point, at(1, 8), 1.0)], "mqtt")
    status = PointStatus.objects.get(point=point)
    assert (status.last_ts, status.last_value, status.readings) == (at(1, 9), 2.0, 2)


def rollup_state(points):
    """Every rollup row and the status of ``points``, comparable across databases and runs."""
    out = {}
    for model in (Rollup15m, RollupHour, RollupDay):
        out[model.__name__] = sorted(
            (p.code, b, n, s, lo, hi, ft, fv, lt, lv, d) for p in points for (b, n, s, lo, hi, ft, fv, lt, lv, d) in model.objects.filter(point=p).values_list(
                "bucket", "count", "sum", "min", "max", "first_ts", "first_value", "last_ts", "last_value", "delta"))
    out["status"] = sorted(PointStatus.objects.filter(point__in=points).values_list(
        "point__code", "last_ts", "last_value", "readings", "duplicates", "out_of_range"))
    return out


def test_one_mixed_batch_gives_the_same_rollups_as_reading_by_reading(site):
    """A batch mixing live, late, duplicate and out-of-range readings of several points (large
    enough for PostgreSQL's COPY path) leaves exactly what storing them one at a time leaves."""
    import random

    rng = random.Random(4)

    def scenario(prefix):
        meter = make_point(site, code=f"{prefix}.kwh", quantity="electricity", cumulative=True, interval=60)
        power = make_point(site, code=f"{prefix}.kw", quantity="power", interval=60, valid_max=90)
        temp = make_point(site, code=f"{prefix}.temp", quantity="temperature", interval=120)
        return [meter, power, temp]

    def history(points):  # what is already stored: two days with holes
        out = []
        for p in points:
            counter = 1000.0
            for minute in range(0, 2 * 24 * 60, 7):
                if 600 <= minute < 700 or 2000 <= minute < 2100:
                    continue  # outages: gaps
                counter += 1.5
                out.append((p, at(1) + minute * MIN, round(counter if p.cumulative else 40 + (minute % 60), 2)))
        return out

    def batch(points, old):
        out = []
        for p in points:
            counter = 1000.0 + 1.5 * 450
            out += [(p, at(3) + m * MIN, round(counter + m * 2.0 if p.cumulative else 45 + m % 50, 2))
                    for m in range(0, 200, 3)]  # live, one reading out of range now and then
            out += [(p, at(1) + m * MIN, 1000.0 + m if p.cumulative else 50.0)
                    for m in range(601, 690, 11)]  # backfill into the first outage, late into old buckets
            out += [(p, at(1) + m * MIN, 999.0 if p.cumulative else 10.0) for m in (3, 17, 33)]  # before the data
        out += rng.sample(old, 60)  # duplicates of stored readings (same values)
        out += out[:20]  # duplicates inside the batch
        rng.shuffle(out)
        return out

    one, many = scenario("ONE"), scenario("MANY")
    old_one, old_many = history(one), history(many)
    services.ingest(old_one, "mqtt")
    services.ingest(old_many, "mqtt")
    recode = {p.code: q for p, q in zip(one, many)}
    readings = batch(one, old_one)
    for p, ts, v in readings:
        services.ingest([(p, ts, v)], "mqtt")
    result = services.ingest([(recode[p.code], ts, v) for p, ts, v in readings], "mqtt")
    assert len(readings) > services.COPY_MIN
    assert result.duplicates == 80 and result.rejected == 0 and result.flagged > 0
    a, b = rollup_state(one), rollup_state(many)
    assert len(a["Rollup15m"]) > 100 and len(a["RollupDay"]) == 9
    # (gaps are not compared: readings arriving one by one split an outage into several gaps)
    assert Gap.objects.filter(point__in=many, filled_at__isnull=False).exists()
    for key in a:
        assert [r[1:] for r in a[key]] == [r[1:] for r in b[key]], key  # exactly, sums included
    # and recomputing every bucket from the raw readings changes nothing
    from greenledger.telemetry import rollups

    rollups.refresh({p: list(Reading.objects.filter(point=p, quality=Quality.GOOD).values_list("ts", flat=True))
                     for p in many})
    assert rollup_state(many) == b
