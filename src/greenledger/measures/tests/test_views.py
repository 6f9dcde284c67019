"""The measure-ledger pages: who reaches what, the record form, approvals, Excel in and out."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from greenledger.core.roles import ROLE_LABELS
from greenledger.measures import services
from greenledger.measures.models import ExecutionRecord, Measure

from .factories import make_measure, make_person, make_site, minutes_ago

pytestmark = pytest.mark.django_db

PAGES = {
    "measures:record_list": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager",
                             "shift_leader", "operator", "auditor", "contractor"},
    "measures:measure_list": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager",
                              "shift_leader", "operator", "auditor", "contractor"},
    "measures:measure_create": {"system_admin", "carbon_manager", "safety_manager"},
    "measures:approvals": {"safety_manager", "shift_leader"},
    "measures:anomaly_list": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager",
                              "shift_leader", "operator", "auditor"},
    "measures:anomaly_create": {"environmental_manager", "carbon_manager", "safety_manager", "shift_leader",
                                "operator", "contractor"},
    "measures:hourly_board": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager",
                              "shift_leader", "operator", "auditor"},
    "measures:trace": {"system_admin", "environmental_manager", "carbon_manager", "safety_manager",
                       "shift_leader", "operator", "auditor", "contractor"},
}


@pytest.fixture
def plant():
    return make_site()


@pytest.mark.parametrize("role", sorted(ROLE_LABELS))
@pytest.mark.parametrize("page", sorted(PAGES))
def test_role_reaches_its_measure_pages_and_gets_403_elsewhere(client, plant, role, page, django_user_model):
    client.force_login(make_person(plant, role, f"u-{role}", django_user_model).user)
    expected = 200 if role in PAGES[page] else 403
    assert client.get(reverse(page)).status_code == expected, f"{role} {page}"


def test_operator_records_through_the_form_with_a_photo(client, plant, django_user_model):
    operator = make_person(plant, "operator", "op", django_user_model)
    measure = make_measure(plant, photo=True)
    client.force_login(operator.user)
    url = reverse("measures:record_create", args=[measure.pk])
    assert "合格率" in client.get(url).content.decode()
    from greenledger.core.demo import tiny_png

    response = client.post(url, {
        "occurred_at": timezone.localtime(minutes_ago(2)).strftime("%Y-%m-%dT%H:%M"), "executor": operator.pk, "p_pass_rate": "99.5",
        "compliant": "true", "photos": SimpleUploadedFile("seal.png", tiny_png()),
    })
    record = ExecutionRecord.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/records/{record.pk}/")
    assert record.values == {"pass_rate": 99.5} and record.entered_by == operator.user
    page = client.get(response["Location"]).content.decode()
    assert "seal.png" in page or "attachments" in page


def test_form_asks_to_confirm_out_of_range_values(client, plant, django_user_model):
    operator = make_person(plant, "operator", "op", django_user_model)
    measure = make_measure(plant)
    client.force_login(operator.user)
    url = reverse("measures:record_create", args=[measure.pk])
    data = {"occurred_at": timezone.localtime(minutes_ago(2)).strftime("%Y-%m-%dT%H:%M"), "executor": operator.pk, "p_pass_rate": "50"}
    response = client.post(url, data)
    assert response.status_code == 200 and response.context["warnings"]
    assert not ExecutionRecord.objects.exists()
    assert client.post(url, {**data, "confirm": "on"}).status_code == 302


def test_shift_leader_approves_a_late_entry_in_the_ui(client, plant, django_user_model):
    operator = make_person(plant, "operator", "op", django_user_model)
    leader = make_person(plant, "shift_leader", "leader", django_user_model)
    record, _, _ = services.record_execution(services.RecordInput(
        measure=make_measure(plant, grace=30), occurred_at=minutes_ago(300), executor=operator,
        entered_by=operator.user, values={"pass_rate": 99}, late_reason="忘记记录"))
    client.force_login(leader.user)
    assert record.pk.hex[:8] in client.get(reverse("measures:approvals")).content.decode().replace("-", "")
    client.post(reverse("measures:decide", args=["late", record.pk]), {"approved": "1", "comment": "属实"})
    record.refresh_from_db()
    assert record.late_state == "approved"
    client.force_login(operator.user)
    response = client.post(reverse("measures:decide", args=["late", record.pk]), {"approved": "0"})
    assert response.status_code == 403


def test_catalogue_round_trips_through_excel(client, plant, django_user_model):
    admin = make_person(plant, "safety_manager", "safety", django_user_model)
    make_measure(plant)
    client.force_login(admin.user)
    export = client.get(reverse("measures:measure_list") + "?export=xlsx")
    wb = load_workbook(io.BytesIO(export.content))
    assert wb.sheetnames == ["措施", "参数"]
    ws = wb["措施"]
    ws.append(["plant", "assembly", "VENT-01", "通风系统变频运行", "Equipment (设备类)", "Reduction and safety", "", "",
               "降低风机能耗", "有害气体浓度 ≤ 0.1 mg/m³", "", "", "SEAL-01", "", "Continuous (hourly status)", "", 60, 15,
               "否", "是"])
    wb["参数"].append(["plant", "VENT-01", "frequency", "运行频率", "Hz", "Number", 25, 35, "是", "Telemetry point",
                      "FAN-01.freq"])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = client.post(reverse("measures:catalogue_import"), {"file": SimpleUploadedFile("c.xlsx", buffer.getvalue())})
    assert response.status_code == 302, response.context and response.context.get("problems")
    vent = Measure.objects.get(code="VENT-01")
    assert vent.schedule == "continuous" and vent.parameters.get().telemetry_point == "FAN-01.freq"

    ws.append(["plant", "nowhere", "BAD-01", "坏行", "Equipment (设备类)", "Safety", "", "", "", "", "", "", "", "",
               "Daily", "", 60, 15, "否", "是"])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = client.post(reverse("measures:catalogue_import"), {"file": SimpleUploadedFile("c.xlsx", buffer.getvalue())})
    assert response.status_code == 200 and response.context["problems"][0][1] == "环节编码"
    assert not Measure.objects.filter(code="BAD-01").exists()


def test_record_list_searches_and_exports(client, plant, django_user_model):
    operator = make_person(plant, "operator", "op", django_user_model)
    measure = make_measure(plant)
    for remark in ("电解液渗漏 已处理", "正常"):
        services.record_execution(services.RecordInput(measure=measure, occurred_at=minutes_ago(5), executor=operator,
                                                       entered_by=operator.user, values={"pass_rate": 99},
                                                       remarks=remark))
    client.force_login(operator.user)
    page = client.get(reverse("measures:record_list"), {"q": "电解液 渗漏"})
    assert len(page.context["rows"]) == 1
    partial = client.get(reverse("measures:record_list"), {"q": "电解液"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and "电解液渗漏" in partial.content.decode()
    export = client.get(reverse("measures:record_list"), {"q": "电解液", "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.values)
    assert len(rows) == 2 and "电解液渗漏" in str(rows[1])
