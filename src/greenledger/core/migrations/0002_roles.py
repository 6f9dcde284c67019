"""Create the role groups (角色) with their permissions."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from greenledger.core.roles import ensure_permissions, sync_roles

    ensure_permissions("auth", "core", "evidence")
    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
        ("evidence", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
