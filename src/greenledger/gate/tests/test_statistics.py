"""Gate statistics: per-day counts, stage and clean shares, clean transport, carriers, alert days vs normal
days, dwell and waiting time; the page with its Excel and PDF."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from greenledger.gate import actions
from greenledger.gate.models import TransportRecord
from greenledger.gate.statistics import gate_statistics

from .factories import make_gate
from .test_ledger import make_passage

pytestmark = pytest.mark.django_db

DAY1, DAY2, DAY3 = datetime.date(2025, 1, 10), datetime.date(2025, 1, 11), datetime.date(2025, 1, 12)


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def plant(site, role_user):
    """Day 1 normal, day 2 orange (a 国四 truck blocked then released by hand), day 3 normal."""
    gate = make_gate(site)
    guard = role_user("gate_guard", site)
    make_passage(site, gate, at=at(DAY1, 8), stage="4", carrier="甲车队")
    make_passage(site, gate, at=at(DAY1, 9), stage="5", carrier="甲车队")
    make_passage(site, gate, at=at(DAY1, 10), stage="ev", fuel="electric", carrier="乙车队")
    make_passage(site, gate, at=at(DAY1, 11), stage="6", fuel="gas", carrier="乙车队", direction="out",
                 dwell_seconds=3600)
    make_passage(site, gate, at=at(DAY1, 12), stage="6", vehicle_class="car", carrier="", direction="out",
                 dwell_seconds=1800)
    blocked = make_passage(site, gate, at=at(DAY2, 8), stage="4", decision="block", alert_level="orange",
                           carrier="甲车队")
    actions.manual_release(blocked, guard, "消防演练车辆", occurred_at=at(DAY2, 8, 4))
    make_passage(site, gate, at=at(DAY2, 9), stage="6", alert_level="orange", carrier="乙车队")
    make_passage(site, gate, at=at(DAY2, 10), stage="4", decision="block", alert_level="orange", carrier="甲车队")
    make_passage(site, gate, at=at(DAY3, 8), stage="4", carrier="甲车队")
    manual = make_passage(site, gate, at=at(DAY3, 9), stage="unknown", decision="manual", carrier="",
                          vehicle_class="unknown")
    actions.manual_block(manual, guard, "无随车清单", occurred_at=at(DAY3, 9, 10))
    TransportRecord.objects.create(site=site, period_start=DAY1, period_end=DAY3, direction="in", mode="rail",
                                   cargo_name="煤", tonnes=Decimal("800"))
    TransportRecord.objects.create(site=site, period_start=DAY1, period_end=DAY3, direction="in", mode="road",
                                   cargo_name="铝箔", tonnes=Decimal("200"))
    TransportRecord.objects.create(site=site, period_start=DAY1 - datetime.timedelta(days=40),
                                   period_end=DAY1 - datetime.timedelta(days=10), direction="in", mode="road",
                                   cargo_name="不在期内", tonnes=Decimal("9999"))
    return site


def test_per_day_counts_entries_exits_blocked_and_handled(plant):
    s = gate_statistics(plant, DAY1, DAY3)
    assert [(d.entries, d.exits, d.blocked, d.manual) for d in s.days] == [(3, 2, 0, 0), (3, 0, 1, 1), (2, 0, 1, 1)]
    assert s.total == 10


def test_shares_of_clean_stages_and_new_energy(plant):
    s = gate_statistics(plant, DAY1, DAY3)
    # 国五+/NEV: 5, ev, 6 gas, 6 car, 6 (orange day) = 5 of 10
    assert s.compliant_share == Decimal("50.0") and s.nev_share == Decimal("10.0")
    # heavy trucks: 8 passages, 4 of them 国五+/NEV
    assert s.heavy_total == 8 and s.heavy_compliant_share == Decimal("50.0")
    assert dict((code, n) for code, _label, n, _pct in s.stages) == {"4": 4, "5": 1, "6": 3, "ev": 1, "unknown": 1}


def test_clean_transport_share_counts_tonnes_in_the_period_only(plant):
    s = gate_statistics(plant, DAY1, DAY3)
    assert s.clean_share == Decimal("80.0")
    assert {mode: tonnes for mode, _label, tonnes, _clean in s.transport} == {"rail": 800, "road": 200}


def test_carriers_compliance_and_blocks(plant):
    rows = {c.name: c for c in gate_statistics(plant, DAY1, DAY3).carriers}
    assert (rows["甲车队"].passages, rows["甲车队"].compliant, rows["甲车队"].blocked) == (5, 1, 1)
    assert rows["乙车队"].compliant_share == Decimal("100.0")


def test_alert_days_against_normal_days(plant):
    s = gate_statistics(plant, DAY1, DAY3)
    assert [d.level for d in s.alert_days] == ["none", "orange", "none"]
    summary = s.alert_summary
    assert (summary["alert_days"], summary["normal_days"]) == (1, 2)
    # heavy-truck entries: day1 3 (4, 5, ev), day2 3 (4, 6, 4), day3 1 (4)
    assert summary["alert_mean"] == 3 and summary["normal_mean"] == 2
    assert summary["alert_old_mean"] == 2 and summary["normal_old_mean"] == 1


def test_manual_actions_reasons_dwell_and_waiting(plant):
    s = gate_statistics(plant, DAY1, DAY3)
    assert s.actions == {"release": 1, "block": 1}
    assert sorted(reason for _kind, reason, _n in s.reasons) == ["无随车清单", "消防演练车辆"]
    assert s.dwell == {"count": 2, "mean": 45.0, "median": 30.0, "p90": 60.0}  # median: the lower middle
    assert (s.waiting["count"], s.waiting["mean"]) == (1, 10.0)  # only the manual-check passage waited


def test_statistics_page_with_excel_and_pdf(client, plant, role_user, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(role_user("environmental_manager", plant))
    query = {"site": plant.code, "start": DAY1.isoformat(), "end": DAY3.isoformat()}
    page = client.get(reverse("gate:statistics"), query)
    assert page.status_code == 200 and page.context["s"].total == 10 and "消防演练车辆" in page.content.decode()
    book = load_workbook(io.BytesIO(client.get(reverse("gate:statistics"), {**query, "export": "xlsx"}).content))
    assert {"Report", "Per day", "Carriers", "Alert days"} <= set(book.sheetnames)
    assert client.get(reverse("gate:statistics"), {**query, "export": "pdf"}).content.startswith(b"%PDF")
    assert client.get(reverse("gate:statistics"), {"start": "2025-02-30"}).context["error"]


def test_statistics_of_a_site_outside_the_scope_are_refused(client, site, other_site, role_user):
    client.force_login(role_user("environmental_manager", site))
    assert client.get(reverse("gate:statistics"), {"site": other_site.code}).status_code == 403
