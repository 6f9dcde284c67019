"""The guard console: the polled feed, actions from the console, on-the-spot registration, manual entry."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from greenledger.core.attachments import attachments_of
from greenledger.core.demo import tiny_png
from greenledger.gate.models import AlertPeriod, Passage, Vehicle

from .factories import make_gate, make_vehicle
from .test_ledger import make_passage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def gate(site):
    return make_gate(site)


@pytest.fixture
def guard(client, role_user, site):
    user = role_user("gate_guard", site)
    client.force_login(user)
    return user


def feed(client, site, since=""):
    return client.get(reverse("gate:console_feed"), {"site": site.code, "since": since})


def test_feed_answers_no_content_until_something_changes(client, site, gate, guard):
    make_passage(site, gate, plate="苏D10001")
    first = feed(client, site)
    stamp = first.context["stamp"]
    assert first.status_code == 200 and "苏D10001" in first.content.decode()
    assert feed(client, site, stamp).status_code == 204
    make_passage(site, gate, plate="苏D10002")
    changed = feed(client, site, stamp)
    assert changed.status_code == 200 and "苏D10002" in changed.content.decode()
    stamp = changed.context["stamp"]
    AlertPeriod.objects.create(site=site, level="orange", starts_at=timezone.now() - datetime.timedelta(minutes=1),
                               reason="橙色预警")
    assert feed(client, site, stamp).status_code == 200


def test_console_shows_the_newest_passage_big_with_decision_reason_and_alert(client, site, gate, guard):
    AlertPeriod.objects.create(site=site, level="orange", starts_at=timezone.now() - datetime.timedelta(hours=1),
                               reason="橙色预警", measures_text="禁止国四及以下柴油重型货车进出")
    make_passage(site, gate, plate="苏D44444", decision="block", reason="橙色预警禁止国四", stage="4")
    page = client.get(reverse("gate:console"), {"site": site.code}).content.decode()
    assert 'data-alert-level="orange"' in page and "禁止国四及以下柴油重型货车进出" in page
    assert 'class="verdict verdict-block"' in page and "橙色预警禁止国四" in page and "苏D44444" in page


def test_release_from_the_console_without_reason_is_refused_with_a_message(client, site, gate, guard):
    passage = make_passage(site, gate, decision="manual")
    url = reverse("gate:console_action", args=[passage.pk, "release"])
    response = client.post(url, {"reason": ""}, follow=True)
    assert "needs a reason" in response.content.decode() and not passage.actions.exists()
    client.post(url, {"reason": "临时送货，已核对"})
    passage.refresh_from_db()
    assert passage.final_decision == "pass"


def test_console_of_another_site_is_refused(client, site, other_site, guard):
    assert client.get(reverse("gate:console"), {"site": other_site.code}).status_code == 403


def test_unknown_plate_offers_registration_and_the_guard_registers_it_with_photos(client, site, gate, guard):
    make_passage(site, gate, plate="苏B3K512", decision="manual", vehicle_kind="unknown", reason="未登记车辆")
    page = client.get(reverse("gate:console"), {"site": site.code}).content.decode()
    assert "Register this vehicle" in page
    url = reverse("gate:console_register")
    response = client.post(url, {
        "site": site.pk, "plate": "苏b 3k512", "plate_color": "blue", "category": "N1", "vehicle_class": "light_truck",
        "fuel": "diesel", "stage": "5", "doc_行驶证": SimpleUploadedFile("license.png", tiny_png()),
    })
    assert response.status_code == 302, response.context["form"].errors
    vehicle = Vehicle.objects.get(plate="苏B3K512")
    assert (vehicle.state, vehicle.source) == ("pending", "guard")
    assert [a.caption for a in attachments_of(vehicle)] == ["行驶证"]


def test_manual_entry_while_the_camera_is_down_is_decided_by_the_rules(client, site, gate, guard):
    make_vehicle(site, "苏D12345", stage="6")
    lane = gate.lanes.get(direction="in")
    response = client.post(reverse("gate:console_manual_passage"), {
        "site": site.code, "lane": lane.pk, "plate": "苏D12345", "plate_color": "yellow",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    passage = Passage.objects.get()
    assert passage.decision == "pass" and passage.vehicle.plate == "苏D12345" and passage.camera is None


def test_manual_entry_with_a_bad_plate_stores_nothing_and_says_why(client, site, gate, guard):
    lane = gate.lanes.get(direction="in")
    response = client.post(reverse("gate:console_manual_passage"), {
        "site": site.code, "lane": lane.pk, "plate": "12", "plate_color": "yellow",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}, follow=True)
    assert not Passage.objects.exists() and "Plate" in response.content.decode()


def test_dashboard_panel_counts_today_and_names_the_alert_level(rf, site, gate, guard):
    from greenledger.gate.dashboard import panel

    AlertPeriod.objects.create(site=site, level="orange", starts_at=timezone.now() - datetime.timedelta(hours=1),
                               reason="橙色预警")
    make_passage(site, gate, plate="苏D10001")
    make_passage(site, gate, plate="苏D10002", decision="block")
    make_passage(site, gate, plate="苏D10001", direction="out")
    make_passage(site, gate, plate="苏D10003", at=timezone.now() - datetime.timedelta(days=2))
    request = rf.get("/")
    request.user = guard
    with translation.override("en"):
        figures = {str(label): str(value) for label, value, _link in panel(request, site)["figures"]}
    assert (figures["Entries today"], figures["Exits today"], figures["Blocked today"]) == ("2", "1", "1")
    assert figures["Alert level now"] == "Orange (level II)"


def test_an_offline_replay_is_marked_and_does_not_take_the_big_card(client, site, gate, guard):
    from greenledger.core.models import ApiToken
    from greenledger.gate import services
    from greenledger.gate.management.commands.camera_sim import zhenshi_payload

    token = ApiToken.issue(name="相机", site=site, purpose="camera")[1]
    camera = gate.lanes.first().cameras.first().code
    live, ctype = zhenshi_payload("苏D10001", plate_id=1, images=False)
    services.process_push(camera, live, ctype, token=token)
    replay, ctype = zhenshi_payload("苏D20002", plate_id=2, images=False, offline=True,
                                    when=timezone.now() - datetime.timedelta(hours=3))
    services.process_push(camera, replay, ctype, token=token)  # arrives last
    response = feed(client, site)
    assert response.context["latest"]["p"].plate == "苏D10001"  # the vehicle at the gate now
    rows = {row["p"].plate: row["p"].offline for row in response.context["rows"]}
    assert rows == {"苏D10001": False, "苏D20002": True}
    page = response.content.decode()
    assert page.count('data-offline="1"') == 1 and "Back-filled" in page
