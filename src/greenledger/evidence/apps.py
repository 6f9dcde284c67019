"""App configuration of the evidence log; registers the sealed tables once models are loaded."""

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "greenledger.evidence"
    label = "evidence"
    verbose_name = _("Evidence log")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from greenledger.evidence import registry

        registry.autodiscover(getattr(settings, "GREENLEDGER_EVIDENCE_SEALED_MODELS", ()))
