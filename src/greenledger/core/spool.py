"""Write-ahead spool: work a request has answered for, kept on disk until the database has it.

A request that must answer before it writes — a camera push: the barrier does not wait for the
ledger — puts the work in its process's spool (one ``write`` to a file already open), answers,
and applies the work once the answer is out (``apply_pending``, e.g. in the response's ``close()``).
If the process dies in between, its spool file stays behind, and the next process that applies
work of the same spool replays it. Applying must therefore be idempotent: a replayed record may
already be in the database.

Files: ``<GREENLEDGER_SPOOL_DIR>/<name>/<host>-<pid>-<random>.spool`` (``<DATA_DIR>/spool`` unless set),
each held under an exclusive ``flock`` by its live process, so that a file nobody holds belongs to
a process that is gone. A record is ``length (4 bytes) | CRC-32 (4 bytes) | pickle``; a torn
record at the end of a file (the process died while writing it, before it answered) is left out.
The files are written and read by GreenLedger only, in its own data directory. A file is emptied
when everything in it has been applied and it has grown past ``truncate_at``, and removed when its
process exits with nothing pending.

Work that fails is kept and tried again, from its record, at the next ``apply_pending`` (the
database may be busy or away); after ``attempts`` failures it is set aside in
``failed-<host>-<pid>.spool`` and logged as an error, so that one bad record cannot hold up the
ones behind it. A replayed record that fails is set aside at once (replay runs right after this
process's own work was written, so the database is there). ``replay_failed`` replays what was set
aside, once the cause is mended (for the camera pushes: ``greenledger gate-replay-failed``); a file
it is working on is named ``replaying-…``.
"""

import atexit
import contextlib
import fcntl
import logging
import os
import pickle
import socket
import struct
import threading
import uuid
import zlib
from pathlib import Path

from django.conf import settings

logger = logging.getLogger("greenledger.spool")
HEADER = struct.Struct(">II")
SET_ASIDE = ("failed-", "replaying-")  # files of records set aside (replay_failed), not of a process


class Spool:
    """One kind of deferred work. ``apply(item)`` writes what ``append(record, item)`` kept in
    memory; ``replay(record)`` writes a record read back from a file of a process that is gone
    (both idempotent). ``set_aside(record, error)``, when given, is told about a record set aside
    (to alarm the people who must look at it)."""

    def __init__(self, name, *, apply, replay, set_aside=None, truncate_at=4 << 20, attempts=3):
        self.name, self.apply, self.replay, self.on_set_aside = name, apply, replay, set_aside
        self.truncate_at, self.attempts = truncate_at, attempts
        self._file_lock = threading.Lock()  # the file and the list: held for an append, never while applying
        self._apply_lock = threading.RLock()  # one thread applies at a time; the others append meanwhile
        self._pid = None
        self._file = None
        self._recovered = False
        self.pending = []  # [record, item, failures] in the order they were appended

    @property
    def directory(self) -> Path:
        return Path(settings.GREENLEDGER_SPOOL_DIR) / self.name

    def _own_file(self):
        if self._file is None or self._pid != os.getpid():  # a forked process starts its own file
            self.directory.mkdir(parents=True, exist_ok=True)
            # the random part: a later process given the same pid (containers) must not take over
            # a dead process's file as its own
            name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.spool"
            self._file = open(self.directory / name, "xb")
            fcntl.flock(self._file, fcntl.LOCK_EX)
            self._pid, self.pending, self._recovered = os.getpid(), [], False
            atexit.register(self._close)
        return self._file

    def _close(self):
        """At exit: remove this process's file when everything in it was applied."""
        with self._apply_lock, self._file_lock:
            if self._file is not None and self._pid == os.getpid() and not self.pending:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._file.name)
                self._file.close()
                self._file = None

    def append(self, record, item=None):
        """Put ``record`` (picklable) on disk and ``item`` (default: the record) in line to apply."""
        data = frame(record)
        with self._file_lock:
            spool = self._own_file()
            spool.write(data)
            spool.flush()  # in the kernel's hands: survives the process
            self.pending.append([record, record if item is None else item, 0])

    def apply_pending(self):
        """Apply this process's pending work in order, then replay what dead processes left."""
        with self._apply_lock:
            if self._file is None or self._pid != os.getpid():
                return
            while self.pending:
                entry = self.pending[0]
                try:
                    if entry[2]:  # tried before: start again from the record (the item may be half-used)
                        self.replay(entry[0])
                    else:
                        self.apply(entry[1])
                except Exception as exc:
                    entry[2] += 1
                    if entry[2] < self.attempts:
                        logger.warning("%s: applying failed, kept for the next try", self.name, exc_info=True)
                        return
                    logger.error("%s: applying failed %d times, set aside", self.name, entry[2], exc_info=True)
                    self._set_aside(entry[0], exc)
                with self._file_lock:
                    self.pending.pop(0)
            with self._file_lock:  # nothing appended since the list was seen empty can be cut off
                if not self.pending and self._file.tell() > self.truncate_at:
                    os.ftruncate(self._file.fileno(), 0)
                    self._file.seek(0)
            if not self._recovered:
                try:
                    self.recover()
                except Exception:
                    logger.error("%s: replaying a stopped process's spool failed, tried again later", self.name,
                                 exc_info=True)
                else:
                    self._recovered = True

    def _set_aside(self, record, error):
        with open(self.directory / f"failed-{socket.gethostname()}-{os.getpid()}.spool", "ab") as failed:
            failed.write(frame(record))
        if self.on_set_aside is not None:
            try:
                self.on_set_aside(record, error)
            except Exception:
                logger.error("%s: telling about a record set aside failed", self.name, exc_info=True)

    def recover(self):
        """Replay the spool files no live process holds; returns the number of records replayed."""
        replayed = 0
        for path in sorted(self.directory.glob("*.spool")):
            if path.name.startswith(SET_ASIDE) or (self._file is not None and path.name == Path(self._file.name).name):
                continue
            with open(path, "rb+") as orphan:
                try:
                    fcntl.flock(orphan, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is alive
                written, failed = self._replay(read_records(orphan.read()))
                path.unlink()
            replayed += written + failed
        if replayed:
            logger.warning("%s: replayed %d records a stopped process had answered for", self.name, replayed)
        return replayed

    def replay_failed(self):
        """Replay the records set aside, once their cause is mended: ``(written, failed again)``.

        Each file is renamed ``replaying-…`` first (what fails again goes to this process's
        ``failed-…`` file, which may have had that file's name) and removed once all its records were
        tried; stopped halfway, it is simply tried again (replaying is idempotent)."""
        written = again = 0
        for path in sorted([*self.directory.glob("failed-*.spool"), *self.directory.glob("replaying-*.spool")]):
            if path.name.startswith("failed-"):
                path = path.rename(path.with_name(f"replaying-{path.name}"))
            done, failed = self._replay(read_records(path.read_bytes()))
            written, again = written + done, again + failed
            path.unlink()
        return written, again

    def _replay(self, records):
        """Replay ``records``, setting aside those that fail: ``(written, failed)``."""
        written = failed = 0
        for record in records:
            try:
                self.replay(record)
            except Exception as exc:
                logger.error("%s: replaying a record failed, set aside", self.name, exc_info=True)
                self._set_aside(record, exc)
                failed += 1
            else:
                written += 1
        return written, failed


def frame(record) -> bytes:
    """One record as it is written to a spool file."""
    data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data), zlib.crc32(data)) + data


def read_records(data: bytes):
    """The whole records of a spool file's bytes, in order (a torn or damaged tail is left out)."""
    position = 0
    while position + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, position)
        body = data[position + HEADER.size:position + HEADER.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            break
        yield pickle.loads(body)
        position += HEADER.size + length
