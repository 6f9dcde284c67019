"""Measuring points on the web: the form (create, edit, scope, clear errors, what stays once a point
has data), who may use it, and the points sheet in Excel (export, import all-or-nothing with row
and column problems)."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from greenledger.core.models import Equipment, Workshop
from greenledger.telemetry import services
from greenledger.telemetry.models import MeasuringPoint

from .factories import make_point, recent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # the tests check English wording


def form_data(site, **changes):
    data = {"site": site.pk, "code": "BLR-01.gas", "name": "锅炉天然气表", "workshop": "", "equipment": "",
            "quantity": "natural_gas", "unit": "m³", "cumulative": "on", "expected_interval_seconds": 900,
            "valid_min": "", "valid_max": "", "source": "mqtt", "opcua_node_id": "", "active": "on"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def carbon(client, site, role_user):
    client.force_login(role_user("carbon_manager", site))
    return client


def test_carbon_manager_creates_a_point_from_the_list(carbon, site):
    page = carbon.get("/telemetry/").content.decode()
    assert "/telemetry/points/new/" in page and "/telemetry/points/import/" in page
    equipment = Equipment.objects.get(code="LW-01")
    response = carbon.post("/telemetry/points/new/", form_data(site, equipment=equipment.pk))
    point = MeasuringPoint.objects.get(code="BLR-01.gas")
    assert response.status_code == 302 and response["Location"] == f"/telemetry/points/{point.pk}/"
    assert point.workshop == equipment.workshop and point.cumulative and point.unit == "m³"
    detail = carbon.get(response["Location"]).content.decode()
    assert f"/telemetry/points/{point.pk}/edit/" in detail and "greenledger/test-site/BLR-01.gas" in detail


@pytest.mark.parametrize("changes, field, words", [
    ({"code": "BLR 01"}, "code", "MQTT"),
    ({"code": "BLR/+"}, "code", "MQTT"),
    ({"unit": "kW"}, "unit", "m³"),
    ({"quantity": "temperature", "unit": "°C"}, "cumulative", "moment"),
    ({"generation": "on"}, "generation", "generation"),
    ({"source": "opcua"}, "opcua_node_id", "node id"),
    ({"cumulative": None, "quantity": "pressure", "unit": "MPa", "valid_min": "2", "valid_max": "1"},
     "valid_max", "below the minimum"),
])
def test_the_form_names_what_is_wrong(carbon, site, changes, field, words):
    response = carbon.post("/telemetry/points/new/", form_data(site, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and words in " ".join(errors[field]), errors
    assert not MeasuringPoint.objects.exists()


def test_workshop_and_equipment_must_agree_and_stay_in_scope(carbon, site, other_site):
    coating = Workshop.objects.create(site=site, code="coating", name="涂布")
    equipment = Equipment.objects.get(code="LW-01")  # in the assembly workshop
    response = carbon.post("/telemetry/points/new/", form_data(site, workshop=coating.pk, equipment=equipment.pk))
    assert "stands in" in " ".join(response.context["form"].errors["equipment"])
    foreign = Equipment.objects.get(code="X-01")
    response = carbon.post("/telemetry/points/new/", form_data(site, equipment=foreign.pk))
    assert "equipment" in response.context["form"].errors
    response = carbon.post("/telemetry/points/new/", form_data(other_site))
    assert "site" in response.context["form"].errors
    duplicate = make_point(site, code="BLR-01.gas", quantity="natural_gas")
    response = carbon.post("/telemetry/points/new/", form_data(site))
    assert response.context["form"].errors and MeasuringPoint.objects.get(code="BLR-01.gas") == duplicate


def test_a_point_with_readings_keeps_its_site_code_and_counter_kind(carbon, site):
    point = make_point(site, code="FAN-01.freq")
    services.ingest([(point, recent(5), 30.0)], "mqtt")
    page = carbon.get(f"/telemetry/points/{point.pk}/edit/")
    assert page.context["form"].fields["code"].disabled and page.context["form"].fields["site"].disabled
    response = carbon.post(f"/telemetry/points/{point.pk}/edit/", form_data(
        site, code="renamed", name="干燥房风机频率（变频器）", quantity="frequency", unit="Hz", cumulative="on",
        valid_min="0", valid_max="60", expected_interval_seconds=60))
    assert response.status_code == 302
    point.refresh_from_db()
    assert (point.code, point.cumulative, point.name, point.valid_max) == (
        "FAN-01.freq", False, "干燥房风机频率（变频器）", 60.0)


def test_who_may_add_and_change_points(client, site, other_site, role_user):
    point = make_point(site)
    foreign = make_point(other_site, code="X-01.freq")
    client.force_login(role_user("operator", site))
    assert "/telemetry/points/new/" not in client.get("/telemetry/").content.decode()
    assert client.get("/telemetry/points/new/").status_code == 403
    assert client.post(f"/telemetry/points/{point.pk}/edit/", form_data(site)).status_code == 403
    client.force_login(role_user("carbon_manager", site, username="carbon1"))
    assert client.get(f"/telemetry/points/{foreign.pk}/edit/").status_code == 404  # another site's point
    client.force_login(role_user("system_admin", username="admin1"))  # every site
    assert client.get("/telemetry/points/new/").status_code == 200
    assert client.get(f"/telemetry/points/{foreign.pk}/edit/").status_code == 200


# Excel ------------------------------------------------------------------------------------------


def sheet(*rows, header=("厂区编码", "点位编码", "名称", "车间/环节编码", "设备编码", "计量类型", "单位", "累计表",
                         "预期间隔(秒)", "有效下限", "有效上限", "数据来源", "OPC UA 节点")):
    wb = Workbook()
    wb.active.append(list(header))
    for row in rows:
        wb.active.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "points.xlsx"
    return buffer


def test_points_sheet_round_trip(carbon, site):
    make_point(site, code="FAN-01.freq", valid_min=0, valid_max=60, source="opcua",
               opcua_node_id="ns=2;s=FAN-01.Frequency")
    export = carbon.get("/telemetry/points/import/?export=1")
    rows = list(load_workbook(io.BytesIO(export.content)).active.values)
    assert rows[0][:3] == ("厂区编码", "点位编码", "名称") and rows[1][:2] == ("test-site", "FAN-01.freq")
    changed = [list(rows[1]), ["test-site", "E-assembly", "封装车间电表", "assembly", "", "Electricity (kWh)", "MWh",
                               "是", "否", 900, None, None, "MQTT", None, "是", None, None]]
    changed[0][2] = "干燥房风机频率"
    response = carbon.post("/telemetry/points/import/", {"file": sheet(*changed, header=rows[0])})
    assert response.status_code == 302, response.context and response.context["problems"]
    assert MeasuringPoint.objects.get(code="FAN-01.freq").name == "干燥房风机频率"
    meter = MeasuringPoint.objects.get(code="E-assembly")
    assert (meter.quantity, meter.unit, meter.cumulative, meter.workshop.code) == ("electricity", "MWh", True,
                                                                                    "assembly")


def test_a_sheet_with_problems_saves_nothing_and_names_row_and_column(carbon, site, other_site):
    response = carbon.post("/telemetry/points/import/", {"file": sheet(
        ["test-site", "E-1", "电表一", "assembly", "", "electricity", "kWh", "是", 900, None, None, "mqtt", None],
        ["test-site", "E-2", "电表二", "nowhere", "", "electricity", "kW", "是", 900, None, None, "mqtt", None],
        ["other-site", "E-3", "别厂电表", "", "", "electricity", "kWh", "是", 900, None, None, "mqtt", None],
        ["test-site", "T-1", "温度", "", "", "temperature", "°C", "也许", 60, 200, 100, "mqtt", None],
        ["test-site", "E-1", "重复", "", "", "electricity", "kWh", "", 900, None, None, "mqtt", None],
    )})
    problems = response.context["problems"]
    where = {(row, column) for row, column, _message in problems}
    assert {(3, "车间/环节编码"), (3, "单位"), (4, "厂区编码"), (5, "累计表"), (5, "有效上限"),
            (6, "点位编码")} <= where, problems
    assert 2 not in {row for row, _c, _m in problems}
    assert not MeasuringPoint.objects.exists()
    assert 'id="problems"' in response.content.decode()


def test_missing_columns_and_import_rights(client, site, role_user):
    client.force_login(role_user("carbon_manager", site))
    response = client.post("/telemetry/points/import/", {"file": sheet(["test-site", "E-1"],
                                                                       header=("厂区编码", "点位编码"))})
    assert {(1, "名称"), (1, "计量类型")} <= {(r, c) for r, c, _m in response.context["problems"]}
    client.force_login(role_user("auditor", site, username="aud"))
    assert client.get("/telemetry/points/import/").status_code == 200
    assert client.post("/telemetry/points/import/", {"file": sheet()}).status_code == 403
