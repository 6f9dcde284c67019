from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UplinkConfig(AppConfig):
    name = "greenledger.uplink"
    label = "uplink"
    verbose_name = _("Regulator uplink")

    def ready(self):
        from auditlog.registry import auditlog

        from . import models, outbox

        outbox.connect_signals()
        auditlog.register(models.Platform, exclude_fields=["app_secret_ref", "private_key_ref"])
