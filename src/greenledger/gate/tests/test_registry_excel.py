"""Excel round trip of the registries and carriers: template, words for codes, all-or-nothing import."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from greenledger.gate import registry_excel
from greenledger.gate.models import Carrier, InPlantVehicle, Machine, Vehicle

from .factories import make_vehicle

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # the tests check English wording
GOOD_VIN = "LFV2A21K257000008"


def xlsx(header, *rows):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("import.xlsx", buffer.getvalue())


@pytest.fixture
def manager(client, site, role_user):
    user = role_user("environmental_manager", site, "env")
    client.force_login(user)
    return user


def post_import(client, name, upload, site, **extra):
    return client.post(reverse(name), {"site": site.pk, "file": upload, **extra})


def test_template_download_has_the_import_columns_and_no_rows(client, manager):
    response = client.get(reverse("gate:machine_import"), {"template": "1"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["厂区编码", "环保登记编码", "机械环保代码", "机械种类"]
    assert sheet.max_row == 1


def test_chinese_words_are_accepted_for_codes(client, manager, site):
    Carrier.objects.create(site=site, name="顺达物流")
    upload = xlsx(["车牌号码", "号牌颜色", "车辆识别代号(VIN)", "燃料类型", "排放阶段", "联网状态", "车队名称", "车辆类别",
                   "注册登记日期"],
                  ["苏D12345", "黄色", GOOD_VIN, "柴油", "国五", "已联网", "顺达物流", "N3", "2020/05/06"],
                  ["苏AD12345", "渐变绿色", "", "纯电动", "电动", "未联网", "", "M1", "2022-01-01"],
                  ["苏E12345", "yellow", "", "Natural gas (CNG/LNG)", "国VI", "", "", "N2", ""])
    response = post_import(client, "gate:vehicle_import", upload, site)
    assert response.status_code == 302
    first, nev, gas = (Vehicle.objects.get(plate=p) for p in ("苏D12345", "苏AD12345", "苏E12345"))
    assert (first.plate_color, first.fuel, first.stage, first.network_status) == ("yellow", "diesel", "5", "online")
    assert first.carrier.name == "顺达物流" and str(first.registration_date) == "2020-05-06"
    assert (nev.plate_color, nev.fuel, nev.stage, nev.vehicle_class) == ("green", "electric", "ev", "car")
    assert (gas.fuel, gas.stage) == ("gas", "6")
    assert {v.source for v in Vehicle.objects.all()} == {"import"}
    assert {v.state for v in Vehicle.objects.all()} == {"pending"}


def test_english_headers_are_accepted(client, manager, site):
    upload = xlsx(["Environmental registration code", "Machine type", "Emission stage", "Fuel"],
                  ["NR-1", "叉车", "国三", "diesel"])
    assert post_import(client, "gate:machine_import", upload, site).status_code == 302
    assert Machine.objects.get().stage == "nr3"


def test_one_bad_row_saves_nothing_and_every_problem_is_listed(client, manager, site):
    upload = xlsx(["车牌号码", "号牌颜色", "车辆识别代号(VIN)", "排放阶段", "车队名称"],
                  ["苏D12345", "黄色", GOOD_VIN, "国五", ""],
                  ["苏D1234", "黄色", "", "国五", ""],
                  ["苏D55555", "紫色", "", "国九", ""],
                  ["苏D66666", "黄色", "", "国五", "不存在车队"])
    response = post_import(client, "gate:vehicle_import", upload, site)
    assert response.status_code == 200 and not Vehicle.objects.exists()
    problems = response.context["problems"]
    assert {(row, column) for row, column, _m in problems} == {(3, "车牌号码"), (4, "号牌颜色"), (4, "排放阶段"),
                                                              (5, "车队名称")}


def test_missing_required_column_is_reported(client, manager, site):
    response = post_import(client, "gate:vehicle_import", xlsx(["车牌号码"], ["苏D12345"]), site)
    assert [(row, column) for row, column, _m in response.context["problems"]] == [(1, "号牌颜色")]


def test_not_an_excel_file_is_reported(client, manager, site):
    response = post_import(client, "gate:vehicle_import", SimpleUploadedFile("x.xlsx", b"not excel"), site)
    assert response.status_code == 200 and response.context["problems"]


def test_warnings_stop_the_import_unless_accepted(client, manager, site):
    upload = lambda: xlsx(["车牌号码", "号牌颜色", "车辆识别代号(VIN)"], ["苏D12345", "黄色", "LFV2A21K057000008"])  # noqa: E731
    response = post_import(client, "gate:vehicle_import", upload(), site)
    assert not Vehicle.objects.exists() and "check character" in response.context["problems"][0][2]
    post_import(client, "gate:vehicle_import", upload(), site, accept_warnings="on")
    assert Vehicle.objects.get().vin == "LFV2A21K057000008"


def test_reviewer_may_approve_on_import(client, manager, site):
    upload = xlsx(["环保登记编码", "车牌号码", "号牌颜色"], ["HB-1", "苏E12345", "黄色"])
    post_import(client, "gate:inplant_import", upload, site, approve="on")
    entry = InPlantVehicle.objects.get()
    assert entry.state == "approved" and entry.reviewed_by == manager and entry.source == "import"


def test_import_without_review_permission_cannot_approve(client, site, role_user):
    from django.contrib.auth.models import Permission

    clerk = role_user("gate_guard", site, "clerk")
    clerk.user_permissions.add(Permission.objects.get(codename="add_inplantvehicle"))
    client.force_login(clerk)
    post_import(client, "gate:inplant_import", xlsx(["环保登记编码"], ["HB-1"]), site, approve="on")
    assert InPlantVehicle.objects.get().state == "pending"


def test_import_updates_existing_entries_and_sends_them_back_to_review(client, manager, site):
    make_vehicle(site, "苏D12345", stage="4", state="approved")
    post_import(client, "gate:vehicle_import", xlsx(["车牌号码", "号牌颜色", "排放阶段"], ["苏D12345", "黄色", "国六"]), site)
    vehicle = Vehicle.objects.get()
    assert vehicle.stage == "6" and vehicle.state == "pending"


def test_site_code_outside_the_scope_is_refused(client, manager, site, other_site):
    upload = xlsx(["厂区编码", "承运单位名称"], [other_site.code, "外地车队"])
    response = post_import(client, "gate:carrier_import", upload, site)
    assert not Carrier.objects.exists() and response.context["problems"][0][1] == "厂区编码"


def test_export_then_import_round_trips(client, manager, site):
    carrier = Carrier.objects.create(site=site, name="顺达物流", contact="李四")
    make_vehicle(site, "苏D12345", vin=GOOD_VIN, carrier=carrier, engine_model="WP10", stage="6",
                 network_status="online", special_purpose=True)
    carriers = client.get(reverse("gate:carrier_list"), {"export": "xlsx"}).content
    vehicles = client.get(reverse("gate:vehicle_list"), {"export": "xlsx"}).content
    Vehicle.objects.all().delete()
    Carrier.objects.all().delete()
    post_import(client, "gate:carrier_import", SimpleUploadedFile("c.xlsx", carriers), site)
    response = post_import(client, "gate:vehicle_import", SimpleUploadedFile("v.xlsx", vehicles), site)
    assert response.status_code == 302, response.context and response.context["problems"]
    vehicle = Vehicle.objects.get()
    assert (vehicle.vin, vehicle.carrier.name, vehicle.engine_model, vehicle.stage, vehicle.network_status,
            vehicle.special_purpose) == (GOOD_VIN, "顺达物流", "WP10", "6", "online", True)


@pytest.mark.parametrize("text, key, code", [
    ("国五", "vehicle", "5"), ("国V", "vehicle", "5"), ("国5", "vehicle", "5"), ("5", "vehicle", "5"),
    ("China VI", "vehicle", "6"), ("国Ⅵ", "vehicle", "6"), ("电动", "vehicle", "ev"), ("国三", "machine", "nr3"),
    ("非道路国四", "machine", "nr4"), ("国IV", "machine", "nr4"), ("nr2", "machine", "nr2"),
])
def test_stage_words(text, key, code):
    assert registry_excel.stage_value(text, key) == code


@pytest.mark.parametrize("text, key", [("国九", "vehicle"), ("国五", "machine"), ("好", "vehicle")])
def test_stage_words_that_mean_nothing_are_refused(text, key):
    with pytest.raises(ValueError):
        registry_excel.stage_value(text, key)
