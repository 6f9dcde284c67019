from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeasuresConfig(AppConfig):
    name = "greenledger.measures"
    label = "measures"
    verbose_name = _("Measure ledger")

    def ready(self):
        from auditlog.registry import auditlog

        from .models import ChecklistTemplate, ContractorAssignment, Measure, MeasureParameter, Shift

        for model in (ChecklistTemplate, Measure, MeasureParameter, Shift):
            auditlog.register(model)
        auditlog.register(ContractorAssignment, m2m_fields={"measures"})
