"""Benchmark of the evidence log: sealing, verifying and proving, beside the raw SHA-256 rate.

Usage (from the repository root)::

    .venv/bin/python bench/evidence_bench.py                       # SQLite in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/evidence_bench.py                   # PostgreSQL

With ``DATABASE_URL`` pointing at PostgreSQL the script creates its own database
(``greenledger_bench`` on the same server, dropped at the end) and never touches the one named in
the URL. Everything else (uploaded-file dir, signing key, SQLite file) lives in a temporary
``GREENLEDGER_DATA_DIR`` that is removed afterwards.

What is measured, in one run:

1. seal: ``--records`` core.Attachment rows created one by one, each in its own transaction
   (INSERT of the record, re-read, leaf + nodes, head update, commit), as the application does,
   next to a baseline of the same INSERT + COMMIT without the seal;
2. raw SHA-256: hashlib over byte strings the size of those records' canonical JSON;
3. verify: ``verify-evidence``'s full check (re-hash every row, rebuild the tree, check every
   stored node and the signed checkpoint);
4. export and the stand-alone verifier over the export;
5. proofs: inclusion and consistency proof generation at that size, then again after growing the
   tree to ``--large`` leaves with the bulk loader (``tree.append_leaves``, the same node
   algorithm as single appends) using synthetic leaf hashes.
"""

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
BENCH_DB = "greenledger_bench"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records to seal (default 100000)")
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="tree size for the large proof test (0: skip)"
    )
    parser.add_argument("--proofs", type=int, default=2000, help="proofs to time at each size")
    return parser.parse_args()


# Environment -------------------------------------------------------------------------------


def prepare_environment(data_dir: Path) -> str | None:
    """Point settings at a temporary data dir and, for PostgreSQL, at a fresh bench database."""
    os.environ["GREENLEDGER_DATA_DIR"] = str(data_dir)
    os.environ["GREENLEDGER_EVIDENCE_KEY"] = str(data_dir / "keys" / "bench-ed25519.pem")
    os.environ["DJANGO_SETTINGS_MODULE"] = "greenledger.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(REPO / "src"))
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        os.environ.pop("DATABASE_URL", None)
        return None
    admin_url = url
    create_database(admin_url)
    parts = urlsplit(url)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + BENCH_DB))
    return admin_url


def create_database(admin_url):
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def drop_database(admin_url):
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')


# Measurements ------------------------------------------------------------------------------


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def new_attachment(number, content_type):
    from greenledger.core.models import Attachment

    return Attachment(
        content_type=content_type,
        object_id=str(number),
        file=f"attachments/2026/11/outlet-{number}.jpg",
        original_name=f"废气排放口-{number}.jpg",
        mime_type="image/jpeg",
        size=250_000 + number,
        sha256=hashlib.sha256(str(number).encode()).hexdigest(),
        kind="photo",
        caption="排放口巡检照片 outlet inspection",
    )


def seal_records(count):
    """Create and seal ``count`` attachments, one transaction each, the way the application does."""
    from django.contrib.contenttypes.models import ContentType

    from greenledger.core.models import Attachment

    content_type = ContentType.objects.get_for_model(Attachment)
    for number in range(count):
        new_attachment(number, content_type).save()


def insert_unsealed(count):
    """The same inserts without sealing (baseline), removed again afterwards; return records/s."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import models, transaction

    from greenledger.core.models import Attachment

    content_type = ContentType.objects.get_for_model(Attachment)
    started = time.perf_counter()
    for number in range(count):
        with transaction.atomic():
            # Model.save, not SealedModel.save: the plain INSERT + COMMIT the seal is added to.
            models.Model.save(new_attachment(number, content_type))
    rate = count / (time.perf_counter() - started)
    Attachment.objects.all()._raw_delete(Attachment.objects.db)
    return rate


def mean_record_size(sample=200):
    from greenledger.core.models import Attachment
    from greenledger.evidence import canonical

    rows = list(canonical.rows(Attachment)[:sample])
    return round(statistics.mean(len(canonical.record_bytes(Attachment, row)) for row in rows))


def sha256_rate(record_size, count):
    """Leaf hashes per second of hashlib alone over records of ``record_size`` bytes."""
    payloads = [os.urandom(record_size) for _ in range(1000)]
    started = time.perf_counter()
    for number in range(count):
        hashlib.sha256(b"\x00" + payloads[number % 1000]).digest()
    return count / (time.perf_counter() - started)


def proof_times(size, count):
    """(mean ms, p95 ms) of inclusion proofs and of consistency proofs at tree ``size``."""
    from greenledger.evidence import tree

    rng = random.Random(size)
    inclusion, consistency = [], []
    for _ in range(count):
        index = rng.randrange(size)
        inclusion.append(timed(tree.inclusion_proof, index, size)[1] * 1000)
        old = rng.randrange(1, size + 1)
        consistency.append(timed(tree.consistency_proof, old, size)[1] * 1000)
    return summarise(inclusion), summarise(consistency)


def summarise(samples):
    samples = sorted(samples)
    return statistics.mean(samples), samples[int(len(samples) * 0.95) - 1]


def grow_tree(target, batch=50_000):
    """Bulk-append synthetic leaf hashes until the tree has ``target`` leaves; return leaves/s."""
    from greenledger.evidence import tree

    start = tree.current_size()
    started = time.perf_counter()
    for first in range(start, target, batch):
        last = min(target, first + batch)
        tree.append_leaves(
            ("bench.synthetic", str(i), hashlib.sha256(b"\x00bench %d" % i).digest())
            for i in range(first, last)
        )
    elapsed = time.perf_counter() - started
    return (target - start) / elapsed if target > start else 0.0


def run_standalone_verifier(directory):
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "greenledger.evidence.verify", str(directory)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"stand-alone verifier failed:\n{result.stderr}")
    return elapsed


def main():
    args = parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="greenledger-bench-"))
    admin_url = prepare_environment(data_dir)
    try:
        run(args, data_dir)
    finally:
        if admin_url:
            drop_database(admin_url)
        shutil.rmtree(data_dir, ignore_errors=True)


def engine_name(connection) -> str:
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version}"
    version = connection.pg_version
    return f"PostgreSQL {version // 10000}.{version % 10000}"


def run(args, data_dir):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from greenledger.evidence import services, verification
    from greenledger.evidence.export import export_log

    call_command("migrate", verbosity=0)
    python = sys.version.split()[0]
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"# evidence log benchmark: {args.records} records on {engine_name(connection)}, Python {python}\n")

    baseline_rate = insert_unsealed(max(1000, args.records // 10))
    _, seal_seconds = timed(seal_records, args.records)
    services.take_checkpoint()
    record_size = mean_record_size()
    hash_rate = sha256_rate(record_size, max(args.records, 200_000))
    report, verify_seconds = timed(verification.verify_log)
    if not report.ok:
        raise SystemExit("verification failed: " + "; ".join(str(p) for p in report.problems[:5]))
    _, export_seconds = timed(export_log, data_dir / "export")
    standalone_seconds = run_standalone_verifier(data_dir / "export")
    (inc_mean, inc_p95), (con_mean, con_p95) = proof_times(args.records, args.proofs)

    rows = [
        ("record size (canonical JSON)", f"{record_size} bytes"),
        ("raw SHA-256 (hashlib, same size)", f"{hash_rate:,.0f} hashes/s"),
        ("plain insert of the same record, no seal (baseline)", f"{baseline_rate:,.0f} records/s"),
        (
            "seal (create record + seal, one transaction each)",
            f"{args.records / seal_seconds:,.0f} records/s ({seal_seconds:.1f} s)",
        ),
        (
            "verify-evidence (re-hash rows, rebuild tree, check nodes + checkpoint)",
            f"{args.records / verify_seconds:,.0f} records/s ({verify_seconds:.1f} s)",
        ),
        ("export-evidence", f"{args.records / export_seconds:,.0f} records/s ({export_seconds:.1f} s)"),
        (
            "stand-alone verifier over the export",
            f"{args.records / standalone_seconds:,.0f} records/s ({standalone_seconds:.1f} s)",
        ),
        (f"inclusion proof at {args.records:,} leaves", f"{inc_mean:.2f} ms mean, {inc_p95:.2f} ms p95"),
        (f"consistency proof at {args.records:,} leaves", f"{con_mean:.2f} ms mean, {con_p95:.2f} ms p95"),
    ]
    if args.large > args.records:
        load_rate = grow_tree(args.large)
        (inc_mean, inc_p95), (con_mean, con_p95) = proof_times(args.large, args.proofs)
        rows += [
            (f"bulk loader up to {args.large:,} leaves (synthetic hashes)", f"{load_rate:,.0f} leaves/s"),
            (f"inclusion proof at {args.large:,} leaves", f"{inc_mean:.2f} ms mean, {inc_p95:.2f} ms p95"),
            (f"consistency proof at {args.large:,} leaves", f"{con_mean:.2f} ms mean, {con_p95:.2f} ms p95"),
        ]
    # Other work on the machine skews every figure: say how busy it was.
    rows.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"))
    print("| measurement | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
