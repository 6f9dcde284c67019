"""Pages and API of carbon accounting: role and site scope on every path, the report's page, Excel
and PDF, issuing, Excel imports of activity data and production output, the API's idempotent intake."""

import datetime
import uuid
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from greenledger.carbon.models import ActivityRecord, EmissionFactor, EmissionReport, ProductionOutput
from greenledger.core.models import ApiToken

from .factories import MARCH, activity, make_plant

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def plant():
    return make_plant()


@pytest.fixture
def elsewhere():
    return make_plant("other-plant")


def login(client, role_user, role, site, username=None):
    user = role_user(role, site, username=username)
    client.force_login(user)
    return user


PAGES = ["carbon:dashboard", "carbon:report", "carbon:effects", "carbon:anomalies", "carbon:crosschecks",
         "carbon:factor_list", "carbon:activity_list", "carbon:output_list", "carbon:certificate_list"]


@pytest.mark.parametrize("role", ["carbon_manager", "environmental_manager", "safety_manager", "auditor"])
def test_carbon_and_reading_roles_open_every_page(client, role_user, plant, role):
    activity(plant, "electricity", 1000, "kWh", workshop="assembly")
    login(client, role_user, role, plant)
    for name in PAGES:
        response = client.get(reverse(name), {"site": plant.code, "month": "2025-03"})
        assert response.status_code == 200, name


@pytest.mark.parametrize("role", ["contractor", "supplier", "gate_guard", "operator"])
def test_contractors_suppliers_and_others_see_nothing(client, role_user, plant, role):
    login(client, role_user, role, plant)
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 403, name
    assert client.get("/api/carbon/report", {"site": plant.code, "month": "2025-03"}).status_code == 403


def test_a_site_outside_the_scope_is_refused(client, role_user, plant, elsewhere):
    activity(elsewhere, "electricity", 1000, "kWh")
    login(client, role_user, "carbon_manager", plant)
    assert client.get(reverse("carbon:report"), {"site": elsewhere.code}).status_code == 403
    assert client.get("/api/carbon/report", {"site": elsewhere.code, "month": "2025-03"}).status_code == 403
    response = client.get(reverse("carbon:activity_list"))
    assert response.status_code == 200 and "other-plant" not in response.content.decode()
    response = client.post("/api/carbon/activity", {"site": elsewhere.code, "activity": "electricity",
                                                    "quantity": 1, "unit": "kWh", "period_start": "2025-03-01",
                                                    "period_end": "2025-03-31"}, content_type="application/json")
    assert response.status_code == 403


def test_report_page_excel_pdf_and_issuing(client, role_user, plant):
    activity(plant, "electricity", 100000, "kWh", workshop="assembly")
    activity(plant, "natural_gas", 5000, "m3", workshop="coating")
    login(client, role_user, "carbon_manager", plant)
    query = {"site": plant.code, "month": "2025-03"}
    page = client.get(reverse("carbon:report"), query).content.decode()
    assert "63.871" in page and "grid-cn-national-2023" in page and "fuel-natural-gas-gbt32150" in page
    xlsx = client.get(reverse("carbon:report"), {**query, "export": "xlsx"})
    wb = load_workbook(BytesIO(xlsx.content))
    about = {row[0]: row[1] for row in wb.worksheets[0].iter_rows(values_only=True)}
    assert any("63.871" in str(v) for v in about.values())
    factor_sheet = [row for row in wb.worksheets[-1].iter_rows(values_only=True)]
    assert ("grid-cn-national-2023", 1) in {(r[0], r[1]) for r in factor_sheet}
    pdf = client.get(reverse("carbon:report"), {**query, "export": "pdf"})
    assert pdf.content.startswith(b"%PDF")
    response = client.post(reverse("carbon:report") + "?site=" + plant.code + "&month=2025-03")
    issued = EmissionReport.objects.get()
    assert response.url == reverse("carbon:issued_report", args=[issued.pk])
    assert issued.content["totals"]["total"] == "63870.944" and issued.checkpoint_root
    assert client.get(response.url).status_code == 200
    assert client.get(response.url, {"export": "pdf"}).content.startswith(b"%PDF")


def test_readers_cannot_issue_or_enter_data(client, role_user, plant):
    login(client, role_user, "auditor", plant)
    assert client.post(reverse("carbon:report") + f"?site={plant.code}&month=2025-03").status_code == 403
    assert client.get(reverse("carbon:activity_create")).status_code == 403
    assert client.get(reverse("carbon:factor_create")).status_code == 403
    factor = EmissionFactor.objects.get(code="grid-cn-national-2023")
    assert client.post(reverse("carbon:factor_detail", args=[factor.pk]), {"value": "1"}).status_code == 403


def test_manual_entry_form_and_a_new_factor_version_from_the_page(client, role_user, plant):
    login(client, role_user, "carbon_manager", plant)
    response = client.post(reverse("carbon:activity_create"), {
        "site": plant.pk, "workshop": plant.workshops.get(code="assembly").pk, "activity": "electricity",
        "quantity": "1200", "unit": "度", "period_start": "2025-03-01", "period_end": "2025-03-31"})
    assert response.status_code == 302
    record = ActivityRecord.objects.get()
    assert (record.unit, record.origin) == ("kWh", "manual")
    factor = EmissionFactor.objects.get(code="grid-cn-east-2023")
    response = client.post(reverse("carbon:factor_detail", args=[factor.pk]), {
        "value": "0.5512", "unit": "tCO2/MWh", "source": factor.source, "reason": "公告勘误"})
    assert response.status_code == 302
    assert EmissionFactor.objects.get(code="grid-cn-east-2023", version=2).kg_per_unit == D("0.5512")
    assert EmissionFactor.objects.get(pk=factor.pk).value == D("0.5500")


def sheet(rows):
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "data.xlsx"
    return buffer


ACTIVITY_HEADER = ["厂区代码", "开始日期", "结束日期", "车间代码", "设备代码", "活动类型", "数量", "单位"]


def test_activity_import_writes_every_row(client, role_user, plant):
    login(client, role_user, "carbon_manager", plant)
    upload = sheet([ACTIVITY_HEADER,
                    [plant.code, "2025-03-01", "2025-03-31", "assembly", "FAN-01", "electricity", 12000, "kWh"],
                    [plant.code, datetime.date(2025, 3, 1), datetime.date(2025, 3, 31), "coating", None, "天然气", 3,
                     "万m³"]])
    response = client.post(reverse("carbon:activity_import"), {"file": upload})
    assert response.status_code == 302
    gas = ActivityRecord.objects.get(activity="natural_gas")
    assert (gas.unit, gas.origin, gas.workshop.code) == ("10^4m3", "import", "coating")
    assert ActivityRecord.objects.get(activity="electricity").equipment.code == "FAN-01"


def test_activity_import_with_a_bad_row_saves_nothing_and_names_row_and_column(client, role_user, plant, elsewhere):
    login(client, role_user, "carbon_manager", plant)
    upload = sheet([ACTIVITY_HEADER,
                    [plant.code, "2025-03-01", "2025-03-31", "assembly", None, "electricity", 12000, "kWh"],
                    [plant.code, "2025-03-01", "2025-03-31", "assembly", None, "electricity", 100, "m3"],
                    [elsewhere.code, "2025-03-01", "2025-03-31", "", None, "electricity", 100, "kWh"]])
    response = client.post(reverse("carbon:activity_import"), {"file": upload})
    problems = response.context["problems"]
    assert [(row, column) for row, column, _m in problems] == [(3, "单位"), (4, "厂区代码")]
    assert not ActivityRecord.objects.exists()


def test_production_import_and_template(client, role_user, plant):
    login(client, role_user, "carbon_manager", plant)
    template = client.get(reverse("carbon:output_import"), {"template": 1})
    header = next(load_workbook(BytesIO(template.content)).active.iter_rows(values_only=True))
    upload = sheet([list(header), [plant.code, "2025-03-01", "2025-03-31", "assembly", "电芯", 20000, "只",
                                   "LC20250301A", 1.5, "是"]])
    assert client.post(reverse("carbon:output_import"), {"file": upload}).status_code == 302
    output = ProductionOutput.objects.get()
    assert (output.batch_no, output.defect_rate, output.final) == ("LC20250301A", D("1.500"), True)


def test_api_intake_is_idempotent_and_tokens_stay_on_their_site(client, plant, elsewhere):
    _token, secret = ApiToken.issue(name="ERP", site=plant, purpose="integration")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = {"id": str(uuid.uuid4()), "site": plant.code, "workshop": "assembly", "product": "电芯",
            "quantity": "20000", "unit": "只", "period_start": "2025-03-01", "period_end": "2025-03-31",
            "batch_no": "LC1", "defect_rate": "1.2"}
    first = client.post("/api/carbon/output", body, content_type="application/json", **auth)
    again = client.post("/api/carbon/output", body, content_type="application/json", **auth)
    assert (first.status_code, again.status_code) == (201, 200) and ProductionOutput.objects.count() == 1
    listed = client.get("/api/carbon/output", {"site": plant.code, "start": "2025-03-01", "end": "2025-03-31"},
                        **auth)
    assert listed.json()[0]["batch_no"] == "LC1"
    wrong_site = client.post("/api/carbon/output", {**body, "id": str(uuid.uuid4()), "site": elsewhere.code},
                             content_type="application/json", **auth)
    assert wrong_site.status_code == 403
    bad = client.post("/api/carbon/activity", {"site": plant.code, "activity": "electricity", "quantity": "5",
                                               "unit": "t", "period_start": "2025-03-01",
                                               "period_end": "2025-03-31"}, content_type="application/json", **auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "unit"
    assert client.get("/api/carbon/report", {"site": plant.code, "month": "2025-03"}, **auth).status_code == 403


def test_api_report_names_factor_versions_and_checkpoint(client, role_user, plant):
    from greenledger.evidence.services import take_checkpoint

    activity(plant, "electricity", 100000, "kWh")
    take_checkpoint()
    login(client, role_user, "auditor", plant)
    body = client.get("/api/carbon/report", {"site": plant.code, "month": "2025-03"}).json()
    assert body["totals"]["scope2_location"] == "53060.000"
    assert body["factors"][0]["code"].startswith("grid-cn-national") and body["checkpoint"]["tree_size"] >= 1
    assert client.get("/api/carbon/factors", {"activity": "natural_gas"}).json()[0]["kg_per_unit"]


def test_site_dashboard_carries_the_carbon_panel_for_carbon_roles_only(client, role_user, plant):
    login(client, role_user, "carbon_manager", plant)
    assert "t CO2" in client.get(reverse("core:dashboard")).content.decode()
    client.force_login(role_user("operator", plant, username="op2"))
    page = client.get(reverse("core:dashboard"))
    assert page.status_code == 200 and "t CO2" not in page.content.decode()
