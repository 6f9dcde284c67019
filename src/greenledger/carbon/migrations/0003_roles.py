"""Carbon-accounting permissions for the role groups (see carbon/roles.py)."""

from django.db import migrations


def grant(apps, schema_editor):
    from greenledger.carbon.roles import CARBON_ROLE_PERMISSIONS
    from greenledger.core.roles import ensure_permissions, sync_roles

    ensure_permissions("carbon")
    sync_roles(apps, CARBON_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("carbon", "0002_seed_factors"), ("core", "0002_roles")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
