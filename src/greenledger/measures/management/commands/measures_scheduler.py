"""``greenledger measures-scheduler``: plan due executions, send reminders and escalations, record
misses — once (``--once``, the default) or every N seconds (``--every SECONDS``). Other apps add
their own periodic step through a ``scheduled`` module with ``run(now) -> dict`` (e.g. carbon's
emission-anomaly detection); a failing step is reported and does not stop the others.

Several schedulers may run at once: every step is claimed with a conditional UPDATE, so none is
taken twice. Runs as a systemd service or a container beside the web process; SIGTERM ends it
between two rounds.
"""

import datetime
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections
from django.utils import timezone, translation

from greenledger.core.extensions import app_modules
from greenledger.measures import schedule


class Command(BaseCommand):
    help = "Plan due measure executions, remind and escalate, and record misses."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, metavar="SECONDS", help="repeat forever at this interval")
        parser.add_argument("--once", action="store_true", help="run one round and exit (the default)")
        parser.add_argument("--horizon", type=float, default=24, metavar="HOURS",
                            help="plan due executions this far ahead (default 24)")

    def handle(self, *args, every, once, horizon, **options):
        if every is not None and every <= 0:
            raise CommandError("--every must be a positive number of seconds")
        if every is not None and once:
            raise CommandError("use either --every or --once")
        # notifications are written in the site's language, whatever the shell's locale
        translation.activate(settings.LANGUAGE_CODE)
        horizon = datetime.timedelta(hours=horizon)
        if every is None:
            self.round(horizon)
            return
        self.stopping = False
        signal.signal(signal.SIGTERM, self.stop)
        while not self.stopping:
            close_old_connections()
            try:
                self.round(horizon)
            except DatabaseError as error:
                # a database restart must not end the service: report and try again next round
                self.stderr.write(f"scheduler round failed, retrying in {every:g}s: {error}")
            self.sleep(every)

    def round(self, horizon):
        now = timezone.now()
        counts = schedule.run(now, horizon)
        for config, module in app_modules("scheduled"):
            try:
                counts.update(module.run(now))
            except Exception as error:  # noqa: BLE001 — one app's step must not stop reminders and misses
                self.stderr.write(f"{config.label} step failed: {error!r}")
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(1.0, end - time.monotonic()))

    def stop(self, signum, frame):
        self.stopping = True
