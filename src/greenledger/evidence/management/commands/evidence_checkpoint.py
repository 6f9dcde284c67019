"""``greenledger evidence-checkpoint``: sign the current tree head, once or every N seconds.

A new checkpoint is signed only when the tree grew since the latest one or none exists
(``--force`` signs anyway). ``--every SECONDS`` keeps running, for a systemd service or a
container beside the web process.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from greenledger.evidence import services


class Command(BaseCommand):
    help = "Take a signed checkpoint of the evidence log (only when it grew, unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, metavar="SECONDS", help="repeat forever at this interval")
        parser.add_argument("--force", action="store_true", help="sign even when the tree did not grow")
        parser.add_argument("--database", default="default")

    def handle(self, *args, every, force, database, **options):
        if every is not None and every <= 0:
            raise CommandError("--every must be a positive number of seconds")
        if every is None:
            self.checkpoint_once(force, database)
            return
        while True:
            close_old_connections()
            try:
                self.checkpoint_once(force, database)
            except DatabaseError as error:
                # The schedule outlives a database restart: report and try again next round.
                self.stderr.write(f"checkpoint failed, retrying in {every:g}s: {error}")
            time.sleep(every)

    def checkpoint_once(self, force, database):
        checkpoint, created = services.take_checkpoint(force=force, using=database)
        state = "signed" if created else "unchanged"
        self.stdout.write(
            f"{state}: checkpoint size {checkpoint.tree_size} root {checkpoint.root_hash} "
            f"key {checkpoint.key_id} at {checkpoint.created_at.isoformat()}"
        )
