from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    name = "greenledger.telemetry"
    label = "telemetry"
    verbose_name = _("Telemetry")

    def ready(self):
        from auditlog.registry import auditlog

        from .models import MeasuringPoint

        auditlog.register(MeasuringPoint)
