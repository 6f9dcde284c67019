"""Benchmark of the gate statistics (门禁统计) over 24 months of a 3,000-passage/day plant (~2.2 M passages).

Usage (from the repository root)::

    .venv/bin/python bench/gate_stats_bench.py                  # PostgreSQL, 730 days × 3,000 passages
    .venv/bin/python bench/gate_stats_bench.py --quick          # 60 days: a smoke run
    .venv/bin/python bench/gate_stats_bench.py --keep / --reuse # keep the database / time it again

The script creates its own database ``greenledger_bench_gate_stats`` through the admin URL (default
``postgres://postgres@127.0.0.1:5432/postgres``, or ``--admin-url`` / ``BENCH_POSTGRES_URL``), migrates
it, loads the passages and drops it at the end (unless ``--keep``); it never touches another database.
``--sqlite`` runs the same on a SQLite file in the temporary data dir.

Loading BYPASSES THE SEAL: passages are written with COPY (PostgreSQL) or ``executemany`` (SQLite)
and are not appended to the evidence log, which the statistics never read; this is acceptable for
this benchmark only (the product writes every passage through ``services.record_passage``, sealed).
What is loaded: one site, one gate with an entry and an exit lane, 600 registered trucks of 8
carriers (国四 to 国六 diesel, gas, electric), entries and paired exits with dwell times, ~1 %
unknown vehicles sent to manual check with the guard's release or block (``PassageAction`` rows), a
handful of orange-alert periods per year on which 国四 trucks are blocked, and monthly transport
records by mode.

What is timed (warm, median of ``--runs``): ``gate.statistics.gate_statistics(site, first, last)``
for the latest full month and for a month a year earlier, next to a bare ``count(*)`` of that month's
passages over the same index in the same run.
"""

import argparse
import datetime
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_DB = "greenledger_bench_gate_stats"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
COLUMNS = ["id", "site_id", "gate_id", "lane_id", "direction", "occurred_at", "recorded_at", "plate", "plate_color",
           "confidence", "vehicle_kind", "vehicle_class", "ledger", "fuel", "stage", "carrier_name", "alert_level",
           "grade", "decision", "reason", "rule_ref", "display_text", "final_decision", "handled_by_id", "paired_id",
           "dwell_seconds", "cargo_name", "cargo_weight_t", "barrier_opened"]
FLEET = [("4", "diesel", 0.12), ("5", "diesel", 0.38), ("6", "diesel", 0.30), ("6", "gas", 0.10),
         ("ev", "electric", 0.10)]
CARRIERS = [f"承运车队{n}" for n in range(1, 9)]
ORANGE_DAYS_PER_YEAR = 12


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=730, help="days of passages (default 730 = 24 months)")
    parser.add_argument("--per-day", type=int, default=3000, help="passages per day (default 3000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 days")
    parser.add_argument("--sqlite", action="store_true", help="SQLite file instead of PostgreSQL")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database and data dir afterwards")
    parser.add_argument("--reuse", action="store_true", help="time an existing bench database (see --keep)")
    parser.add_argument("--data-dir", help="data dir (required with --reuse)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.quick:
        args.days = 60
    if args.reuse and not args.data_dir:
        parser.error("--reuse needs --data-dir (the one --keep printed)")
    return args


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def postgres_url(url):
    return url.replace("postgres://", "postgresql://", 1)


def prepare_environment(args, data_dir):
    os.environ["GREENLEDGER_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "greenledger.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(REPO / "src"))
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
        return
    admin = postgres_url(args.admin_url)
    if not args.reuse:
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/" + BENCH_DB


def drop_database(args):
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(postgres_url(args.admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')


# The plant -------------------------------------------------------------------------------------------


def make_plant():
    from django.contrib.auth import get_user_model

    from greenledger.core.models import Enterprise, Site
    from greenledger.gate.models import Gate, Lane

    enterprise, _ = Enterprise.objects.get_or_create(name="基准测试水泥有限公司")
    site, _ = Site.objects.get_or_create(code="bench-gate", defaults={"enterprise": enterprise, "name": "基准水泥厂"})
    gate, _ = Gate.objects.get_or_create(site=site, code="main", defaults={"name": "主门"})
    lanes = {d: Lane.objects.get_or_create(gate=gate, code=f"main-{d}", defaults={"name": d, "direction": d})[0]
             for d in ("in", "out")}
    guard, _ = get_user_model().objects.get_or_create(username="bench-guard")
    return site, gate, lanes, guard


def trucks(rng, count=600):
    fleet = []
    for number in range(count):
        stage, fuel = rng.choices([(s, f) for s, f, _w in FLEET], [w for _s, _f, w in FLEET])[0]
        plate = f"冀A{number:05d}" + ("D" if fuel == "electric" else "")
        fleet.append((plate, stage, fuel, CARRIERS[number % len(CARRIERS)]))
    return fleet


def orange_days(rng, first, days):
    return {first + datetime.timedelta(days=d) for d in rng.sample(range(days), max(1, days * ORANGE_DAYS_PER_YEAR // 365))}


def day_rows(rng, day, plant, fleet, orange, zone):
    """One day's passages (entries with their paired exits) and the guard's actions."""
    site, gate, lanes, guard = plant
    rows, acts = [], []
    start = datetime.datetime.combine(day, datetime.time(5), tzinfo=zone)
    for _visit in range(per_day_visits):
        plate, stage, fuel, carrier = rng.choice(fleet)
        vehicle_class, kind = "heavy_truck", "road"
        if rng.random() < 0.01:
            plate, stage, fuel, carrier, vehicle_class, kind = f"苏B{rng.randint(10000, 99999)}", "unknown", "", "", \
                "unknown", "unknown"
        entered = start + datetime.timedelta(seconds=rng.randint(0, 16 * 3600))
        alert = "orange" if day in orange else "none"
        decision = "pass"
        if kind == "unknown":
            decision = "manual"
        elif alert == "orange" and stage == "4":
            decision = "block"
        entry_id, exit_id = uuid.uuid4(), uuid.uuid4()
        final, handled = decision, None
        if decision == "manual":
            final = "pass" if rng.random() < 0.8 else "block"
            handled = guard.pk
            acts.append((uuid.uuid4(), entry_id, "release" if final == "pass" else "block",
                         "临时送货车辆，已核对随车清单" if final == "pass" else "无随车清单，劝返", guard.pk,
                         entered + datetime.timedelta(minutes=rng.randint(1, 8))))
        dwell = rng.randint(20 * 60, 180 * 60) if final == "pass" else None
        ledger = json.dumps({"vin": f"LFW{abs(hash(plate)) % 10**14:014d}", "carrier": carrier, "stage": stage,
                             "fuel": fuel, "engine_maker": "潍柴动力"}, ensure_ascii=False)
        common = dict(site_id=site.pk, gate_id=gate.pk, plate=plate, plate_color="yellow", confidence=95,
                      vehicle_kind=kind, vehicle_class=vehicle_class, ledger=ledger, fuel=fuel, stage=stage,
                      carrier_name=carrier, alert_level=alert, grade="B", rule_ref="", display_text=plate,
                      cargo_name="熟料" if rng.random() < 0.5 else "", cargo_weight_t=None, barrier_opened=None)
        rows.append(dict(common, id=entry_id, lane_id=lanes["in"].pk, direction="in", occurred_at=entered,
                         recorded_at=entered, decision=decision, reason="规则判定", final_decision=final,
                         handled_by_id=handled, paired_id=exit_id if dwell else None, dwell_seconds=dwell))
        if dwell:
            left = entered + datetime.timedelta(seconds=dwell)
            rows.append(dict(common, id=exit_id, lane_id=lanes["out"].pk, direction="out", occurred_at=left,
                             recorded_at=left, decision="pass", reason="规则判定", final_decision="pass",
                             handled_by_id=None, paired_id=entry_id, dwell_seconds=dwell, alert_level=alert))
    return rows, acts


per_day_visits = 1500


def load(args, plant):
    """COPY (PostgreSQL) or executemany (SQLite) day by day; NOT sealed (see the module docstring)."""
    from zoneinfo import ZoneInfo

    from django.db import connection, transaction

    from greenledger.gate.models import TransportRecord

    global per_day_visits
    per_day_visits = args.per_day // 2
    rng = random.Random(args.seed)
    fleet = trucks(rng)
    zone = ZoneInfo("Asia/Shanghai")
    today = datetime.date.today()
    first = today - datetime.timedelta(days=args.days)
    orange = orange_days(rng, first, args.days)
    started, passages, actions = time.perf_counter(), 0, 0
    for offset in range(args.days):
        day = first + datetime.timedelta(days=offset)
        rows, acts = day_rows(rng, day, plant, fleet, orange, zone)
        with transaction.atomic():
            write_passages(connection, rows)
            write_actions(connection, acts)
        passages += len(rows)
        actions += len(acts)
        if offset % 60 == 0:
            log(f"  {day}: {passages:,} passages so far")
    site = plant[0]
    month, records = first.replace(day=1), []
    while month <= today:
        end = (month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        records += [TransportRecord(site=site, period_start=month, period_end=end, direction="in", mode=mode,
                                    cargo_name="石灰石", tonnes=tonnes)
                    for mode, tonnes in (("rail", 60000), ("belt", 20000), ("road_nev", 8000), ("road", 22000))]
        month = end + datetime.timedelta(days=1)
    TransportRecord._base_manager.bulk_create(records)  # the plain manager skips the seal: bench only
    with connection.cursor() as cursor:  # what autovacuum does on a live table
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE gate_passage")
            cursor.execute("VACUUM ANALYZE gate_passageaction")
        else:
            cursor.execute("ANALYZE")
    log(f"loaded {passages:,} passages and {actions:,} guard actions in {time.perf_counter() - started:.0f} s "
        f"({len(orange)} orange days)")
    return passages


def write_passages(connection, rows):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY gate_passage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in COLUMNS])
        return
    sql = f"INSERT INTO gate_passage ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[sqlite_value(row[c]) for c in COLUMNS] for row in rows])


def sqlite_value(value):
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def write_actions(connection, acts):
    if not acts:
        return
    columns = ["id", "passage_id", "kind", "reason", "cargo_name", "actor_id", "occurred_at", "recorded_at"]
    rows = [[a[0], a[1], a[2], a[3], "", a[4], a[5], a[5]] for a in acts]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY gate_passageaction ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    sql = f"INSERT INTO gate_passageaction ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[sqlite_value(v) for v in row] for row in rows])


# Timing -----------------------------------------------------------------------------------------------


def median_ms(function, runs):
    function()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def time_statistics(args, site, loaded):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from greenledger.gate.statistics import gate_statistics, month_bounds, passages_in

    today = datetime.date.today()
    latest = month_bounds(today.replace(day=1) - datetime.timedelta(days=1))
    year_ago = month_bounds(latest[0] - datetime.timedelta(days=340))
    total = passages_in(site, today - datetime.timedelta(days=args.days + 1), today).count() if not loaded else loaded
    print(f"\n### Gate statistics ({connection.vendor}, {total:,} passages, {args.days} days × {args.per_day:,}/day)\n")
    print("| query | median ms | min ms | result |")
    print("| --- | ---: | ---: | --- |")
    for first, last in (latest, year_ago):
        count = passages_in(site, first, last)
        ms, low = median_ms(lambda: count.count(), args.runs)
        print(f"| baseline: count(*) of {first:%Y-%m} | {ms:.1f} | {low:.1f} | {count.count():,} passages |")
        with CaptureQueriesContext(connection) as queries:
            result = gate_statistics(site, first, last)
        ms, low = median_ms(lambda: gate_statistics(site, first, last), args.runs)
        print(f"| gate_statistics(site, {first}, {last}) | {ms:.1f} | {low:.1f} | {result.total:,} passages, "
              f"{len(queries.captured_queries)} queries, clean share {result.clean_share} %, "
              f"{result.alert_summary['alert_days']} alert days |")


def main():
    args = parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="gate-stats-bench-"))
    prepare_environment(args, data_dir)
    import django

    django.setup()
    from django.core.management import call_command

    try:
        if not args.reuse:
            call_command("migrate", verbosity=0, stdout=io.StringIO())
        plant = make_plant()
        loaded = None if args.reuse else load(args, plant)
        time_statistics(args, plant[0], loaded)
    finally:
        if args.keep:
            log(f"kept: database {BENCH_DB if not args.sqlite else '(SQLite)'}, --data-dir {data_dir}")
        elif not args.sqlite:
            drop_database(args)
    if not args.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
