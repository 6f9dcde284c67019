"""Measure-ledger permissions for the role groups; trigram index for Chinese free-text search on
PostgreSQL (LIKE '%词%' over search_text stays fast at millions of records)."""

from django.db import migrations


def grant(apps, schema_editor):
    from greenledger.core.roles import ensure_permissions, sync_roles
    from greenledger.measures.roles import MEASURE_ROLE_PERMISSIONS

    ensure_permissions("measures")
    sync_roles(apps, MEASURE_ROLE_PERMISSIONS)


def trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS measures_rec_search_trgm ON measures_executionrecord "
                          "USING gin (search_text gin_trgm_ops)")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS measures_anom_search_trgm ON measures_anomaly "
                          "USING gin (search_text gin_trgm_ops)")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS measures_rec_search_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS measures_anom_search_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0001_initial"),
        ("core", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(trigram_indexes, drop_trigram_indexes),
    ]
