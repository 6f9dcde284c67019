"""Benchmark: a monthly emissions report for a site with 1,000 metering points at 15-minute resolution.

Usage (from the repository root)::

    .venv/bin/python bench/carbon_bench.py                # SQLite file in a temporary data dir
    .venv/bin/python bench/carbon_bench.py --postgres     # PostgreSQL (own database, dropped afterwards)
    .venv/bin/python bench/carbon_bench.py --points 200   # smaller smoke run

What is loaded: one site, 10 workshops, ``--points`` cumulative meters (90 % electricity kWh,
10 % natural gas m³), and one month of telemetry's *rollups* for them as telemetry keeps them
current from 15-minute readings (hourly and daily buckets, written in bulk). The monthly report
reads rollups, never raw readings (see telemetry.services.consumption), so the raw table's size
(≈ 2.9 million 15-minute readings per month for 1,000 points, ≈ 70 million for 24 months) does
not enter the report's path; it is not loaded here.

What is timed (warm, median of ``--runs``):

1. ``telemetry.services.consumption`` for the 1,000 points over the month (hourly rollups);
2. ``carbon.telemetry_bridge.import_consumption``: the same, written as 1,000 sealed activity
   records (first run writes; later runs find them unchanged);
3. ``carbon.engine.compute`` + ``to_dict``: emissions by scope/workshop/equipment/activity with
   factor versions, market-based scope 2 and intensity;
4. the report's Excel and PDF files.

Target (issue 4): the monthly report under 5 s.
"""

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "greenledger_bench_carbon"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_POSTGRES_URL",
                                                              "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the data dir / database")
    return parser.parse_args()


def prepare(args, data_dir):
    os.environ["GREENLEDGER_DATA_DIR"] = str(data_dir)
    os.environ["GREENLEDGER_EVIDENCE_KEY"] = str(data_dir / "keys" / "bench-ed25519.pem")
    os.environ["DJANGO_SETTINGS_MODULE"] = "greenledger.settings"
    os.environ["CONN_MAX_AGE"] = "0"
    sys.path.insert(0, str(ROOT / "src"))
    if not args.postgres:
        os.environ.pop("DATABASE_URL", None)
        return
    import psycopg

    admin = args.admin_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/" + BENCH_DB


def drop(args):
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(args.admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load(points_wanted, month_start, month_end):
    from django.db import transaction

    from greenledger.carbon.models import SiteCarbonProfile
    from greenledger.core.models import Enterprise, Site, Workshop
    from greenledger.telemetry.models import MeasuringPoint, RollupDay, RollupHour

    enterprise = Enterprise.objects.create(name="基准企业")
    site = Site.objects.create(enterprise=enterprise, code="bench-plant", name="基准工厂", industry="lithium")
    SiteCarbonProfile.objects.create(site=site, grid_region="east")
    workshops = [Workshop.objects.create(site=site, code=f"w{i:02d}", name=f"车间 {i}", sequence=i) for i in range(10)]
    points = MeasuringPoint.objects.bulk_create([
        MeasuringPoint(site=site, code=f"M{i:04d}", name=f"表 {i}", workshop=workshops[i % 10],
                       quantity="natural_gas" if i % 10 == 9 else "electricity",
                       unit="m³" if i % 10 == 9 else "kWh", cumulative=True, expected_interval_seconds=900)
        for i in range(points_wanted)])
    points = list(MeasuringPoint.objects.filter(site=site).order_by("pk"))
    first = datetime.datetime.combine(month_start, datetime.time.min, tzinfo=datetime.UTC)
    hours = int((month_end - month_start).days + 1) * 24
    log(f"loading {len(points) * hours:,} hourly and {len(points) * hours // 24:,} daily rollups")
    for chunk in range(0, len(points), 50):
        with transaction.atomic():
            hourly, daily = [], []
            for point in points[chunk:chunk + 50]:
                rate = 40.0 + point.pk % 17
                for h in range(hours):
                    bucket = first + datetime.timedelta(hours=h)
                    value = rate * (h + 1)
                    hourly.append(RollupHour(point=point, bucket=bucket, count=4, sum=value * 4, min=value - rate,
                                             max=value, first_ts=bucket, first_value=value - rate * 0.75,
                                             last_ts=bucket + datetime.timedelta(minutes=45), last_value=value,
                                             delta=rate))
                    if h % 24 == 0:
                        daily.append(RollupDay(point=point, bucket=bucket, count=96, sum=value * 96,
                                               min=value, max=value + rate * 23, first_ts=bucket, first_value=value,
                                               last_ts=bucket, last_value=value + rate * 23, delta=rate * 24))
            RollupHour.objects.bulk_create(hourly, batch_size=5000)
            RollupDay.objects.bulk_create(daily, batch_size=5000)
    return site, points


def timed(label, fn, runs):
    times, result = [], None
    for _i in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    log(f"{label:<58} median {statistics.median(times) * 1000:9.1f} ms   (runs: "
        + ", ".join(f"{t * 1000:.0f}" for t in times) + ")")
    return result, statistics.median(times)


def main():
    args = parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="glbench-carbon-"))
    prepare(args, data_dir)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        month_start, month_end = datetime.date(2025, 3, 1), datetime.date(2025, 3, 31)
        started = time.perf_counter()
        site, points = load(args.points, month_start, month_end)
        log(f"loaded in {time.perf_counter() - started:.1f} s on {connection.vendor}")

        from greenledger.carbon import engine, reports, telemetry_bridge
        from greenledger.telemetry.services import consumption

        first, last = telemetry_bridge.day_bounds(site, month_start, month_end)
        timed("telemetry consumption(), 1 month, hourly rollups", lambda: consumption(points, first, last), args.runs)
        (written, _u), write_time = timed("import_consumption (first run writes sealed rows)",
                                         lambda: telemetry_bridge.import_consumption(site, month_start, month_end), 1)
        timed("import_consumption (again: all unchanged)",
              lambda: telemetry_bridge.import_consumption(site, month_start, month_end), args.runs)
        content, compute_time = timed("engine.compute + to_dict (report figures)",
                                      lambda: engine.to_dict(engine.compute(site, month_start, month_end)), args.runs)
        timed("report Excel", lambda: reports.workbook(content), args.runs)
        timed("report PDF", lambda: reports.pdf(content), args.runs)
        log(f"{written} activity rows; total {content['totals']['total']} kg CO2; factors "
            + ", ".join(f"{f['code']} v{f['version']}" for f in content["factors"]))
        log(f"monthly report from telemetry (import + figures): {(write_time + compute_time):.2f} s (target < 5 s)")
    finally:
        if args.postgres and not args.keep:
            drop(args)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
