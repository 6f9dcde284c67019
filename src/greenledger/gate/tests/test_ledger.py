"""The passage ledger: time-window filters to the minute, scope, every ledger field in Excel, PDF of a
window, the exceptions report, usage and transport records, retention and archival, the API."""

import datetime
import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from greenledger.evidence import canonical
from greenledger.evidence.models import AppendOnlyError, Leaf
from greenledger.evidence.services import leaf_of
from greenledger.gate import actions
from greenledger.gate.models import Machine, Passage, PassageAction, TransportRecord, UsageRecord

from .factories import make_gate

pytestmark = pytest.mark.django_db

LEDGER = {"vin": "LFWSRXRJ0K1000123", "engine_model": "CA6DM3", "engine_maker": "一汽解放锡柴",
          "engine_no": "E2400001", "vehicle_type": "重型半挂牵引车", "registration_date": "2021-03-05",
          "brand_model": "解放 J6P", "use_nature": "货运", "network_status": "online", "carrier": "顺达物流"}


def make_passage(site, gate=None, *, at=None, plate="苏D12345", direction="in", decision="pass", stage="5",
                 fuel="diesel", vehicle_class="heavy_truck", alert_level="none", carrier="顺达物流", **extra):
    """A sealed passage written directly (the decision engine is tested elsewhere)."""
    if gate is None:
        gate = make_gate(site)
    lane = gate.lanes.get(direction=direction)
    extra.setdefault("ledger", dict(LEDGER, carrier=carrier))
    return Passage.objects.create(
        site=site, gate=gate, lane=lane, direction=direction, occurred_at=at or timezone.now(), plate=plate,
        plate_color="yellow", vehicle_kind=extra.pop("vehicle_kind", "road"), vehicle_class=vehicle_class, fuel=fuel,
        stage=stage, carrier_name=carrier, alert_level=alert_level, grade="B", decision=decision,
        reason=extra.pop("reason", "国五柴油重型货车，放行"), **extra)


def local(*args):
    return timezone.make_aware(datetime.datetime(*args))


@pytest.fixture(autouse=True)
def english(client, settings):
    """Assertions read the English msgids; the default UI language is Chinese."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def gate(site):
    return make_gate(site)


@pytest.fixture
def env(role_user, site):
    return role_user("environmental_manager", site)


def test_a_ten_minute_window_lists_exactly_the_passages_inside_it(client, site, gate, env):
    for minute, plate in ((4, "苏D10004"), (5, "苏D10005"), (14, "苏D10014"), (15, "苏D10015")):
        make_passage(site, gate, at=local(2025, 1, 10, 8, minute), plate=plate)
    client.force_login(env)
    response = client.get(reverse("gate:passage_list"), {"start": "2025-01-10T08:05", "end": "2025-01-10T08:15"})
    plates = {row["obj"].plate for row in response.context["rows"]}
    assert plates == {"苏D10005", "苏D10014"}


def test_an_unreadable_time_filter_says_so_and_lists_nothing(client, site, gate, env):
    make_passage(site, gate)
    client.force_login(env)
    response = client.get(reverse("gate:passage_list"), {"start": "yesterday-ish"})
    assert response.context["rows"] == [] and response.context["filter"].errors["start"]


def test_ledger_shows_only_the_users_sites(client, site, other_site, gate, role_user):
    make_passage(site, gate, plate="苏D11111")
    make_passage(other_site, make_gate(other_site, code="other"), plate="苏D22222")
    client.force_login(role_user("gate_guard", site))
    plates = {row["obj"].plate for row in client.get(reverse("gate:passage_list")).context["rows"]}
    assert plates == {"苏D11111"}


def test_excel_export_carries_every_ledger_field_and_the_evidence_leaf(client, site, gate, env):
    from django.core.files.base import ContentFile

    from greenledger.core.attachments import attach
    from greenledger.core.demo import tiny_png

    passage = make_passage(site, gate, at=local(2025, 1, 10, 8, 7))
    snapshot = attach(passage, ContentFile(tiny_png(), name="plate.png"), caption="plate")
    client.force_login(env)
    response = client.get(reverse("gate:passage_list"), {"start": "2025-01-10T08:00", "export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert row["VIN"] == LEDGER["vin"] and row["Engine manufacturer"] == "一汽解放锡柴"
    assert row["Gate code"] == gate.code and row["Plate number"] == "苏D12345"
    assert row["Evidence leaf"] == leaf_of(passage).index
    assert row["Snapshots"] == f"plate:/attachments/{snapshot.pk}/"
    for name in ("Cargo", "Cargo weight (t)", "Emission stage", "Networking (OBD) status", "Registration date",
                 "Carrier / fleet", "Handled by", "Dwell time (min)", "Passed at", "Recorded at"):
        assert name in header


def test_pdf_of_a_window_is_a_pdf_and_a_bad_filter_is_refused(client, site, gate, env):
    make_passage(site, gate, at=local(2025, 1, 10, 8, 7))
    client.force_login(env)
    url = reverse("gate:passage_list")
    pdf = client.get(url, {"start": "2025-01-10T08:05", "end": "2025-01-10T08:15", "export": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(url, {"start": "soon", "export": "pdf"}).status_code == 302


def test_detail_shows_the_paired_exit_the_dwell_time_and_the_guard(client, site, gate, env, role_user):
    entry = make_passage(site, gate, at=local(2025, 1, 10, 8, 0), decision="manual", reason="未登记车辆")
    exit_ = make_passage(site, gate, at=local(2025, 1, 10, 9, 30), direction="out", paired_id=entry.pk,
                         dwell_seconds=5400)
    guard = role_user("gate_guard", site, username="guard1")
    actions.manual_release(entry, guard, "送货车辆，已核对随车清单")
    client.force_login(env)
    page = client.get(reverse("gate:passage_detail", args=[exit_.pk])).content.decode()
    assert "90 min" in page and str(entry.pk) in page
    page = client.get(reverse("gate:passage_detail", args=[entry.pk])).content.decode()
    assert "送货车辆，已核对随车清单" in page and "gate_guard person" in page


def test_exceptions_report_lists_manual_releases_with_reason_and_who(client, site, gate, env, role_user):
    passage = make_passage(site, gate, decision="manual", reason="未登记车辆", plate="苏B3K512")
    guard = role_user("gate_guard", site, username="guard1")
    actions.manual_release(passage, guard, "设备厂家售后车辆")
    actions.enter_cargo(passage, guard, "备件", "0.5")
    client.force_login(env)
    response = client.get(reverse("gate:exceptions"))
    rows = response.context["rows"]
    assert len(rows) == 1  # cargo entries are not exceptions
    cells = " ".join(str(c) for c in rows[0]["cells"])
    assert "设备厂家售后车辆" in cells and "guard1" in cells and "苏B3K512" in cells
    sheet = load_workbook(io.BytesIO(client.get(reverse("gate:exceptions"), {"export": "xlsx"}).content)).worksheets[0]
    assert sheet.max_row == 2


def test_passages_and_actions_cannot_be_changed_or_deleted(site, gate, role_user):
    passage = make_passage(site, gate)
    with pytest.raises(AppendOnlyError):
        passage.delete()
    passage.reason = "changed"
    with pytest.raises(AppendOnlyError):
        passage.save()
    action = actions.manual_block(passage, role_user("gate_guard", site), "冲卡")
    with pytest.raises(AppendOnlyError):
        action.delete()


# Usage and transport ----------------------------------------------------------------------------------


def test_usage_record_needs_a_vehicle_or_a_machine_and_is_sealed(client, site, role_user):
    machine = Machine.objects.create(site=site, registration_code="M-1", machine_type="叉车", stage="nr4")
    client.force_login(role_user("operator", site))
    url = reverse("gate:usage_create")
    data = {"site": site.pk, "started_at": "2025-01-10T08:00", "ended_at": "2025-01-10T12:00", "hours": "4"}
    response = client.post(url, data)
    assert response.status_code == 200 and "either an in-plant vehicle or a non-road machine" in response.content.decode()
    assert client.post(url, {**data, "machine": machine.pk}).status_code == 302
    record = UsageRecord.objects.get()
    assert record.machine == machine and leaf_of(record) is not None


def transport_sheet(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(["厂区代码", "开始日期", "结束日期", "方向", "运输方式", "货物", "吨数", "单据"])
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "transport.xlsx"
    return buffer


def test_transport_import_saves_nothing_when_one_row_is_wrong(client, site, env):
    client.force_login(env)
    url = reverse("gate:transport_import")
    bad = transport_sheet([["test-site", "2025-01-01", "2025-01-31", "进厂", "铁路", "煤", 1200],
                           ["test-site", "2025-01-01", "2025-01-31", "进厂", "飞艇", "煤", -5]])
    response = client.post(url, {"file": bad})
    assert response.status_code == 200 and response.context["problems"]
    assert not TransportRecord.objects.exists()
    good = transport_sheet([["test-site", "2025-01-01", "2025-01-31", "进厂", "铁路", "煤", 1200],
                            ["test-site", "2025-01-01", "2025-01-31", "出厂", "公路", "成品", 300]])
    assert client.post(url, {"file": good}).status_code == 302
    assert sorted(TransportRecord.objects.values_list("mode", flat=True)) == ["rail", "road"]


# Retention ------------------------------------------------------------------------------------------------


def test_archive_refuses_a_month_younger_than_24_months(site, gate, tmp_path):
    young = (timezone.localdate() - datetime.timedelta(days=300)).strftime("%Y-%m")
    with pytest.raises(CommandError, match="younger than 24 months"):
        call_command("gate_archive", before=young, output=str(tmp_path / "a.jsonl"))


def test_archive_exports_old_passages_with_their_leaf_and_deletes_nothing(site, gate, tmp_path):
    old = make_passage(site, gate, at=timezone.now() - datetime.timedelta(days=800), plate="苏D80000")
    make_passage(site, gate, plate="苏D10000")
    path = tmp_path / "archive.jsonl"
    before = (timezone.localdate() - datetime.timedelta(days=760)).strftime("%Y-%m")
    call_command("gate_archive", before=before, output=str(path), stdout=io.StringIO())
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["record"]["id"] for line in lines] == [str(old.pk)]
    leaf = Leaf.objects.get(index=lines[0]["leaf"])
    assert hashlib.sha256(b"\x00" + canonical.dumps(lines[0]["record"])).digest() == bytes(leaf.leaf_hash)
    assert Passage.objects.count() == 2


# API ------------------------------------------------------------------------------------------------------


def test_api_filters_passages_by_window_and_refuses_an_unreadable_one(client, site, gate, env):
    make_passage(site, gate, at=local(2025, 1, 10, 8, 7), plate="苏D10007")
    make_passage(site, gate, at=local(2025, 1, 10, 9, 7), plate="苏D10907")
    client.force_login(env)
    rows = client.get("/api/gate/passages", {"start": "2025-01-10T08:00", "end": "2025-01-10T08:10"}).json()
    assert [r["plate"] for r in rows] == ["苏D10007"] and rows[0]["ledger"]["vin"] == LEDGER["vin"]
    bad = client.get("/api/gate/passages", {"start": "later"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "start"


def test_api_release_needs_a_reason_and_records_the_guard(client, site, gate, role_user):
    passage = make_passage(site, gate, decision="manual", reason="未登记车辆")
    client.force_login(role_user("gate_guard", site))
    url = f"/api/gate/passages/{passage.pk}/release"
    refused = client.post(url, {"reason": "  "}, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "reason"
    assert not PassageAction.objects.exists()
    done = client.post(url, {"reason": "临时送货，已核对"}, content_type="application/json")
    assert done.status_code == 201 and done.json()["kind"] == "release"
    assert client.get(f"/api/gate/passages/{passage.pk}").json()["final_decision"] == "pass"


def test_api_actions_refuse_a_passage_of_another_site(client, site, other_site, role_user):
    passage = make_passage(other_site, make_gate(other_site, code="other"), decision="manual")
    client.force_login(role_user("gate_guard", site))
    response = client.post(f"/api/gate/passages/{passage.pk}/block", {"reason": "x"}, content_type="application/json")
    assert response.status_code == 404 and not PassageAction.objects.exists()


# Who reaches what -------------------------------------------------------------------------------------------

PAGES = {
    "gate:passage_list": {"system_admin", "environmental_manager", "shift_leader", "gate_guard", "auditor"},
    "gate:exceptions": {"system_admin", "environmental_manager", "gate_guard", "auditor"},
    "gate:usage_list": {"system_admin", "environmental_manager", "shift_leader", "operator", "auditor"},
    "gate:transport_list": {"system_admin", "environmental_manager", "carbon_manager", "auditor"},
    "gate:statistics": {"environmental_manager", "carbon_manager", "auditor"},
    "gate:evidence_pack": {"environmental_manager", "carbon_manager", "auditor"},
    "gate:console": {"environmental_manager", "gate_guard"},
    "gate:transport_import": {"environmental_manager"},
}
ROLES = ["system_admin", "environmental_manager", "carbon_manager", "safety_manager", "shift_leader", "operator",
         "gate_guard", "contractor", "supplier", "auditor"]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_role_reaches_its_gate_ledger_pages_and_gets_403_elsewhere(client, site, role_user, page):
    for role in ROLES:
        client.force_login(role_user(role, site, username=f"u-{role}"))
        expected = 200 if role in PAGES[page] else 403
        assert client.get(reverse(page)).status_code == expected, role
