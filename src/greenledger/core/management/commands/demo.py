"""``greenledger demo``: load the demo enterprise (idempotent) and print the demo logins."""

from django.core.management.base import BaseCommand

from greenledger.core.demo import DEMO_PASSWORD, PEOPLE
from greenledger.core.extensions import app_modules
from greenledger.core.roles import role_label


class Command(BaseCommand):
    help = "Load the demo lithium-battery plant, its people and one user per role (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the demo logins")

    def handle(self, *args, quiet_logins=False, **options):
        # core first, then every other GreenLedger app that ships a demo module, in INSTALLED_APPS order
        for _config, module in app_modules("demo", include_core=True):
            module.load(stdout=self.stdout)
        if not quiet_logins:
            self.stdout.write("")
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for username, name, role, _title, _company in PEOPLE:
                self.stdout.write(f"  {username:<11} {name}  {role_label(role)}")
