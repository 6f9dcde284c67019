"""``greenledger export-evidence DIR``: write the log for offline checking.

Check the result anywhere with ``python -m greenledger.evidence.verify DIR`` (standard library
and ``cryptography`` only).
"""

from django.core.management.base import BaseCommand

from greenledger.evidence.export import export_log


class Command(BaseCommand):
    help = "Export evidence leaves (with each record's canonical JSON), checkpoints and the public key."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--database", default="default")

    def handle(self, *args, directory, database, **options):
        manifest = export_log(directory, using=database)
        self.stdout.write(
            f"exported {manifest['tree_size']} leaves to {directory}; "
            f"check with: python -m greenledger.evidence.verify {directory}"
        )
