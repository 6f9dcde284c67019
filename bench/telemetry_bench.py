"""Benchmark of telemetry intake and chart reads.

Usage (from the repository root)::

    .venv/bin/python bench/telemetry_bench.py                 # SQLite file in a temporary data dir
    .venv/bin/python bench/telemetry_bench.py --postgres      # PostgreSQL (own database, dropped after)
    .venv/bin/python bench/telemetry_bench.py --readings 50000   # smaller run

In one run, against the same migrated database (PostgreSQL: the monthly-partitioned table):

1. raw driver: the readings inserted straight into ``telemetry_reading`` by the driver's bulk path
   (``sqlite3`` ``executemany`` / psycopg ``COPY``), no validation, no rollups: the ceiling;
2. HTTP bulk: ``POST /api/telemetry/readings`` with 5,000 readings per request and a telemetry
   device token, against a real server process (gunicorn, one sync worker; one client posting
   bodies encoded before the clock starts);
3. MQTT: a real ``greenledger ingest-mqtt`` worker process fed through the Mosquitto on
   127.0.0.1:1883, gateway-style messages of 100 readings (``{"readings": [...]}``), timed from
   the first publish until the last reading is in the database (a probe reading is published
   first until the worker has stored it: messages sent before it subscribed would be lost);
4. two references that show what the target leaves for checks and rollups: the raw driver
   committing every 5,000 readings (as the intake commits every request), and the *intake floor*
   (:func:`intake_floor`): the HTTP path's bodies read with orjson, point ids looked up, timestamps
   converted and the rows inserted and committed per body, nothing else;
5. a 24-month hourly chart query for one point (``services.series(point, …, "hour")``, 17,520
   hourly rollups), median of 7 warm runs.

Intake paths (2, 3) include everything the product does per batch: parsing, validation, dedup,
insert with ON CONFLICT, status, gap detection and the 15-minute/hourly/daily rollup refresh.
Readings go to 100 points, 1 reading per point per minute, backwards-free (live data).
"""

import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DB = "greenledger_bench_telemetry"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BIN = REPO / ".venv" / "bin"
UTC = datetime.UTC


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--readings", type=int, default=200_000, help="readings per intake path (default 200000)")
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--mqtt-batch", type=int, default=50,
                        help="messages per intake batch of the MQTT worker (default 50 = 5,000 readings, as one "
                             "HTTP request; the worker's own default is 500)")
    return parser.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_env(args, data_dir):
    env = dict(os.environ, GREENLEDGER_DATA_DIR=str(data_dir), ALLOWED_HOSTS="127.0.0.1,localhost")
    if args.postgres:
        import psycopg

        with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        env["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    else:
        env.pop("DATABASE_URL", None)
    os.environ.update(env)
    if not args.postgres:
        os.environ.pop("DATABASE_URL", None)
    subprocess.run([BIN / "greenledger", "migrate", "-v0"], env=env, check=True)
    return env


def readings_for(codes, count, start):
    """``count`` readings: one per point per minute from ``start``."""
    out = []
    minute = 0
    while len(out) < count:
        ts = (start + datetime.timedelta(minutes=minute)).isoformat()
        for i, code in enumerate(codes):
            out.append({"point": code, "ts": ts, "v": 100.0 + i + minute * 0.01})
            if len(out) == count:
                break
        minute += 1
    return out


def raw_driver(args, point_ids, count, start, batch=None):
    """The driver's own bulk insert into telemetry_reading; returns readings/s.

    ``batch`` None: all rows in one statement and one transaction (the ceiling the target is set
    against); a number: one statement and one commit per ``batch`` rows, as the intake commits
    each request."""
    from greenledger.telemetry import partitions

    rows = []
    minute = 0
    received = datetime.datetime.now(UTC)
    while len(rows) < count:
        ts = start + datetime.timedelta(minutes=minute)
        for pid in point_ids:
            rows.append((pid, ts, 1.0 + minute, received, "bench", 0))
            if len(rows) == count:
                break
        minute += 1
    partitions.ensure_for({r[1] for r in rows[:: max(len(point_ids), 1)]} | {rows[-1][1]})
    size = batch or len(rows)
    if args.postgres:
        db = driver_connection(args)
        started = time.perf_counter()
        for i in range(0, len(rows), size):
            with db.cursor() as cursor:
                with cursor.copy("COPY telemetry_reading (point_id, ts, value, received_at, source, quality) "
                                 "FROM STDIN") as copy:
                    for row in rows[i:i + size]:
                        copy.write_row(row)
            db.commit()
        elapsed = time.perf_counter() - started
    else:
        db = driver_connection(args)
        text_rows = [(p, t.astimezone(UTC).replace(tzinfo=None).isoformat(" "), v, r.astimezone(UTC).replace(
            tzinfo=None).isoformat(" "), s, q) for p, t, v, r, s, q in rows]
        started = time.perf_counter()
        for i in range(0, len(rows), size):
            db.executemany("INSERT INTO telemetry_reading (point_id, ts, value, received_at, source, quality) "
                           "VALUES (?, ?, ?, ?, ?, ?)", text_rows[i:i + size])
            db.commit()
        elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def driver_connection(args):
    """A plain driver connection to the bench database (no Django in between)."""
    if args.postgres:
        import psycopg

        return psycopg.connect(os.environ["DATABASE_URL"].replace("postgres://", "postgresql://"))
    import sqlite3

    db = sqlite3.connect(os.environ["GREENLEDGER_DATA_DIR"] + "/greenledger.sqlite3")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def intake_floor(args, points, readings, batch=5000):
    """The least any JSON intake does, on the HTTP path's request bodies: read the body (orjson),
    look up each point id and convert each timestamp (once per distinct text), insert with the
    driver's bulk path and ON CONFLICT DO NOTHING (SQLite) / COPY (PostgreSQL) and commit, one
    transaction per body. No HTTP, no checks, no status, no gaps, no rollups. Returns readings/s."""
    import orjson

    from greenledger.telemetry import partitions

    ids = {p.code: p.pk for p in points}
    bodies = [orjson.dumps({"readings": readings[i:i + batch]}) for i in range(0, len(readings), batch)]
    partitions.ensure_for({datetime.datetime.fromisoformat(r["ts"]) for r in readings[::len(points)]}
                          | {datetime.datetime.fromisoformat(readings[-1]["ts"])})
    received = datetime.datetime.now(UTC)
    db = driver_connection(args)
    started = time.perf_counter()
    for body in bodies:
        stamps, rows = {}, []
        for item in orjson.loads(body)["readings"]:
            ts = stamps.get(item["ts"])
            if ts is None:
                ts = stamps[item["ts"]] = datetime.datetime.fromisoformat(item["ts"]).astimezone(UTC)
                if not args.postgres:
                    ts = stamps[item["ts"]] = ts.replace(tzinfo=None).isoformat(" ")
            rows.append((ids[item["point"]], ts, item["v"], 0))
        if args.postgres:
            with db.cursor() as cursor:
                with cursor.copy("COPY telemetry_reading (point_id, ts, value, quality, received_at, source) "
                                 "FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row((*row, received, "http"))
        else:
            stamp = received.replace(tzinfo=None).isoformat(" ")
            db.executemany("INSERT INTO telemetry_reading (point_id, ts, value, quality, received_at, source) "
                           f"VALUES (?, ?, ?, ?, '{stamp}', 'http') ON CONFLICT (point_id, ts) DO NOTHING", rows)
        db.commit()
    elapsed = time.perf_counter() - started
    db.close()
    return len(readings) / elapsed


def wait_http(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def http_bulk(env, secret, readings, batch=5000):
    """One client posting the pre-built request bodies one after the other to one gunicorn worker
    (the production server, docs/deploy.md); the bodies are encoded before the clock starts."""
    port = free_port()
    server = subprocess.Popen([BIN / "gunicorn", "greenledger.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                               "--timeout", "300", "--no-control-socket"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bodies = [json.dumps({"readings": readings[i:i + batch]}).encode() for i in range(0, len(readings), batch)]

    def post(body):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/telemetry/readings", data=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {secret}"})
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    try:
        wait_http(port)
        post(json.dumps({"readings": []}).encode())  # warm-up: the worker imports the URL conf and the API
        stored = 0
        started = time.perf_counter()
        for body in bodies:
            stored += post(body)["stored"]
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    assert stored == len(readings), (stored, len(readings))
    return len(readings) / elapsed


def wait_subscribed(client, topic, probe, timeout=120):
    """Publish one probe reading now and then until the worker has stored one (it is subscribed:
    a message published before that would be lost, and the run would never finish)."""
    from django.db import connection

    from greenledger.telemetry.models import Reading

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ts = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(days=1000)
        client.publish(topic, json.dumps({"readings": [{"point": probe, "ts": ts.isoformat(), "v": 0}]}), qos=1)
        time.sleep(1)
        connection.close()
        if Reading.objects.filter(point__code=probe).exists():
            return
    raise RuntimeError("the MQTT worker did not subscribe")


AHEAD = 500  # MQTT messages the benchmark's publisher may be in front of the worker


def mqtt_intake(env, site_code, readings, probe, per_message=100, batch=50):
    import paho.mqtt.client as mqtt
    from django.db import connection

    from django.db.models import Sum

    from greenledger.telemetry.models import PointStatus

    prefix = f"glbench-{uuid.uuid4().hex[:6]}"
    log = open(Path(env["GREENLEDGER_DATA_DIR"]) / "mqtt-worker.log", "w")
    worker = subprocess.Popen([BIN / "greenledger", "ingest-mqtt", "--prefix", prefix, "--batch", str(batch),
                               "--flush-ms", "200"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"glbench-{uuid.uuid4().hex[:6]}")
        client.max_inflight_messages_set(1000)
        client.connect("127.0.0.1", 1883)
        client.loop_start()
        wait_subscribed(client, f"{prefix}/{site_code}", probe)
        # progress from the points' status counters (100 rows): counting the growing readings table
        # every 50 ms stalled the publisher, and the worker waited for messages
        mine = PointStatus.objects.filter(point__site__code=site_code).exclude(point__code=probe)

        def progress():
            return mine.aggregate(n=Sum("readings"))["n"] or 0

        before = progress()
        messages = [json.dumps({"readings": readings[i:i + per_message]}) for i in range(0, len(readings), per_message)]
        started = time.perf_counter()
        infos = []
        stored = 0
        for i in range(0, len(readings), per_message):
            # stay at most AHEAD messages in front of the worker: Mosquitto drops what exceeds its
            # max_queued_messages (default 1000) for a subscriber that lags (see telemetry/mqtt.py)
            while i // per_message - stored // per_message > AHEAD:
                time.sleep(0.05)
                connection.close()
                stored = progress() - before
            infos.append(client.publish(f"{prefix}/{site_code}", messages[i // per_message], qos=1))
        for info in infos:
            info.wait_for_publish(60)
        target = before + len(readings)
        while True:
            connection.close()
            if progress() >= target:
                break
            if time.perf_counter() - started > 900:
                raise RuntimeError("MQTT intake did not finish")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        client.loop_stop()
        client.disconnect()
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()
    return len(readings) / elapsed


def chart_query(site):
    from greenledger.telemetry import rollups, services
    from greenledger.telemetry.models import MeasuringPoint

    point = MeasuringPoint.objects.create(site=site, code="CHART-E", name="chart", quantity="electricity",
                                          cumulative=True)
    end = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - datetime.timedelta(days=730)
    rows, value = [], 0.0
    for h in range(730 * 24):
        bucket = start + datetime.timedelta(hours=h)
        value += 10
        rows.append([point.pk, bucket, 4, value * 4, value, value, bucket, value, bucket, value, 10.0])
    rollups.upsert(rollups.RollupHour, rows)
    timings = []
    for _ in range(8):
        began = time.perf_counter()
        data = services.series(point, start, end, "hour")
        timings.append((time.perf_counter() - began) * 1000)
    assert len(data) == 730 * 24
    return statistics.median(timings[1:])


def main():
    args = parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="glbench-telemetry-"))
    try:
        env = setup_env(args, data_dir)
        sys.path.insert(0, str(REPO / "src"))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenledger.settings")
        import django

        django.setup()
        from django.db import connection

        from greenledger.core.models import ApiToken, Enterprise, Site
        from greenledger.telemetry.models import MeasuringPoint

        site = Site.objects.create(enterprise=Enterprise.objects.create(name="bench"), code="bench", name="bench")
        points = [MeasuringPoint.objects.create(site=site, code=f"P{i:04d}", name=f"P{i}", quantity="power",
                                                expected_interval_seconds=60) for i in range(args.points)]
        raw_points = [MeasuringPoint.objects.create(site=site, code=f"RAW{i:04d}", name="raw", quantity="power")
                      for i in range(args.points)]
        batch_points = [MeasuringPoint.objects.create(site=site, code=f"RAWB{i:04d}", name="raw", quantity="power")
                        for i in range(args.points)]
        floor_points = [MeasuringPoint.objects.create(site=site, code=f"FLOOR{i:04d}", name="floor",
                                                      quantity="power") for i in range(args.points)]
        _token, secret = ApiToken.issue(name="bench", site=site, purpose="telemetry")
        codes = [p.code for p in points]
        n = args.readings
        day = datetime.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        minutes = n // args.points + 1
        http_start = day - datetime.timedelta(minutes=3 * minutes + 10)
        mqtt_start = day - datetime.timedelta(minutes=2 * minutes + 5)
        connection.close()

        raw_rate = raw_driver(args, [p.pk for p in raw_points], n, http_start)
        batch_rate = raw_driver(args, [p.pk for p in batch_points], n, http_start, batch=5000)
        floor_rate = intake_floor(args, floor_points, readings_for([p.code for p in floor_points], n, http_start))
        connection.close()
        http_rate = http_bulk(env, secret, readings_for(codes, n, http_start))
        MeasuringPoint.objects.create(site=site, code="PROBE", name="probe", quantity="power")
        mqtt_rate = mqtt_intake(env, site.code, readings_for(codes, n, mqtt_start), "PROBE", batch=args.mqtt_batch)
        raw_rate_after = raw_driver(args, [p.pk for p in raw_points], n, mqtt_start)
        connection.close()
        chart_ms = chart_query(site)
        db = "PostgreSQL" if args.postgres else "SQLite"
        raw_ref = (raw_rate + raw_rate_after) / 2
        print(f"database: {db}; {n} readings per path, {args.points} points")
        print(f"raw driver ({'COPY' if args.postgres else 'executemany'}): {raw_rate:,.0f} and "
              f"{raw_rate_after:,.0f} readings/s (before/after)")
        print(f"raw driver, one transaction per 5,000 readings: {batch_rate:,.0f} readings/s "
              f"({100 * batch_rate / raw_ref:.1f} % of raw)")
        print(f"intake floor (orjson + ids + raw insert + commit per 5,000-reading body): {floor_rate:,.0f} "
              f"readings/s ({100 * floor_rate / raw_ref:.1f} % of raw)")
        print(f"HTTP bulk API: {http_rate:,.0f} readings/s ({100 * http_rate / raw_ref:.1f} % of raw)")
        print(f"MQTT (ingest-mqtt --batch {args.mqtt_batch}): {mqtt_rate:,.0f} readings/s "
              f"({100 * mqtt_rate / raw_ref:.1f} % of raw)")
        print(f"24-month hourly chart query: {chart_ms:.1f} ms (target < 200 ms)")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            import psycopg
            from django.db import connection as conn

            conn.close()
            with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
