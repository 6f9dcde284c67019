"""Reliability against the simulator: a two-hour outage on a busy day, and a worker killed mid-batch."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from random import Random

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from greenledger.uplink.models import OutboxItem, State, UplinkReceipt
from greenledger.uplink.rates import upload_rate
from greenledger.uplink.worker import Worker

from .builders import day_start, make_passage

STEP = timedelta(minutes=4)
EVERY = timedelta(minutes=6)  # one passage every 6 minutes: 240 a day


def play_day(site, platform, simulator, *, outage=(10, 12)):
    """Run a whole simulated day: passages arrive, the worker runs every 4 minutes, the platform is down
    from ``outage[0]`` to ``outage[1]`` o'clock. Returns the passages in arrival order."""
    worker = Worker("day", batch=50, rng=Random(7).random)
    start = day_start(1)
    down, up = start + timedelta(hours=outage[0]), start + timedelta(hours=outage[1])
    passages, next_arrival, now = [], start, start
    while now < start + timedelta(days=1, hours=1):
        while next_arrival <= now and next_arrival < start + timedelta(days=1):
            passages.append(make_passage(site, at=next_arrival))
            next_arrival += EVERY
        simulator.state.switches["outage"] = down <= now < up
        worker.run_once(now=now)
        now += STEP
    return passages, start, down, up


@pytest.mark.django_db
def test_two_hour_outage_then_recovery_delivers_everything_once_in_order_flagged_backfilled(site, platform,
                                                                                           simulator):
    platform.deadline_minutes = 60
    platform.save()
    passages, start, down, up = play_day(site, platform, simulator)

    ids = [str(p.pk) for p in passages]
    assert simulator.state.order == ids  # every record, once, in the original order
    assert simulator.state.duplicates == 0
    assert UplinkReceipt.objects.count() == len(ids)
    items = {i.record_id: i for i in OutboxItem.objects.all()}
    assert {i.state for i in items.values()} == {State.ACKED}

    upload_types = {rid: rec["uploadType"] for (_app, rid), rec in simulator.state.records.items()}
    during = [str(p.pk) for p in passages if down <= p.recorded_at < up]
    before = [str(p.pk) for p in passages if p.recorded_at < down - timedelta(minutes=5)]
    after = [str(p.pk) for p in passages if p.recorded_at >= up + timedelta(hours=1)]
    assert during and before and after
    assert all(items[r].backfilled and upload_types[r] == "0" for r in during)
    assert not any(items[r].backfilled for r in before + after)
    assert all(upload_types[r] == "1" for r in before + after)

    late = [r for r, i in items.items() if i.acked_at - i.produced_at > timedelta(minutes=60)]
    # at least the first hour of the outage waited more than the 60-minute deadline, the rest was in time
    assert len(late) >= len([p for p in passages if down <= p.recorded_at < down + timedelta(hours=1)])
    assert set(late) <= set(during)
    day = start.date()
    [row] = upload_rate(platform, day, day + timedelta(days=1), now=start + timedelta(days=2))
    assert row["produced"] == len(ids) and row["acked"] == len(ids)
    assert row["in_time"] == len(ids) - len(late)
    assert row["rate"] == round(100.0 * (len(ids) - len(late)) / len(ids), 2)
    assert row["backfilled"] == len([i for i in items.values() if i.backfilled])

    platform.deadline_minutes = 24 * 60  # the usual daily deadline: the outage costs nothing
    [row] = upload_rate(platform, day, day + timedelta(days=1), now=start + timedelta(days=2))
    assert row["rate"] == 100.0


def _database_url():
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_the_platform_stores_nothing_twice(site, platform, simulator):
    passages = [make_passage(site) for _ in range(120)]
    simulator.state.switches["slow_ms"] = 15  # long enough to be killed in the middle of a batch
    env = {**os.environ, "DATABASE_URL": _database_url(), "GREENLEDGER_DATA_DIR": str(settings.DATA_DIR),
           "GREENLEDGER_EVIDENCE_KEY": str(settings.GREENLEDGER_EVIDENCE_KEY)}
    process = subprocess.Popen([sys.executable, "-m", "greenledger", "uplink-worker", "--batch", "50",
                                "--worker-id", "doomed", "--idle-sleep", "0.2"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: len(simulator.state.order) >= 70), process.stderr.read1().decode()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    sent_before_kill = len(simulator.state.order)
    assert sent_before_kill < len(passages)
    stranded = OutboxItem.objects.filter(state=State.SENDING, claimed_by="doomed").count()
    assert stranded > 0  # the kill left a claimed batch behind

    simulator.state.switches["slow_ms"] = 0
    worker = Worker("rescuer")
    later = timezone.now() + timedelta(minutes=3)  # past the dead worker's lease
    while worker.run_once(now=later)["acked"]:
        pass

    ids = [str(p.pk) for p in passages]
    assert sorted(simulator.state.order) == sorted(ids)  # every record there, each stored once
    assert len(simulator.state.order) == len(set(simulator.state.order))
    assert OutboxItem.objects.filter(state=State.ACKED).count() == len(ids)
    assert UplinkReceipt.objects.count() == len(ids)  # one receipt per record, none twice
