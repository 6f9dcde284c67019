"""``greenledger uplink-worker [--once] [--batch N] [--worker-id ID]``: deliver the outbox to the regulators.

Run one or more (PostgreSQL: any number, they claim with SKIP LOCKED; SQLite: one). Killing a worker
loses nothing: its claims expire after the lease and another worker sends the items again.
"""

import signal

from django.core.management.base import BaseCommand

from greenledger.uplink.worker import Worker, default_worker_id


class Command(BaseCommand):
    help = "Send queued records to the regulator platforms (heartbeat, control measures, alarms)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--drain", action="store_true", help="repeat passes until nothing is left to send")
        parser.add_argument("--batch", type=int, default=50, help="items claimed per platform per pass")
        parser.add_argument("--worker-id", default="", help="name in claims and logs (default host:random)")
        parser.add_argument("--platform", action="append", type=int, default=[], help="only these platform ids")
        parser.add_argument("--idle-sleep", type=float, default=1.0, help="seconds to wait when idle")

    def handle(self, *args, **options):
        worker = Worker(options["worker_id"] or default_worker_id(), batch=options["batch"],
                        platform_ids=options["platform"] or None)
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.stdout.write(f"uplink worker {worker.worker_id} started")
        self.stdout.flush()
        if options["once"]:
            totals = worker.run_once()
        elif options["drain"]:
            totals = {"acked": 0, "dead": 0, "failed": 0}
            while True:
                step = worker.run_once()
                for key in totals:
                    totals[key] += step[key]
                if not step["acked"] and not step["dead"]:
                    break
        else:
            try:
                worker.run(idle_sleep=options["idle_sleep"], stop=lambda: bool(stopping))
            except KeyboardInterrupt:
                pass
            totals = None
        if totals is not None:
            self.stdout.write(f"acked {totals['acked']}, dead {totals['dead']}, failed {totals['failed']}")
