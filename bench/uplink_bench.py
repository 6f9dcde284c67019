"""Benchmark of the regulator uplink (数据上报): drain 100,000 queued passages to the simulator.

Usage (from the repository root; PostgreSQL on 127.0.0.1:5432)::

    .venv/bin/python bench/uplink_bench.py                    # 100,000 passages, 1/2/4 workers
    .venv/bin/python bench/uplink_bench.py --records 5000     # a smoke run

The script creates its own database ``greenledger_bench_uplink`` through the admin URL (default
``postgres://postgres@127.0.0.1:5432/postgres``, or ``--admin-url`` / ``BENCH_POSTGRES_URL``), migrates it
and drops it at the end (unless ``--keep``). It starts the simulator as its own process
(``greenledger regulator-sim``) on a free port.

Loading BYPASSES THE SEAL AND THE SIGNALS: passages are inserted with ``bulk_create`` (not sealed) and
their outbox items with ``outbox.enqueue_bulk``; acceptable for the benchmark only (in the product a
passage and its outbox items are written by the same transaction, sealed). What is timed is the
delivery: real ``greenledger uplink-worker --drain`` processes claiming from PostgreSQL (SKIP LOCKED),
building each body, signing it (RSA2), the simulator verifying, deduplicating and signing its reply,
the worker verifying the reply and recording the acknowledgement with a sealed receipt.

Printed next to it, in the same run: the simulator's own maximum rate for the same signed
``POST /records`` requests from 4 load-generator processes that touch no database (target: the
4-worker drain ≥ 50 % of it), and the time to drain a 24-hour backlog of a 3,000-passage/day plant
with 4 workers (target < 5 min).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_DB = "greenledger_bench_uplink"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
APP_ID = "GL-BENCH"
SECRET = "bench-secret"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=3000, help="passages of the 24-hour backlog")
    parser.add_argument("--load-seconds", type=float, default=15.0, help="duration of the simulator's own maximum")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--load-child", nargs=3, metavar=("URL", "SECONDS", "KEYDIR"), help=argparse.SUPPRESS)
    return parser.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(args, data_dir):
    import psycopg

    os.environ.update(GREENLEDGER_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="greenledger.settings",
                      LOG_LEVEL="WARNING")
    admin = args.admin_url
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/" + BENCH_DB
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop(args):
    import psycopg

    with psycopg.connect(args.admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def keys(data_dir):
    from greenledger.uplink import signing
    from greenledger.uplink.simulator import new_keys, write_config

    ours_private, ours_public = signing.new_rsa_keypair()
    (data_dir / "bench-ours.pem").write_text(ours_private)
    sim_keys = new_keys()
    config = data_dir / "sim.json"
    write_config(config, {APP_ID: {"secret": SECRET, "public_key": ours_public, "sign_type": signing.RSA2}},
                 sim_keys)
    (data_dir / "sim-public.pem").write_text(sim_keys[signing.RSA2]["public"])
    return config


def start_simulator(config, port):
    process = subprocess.Popen([sys.executable, "-m", "greenledger", "regulator-sim", "--port", str(port),
                                "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit("simulator did not start: " + process.stderr.read().decode())


def admin(url, path, body=None):
    import urllib.request

    request = urllib.request.Request(url + path, data=json.dumps(body or {}).encode(), method="POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def state(url):
    import urllib.request

    with urllib.request.urlopen(url + "/_admin/state") as response:
        return json.loads(response.read())


def unsaved_platform(url, data_dir):
    from greenledger.uplink.models import Platform

    os.environ["GL_BENCH_UPLINK_SECRET"] = SECRET
    return Platform(code="bench", name="bench", base_url=url, app_id=APP_ID, app_secret_ref="env:GL_BENCH_UPLINK_SECRET",
                    private_key_ref=f"file:{data_dir / 'bench-ours.pem'}",
                    platform_public_key=(data_dir / "sim-public.pem").read_text(), enterprise_code="BENCH")


def load_child(url, seconds, data_dir):
    """One load-generator process: signed POST /records of new records, as fast as the simulator answers."""
    import django

    django.setup()
    from greenledger.uplink.client import PlatformClient

    client = PlatformClient(unsaved_platform(url, Path(data_dir)))
    body = {"carNo": "苏D12345", "carColour": "2", "passType": "1", "passTime": "2026-11-30 08:00:00",
            "stage": "5", "fuelType": "B", "entNo": "BENCH"}
    count, deadline = 0, time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        client.send_record({"recordId": f"load-{uuid.uuid4()}", "kind": "passage", "uploadType": "1",
                            "occurredAt": "2026-01-01 08:00:00", "data": body})
        count += 1
    print(count)


def simulator_maximum(url, data_dir, seconds, processes=4):
    env = {**os.environ}
    started = time.monotonic()
    children = [subprocess.Popen([sys.executable, __file__, "--load-child", url, str(seconds), str(data_dir)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(processes)]
    total = 0
    for child in children:
        out, err = child.communicate()
        if child.returncode:
            raise SystemExit("load generator failed: " + err.decode()[-2000:])
        total += int(out.decode().strip().splitlines()[-1])
    elapsed = time.monotonic() - started
    return total / seconds, total, elapsed


def setup_plant(url, data_dir):
    from greenledger.core.models import Enterprise, Site
    from greenledger.gate.models import Gate, Lane
    from greenledger.uplink.models import Platform

    site = Site.objects.create(enterprise=Enterprise.objects.create(name="基准企业"), code="bench", name="基准工厂")
    gate = Gate.objects.create(site=site, code="g", name="东门")
    lanes = [Lane.objects.create(gate=gate, code=f"g-{d}", name=d, direction=d) for d in ("in", "out")]
    template = unsaved_platform(url, data_dir)
    template.site, template.heartbeat_seconds, template.pull_instructions = site, 60, False
    template.save()
    return site, lanes, Platform.objects.get(pk=template.pk)


def load_passages(site, lanes, count):
    import datetime

    from django.utils import timezone

    from greenledger.gate.models import Passage

    start = timezone.now() - datetime.timedelta(days=1)
    step = datetime.timedelta(days=1) / max(count, 1)
    rows = []
    for n in range(count):
        at = start + n * step
        lane = lanes[n % 2]
        rows.append(Passage(site=site, gate=lane.gate, lane=lane, direction=lane.direction, occurred_at=at,
                            recorded_at=at, plate=f"苏D{n % 100000:05d}", plate_color="yellow", vehicle_kind="road",
                            vehicle_class="heavy_truck", ledger={"vin": "LFWSRXSJ0M1000001", "engine_no": "E1"},
                            fuel="diesel", stage="6", decision="pass", final_decision="pass", reason="bench"))
    Passage._base_manager.bulk_create(rows, batch_size=5000)  # unsealed: bench only
    return rows


def queue(platform, passages):
    from greenledger.uplink.models import OutboxItem
    from greenledger.uplink.outbox import enqueue_bulk

    OutboxItem.objects.filter(platform=platform).delete()
    enqueue_bulk(platform, passages)
    # The previous drain's 100,000 deleted rows (and their two updates each) are the bench's own
    # doing, not a plant's steady state: clean them up before timing the next drain.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {OutboxItem._meta.db_table}")


def drain(workers, batch):
    started = time.monotonic()
    children = [subprocess.Popen([sys.executable, "-m", "greenledger", "uplink-worker", "--drain", "--batch",
                                  str(batch), "--worker-id", f"bench-{n}"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE) for n in range(workers)]
    for child in children:
        out, err = child.communicate()
        if child.returncode:
            raise SystemExit("worker failed: " + err.decode()[-2000:])
    return time.monotonic() - started


def check_delivered(platform, url, expected):
    from greenledger.uplink.models import OutboxItem, State

    acked = OutboxItem.objects.filter(platform=platform, state=State.ACKED).count()
    records = state(url)["records"]
    return acked, records, acked == expected == records


def main():
    args = parse_args()
    if args.load_child:
        url, seconds, data_dir = args.load_child
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenledger.settings")
        return load_child(url, seconds, data_dir)
    data_dir = Path(tempfile.mkdtemp(prefix="greenledger-uplink-bench-"))
    prepare(args, data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(keys(data_dir), port)
    results = []
    try:
        log(f"simulator on {url}; measuring its maximum for {args.load_seconds:.0f} s with 4 load generators")
        maximum, total, _elapsed = simulator_maximum(url, data_dir, args.load_seconds)
        log(f"simulator maximum: {maximum:,.0f} requests/s ({total:,} signed POST /records)")
        site, lanes, platform = setup_plant(url, data_dir)
        log(f"loading {args.records:,} passages")
        passages = load_passages(site, lanes, args.records)
        for workers in [int(w) for w in args.workers.split(",")]:
            admin(url, "/_admin/reset")
            queue(platform, passages)
            log(f"draining {args.records:,} items with {workers} worker(s)")
            elapsed = drain(workers, args.batch)
            acked, records, ok = check_delivered(platform, url, args.records)
            rate = args.records / elapsed
            results.append((workers, elapsed, rate, ok))
            log(f"{workers} worker(s): {elapsed:,.1f} s, {rate:,.0f} records/s ({100 * rate / maximum:.0f} % of the "
                f"simulator's maximum); acked {acked:,}, simulator holds {records:,}")
        admin(url, "/_admin/reset")
        backlog = passages[:args.backlog]
        queue(platform, backlog)
        log(f"draining a 24-hour backlog of {len(backlog):,} passages with 4 workers")
        backlog_seconds = drain(4, args.batch)
        _acked, _records, backlog_ok = check_delivered(platform, url, len(backlog))
    finally:
        simulator.terminate()
        simulator.wait(10)
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop(args)
    print(json.dumps({"simulator_max_rps": round(maximum), "records": args.records,
                      "drains": [{"workers": w, "seconds": round(e, 1), "records_per_s": round(r), "share": round(
                          r / maximum, 3), "all_delivered_once": ok} for w, e, r, ok in results],
                      "backlog_24h": {"passages": args.backlog, "seconds": round(backlog_seconds, 1),
                                      "all_delivered_once": backlog_ok}}, indent=2))


if __name__ == "__main__":
    main()
