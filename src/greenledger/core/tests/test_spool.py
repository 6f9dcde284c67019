"""The write-ahead spool: work applied in order, kept on failure, replayed after a process died."""

import fcntl
import os
import struct
from pathlib import Path

import pytest

from greenledger.core.spool import Spool, frame, read_records


@pytest.fixture
def spool_dir(settings, tmp_path):
    settings.GREENLEDGER_SPOOL_DIR = tmp_path
    return tmp_path


def test_work_is_on_disk_before_it_is_applied_and_applied_in_order(spool_dir):
    applied = []
    spool = Spool("t", apply=applied.append, replay=applied.append, truncate_at=10 ** 9)
    spool.append({"n": 1})
    spool.append({"n": 2}, item="second, as kept in memory")
    own = Path(spool._file.name)
    assert own.parent == spool_dir / "t" and own.name.startswith(f"{os.uname().nodename}-{os.getpid()}-")
    assert list(read_records(own.read_bytes())) == [{"n": 1}, {"n": 2}] and applied == []
    spool.apply_pending()
    assert applied == [{"n": 1}, "second, as kept in memory"] and spool.pending == []


def test_the_file_is_emptied_once_applied_past_its_size(spool_dir):
    spool = Spool("t", apply=lambda item: None, replay=lambda record: None, truncate_at=100)
    spool.append("x" * 200)
    path = Path(spool._file.name)
    assert path.stat().st_size > 200
    spool.apply_pending()
    assert path.stat().st_size == 0
    spool.append("y")
    assert list(read_records(path.read_bytes())) == ["y"]


def test_failed_work_is_kept_then_set_aside_without_holding_up_the_rest(spool_dir):
    applied, failures = [], {"bad": 0}

    def apply(item):
        if item == "bad":
            failures["bad"] += 1
            raise RuntimeError("database is locked")
        applied.append(item)

    spool = Spool("t", apply=apply, replay=apply, attempts=3)
    spool.append("bad")
    spool.append("good")
    spool.apply_pending()
    spool.apply_pending()
    assert applied == [] and len(spool.pending) == 2  # tried twice, kept in order
    spool.apply_pending()
    assert applied == ["good"] and failures["bad"] == 3 and spool.pending == []
    [failed] = (spool_dir / "t").glob("failed-*.spool")
    assert list(read_records(failed.read_bytes())) == ["bad"]


def test_a_dead_process_file_is_replayed_once_a_live_one_is_left_alone(spool_dir):
    directory = spool_dir / "t"
    directory.mkdir()
    # a dead process that had this process's pid (pids are reused, in containers often): not taken for ours
    dead = directory / f"{os.uname().nodename}-{os.getpid()}.spool"
    dead.write_bytes(frame({"n": 1}) + frame({"n": 2}) + frame({"n": 3})[:-4])  # torn tail
    live = open(directory / "host-2.spool", "ab")
    live.write(frame({"n": 99}))
    live.flush()
    fcntl.flock(live, fcntl.LOCK_EX)  # a process that is still running holds its file
    try:
        replayed = []
        spool = Spool("t", apply=lambda item: None, replay=replayed.append)
        spool.append({"own": True})
        spool.apply_pending()  # its own work first, then what the dead process left
        assert replayed == [{"n": 1}, {"n": 2}]
        assert not dead.exists() and (directory / "host-2.spool").exists()
        spool.apply_pending()
        assert replayed == [{"n": 1}, {"n": 2}]  # replayed once
    finally:
        live.close()


def test_a_replayed_record_that_fails_is_set_aside(spool_dir):
    directory = spool_dir / "t"
    directory.mkdir()
    (directory / "host-1.spool").write_bytes(frame("broken") + frame("fine"))
    replayed = []

    def replay(record):
        if record == "broken":
            raise ValueError("references a camera that no longer exists")
        replayed.append(record)

    spool = Spool("t", apply=lambda item: None, replay=replay)
    assert spool.recover() == 2
    assert replayed == ["fine"] and not (directory / "host-1.spool").exists()
    [failed] = directory.glob("failed-*.spool")
    assert list(read_records(failed.read_bytes())) == ["broken"]


def test_a_damaged_record_ends_the_file():
    good, bad = frame("a"), bytearray(frame("b"))
    bad[-1] ^= 0xFF
    assert list(read_records(good + bytes(bad) + frame("c"))) == ["a"]
    assert list(read_records(good + struct.pack(">II", 10 ** 6, 0))) == ["a"]


def test_appending_does_not_wait_for_work_being_applied(spool_dir):
    """A threaded server: one thread writes its push while another answers a camera and appends."""
    import threading

    started, release, applied = threading.Event(), threading.Event(), []

    def slow(item):
        started.set()
        release.wait(5)
        applied.append(item)

    spool = Spool("t", apply=slow, replay=slow, truncate_at=1)
    spool.append("first")
    writer = threading.Thread(target=spool.apply_pending)
    writer.start()
    assert started.wait(5)
    appender = threading.Thread(target=spool.append, args=("second",))
    appender.start()
    appender.join(2)
    assert not appender.is_alive() and not release.is_set()  # appended while "first" is still being applied
    path = Path(spool._file.name)
    assert list(read_records(path.read_bytes())) == ["first", "second"]
    release.set()
    writer.join(5)
    assert applied == ["first", "second"] and spool.pending == []
    assert path.stat().st_size == 0  # emptied only once nothing was pending


def test_records_set_aside_are_replayed_and_what_fails_again_stays_set_aside(spool_dir):
    directory = spool_dir / "t"
    directory.mkdir()
    replayed = []

    def replay(record):
        if record == "still broken":
            raise RuntimeError("database refused it")
        replayed.append(record)

    spool = Spool("t", apply=replay, replay=replay)
    # this process's own failed file, and one a replay stopped halfway through left behind
    own = directory / f"failed-{os.uname().nodename}-{os.getpid()}.spool"
    own.write_bytes(frame("a") + frame("still broken"))
    (directory / "replaying-failed-host-1.spool").write_bytes(frame("b"))
    assert spool.replay_failed() == (2, 1)
    assert sorted(replayed) == ["a", "b"]
    assert [path.name for path in directory.iterdir()] == [own.name]
    assert list(read_records(own.read_bytes())) == ["still broken"]
    assert spool.recover() == 0  # files of records set aside are not a dead process's
