"""``greenledger uplink-reupload PLATFORM --from DATE --to DATE``: queue a period's passages again (重新上传)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from greenledger.uplink.models import Platform
from greenledger.uplink.outbox import reupload
from greenledger.uplink.rates import zone_of


class Command(BaseCommand):
    help = "Queue every passage (with images) of a period for a platform again; the platform deduplicates."

    def add_arguments(self, parser):
        parser.add_argument("platform", help="platform code")
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (included)")

    def handle(self, *args, **options):
        platform = Platform.objects.filter(code=options["platform"]).first()
        if platform is None:
            raise CommandError(f"no platform with code {options['platform']!r}")
        try:
            start = datetime.date.fromisoformat(options["start"])
            end = datetime.date.fromisoformat(options["end"])
        except ValueError as exc:
            raise CommandError(f"dates must be YYYY-MM-DD: {exc}")
        zone = zone_of(platform)
        count = reupload(platform, datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
                         datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone))
        self.stdout.write(f"{count} items queued again for {platform.code}")
