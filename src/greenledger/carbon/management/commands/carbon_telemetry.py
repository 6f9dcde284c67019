"""``greenledger carbon_telemetry --site CODE --month YYYY-MM [--detect]``: import the month's metered
consumption from telemetry's rollups as activity data, and optionally flag abnormal emission hours."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from greenledger.carbon import anomalies, engine, telemetry_bridge
from greenledger.carbon.telemetry_bridge import day_bounds
from greenledger.core.models import Site


class Command(BaseCommand):
    help = "Import a month of telemetry consumption as activity data; --detect flags emission anomalies."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True)
        parser.add_argument("--month", help="YYYY-MM (default: the previous month)")
        parser.add_argument("--detect", action="store_true")

    def handle(self, *args, site, month=None, detect=False, **options):
        found = Site.objects.filter(code=site).first()
        if found is None:
            raise CommandError(f"no site {site}")
        if month:
            year, number = (int(p) for p in month.split("-"))
        else:
            last = datetime.date.today().replace(day=1) - datetime.timedelta(days=1)
            year, number = last.year, last.month
        start, end = engine.month_bounds(year, number)
        written, unchanged = telemetry_bridge.import_consumption(found, start, end)
        self.stdout.write(f"{written} activity records written, {unchanged} unchanged")
        if detect:
            first, last = day_bounds(found, start, end)
            self.stdout.write(f"{len(anomalies.detect(found, first, last))} emission anomalies flagged")
