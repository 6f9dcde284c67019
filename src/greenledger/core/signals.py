"""Signal wiring: which master data is audited (django-auditlog)."""

from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from .models import ApiToken, Enterprise, Equipment, Person, Site, Tag, Workshop

for model in (Enterprise, Site, Workshop, Equipment, Tag):
    auditlog.register(model)
auditlog.register(Person, m2m_fields={"sites"})
auditlog.register(ApiToken, exclude_fields=["key_hash", "last_used_at"])
auditlog.register(get_user_model(), exclude_fields=["password", "last_login"], m2m_fields={"groups"})
auditlog.register(Group, m2m_fields={"permissions"})
