from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GateConfig(AppConfig):
    name = "greenledger.gate"
    label = "gate"
    verbose_name = _("Gate e-ledger")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models

        for model in (models.Carrier, models.Vehicle, models.InPlantVehicle, models.Machine, models.ListEntry,
                      models.RuleSet, models.Rule, models.GateSettings, models.Gate, models.Lane, models.Camera):
            auditlog.register(model)
