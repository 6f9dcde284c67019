"""Rule set editor, matrix Excel round trip, gate settings page: permissions and effects."""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from greenledger.gate.models import GateSettings, Rule, RuleSet
from greenledger.gate.rulesets import DEFAULT_RULE_SETS, load_defaults

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, site, role_user):
    user = role_user("environmental_manager", site)
    client.force_login(user)
    return user


def general():
    return RuleSet.objects.get(name=DEFAULT_RULE_SETS[0]["name"])


def test_default_rule_sets_ship_with_their_sources(site):
    assert RuleSet.objects.count() == len(DEFAULT_RULE_SETS)
    for rule_set in RuleSet.objects.all():
        assert rule_set.source and rule_set.rules.exists()


def test_reloading_defaults_restores_edited_rows(client, manager):
    rule_set = general()
    rule_set.rules.all().delete()
    response = client.post(reverse("gate:ruleset_reload"))
    assert response.status_code == 302 and rule_set.rules.count() == len(DEFAULT_RULE_SETS[0]["rules"])


def test_rule_set_page_lists_rules_in_words(client, manager):
    response = client.get(reverse("gate:ruleset_detail", args=[general().pk]))
    assert response.status_code == 200 and "橙色及以上预警期间禁止国四及以下重型货车" in response.content.decode()


def test_add_edit_and_delete_a_rule(client, manager):
    rule_set = general()
    response = client.post(reverse("gate:rule_add", args=[rule_set.pk]), {
        "priority": 90, "alert_levels": ["yellow"], "vehicle_classes": ["heavy_truck"], "fuels": ["diesel"],
        "stage_max": "3", "special_purpose": "unknown", "hazmat": "false", "action": "manual",
        "reason": "黄色预警国三柴油车人工核查"})
    assert response.status_code == 302
    rule = Rule.objects.get(reason="黄色预警国三柴油车人工核查")
    assert rule.alert_levels == ["yellow"] and rule.special_purpose is None and rule.hazmat is False
    client.post(reverse("gate:rule_edit", args=[rule_set.pk, rule.pk]), {
        "priority": 95, "action": "block", "reason": "改为拦截", "special_purpose": "true", "hazmat": "unknown"})
    rule.refresh_from_db()
    assert (rule.priority, rule.action, rule.alert_levels, rule.special_purpose) == (95, "block", [], True)
    client.post(reverse("gate:rule_delete", args=[rule_set.pk, rule.pk]))
    assert not Rule.objects.filter(pk=rule.pk).exists()


def test_matrix_exports_and_imports_back_unchanged(client, manager):
    rule_set = general()
    before = list(rule_set.rules.order_by("priority").values_list("priority", "action", "stage_max", "alert_levels",
                                                                   "special_purpose", "reason"))
    exported = client.get(reverse("gate:ruleset_detail", args=[rule_set.pk]) + "?export=xlsx")
    assert exported.status_code == 200
    upload = BytesIO(exported.content)
    upload.name = "rules.xlsx"
    response = client.post(reverse("gate:ruleset_import", args=[rule_set.pk]), {"file": upload})
    assert response.status_code == 302
    after = list(rule_set.rules.order_by("priority").values_list("priority", "action", "stage_max", "alert_levels",
                                                                  "special_purpose", "reason"))
    assert after == before


def test_matrix_import_with_a_bad_row_changes_nothing_and_names_the_cell(client, manager):
    rule_set = general()
    count = rule_set.rules.count()
    exported = client.get(reverse("gate:ruleset_detail", args=[rule_set.pk]) + "?export=xlsx")
    wb = load_workbook(BytesIO(exported.content))
    ws = wb.active
    ws.cell(row=2, column=2).value = "Z"
    ws.cell(row=3, column=12).value = "explode"
    upload = BytesIO()
    wb.save(upload)
    upload.seek(0)
    upload.name = "rules.xlsx"
    response = client.post(reverse("gate:ruleset_import", args=[rule_set.pk]), {"file": upload})
    assert response.status_code == 422
    text = response.content.decode()
    assert "Z" in text and rule_set.rules.count() == count
    assert [p[0] for p in response.context["problems"]] == [2, 3]


def test_matrix_import_of_a_sheet_without_columns_is_refused(client, manager):
    wb = Workbook()
    wb.active.append(["whatever"])
    upload = BytesIO()
    wb.save(upload)
    upload.seek(0)
    upload.name = "x.xlsx"
    response = client.post(reverse("gate:ruleset_import", args=[general().pk]), {"file": upload})
    assert response.status_code == 422 and general().rules.exists()


def test_gate_settings_page_saves_grade_and_rule_set(client, site, manager):
    rule_set = general()
    response = client.post(reverse("gate:settings") + f"?site={site.code}", {
        "site": site.code, "grade": "C", "rule_set": rule_set.pk, "unknown_vehicle_action": "block",
        "pending_vehicle_action": "manual", "min_confidence": 85})
    assert response.status_code == 302
    settings = GateSettings.objects.get(site=site)
    assert (settings.grade, settings.rule_set, settings.unknown_vehicle_action, settings.min_confidence) == (
        "C", rule_set, "block", 85)


def test_guard_may_not_edit_policies(client, site, role_user):
    client.force_login(role_user("gate_guard", site))
    assert client.get(reverse("gate:rulesets")).status_code == 403
    assert client.post(reverse("gate:ruleset_reload")).status_code == 403
    assert client.get(reverse("gate:settings")).status_code == 403


def test_auditor_reads_rule_sets_but_cannot_change_them(client, site, role_user):
    client.force_login(role_user("auditor", site))
    assert client.get(reverse("gate:ruleset_detail", args=[general().pk])).status_code == 200
    assert client.post(reverse("gate:rule_add", args=[general().pk]), {"priority": 1}).status_code == 403
    assert client.post(reverse("gate:settings"), {"site": site.code, "grade": "A"}).status_code == 403


def test_settings_of_a_site_outside_scope_are_refused(client, manager, other_site):
    response = client.get(reverse("gate:settings") + f"?site={other_site.code}")
    assert response.status_code == 403


def test_load_defaults_is_idempotent(site):
    load_defaults()
    load_defaults()
    assert RuleSet.objects.count() == len(DEFAULT_RULE_SETS)
    assert general().rules.count() == len(DEFAULT_RULE_SETS[0]["rules"])
