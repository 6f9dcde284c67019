"""``greenledger ingest-mqtt``: store readings published over MQTT (topic scheme in
:mod:`greenledger.telemetry.mqtt`). Runs until SIGTERM/Ctrl+C; start several with ``--group`` to
split the load through a shared subscription."""

import signal

from django.core.management.base import BaseCommand

from greenledger.telemetry import partitions
from greenledger.telemetry.mqtt import PREFIX, Worker, subscription


class Command(BaseCommand):
    help = "Subscribe to greenledger/<site>/<point> on an MQTT broker and store the readings."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1883)
        parser.add_argument("--username")
        parser.add_argument("--password")
        parser.add_argument("--prefix", default=PREFIX, help="first topic level (default greenledger)")
        parser.add_argument("--group", help="shared subscription group: $share/<group>/<prefix>/#")
        parser.add_argument("--batch", type=int, default=500, help="store after this many messages")
        parser.add_argument("--flush-ms", type=int, default=200, help="…or this long after the first one")
        parser.add_argument("--client-id")

    def handle(self, *args, host, port, username, password, prefix, group, batch, flush_ms, client_id, **options):
        partitions.ensure_ahead(2)
        worker = Worker(host=host, port=port, prefix=prefix, group=group, batch=batch, flush_ms=flush_ms,
                        username=username, password=password, client_id=client_id,
                        stdout=self.stdout if options["verbosity"] > 1 else None)
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        worker.start(wait=0)
        self.stdout.write(f"ingest-mqtt: {host}:{port} {subscription(prefix, group)}")
        try:
            worker.run_forever(stopping=lambda: bool(stopping))
        finally:
            worker.stop()
            self.stdout.write(f"ingest-mqtt: stopped after {worker.received} messages "
                              f"({worker.totals.stored} readings stored, {worker.totals.duplicates} duplicates)")
