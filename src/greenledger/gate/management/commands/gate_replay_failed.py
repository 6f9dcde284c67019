"""``greenledger gate-replay-failed``: write the camera pushes that were answered but set aside.

A push the server answered but could not write three times (the database refused it) waits in
the spool's ``failed-*.spool`` files and the environmental managers were told. Once the cause is
mended, this writes them — with the decisions the cameras were given — and stores each one once.
"""

from django.core.management.base import BaseCommand

from greenledger.gate.services import PUSH_SPOOL


class Command(BaseCommand):
    help = "Write the camera pushes that were answered but set aside in the spool's failed files."

    def handle(self, *args, **options):
        written, again = PUSH_SPOOL.replay_failed()
        self.stdout.write(f"{written} set-aside pushes written, {again} failed again "
                          f"(kept in {PUSH_SPOOL.directory})")
        if again:
            raise SystemExit(1)
