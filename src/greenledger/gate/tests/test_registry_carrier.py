"""Carrier self-registration through the public link/QR page, and the carrier pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from greenledger.core.attachments import attachments_of
from greenledger.core.demo import tiny_png
from greenledger.core.models import Notification
from greenledger.gate import registry_views
from greenledger.gate.models import Carrier, Vehicle

from .factories import make_vehicle

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # the tests check English wording


@pytest.fixture
def carrier(site):
    return Carrier.objects.create(site=site, name="顺达物流")


def registration(**changes):
    data = {"plate": "苏D12345", "plate_color": "yellow", "trailer_plate": "", "vin": "LFV2A21K257000008",
            "vehicle_type": "重型半挂牵引车", "category": "N3", "brand_model": "", "engine_model": "WP10",
            "engine_maker": "潍柴", "engine_no": "E1", "fuel": "diesel", "stage": "6", "registration_date": "",
            "use_nature": "货运", "owner": "", "network_status": "online", "remarks": "王师傅 13800000000",
            "licence_photos": SimpleUploadedFile("licence.png", tiny_png()),
            "list_photos": SimpleUploadedFile("list.png", tiny_png())}
    data.update(changes)
    return data


def test_carrier_registers_a_vehicle_without_logging_in(client, carrier, site):
    url = reverse("gate:carrier_register", args=[carrier.registration_key])
    page = client.get(url).content.decode()
    assert "顺达物流" in page and 'name="licence_photos"' in page and "viewport" in page
    response = client.post(url, registration())
    assert response.status_code == 200 and "苏D12345" in response.content.decode()
    vehicle = Vehicle.objects.get()
    assert (vehicle.state, vehicle.source, vehicle.carrier, vehicle.site) == ("pending", "carrier", carrier, site)
    assert sorted(a.caption for a in attachments_of(vehicle)) == ["行驶证", "随车清单"]


def test_the_reviewer_is_told_and_sees_it_in_the_queue(client, carrier, site, role_user,
                                                       django_capture_on_commit_callbacks):
    manager = role_user("environmental_manager", site, "env")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("gate:carrier_register", args=[carrier.registration_key]), registration())
    assert Notification.objects.filter(recipient=manager, title__contains="苏D12345").exists()
    client.force_login(manager)
    assert "苏D12345" in client.get(reverse("gate:review_queue")).content.decode()


def test_both_documents_are_required(client, carrier):
    data = registration()
    del data["list_photos"]
    client.post(reverse("gate:carrier_register", args=[carrier.registration_key]), data)
    assert not Vehicle.objects.exists()


def test_a_file_that_is_not_a_photo_saves_nothing(client, carrier):
    data = registration(list_photos=SimpleUploadedFile("x.exe", b"MZ\x90\x00" * 10))
    response = client.post(reverse("gate:carrier_register", args=[carrier.registration_key]), data)
    assert response.status_code == 200 and not Vehicle.objects.exists()
    assert response.context["form"].non_field_errors()


def test_plate_errors_are_shown_on_the_phone_page(client, carrier):
    response = client.post(reverse("gate:carrier_register", args=[carrier.registration_key]),
                           registration(plate="苏D123"))
    assert "5 characters" in response.content.decode() and not Vehicle.objects.exists()


def test_an_already_registered_vehicle_is_refused(client, carrier, site):
    make_vehicle(site, "苏D12345")
    response = client.post(reverse("gate:carrier_register", args=[carrier.registration_key]), registration())
    assert "already registered" in response.content.decode() and Vehicle.objects.count() == 1


def test_closed_or_unknown_links_show_a_clear_page(client, carrier):
    import uuid

    assert client.get(reverse("gate:carrier_register", args=[uuid.uuid4()])).status_code == 404
    carrier.registration_open = False
    carrier.save()
    response = client.post(reverse("gate:carrier_register", args=[carrier.registration_key]), registration())
    assert response.status_code == 404 and not Vehicle.objects.exists()


def test_registrations_per_link_are_capped(client, carrier, monkeypatch):
    monkeypatch.setattr(registry_views, "SELF_REGISTRATIONS_PER_HOUR", 1)
    url = reverse("gate:carrier_register", args=[carrier.registration_key])
    client.post(url, registration())
    response = client.post(url, registration(plate="苏D54321"))
    assert Vehicle.objects.count() == 1 and "Too many" in response.content.decode()


def test_carrier_page_shows_the_qr_code_of_the_link(client, carrier, site, role_user):
    client.force_login(role_user("environmental_manager", site))
    page = client.get(reverse("gate:carrier_detail", args=[carrier.pk])).content.decode()
    assert "<svg" in page and f"/gate/register/{carrier.registration_key}/" in page


def test_carriers_of_other_sites_stay_hidden(client, other_site, site, role_user):
    foreign = Carrier.objects.create(site=other_site, name="外地车队")
    client.force_login(role_user("environmental_manager", site))
    assert client.get(reverse("gate:carrier_detail", args=[foreign.pk])).status_code == 404
    assert "外地车队" not in client.get(reverse("gate:carrier_list")).content.decode()


def test_carrier_is_created_through_the_form(client, site, role_user):
    client.force_login(role_user("environmental_manager", site))
    response = client.post(reverse("gate:carrier_add"), {"site": site.pk, "name": "新车队", "credit_code": "",
                                                         "contact": "", "phone": "", "registration_open": "on"})
    assert response.status_code == 302 and Carrier.objects.get().name == "新车队"


def test_the_carrier_list_counts_vehicles_in_one_query(client, site, role_user):
    client.force_login(role_user("environmental_manager", site))
    url = reverse("gate:carrier_list")
    client.get(url)  # sessions, permissions and caches warmed once
    first = Carrier.objects.create(site=site, name="一号车队")
    for n in range(3):
        make_vehicle(site, plate=f"苏D1000{n}", carrier=first)

    def queries_for_page():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            page = client.get(url).content.decode()
        return len(captured), page

    few, page = queries_for_page()
    assert "一号车队" in page
    rows = page.split("一号车队", 1)[1].split("</tr>", 1)[0]
    assert ">3<" in rows.replace(" ", "")  # its three vehicles
    for n in range(5):
        Carrier.objects.create(site=site, name=f"车队{n}")
    many, _page = queries_for_page()
    assert many == few
