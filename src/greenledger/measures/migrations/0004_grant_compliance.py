"""Grant the new dashboard/compliance permission to the roles that read the measure ledger."""

from django.db import migrations


def grant(apps, schema_editor):
    from greenledger.core.roles import ensure_permissions, sync_roles
    from greenledger.measures.roles import MEASURE_ROLE_PERMISSIONS

    ensure_permissions("measures")
    sync_roles(apps, MEASURE_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("measures", "0003_compliance_permission")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
