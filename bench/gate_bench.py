"""Gate camera intake benchmark: decisions/s and latency of the camera endpoint vs a trivial endpoint.

Starts a real server — gunicorn with ``--workers`` processes (several counts may be given, each
gets its own server in turn; ``0`` is ``greenledger runserver --noreload``, one process) on its own
data directory (with ``--postgres`` its own database, dropped after) — and creates a site with a gate (Zhenshi cameras on an
entry and an exit lane), the default rule sets and ``--vehicles`` registered trucks, then for each
rate in ``--rates`` drives, from ``--threads`` client threads paced to that rate for ``--seconds``:

1. ``GET /api/gate/ping`` (no database, no auth) — the trivial baseline;
2. ``POST /api/gate/cameras/<code>/events?token=…`` with a Zhenshi push (320×180 scene JPEG and a
   plate JPEG in base64, as cameras send them): parse, store the raw event, decide, seal the passage
   and both snapshots, pair exits, reply.

Every push is a new event (70 % registered plates, 30 % unregistered; entries and exits mixed).
Prints requests/s achieved and p50/p99 latency for both, in the same run, with the load average
of the machine before and after each server's steps. Usage::

    .venv/bin/python bench/gate_bench.py                          # SQLite (temporary file), 4 workers
    .venv/bin/python bench/gate_bench.py --postgres               # PostgreSQL, own database, dropped after
    .venv/bin/python bench/gate_bench.py --workers 0,1,2,4        # runserver, then 1, 2 and 4 gunicorn workers
"""

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
BENCH_DB = "greenledger_bench_gate"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--rates", default="50,100,200,400", help="target requests/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each step")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--no-images", action="store_true", help="pushes without snapshots")
    parser.add_argument("--workers", default="4",
                        help="gunicorn worker processes, comma-separated (0: runserver, one process)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--worker-threads", type=int, default=1,
                        help="threads per gunicorn worker (more than 1: gunicorn's gthread workers)")
    parser.add_argument("--non-atomic", action="store_true",
                        help="experiment: serve with ATOMIC_REQUESTS off (what exempting the camera endpoint gives)")
    parser.add_argument("--decide-only", action="store_true",
                        help="experiment, not a product mode: the server answers every push and drops it unwritten "
                             "(no event, passage or snapshot), to show what the deciding path alone costs")
    return parser.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(args, data_dir):
    env = dict(os.environ, GREENLEDGER_DATA_DIR=str(data_dir), ALLOWED_HOSTS="127.0.0.1,localhost")
    if args.postgres:
        import psycopg

        with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        env["DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
    else:
        env.pop("DATABASE_URL", None)
    if args.non_atomic:
        # process_push commits each push in its own transaction; only the request-wide one goes
        (data_dir / "bench_settings.py").write_text(
            "from greenledger.settings import *  # noqa\nDATABASES['default']['ATOMIC_REQUESTS'] = False\n")
        env["PYTHONPATH"] = str(data_dir)
        env["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    if args.decide_only:
        # the endpoint decides and answers as always; the spool it hands the push to drops it
        (data_dir / "bench_wsgi.py").write_text(
            "from greenledger.wsgi import application  # noqa: F401 (sets Django up)\n"
            "from greenledger.gate import intake_api\n\n\n"
            "class Dropped:\n"
            "    def append(self, record, item):\n        pass\n\n"
            "    def apply_pending(self):\n        pass\n\n\n"
            "intake_api.PUSH_SPOOL = Dropped()\n")
        env["PYTHONPATH"] = str(data_dir)
    os.environ.clear()
    os.environ.update(env)
    subprocess.run([BIN / "greenledger", "migrate", "-v0"], env=env, check=True)
    sys.path[:0] = [str(REPO / "src"), str(data_dir)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenledger.settings")
    import django

    django.setup()
    from greenledger.core.models import ApiToken, Enterprise, Site
    from greenledger.gate.models import Vehicle
    from greenledger.gate.tests.factories import make_gate

    site = Site.objects.create(enterprise=Enterprise.objects.create(name="bench"), code="bench", name="bench")
    make_gate(site, grade="B", code="main")
    plates = [f"苏D{i:05d}" for i in range(args.vehicles)]
    Vehicle.objects.bulk_create(Vehicle(site=site, plate=p, plate_color="yellow", stage=random.choice("3456"),
                                        fuel="diesel", state="approved", category="N3", vehicle_class="heavy_truck")
                                for p in plates)
    secret = ApiToken.issue(name="bench", site=site, purpose="camera")[1]
    from django.db import connection

    with connection.cursor() as cursor:  # planner statistics, as autovacuum keeps them on a running site
        cursor.execute("ANALYZE")
    connection.close()
    return env, secret, plates


def wait_http(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/gate/ping", timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


class Pushes:
    """Distinct Zhenshi pushes, pre-built so the clients spend no time building them."""

    def __init__(self, plates, count, images):
        from greenledger.gate.management.commands.camera_sim import zhenshi_payload

        rng = random.Random(5)
        self.items = []
        for i in range(count):
            plate = rng.choice(plates) if rng.random() < 0.7 else f"鲁Q{rng.randrange(10**5):05d}"
            direction = "in" if rng.random() < 0.5 else "out"
            body, ctype = zhenshi_payload(plate, plate_id=i, serial=f"BENCH-{direction}", images=images)
            self.items.append((f"bench-main-{direction}", body, ctype))
        self.next = 0
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            item = self.items[self.next % len(self.items)]
            self.next += 1
            return item


def drive(rate, seconds, threads, request):
    """Paced open-loop load: returns (achieved requests/s, latencies in ms, errors)."""
    latencies, errors = [], []
    total = int(rate * seconds)
    start = time.monotonic() + 0.2

    def client(index):
        for k in range(index, total, threads):
            due = start + k / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            try:
                ok = request()
            except Exception as exc:  # counted, not fatal
                ok = False
                errors.append(repr(exc)[:100])
            latencies.append((time.monotonic() - began) * 1000)
            if not ok:
                errors.append("bad reply")

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    return len(latencies) / elapsed, latencies, errors


def pct(values, q):
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def start_server(workers, env, port=0, threads=1, app="greenledger.wsgi"):
    """A server process on ``port`` (0: a free one): gunicorn with ``workers`` processes (``threads``
    each), or runserver for 0."""
    port = port or free_port()
    if workers:
        command = [BIN / "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                   "--threads", str(threads), "--timeout", "60", "--no-control-socket"]
    else:
        command = [BIN / "greenledger", "runserver", "--noreload", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.port = port
    wait_http(port)
    return server


def stop(server):
    server.terminate()
    server.wait(timeout=30)


def run_steps(args, rates, pushes, secret, server, workers):
    base = f"http://127.0.0.1:{server.port}"

    def ping():
        with urllib.request.urlopen(f"{base}/api/gate/ping", timeout=30) as response:
            return response.status == 200

    def push():
        code, body, ctype = pushes.take()
        request = urllib.request.Request(f"{base}/api/gate/cameras/{code}/events?token={secret}", data=body,
                                         method="POST", headers={"Content-Type": ctype})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status == 200 and b"Response_AlarmInfoPlate" in response.read()

    drive(20, 2, 2, push)  # warm-up: imports, caches, first connections in every worker
    db = "PostgreSQL" if args.postgres else "SQLite"
    server_name = f"gunicorn, {workers} workers" if workers else "runserver (one process)"
    if workers and args.worker_threads > 1:
        server_name += f" × {args.worker_threads} threads"
    if args.non_atomic:
        server_name += ", ATOMIC_REQUESTS off (experiment)"
    if args.decide_only:
        server_name += ", pushes decided and answered but not written (experiment)"
    print(f"\ndatabase: {db}; {server_name}; {args.threads} client threads, {args.seconds:g} s per step, "
          f"{'no images' if args.no_images else 'scene + plate JPEG per push'}; "
          f"load average {load_average()} before")
    print("| target/s | ping req/s | ping p50 ms | ping p99 ms | decisions/s | push p50 ms | push p99 ms |"
          " p99 ratio | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rate in rates:
        ping_rate, ping_ms, ping_errors = drive(rate, args.seconds, args.threads, ping)
        push_rate, push_ms, push_errors = drive(rate, args.seconds, args.threads, push)
        ratio = pct(push_ms, 99) / pct(ping_ms, 99)
        print(f"| {rate} | {ping_rate:.0f} | {pct(ping_ms, 50):.1f} | {pct(ping_ms, 99):.1f} | {push_rate:.0f} | "
              f"{pct(push_ms, 50):.1f} | {pct(push_ms, 99):.1f} | {ratio:.1f}× | "
              f"{len(ping_errors) + len(push_errors)} |", flush=True)
    print(f"load average {load_average()} after")


def load_average():
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main():
    args = parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="glbench-gate-"))
    server = None
    try:
        env, secret, plates = setup(args, data_dir)
        rates = [int(r) for r in args.rates.split(",")]
        worker_counts = [int(w) for w in args.workers.split(",")]
        per_server = int(sum(rates) * args.seconds) + 50  # steps + warm-up: every push a new event
        pushes = Pushes(plates, per_server * len(worker_counts), images=not args.no_images)
        for workers in worker_counts:
            if args.decide_only and not workers:
                raise SystemExit("--decide-only needs gunicorn workers (--workers 1 or more)")
            server = start_server(workers, env, args.port, args.worker_threads,
                                  app="bench_wsgi:application" if args.decide_only else "greenledger.wsgi")
            run_steps(args, rates, pushes, secret, server, workers)
            stop(server)
            server = None
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(data_dir, ignore_errors=True)
        if args.postgres:
            import psycopg
            from django.db import connection

            connection.close()
            with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
