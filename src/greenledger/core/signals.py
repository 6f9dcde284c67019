"""Signal wiring: which master data is audited (django-auditlog), and decimal normalisation."""

from decimal import Decimal

from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import receiver


@receiver(pre_save, dispatch_uid="greenledger_quantize_decimals")
def quantize_decimals(sender, instance, **kwargs):
    """Store decimals at their field's scale, so 55 and 55.00 are one value and the audit trail
    records no change where nothing changed. Connected before any auditlog receiver."""
    for field in sender._meta.concrete_fields:
        if isinstance(field, models.DecimalField):
            value = getattr(instance, field.attname)
            if value is not None and not isinstance(value, Decimal):
                value = Decimal(str(value))
            if value is not None and value.is_finite():
                setattr(instance, field.attname, value.quantize(Decimal(1).scaleb(-field.decimal_places)))


from .models import ApiToken, Enterprise, Equipment, Person, Site, Tag, Workshop

for model in (Enterprise, Site, Workshop, Equipment, Tag):
    auditlog.register(model)
auditlog.register(Person, m2m_fields={"sites"})
auditlog.register(ApiToken, exclude_fields=["key_hash", "last_used_at"])
auditlog.register(get_user_model(), exclude_fields=["password", "last_login"], m2m_fields={"groups"})
auditlog.register(Group, m2m_fields={"permissions"})
