"""Ship the default admission rule sets (gate/rulesets.py) so a new site can pick one at once."""

from django.db import migrations


def load(apps, schema_editor):
    from greenledger.gate.rulesets import load_defaults

    load_defaults(apps.get_model("gate", "RuleSet"), apps.get_model("gate", "Rule"))


class Migration(migrations.Migration):
    # 0003 is another part's migration number; this one only needs the models and the roles.
    dependencies = [("gate", "0002_roles")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
