"""``greenledger telemetry-partitions``: create the monthly partitions of the raw readings ahead
(PostgreSQL; nothing to do on SQLite). Run daily; intake also creates a missing month on demand."""

from django.core.management.base import BaseCommand

from greenledger.telemetry import partitions


class Command(BaseCommand):
    help = "Create this month's and the next months' partitions of telemetry_reading (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=3, help="months ahead (default 3)")

    def handle(self, *args, ahead, **options):
        if not partitions.partitioned():
            self.stdout.write("SQLite: readings are one plain table, no partitions needed.")
            return
        partitions.ensure_ahead(ahead)
        self.stdout.write("partitions: " + ", ".join(partitions.existing()))
