"""Monthly partitioning of the raw readings on PostgreSQL; telemetry permissions for the roles."""

from django.db import migrations


def grant(apps, schema_editor):
    from greenledger.core.roles import ensure_permissions, sync_roles
    from greenledger.telemetry.roles import TELEMETRY_ROLE_PERMISSIONS

    ensure_permissions("telemetry")
    sync_roles(apps, TELEMETRY_ROLE_PERMISSIONS)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from greenledger.telemetry.partitions import CREATE_SQL

    with schema_editor.connection.cursor() as cursor:  # no parameters: %I/%L belong to format()
        cursor.execute(CREATE_SQL)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from greenledger.telemetry.partitions import DROP_SQL

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0001_initial"),
        ("core", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
