"""Regulator uplink permissions for the role groups."""

from django.db import migrations


def grant(apps, schema_editor):
    from greenledger.core.roles import ensure_permissions, sync_roles
    from greenledger.uplink.roles import UPLINK_ROLE_PERMISSIONS

    ensure_permissions("uplink")
    sync_roles(apps, UPLINK_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("uplink", "0001_initial"),
        ("core", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
