"""``greenledger ingest-opcua``: subscribe to the OPC UA nodes configured on a site's measuring
points (``opcua_node_id``) and store their data changes with the source timestamp. Runs until
SIGTERM/Ctrl+C; reconnects by itself."""

import signal

from django.core.management.base import BaseCommand, CommandError

from greenledger.core.models import Site
from greenledger.telemetry.opcua import Worker


class Command(BaseCommand):
    help = "Store data changes of the OPC UA nodes configured on a site's measuring points."

    def add_arguments(self, parser):
        parser.add_argument("url", help="e.g. opc.tcp://192.168.10.5:4840")
        parser.add_argument("--site", required=True, help="site code")
        parser.add_argument("--period-ms", type=int, default=500, help="publishing interval (default 500)")

    def handle(self, *args, url, site, period_ms, **options):
        found = Site.objects.filter(code=site).first()
        if found is None:
            raise CommandError(f"unknown site {site}")
        worker = Worker(url, found, period_ms=period_ms)
        if not worker.by_node:
            raise CommandError(f"no measuring point of {site} has an OPC UA node id")
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        self.stdout.write(f"ingest-opcua: {url}, {len(worker.by_node)} nodes of {site}")
        try:
            worker.run_forever(stopping=lambda: bool(stopping))
        finally:
            worker.stop()
            self.stdout.write(f"ingest-opcua: stopped ({worker.totals.stored} readings stored)")
