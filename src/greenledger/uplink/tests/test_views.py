"""Uplink pages: permissions and site scope, secrets never shown, dead letters fixed and resent, exports."""

import pytest
from django.urls import reverse

from greenledger.uplink.models import OutboxItem, State
from greenledger.uplink.worker import Worker

from .builders import make_passage, make_platform

pytestmark = pytest.mark.django_db


def test_environmental_manager_sees_the_dashboard_with_rate_and_backlog(client, site, platform, role_user):
    client.force_login(role_user("environmental_manager", site))
    make_passage(site)
    Worker("w1").run_once()
    make_passage(site)
    response = client.get(reverse("uplink:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-figure="backlog">1<' in html and "uplink-chart-data" in html
    partial = client.get(reverse("uplink:dashboard"), headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and 'data-figure="rate-today"' in partial.content.decode()


def test_pages_need_the_uplink_permissions(client, site, platform, role_user):
    client.force_login(role_user("gate_guard", site))
    assert client.get(reverse("uplink:dashboard")).status_code == 403
    assert client.get(reverse("uplink:outbox")).status_code == 403


def test_another_sites_platform_and_items_stay_hidden(client, site, other_site, simulator, tmp_path, monkeypatch,
                                                      role_user):
    foreign = make_platform(other_site, simulator, tmp_path=tmp_path, monkeypatch=monkeypatch, code="foreign")
    make_passage(other_site)
    client.force_login(role_user("environmental_manager", site))
    item = OutboxItem.objects.get()
    assert client.get(reverse("uplink:platform_detail", args=[foreign.pk])).status_code == 404
    assert client.get(reverse("uplink:item_detail", args=[item.pk])).status_code == 404
    assert item.record_id not in client.get(reverse("uplink:outbox")).content.decode()


def test_the_platform_page_shows_where_secrets_are_never_what_they_are(client, site, platform, role_user):
    client.force_login(role_user("auditor", site))
    html = client.get(reverse("uplink:platform_detail", args=[platform.pk])).content.decode()
    assert platform.app_secret_ref in html
    assert "s3cret-app" not in html and "PRIVATE KEY" not in html


def test_a_dead_letter_is_fixed_and_resent_from_its_page(client, site, platform, simulator, role_user):
    simulator.state.switches["reject"] = {"carNo": "苏D00009"}
    passage = make_passage(site, plate="苏D00009")
    Worker("w1").run_once()
    item = OutboxItem.objects.get()
    client.force_login(role_user("environmental_manager", site))
    page = client.get(reverse("uplink:item_detail", args=[item.pk])).content.decode()
    assert "value &#x27;苏D00009&#x27; refused" in page or "苏D00009" in page
    bad = client.post(reverse("uplink:item_resend", args=[item.pk]), {"payload": "{not json"})
    assert bad.status_code == 422
    fixed = {**item.payload, "carNo": "苏D00010"}
    import json
    client.post(reverse("uplink:item_resend", args=[item.pk]), {"payload": json.dumps(fixed)})
    Worker("w1").run_once()
    item.refresh_from_db()
    assert item.state == State.ACKED
    assert simulator.state.records[("GL-TEST", str(passage.pk))]["data"]["carNo"] == "苏D00010"


def test_an_auditor_cannot_resend(client, site, platform, role_user):
    make_passage(site)
    item = OutboxItem.objects.get()
    client.force_login(role_user("auditor", site))
    assert client.post(reverse("uplink:item_resend", args=[item.pk]), {"payload": ""}).status_code == 403


def test_reconciliation_exports_to_excel(client, site, platform, role_user):
    make_passage(site)
    Worker("w1").run_once()
    client.force_login(role_user("environmental_manager", site))
    response = client.get(reverse("uplink:reconciliation"), {"platform": platform.pk, "export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_reupload_of_a_period_queues_the_passages_again(client, site, platform, simulator, role_user):
    from django.utils import timezone

    passage = make_passage(site)
    Worker("w1").run_once()
    client.force_login(role_user("environmental_manager", site))
    today = timezone.localdate().isoformat()
    client.post(reverse("uplink:platform_reupload", args=[platform.pk]), {"start": today, "end": today})
    again = OutboxItem.objects.get(reupload=True)
    assert again.record_id == str(passage.pk)
    Worker("w1").run_once()
    again.refresh_from_db()
    assert again.state == State.ACKED and again.backfilled is True
    assert simulator.state.duplicates == 1 and len(simulator.state.order) == 1


def test_the_site_dashboard_has_an_uplink_panel(client, site, platform, role_user):
    make_passage(site)
    client.force_login(role_user("environmental_manager", site))
    html = client.get("/dashboard/").content.decode()
    assert reverse("uplink:dashboard") in html


def test_the_scheduler_raises_the_backlog_alarm_even_without_a_worker(site, platform, role_user):
    from datetime import timedelta

    from django.utils import timezone

    from greenledger.core.models import Notification
    from greenledger.uplink import scheduled

    manager = role_user("environmental_manager", site)
    make_passage(site, at=timezone.now() - timedelta(hours=2))
    assert scheduled.run(timezone.now() + timedelta(minutes=10)) == {"uplink_alarms": 1}
    assert Notification.objects.filter(recipient=manager).count() == 1


@pytest.mark.parametrize("name", ["uplink:platform_list", "uplink:outbox", "uplink:instructions",
                                  "uplink:reconciliation", "uplink:dashboard"])
def test_an_auditor_reads_every_uplink_page(client, site, platform, role_user, name):
    make_passage(site)
    client.force_login(role_user("auditor", site))
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert platform.name in response.content.decode()


def test_only_the_system_admin_sets_up_platforms_and_secrets_must_be_references(client, site, platform, role_user):
    manager = role_user("environmental_manager", site)
    client.force_login(manager)
    assert client.get(reverse("uplink:platform_create")).status_code == 403
    client.force_login(role_user("system_admin", site, username="admin-u"))
    data = {"site": site.pk, "code": "prov", "name": "省平台", "profile": "generic_rsa2", "base_url": "https://p.example.cn",
            "app_id": "X", "app_secret_ref": "the-secret-itself", "private_key_ref": "file:keys/x.pem",
            "platform_public_key": "-", "field_map": "{}", "code_tables": "{}", "heartbeat_seconds": 60,
            "realtime_seconds": 300, "deadline_minutes": 1440, "backlog_alarm_minutes": 60, "pull_seconds": 300,
            "timeout_seconds": 10, "enabled": "on"}
    refused = client.post(reverse("uplink:platform_create"), data)
    assert refused.status_code == 200
    assert list(refused.context["form"].errors) == ["app_secret_ref"], refused.context["form"].errors
    client.post(reverse("uplink:platform_create"), {**data, "app_secret_ref": "env:PROV_SECRET"})
    assert platform.__class__.objects.filter(code="prov", app_secret_ref="env:PROV_SECRET").exists()
