"""``greenledger carbon_fill_anomalies``: compute the extra emissions of measure-ledger anomalies
that carry an extra quantity but no computed figure (writes AnomalyEmission rows; idempotent)."""

from django.core.management.base import BaseCommand

from greenledger.carbon.services import fill_anomaly_emissions


class Command(BaseCommand):
    help = "Compute kg CO2 of anomalies' extra consumption from the factor library (safe to run again)."

    def handle(self, *args, **options):
        self.stdout.write(f"{fill_anomaly_emissions()} anomalies computed")
