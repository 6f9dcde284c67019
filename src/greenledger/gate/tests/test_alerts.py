"""Alert levels: the level at a moment, switching (UI and API), regulator instructions, notifications."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from greenledger.core.models import ApiToken, Notification
from greenledger.evidence.models import AppendOnlyError
from greenledger.gate.alerts import level_at, parse_level, switch_alert
from greenledger.gate.models import AlertPeriod

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text, level", [("橙色", "orange"), ("II级", "orange"), ("Ⅱ级", "orange"), ("红色预警", "red"),
                                         ("I级", "red"), ("III级", "yellow"), ("黄色", "yellow"), ("none", "none"),
                                         ("orange", "orange")])
def test_regulator_words_map_to_levels(text, level):
    assert parse_level(text) == level


def test_unknown_level_is_refused_with_the_field_named():
    with pytest.raises(ValidationError) as info:
        parse_level("purple")
    assert "level" in info.value.message_dict


def test_latest_starting_period_covering_the_moment_wins(site):
    now = timezone.now()
    switch_alert(site, "yellow", starts_at=now - timedelta(hours=5), reason="黄色预警")
    switch_alert(site, "red", starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1), reason="红色")
    assert level_at(site, now - timedelta(hours=6)) == "none"
    assert level_at(site, now - timedelta(hours=3)) == "yellow"
    assert level_at(site, now - timedelta(minutes=90)) == "red"
    assert level_at(site, now) == "yellow"
    switch_alert(site, "none", reason="解除预警")
    assert level_at(site, timezone.now()) == "none"


def test_switch_needs_a_reason_and_a_sane_period(site):
    with pytest.raises(ValidationError):
        switch_alert(site, "orange", reason=" ")
    now = timezone.now()
    with pytest.raises(ValidationError):
        switch_alert(site, "orange", starts_at=now, ends_at=now - timedelta(hours=1), reason="x")


def test_alert_periods_are_sealed_and_never_edited(site):
    period = switch_alert(site, "orange", reason="通知")
    period.reason = "changed"
    with pytest.raises(AppendOnlyError):
        period.save()


def test_switching_tells_managers_and_guards_of_the_site(site, role_user, django_capture_on_commit_callbacks):
    manager, guard = role_user("environmental_manager", site), role_user("gate_guard", site, username="g")
    with django_capture_on_commit_callbacks(execute=True):
        switch_alert(site, "orange", reason="市指挥部通知")
    assert set(Notification.objects.values_list("recipient", flat=True)) == {manager.pk, guard.pk}


def test_alert_page_shows_the_level_and_switches_with_a_reason(client, site, role_user):
    client.force_login(role_user("environmental_manager", site))
    page = client.get(reverse("gate:alerts"))
    assert page.status_code == 200 and page.context["level"] == "none"
    refused = client.post(reverse("gate:alerts"), {"site": site.code, "level": "orange", "reason": ""})
    assert refused.status_code == 200 and refused.context["form"].errors["reason"]
    response = client.post(reverse("gate:alerts"), {"site": site.code, "level": "orange", "reason": "市应急办通知"})
    assert response.status_code == 302
    period = AlertPeriod.objects.get()
    assert period.level == "orange" and period.source == "manual" and period.created_by is not None
    assert client.get(reverse("gate:alerts")).context["level"] == "orange"


def test_guard_sees_the_level_but_cannot_switch(client, site, role_user):
    client.force_login(role_user("gate_guard", site))
    assert client.get(reverse("gate:alerts")).status_code == 200
    assert client.post(reverse("gate:alerts"), {"site": site.code, "level": "red", "reason": "x"}).status_code == 403


def test_regulator_pushes_an_instruction_once_and_gets_the_id(client, site):
    secret = ApiToken.issue(name="市平台", site=site, purpose="regulator")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    payload = {"level": "II级", "reason": "重污染天气橙色预警", "regulator_ref": "JJ-2026-017",
               "measures_text": "禁止国四及以下重型柴油货车"}
    first = client.post("/api/gate/alerts", payload, content_type="application/json", **auth)
    again = client.post("/api/gate/alerts", payload, content_type="application/json", **auth)
    assert first.status_code == 201 and again.status_code == 200 and first.json()["id"] == again.json()["id"]
    assert first.json()["level"] == "orange" and AlertPeriod.objects.get().source == "regulator"
    current = client.get("/api/gate/alerts/current", **auth)
    assert current.status_code == 200 and current.json()["level"] == "orange"


def test_alert_api_errors(client, site, other_site, role_user):
    camera = ApiToken.issue(name="c", site=site, purpose="camera")[1]
    response = client.post("/api/gate/alerts", {"level": "red", "reason": "x"}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {camera}")
    assert response.status_code == 403
    client.force_login(role_user("environmental_manager", site))
    bad = client.post("/api/gate/alerts", {"site": site.code, "level": "purple", "reason": "x"},
                      content_type="application/json")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "level"
    foreign = client.post("/api/gate/alerts", {"site": other_site.code, "level": "red", "reason": "x"},
                          content_type="application/json")
    assert foreign.status_code == 404
    ok = client.post("/api/gate/alerts", {"site": site.code, "level": "黄色", "reason": "通知"},
                     content_type="application/json")
    assert ok.status_code == 201 and ok.json()["level"] == "yellow"
