"""Pages: point list (scope, Excel), point detail with chart and gaps, quality, intake errors,
upload of hand-read meters (Chinese headers, per-row problems, nothing lost), energy dashboard;
and who may see or do what."""

import csv
import datetime
import io
import json

import pytest
from openpyxl import Workbook, load_workbook

from greenledger.telemetry import services
from greenledger.telemetry.models import IntakeError, Reading

from .factories import make_point, recent

pytestmark = pytest.mark.django_db


@pytest.fixture
def points(site):
    freq = make_point(site)
    meter = make_point(site, code="E-assembly", quantity="electricity", cumulative=True, interval=900)
    pv = make_point(site, code="PV-01.gen", quantity="electricity", cumulative=True, interval=900, generation=True)
    services.ingest([(freq, recent(m), 30.0) for m in range(120, 0, -1) if not 40 < m < 70], "mqtt")
    services.ingest([(meter, recent(15 * q), 1000.0 + 50 * (8 - q)) for q in range(8, 0, -1)], "mqtt")
    services.ingest([(pv, recent(15 * q), 500.0 + 10 * (8 - q)) for q in range(8, 0, -1)], "mqtt")
    return freq, meter, pv


def test_point_list_is_scoped_and_exports(client, site, other_site, points, role_user):
    make_point(other_site, code="X-01.freq")
    client.force_login(role_user("operator", site))
    page = client.get("/telemetry/").content.decode()
    assert "FAN-01.freq" in page and "X-01.freq" not in page
    export = client.get("/telemetry/?export=xlsx")
    rows = list(load_workbook(io.BytesIO(export.content)).active.values)
    assert len(rows) == 4 and rows[1][0] == "E-assembly"


def test_point_detail_chart_picks_resolution_and_shades_gaps(client, site, points, role_user):
    freq, meter, _pv = points
    client.force_login(role_user("auditor", site))
    response = client.get(f"/telemetry/points/{freq.pk}/")
    assert response.status_code == 200
    data = json.loads(response.context["chart_json"])
    assert response.context["resolution"] == "raw" and len(data["points"]) == 120 - 29
    assert len(data["gaps"]) == 1 and data["gaps"][0][2] is False
    assert "gaps" in response.content.decode()
    month = client.get(f"/telemetry/points/{meter.pk}/?period=180d")
    assert month.context["resolution"] == "hour"
    year = client.get(f"/telemetry/points/{meter.pk}/?period=365d")
    assert year.context["resolution"] == "day"
    week = client.get(f"/telemetry/points/{meter.pk}/?period=7d")
    assert week.context["resolution"] == "15m"
    assert [v for _t, v in json.loads(week.context["chart_json"])["points"]][-1] == 50.0


def test_quality_page_lists_completeness(client, site, points, role_user):
    client.force_login(role_user("environmental_manager", site))
    response = client.get("/telemetry/quality/?period=1d")
    rows = {r["point"].code: r for r in response.context["rows"]}
    assert rows["FAN-01.freq"]["received"] == 91 and rows["FAN-01.freq"]["open_gaps"] == 1
    assert rows["FAN-01.freq"]["expected"] == 1440
    assert not rows["E-assembly"]["stale"]
    problems = client.get("/telemetry/quality/?period=1d&problems=1").context["rows"]
    assert "FAN-01.freq" in [r["point"].code for r in problems]


def test_intake_errors_page_shows_raw_payloads(client, site, role_user):
    services.ingest([{"point": "NOPE", "ts": recent(1).isoformat(), "v": 1}], "http", site=site)
    client.force_login(role_user("auditor", site))
    page = client.get("/telemetry/errors/").content.decode()
    assert "unknown_point" in page and "NOPE" in page


def xlsx(rows, headers=("点位", "时间", "读数")):
    wb = Workbook()
    wb.active.append(list(headers))
    for row in rows:
        wb.active.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    buffer.name = "抄表.xlsx"
    return buffer


def test_upload_hand_read_meters(client, site, role_user):
    meter = make_point(site, code="BLR-01.gas", quantity="natural_gas", cumulative=True, interval=86400)
    client.force_login(role_user("carbon_manager", site))
    template = client.get("/telemetry/upload/?template=1")
    assert list(load_workbook(io.BytesIO(template.content)).active.values)[0] == ("点位", "时间", "读数")
    when = datetime.datetime(2026, 3, 1, 8, 0)
    rows = [("BLR-01.gas", when, 1000), ("BLR-01.gas", "2026-03-02 08:00", "1100.5"), ("NOPE", when, 1),
            ("BLR-01.gas", "not a time", 5)]
    response = client.post("/telemetry/upload/", {"site": site.pk, "file": xlsx(rows)})
    assert response.context["result"].stored == 2
    assert response.context["problems"] == [(4, "点位", response.context["problems"][0][2]),
                                            (5, "时间", response.context["problems"][1][2])]
    assert Reading.objects.filter(point=meter).count() == 2
    assert IntakeError.objects.filter(source="csv").count() == 2
    # the fixed file again: the good rows are duplicates, nothing is stored twice
    again = client.post("/telemetry/upload/", {"site": site.pk, "file": xlsx(rows[:2])})
    assert again.context["result"].duplicates == 2 and Reading.objects.count() == 2


def test_upload_csv_with_english_headers(client, site, role_user):
    make_point(site, code="W-01", quantity="water", interval=86400)
    client.force_login(role_user("system_admin", site))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerows([["point", "time", "value"], ["W-01", "2026-03-01 08:00", "12.5"]])
    upload = io.BytesIO(text.getvalue().encode("utf-8-sig"))
    upload.name = "meters.csv"
    response = client.post("/telemetry/upload/", {"site": site.pk, "file": upload})
    assert response.context["result"].stored == 1


def test_upload_missing_column_is_a_clear_problem(client, site, role_user):
    client.force_login(role_user("carbon_manager", site))
    response = client.post("/telemetry/upload/", {"site": site.pk, "file": xlsx([], headers=("点位", "读数"))})
    assert response.context["problems"][0][1] == "时间"


def test_operators_see_but_may_not_upload(client, site, role_user):
    client.force_login(role_user("operator", site))
    assert client.get("/telemetry/upload/").status_code == 200
    assert client.post("/telemetry/upload/", {"site": site.pk, "file": xlsx([])}).status_code == 403


@pytest.mark.parametrize("role", ["contractor", "supplier"])
def test_contractors_and_suppliers_see_no_telemetry(client, site, points, role_user, role):
    client.force_login(role_user(role, site))
    for url in ("/telemetry/", f"/telemetry/points/{points[0].pk}/", "/telemetry/quality/", "/telemetry/errors/",
                "/telemetry/energy/", "/telemetry/upload/"):
        assert client.get(url).status_code == 403, url


def test_points_of_another_site_are_not_found(client, site, other_site, role_user):
    foreign = make_point(other_site, code="X-01.freq")
    client.force_login(role_user("carbon_manager", site))
    assert client.get(f"/telemetry/points/{foreign.pk}/").status_code == 404


def test_energy_dashboard_live_power_and_self_sufficiency(client, site, points, role_user):
    client.force_login(role_user("carbon_manager", site))
    response = client.get(f"/telemetry/energy/?site={site.code}")
    assert response.status_code == 200
    live = response.context["live"]
    assert live["total"] == pytest.approx(200.0) and live["generation"] == pytest.approx(40.0)
    assert response.context["today"]["share"] is not None or response.context["today"]["consumption"] == 0
    assert 'hx-trigger="every 10s"' in response.content.decode()
    fragment = client.get(f"/telemetry/energy/live/?site={site.code}")
    assert "200 kW" in fragment.content.decode()


def test_dashboard_panel(client, site, points, role_user):
    client.force_login(role_user("carbon_manager", site))
    response = client.get(f"/dashboard/?site={site.code}")
    [panel] = [p for p in response.context["panels"] if "/telemetry/" in p["link"]]
    assert [value for _label, value, _link in panel["figures"]] == [3, 0, 1, 0]
    client.force_login(role_user("contractor", site, username="c2"))
    assert not any("/telemetry/" in p["link"] for p in client.get("/dashboard/").context["panels"]) \
        if client.get("/dashboard/").status_code == 200 else True
