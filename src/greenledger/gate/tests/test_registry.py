"""The registries: plate look-up for the gate, ledger snapshot, pages, review and documents."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from greenledger.core.attachments import attachments_of
from greenledger.core.demo import tiny_png
from greenledger.evidence.services import leaf_of
from greenledger.gate import registry
from greenledger.gate.models import Carrier, InPlantVehicle, Machine, Vehicle, VehicleKind

from .factories import make_vehicle

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # the tests check English wording

GOOD_VIN = "LFV2A21K257000008"


def make_in_plant(site, code="HB-001", plate="", **extra):
    return InPlantVehicle.objects.create(site=site, registration_code=code, plate=plate, **extra)


def make_machine(site, code="NR-001", plate="", **extra):
    extra.setdefault("machine_type", "叉车")
    return Machine.objects.create(site=site, registration_code=code, plate=plate, **extra)


def vehicle_post(site, **changes):
    data = {"site": site.pk, "plate": "苏D12345", "plate_color": "yellow", "trailer_plate": "", "vin": GOOD_VIN,
            "vehicle_type": "重型半挂牵引车", "category": "N3", "vehicle_class": "heavy_truck",
            "brand_model": "解放 CA4250", "engine_model": "CA6DM3", "engine_maker": "一汽锡柴", "engine_no": "E1",
            "fuel": "diesel", "stage": "6", "owner": "运输公司", "network_status": "online",
            "registration_date": "2021-05-01", "use_nature": "货运", "carrier": "", "gross_mass_kg": "25000",
            "remarks": ""}
    data.update(changes)
    return data


# ---------------------------------------------------------------- find_registered / ledger_fields


def test_find_registered_prefers_the_vehicle_with_the_camera_colour(site):
    yellow = make_vehicle(site, "苏D12345", plate_color="yellow")
    blue = make_vehicle(site, "苏D12345", plate_color="blue", category="N1")
    assert registry.find_registered(site, "苏D12345", "blue") == (VehicleKind.ROAD, blue)
    assert registry.find_registered(site, "苏d·12345", "yellow") == (VehicleKind.ROAD, yellow)


def test_find_registered_without_colour_prefers_an_approved_registration(site):
    make_vehicle(site, "苏D12345", plate_color="blue", state="pending")
    approved = make_vehicle(site, "苏D12345", plate_color="yellow", state="approved")
    assert registry.find_registered(site, "苏D12345") == (VehicleKind.ROAD, approved)
    assert registry.find_registered(site, "苏D12345", "unknown") == (VehicleKind.ROAD, approved)


def test_find_registered_falls_back_to_in_plant_vehicles_then_machines(site):
    in_plant = make_in_plant(site, plate="苏E11111")
    machine = make_machine(site, plate="苏E22222")
    assert registry.find_registered(site, "苏E11111") == (VehicleKind.IN_PLANT, in_plant)
    assert registry.find_registered(site, "苏E22222", "yellow") == (VehicleKind.NRMM, machine)
    assert registry.find_registered(site, "苏E33333") == (VehicleKind.UNKNOWN, None)
    assert registry.find_registered(site, "") == (VehicleKind.UNKNOWN, None)


def test_find_registered_stays_inside_the_site(site, other_site):
    make_vehicle(other_site, "苏D12345")
    assert registry.find_registered(site, "苏D12345") == (VehicleKind.UNKNOWN, None)


def test_ledger_fields_of_a_road_vehicle_hold_the_hj1321_items(site):
    import datetime

    carrier = Carrier.objects.create(site=site, name="顺达物流")
    vehicle = make_vehicle(site, vin=GOOD_VIN, carrier=carrier, engine_model="WP10", engine_maker="潍柴",
                           engine_no="123", brand_model="东风 DFH4250", vehicle_type="重型半挂牵引车",
                           registration_date=datetime.date(2020, 1, 2), owner="张三", network_status="online",
                           use_nature="货运")
    fields = registry.ledger_fields(vehicle)
    assert fields["kind"] == "road" and fields["vin"] == GOOD_VIN and fields["carrier"] == "顺达物流"
    assert fields["registration_date"] == "2020-01-02" and fields["stage"] == "5" and fields["fuel"] == "diesel"
    for key in ("vehicle_type", "brand_model", "engine_model", "engine_maker", "engine_no", "use_nature",
                "network_status", "owner", "plate_color", "registration_state"):
        assert key in fields
    import json
    json.dumps(fields)  # goes into a JSONField


def test_ledger_fields_of_in_plant_vehicles_and_machines(site):
    from decimal import Decimal

    assert registry.ledger_fields(make_in_plant(site, vin=GOOD_VIN))["registration_code"] == "HB-001"
    fields = registry.ledger_fields(make_machine(site, machine_code="CN4LD123456789012", rated_power_kw=Decimal("55.5"),
                                                 stage="nr4"))
    assert fields["kind"] == "nrmm" and fields["machine_code"] == "CN4LD123456789012"
    assert fields["rated_power_kw"] == "55.5" and fields["stage"] == "nr4"
    assert registry.ledger_fields(None) == {}


# ---------------------------------------------------------------- pages


@pytest.fixture
def manager(client, site, role_user):
    user = role_user("environmental_manager", site, "env")
    client.force_login(user)
    return user


@pytest.mark.parametrize("name", ["gate:vehicle_list", "gate:inplant_list", "gate:machine_list", "gate:carrier_list",
                                  "gate:review_queue", "gate:list_entries", "gate:vehicle_add", "gate:inplant_add",
                                  "gate:machine_add", "gate:carrier_add", "gate:vehicle_import",
                                  "gate:machine_import", "gate:inplant_import", "gate:carrier_import",
                                  "gate:list_entry_add", "gate:list_import"])
def test_environmental_manager_reaches_every_registry_page(client, manager, name):
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("role, list_status, add_status, review_status", [
    ("gate_guard", 200, 403, 403),
    ("auditor", 200, 403, 403),
    ("operator", 403, 403, 403),
])
def test_other_roles_see_only_what_their_role_allows(client, site, role_user, role, list_status, add_status,
                                                     review_status):
    client.force_login(role_user(role, site))
    assert client.get(reverse("gate:vehicle_list")).status_code == list_status
    assert client.get(reverse("gate:machine_add")).status_code == add_status
    assert client.get(reverse("gate:review_queue")).status_code == review_status


def test_anonymous_users_are_sent_to_the_login(client, site):
    vehicle = make_vehicle(site)
    response = client.get(reverse("gate:vehicle_detail", args=[vehicle.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_list_shows_only_the_users_sites_and_filters(client, manager, site, other_site):
    make_vehicle(site, "苏D12345", stage="4")
    make_vehicle(site, "苏D99999", stage="6", fuel="gas")
    make_vehicle(other_site, "浙A55555")
    page = client.get(reverse("gate:vehicle_list")).content.decode()
    assert "苏D12345" in page and "苏D99999" in page and "浙A55555" not in page
    filtered = client.get(reverse("gate:vehicle_list"), {"stage": "4"}, HTTP_HX_REQUEST="true").content.decode()
    assert "苏D12345" in filtered and "苏D99999" not in filtered and "<html" not in filtered
    assert "苏D99999" in client.get(reverse("gate:vehicle_list"), {"fuel": "gas"}).content.decode()
    by_plate = client.get(reverse("gate:vehicle_list"), {"plate": "d999"}).content.decode()
    assert "苏D99999" in by_plate and "苏D12345" not in by_plate


def test_list_rows_link_to_their_detail_pages_also_when_refreshed(client, manager, site):
    entries = [make_vehicle(site, "苏D12345"), make_in_plant(site), make_machine(site),
               Carrier.objects.create(site=site, name="顺达物流")]
    for entry, list_name in zip(entries, ["vehicle_list", "inplant_list", "machine_list", "carrier_list"]):
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            page = client.get(reverse(f"gate:{list_name}"), **headers).content.decode()
            assert f'href="{entry.get_absolute_url()}"' in page, (list_name, headers)
    assert entries[0].get_absolute_url() == reverse("gate:vehicle_detail", args=[entries[0].pk])


def test_list_filters_by_carrier_and_state(client, manager, site):
    carrier = Carrier.objects.create(site=site, name="顺达物流")
    make_vehicle(site, "苏D12345", carrier=carrier)
    make_vehicle(site, "苏D99999", state="pending")
    page = client.get(reverse("gate:vehicle_list"), {"carrier": carrier.pk}).content.decode()
    assert "苏D12345" in page and "苏D99999" not in page
    page = client.get(reverse("gate:vehicle_list"), {"state": "pending"}).content.decode()
    assert "苏D99999" in page and "苏D12345" not in page


def test_excel_export_holds_every_ledger_field_of_the_filtered_rows(client, manager, site):
    make_vehicle(site, "苏D12345", vin=GOOD_VIN, engine_model="WP10")
    make_vehicle(site, "苏D99999", stage="6")
    response = client.get(reverse("gate:vehicle_list"), {"stage": "5", "export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    for title in ("车牌号码", "号牌颜色", "车辆识别代号(VIN)", "发动机型号", "发动机生产厂", "发动机号码", "燃料类型",
                  "排放阶段", "注册登记日期", "使用性质", "联网状态", "车队名称", "车辆所有人", "审核状态"):
        assert title in header
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1
    row = dict(zip(header, rows[0]))
    assert row["车牌号码"] == "苏D12345" and row["排放阶段"] == "国五" and row["燃料类型"] == "柴油"
    assert row["车辆识别代号(VIN)"] == GOOD_VIN and row["号牌颜色"] == "黄色"


def test_detail_of_another_site_is_not_found(client, manager, other_site):
    vehicle = make_vehicle(other_site)
    assert client.get(reverse("gate:vehicle_detail", args=[vehicle.pk])).status_code == 404


def test_create_a_vehicle_through_the_form(client, manager, site):
    response = client.post(reverse("gate:vehicle_add"), vehicle_post(site, plate="苏d 12345"))
    vehicle = Vehicle.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("gate:vehicle_detail", args=[vehicle.pk])
    assert vehicle.plate == "苏D12345" and vehicle.source == "office"


def test_form_refuses_errors_and_keeps_the_input(client, manager, site):
    response = client.post(reverse("gate:vehicle_add"), vehicle_post(site, plate="苏D1234", vin="123"))
    page = response.content.decode()
    assert response.status_code == 200 and not Vehicle.objects.exists()
    assert "6 characters" in page and "a VIN has 17" in page and "苏D1234" in page


def test_form_shows_warnings_and_saves_after_confirmation(client, manager, site):
    data = vehicle_post(site, vin="LFV2A21K057000008")
    page = client.post(reverse("gate:vehicle_add"), data).content.decode()
    assert not Vehicle.objects.exists()
    assert "check character" in page and 'name="confirm_warnings"' in page
    response = client.post(reverse("gate:vehicle_add"), {**data, "confirm_warnings": "on"})
    assert response.status_code == 302 and Vehicle.objects.get().vin == "LFV2A21K057000008"


def test_plate_colour_that_does_not_fit_is_an_error_on_the_colour(client, manager, site):
    page = client.post(reverse("gate:vehicle_add"), vehicle_post(site, plate="苏AD12345", plate_color="yellow",
                                                                 fuel="electric", stage="ev")).content.decode()
    assert not Vehicle.objects.exists() and "Plate colour" in page


def test_a_plate_is_registered_once_per_colour(client, manager, site):
    make_vehicle(site, "苏D12345", plate_color="yellow")
    client.post(reverse("gate:vehicle_add"), vehicle_post(site))
    assert Vehicle.objects.count() == 1


def test_carrier_of_another_site_cannot_be_chosen(client, manager, site, other_site):
    foreign = Carrier.objects.create(site=other_site, name="外地车队")
    client.post(reverse("gate:vehicle_add"), vehicle_post(site, carrier=foreign.pk))
    assert not Vehicle.objects.exists()


def test_machine_form_checks_the_machine_code(client, manager, site):
    data = {"site": site.pk, "registration_code": "NR-9", "machine_code": "CN4LD1234", "machine_type": "装载机",
            "fuel": "diesel", "stage": "nr4", "network_status": "unknown"}
    page = client.post(reverse("gate:machine_add"), data).content.decode()
    assert "has 9 characters" in page and not Machine.objects.exists()
    client.post(reverse("gate:machine_add"), {**data, "machine_code": "cn4ld123456789012"})
    assert Machine.objects.get().machine_code == "CN4LD123456789012"


def test_edit_by_someone_without_review_permission_sends_the_entry_back_to_review(client, site, role_user):
    from django.contrib.auth.models import Permission

    clerk = role_user("gate_guard", site, "clerk")
    clerk.user_permissions.add(Permission.objects.get(codename="change_vehicle"))
    vehicle = make_vehicle(site, vin=GOOD_VIN)
    client.force_login(clerk)
    data = vehicle_post(site, stage="6")
    response = client.post(reverse("gate:vehicle_edit", args=[vehicle.pk]), data)
    assert response.status_code == 302
    vehicle.refresh_from_db()
    assert vehicle.stage == "6" and vehicle.state == "pending"


def test_review_approves_and_records_who_and_when(client, manager, site):
    vehicle = make_vehicle(site, state="pending")
    client.post(reverse("gate:vehicle_review", args=[vehicle.pk]), {"approve": "1", "note": ""})
    vehicle.refresh_from_db()
    assert vehicle.state == "approved" and vehicle.reviewed_by == manager and vehicle.reviewed_at is not None


def test_rejection_needs_a_note(client, manager, site):
    machine = make_machine(site)
    client.post(reverse("gate:machine_review", args=[machine.pk]), {"approve": "0", "note": ""})
    machine.refresh_from_db()
    assert machine.state == "pending"
    client.post(reverse("gate:machine_review", args=[machine.pk]), {"approve": "0", "note": "铭牌照片不清楚"})
    machine.refresh_from_db()
    assert machine.state == "rejected" and machine.review_note == "铭牌照片不清楚"


def test_review_needs_the_review_permission(client, site, role_user):
    vehicle = make_vehicle(site, state="pending")
    client.force_login(role_user("gate_guard", site))
    assert client.post(reverse("gate:vehicle_review", args=[vehicle.pk]), {"approve": "1"}).status_code == 403
    vehicle.refresh_from_db()
    assert vehicle.state == "pending"


def test_review_queue_lists_pending_entries_of_all_registries_in_scope(client, manager, site, other_site):
    make_vehicle(site, "苏D11111", state="pending")
    make_vehicle(site, "苏D22222", state="approved")
    make_vehicle(other_site, "苏D33333", state="pending")
    make_machine(site, "NR-PENDING")
    make_in_plant(site, "HB-PENDING")
    page = client.get(reverse("gate:review_queue")).content.decode()
    assert "苏D11111" in page and "NR-PENDING" in page and "HB-PENDING" in page
    assert "苏D22222" not in page and "苏D33333" not in page


def test_documents_are_uploaded_on_the_detail_page_and_sealed(client, manager, site):
    vehicle = make_vehicle(site)
    url = reverse("gate:vehicle_document", args=[vehicle.pk])
    client.post(url, {"document": "行驶证", "file": SimpleUploadedFile("licence.png", tiny_png())})
    client.post(url, {"document": "随车清单", "file": SimpleUploadedFile("bad.exe", b"MZ\x90\x00")})
    stored = list(attachments_of(vehicle))
    assert [a.caption for a in stored] == ["行驶证"] and leaf_of(stored[0]) is not None
    page = client.get(reverse("gate:vehicle_detail", args=[vehicle.pk])).content.decode()
    assert "attachments/" in page


def test_machines_take_their_own_documents(client, manager, site):
    machine = make_machine(site)
    url = reverse("gate:machine_document", args=[machine.pk])
    client.post(url, {"document": "行驶证", "file": SimpleUploadedFile("x.png", tiny_png())})
    client.post(url, {"document": "整机铭牌", "file": SimpleUploadedFile("plate.png", tiny_png())})
    assert [a.caption for a in attachments_of(machine)] == ["整机铭牌"]
