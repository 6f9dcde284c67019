from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CarbonConfig(AppConfig):
    name = "greenledger.carbon"
    label = "carbon"
    verbose_name = _("Carbon accounting")

    def ready(self):
        from auditlog.registry import auditlog

        from .models import EmissionFactor, MeasureEffect, SiteCarbonProfile

        # master data: changes are audited (factor versions themselves are never edited)
        for model in (EmissionFactor, MeasureEffect, SiteCarbonProfile):
            auditlog.register(model)
