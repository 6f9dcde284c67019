"""Gate e-ledger permissions for the role groups."""

from django.db import migrations


def grant(apps, schema_editor):
    from greenledger.core.roles import ensure_permissions, sync_roles
    from greenledger.gate.roles import GATE_ROLE_PERMISSIONS

    ensure_permissions("gate")
    sync_roles(apps, GATE_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("gate", "0001_initial"),
        ("core", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
