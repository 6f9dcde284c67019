"""Compliance check and annual summary: figures against small hand-computed examples, the pages'
permissions, and the Excel and PDF downloads."""

import datetime
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from greenledger.evidence.services import take_checkpoint
from greenledger.measures import services
from greenledger.measures.compliance import MeasureCompliance, annual_summary, compliance_report, summary_text
from greenledger.measures.models import AnomalyEvent, ContractorAssignment, MissedExecution

from .factories import make_measure, make_person, make_site
from .factories_schedule import at, record_at

pytestmark = pytest.mark.django_db

DAY1, DAY2 = datetime.date(2024, 10, 14), datetime.date(2024, 10, 15)
LATER = at("2024-10-20")


@pytest.fixture
def plant():
    return make_site()


@pytest.fixture
def operator(plant, django_user_model):
    return make_person(plant, "operator", "op", django_user_model)


@pytest.fixture
def leader(plant, django_user_model):
    return make_person(plant, "shift_leader", "leader", django_user_model)


@pytest.fixture
def seal_test(plant):
    """A per-shift safety inspection: with the default shifts 00:00, 08:00, 16:00 it is due 3 times a day."""
    return make_measure(plant, code="SEAL-TEST", schedule="per_shift", params=False)


def two_days_of_shifts(measure, operator, leader):
    """Six due slots over DAY1-DAY2; five hold a counting record.

    14 00:00 on time · 14 08:00 corrected (the superseded original does not count twice) ·
    14 16:00 late, approved · 15 00:00 late, rejected (does not count; the scheduler recorded a miss) ·
    15 08:00 on time · 15 16:00 on time, twice (one slot).
    """
    late = datetime.timedelta(hours=4)
    record_at(measure, operator, at(DAY1, 0, 10))
    original = record_at(measure, operator, at(DAY1, 8, 5))
    record_at(measure, operator, at(DAY1, 8, 5), corrects=original, correction_reason="录入错误")
    approved = record_at(measure, operator, at(DAY1, 16, 10), entered_after=late, late_reason="网络中断")
    services.decide_late_entry(approved, True, leader.user)
    rejected = record_at(measure, operator, at(DAY2, 0, 10), entered_after=late, late_reason="忘记了")
    services.decide_late_entry(rejected, False, leader.user)
    MissedExecution(measure=measure, due_at=at(DAY2, 0), window_end=at(DAY2, 1)).save()
    record_at(measure, operator, at(DAY2, 8, 2))
    record_at(measure, operator, at(DAY2, 16, 3))
    record_at(measure, operator, at(DAY2, 16, 30))


def row_of(report, measure):
    return next(r for r in report.rows if r.measure.pk == measure.pk)


# Figures ------------------------------------------------------------------------------------------


def test_per_shift_rate_counts_one_record_per_due_slot(plant, seal_test, operator, leader):
    two_days_of_shifts(seal_test, operator, leader)
    row = row_of(compliance_report(plant, DAY1, DAY2, now=LATER), seal_test)
    assert (row.expected, row.counted, row.rate) == (6, 5, 83.3)
    assert (row.records, row.late, row.late_pending, row.missed) == (7, 2, 0, 1)
    assert row.inspection_met is False and row.below_target and not row.no_records


def test_slots_still_inside_their_window_are_not_judged_yet(plant, seal_test, operator, leader):
    two_days_of_shifts(seal_test, operator, leader)
    # at 15 16:30 the 16:00 slot is open: four judged slots before it, three of them counted
    row = row_of(compliance_report(plant, DAY1, DAY2, now=at(DAY2, 16, 30)), seal_test)
    assert (row.expected, row.counted) == (5, 4)


def test_uneven_slots_are_counted_by_the_window_each_record_falls_in(plant, operator):
    # every 5 hours restarts at midnight: 00, 05, 10, 15, 20; a slot accepts records from an hour before
    measure = make_measure(plant, code="FIVE", schedule="every_n_hours", interval_hours=5, params=False)
    for hour, minute in ((0, 10), (4, 30), (5, 20), (15, 5), (23, 30)):
        record_at(measure, operator, at(DAY1, hour, minute))
    row = row_of(compliance_report(plant, DAY1, DAY1, now=LATER), measure)
    # 04:30 and 05:20 fill the same 05:00 slot; 23:30 is early for the next day's 00:00 slot
    assert (row.expected, row.counted, row.records) == (5, 3, 5)


def test_expectation_starts_when_the_measure_came_into_force(plant, operator):
    measure = make_measure(plant, code="NEW", schedule="daily", params=False, started_on=DAY2)
    record_at(measure, operator, at(DAY2, 9, 5))
    row = row_of(compliance_report(plant, DAY1, DAY2, now=LATER), measure)
    assert (row.expected, row.counted, row.rate) == (1, 1, 100.0)
    assert row.inspection_met is True


def test_a_rejected_contractor_record_does_not_count(plant, operator, leader, django_user_model):
    measure = make_measure(plant, code="WELD", schedule="daily", params=False)
    contractor = make_person(plant, "contractor", "c1", django_user_model)
    assignment = ContractorAssignment.objects.create(user=contractor.user, company_contact=leader,
                                                     valid_from=at(DAY1), valid_to=LATER)
    assignment.measures.add(measure)
    confirmed = record_at(measure, contractor, at(DAY1, 9, 5))
    rejected = record_at(measure, contractor, at(DAY2, 9, 5))
    services.confirm_contractor_record(confirmed, True, leader.user)
    services.confirm_contractor_record(rejected, False, leader.user)
    row = row_of(compliance_report(plant, DAY1, DAY2, now=LATER), measure)
    assert (row.expected, row.counted, row.records) == (2, 1, 2)


def test_unscheduled_measures_show_counts_without_expectation(plant, operator):
    measure = make_measure(plant, code="BATCH", schedule="per_batch", params=False)
    idle = make_measure(plant, code="DRILL", schedule="on_event", params=False)
    record_at(measure, operator, at(DAY1, 10), batch_no="LC20241014")
    record_at(measure, operator, at(DAY1, 14), batch_no="LC20241015")
    report = compliance_report(plant, DAY1, DAY2, now=LATER)
    row = row_of(report, measure)
    assert (row.expected, row.counted, row.rate, row.inspection_met) == (None, 2, None, None)
    assert row_of(report, idle).no_records and not row.no_records
    assert report.summary["no_records"] == 1


def test_anomalies_closed_within_their_deadline(plant, seal_test, leader):
    def anomaly(hour, deadline_hour, closed_hour=None):
        item, _ = services.report_anomaly(measure=seal_test, occurred_at=at(DAY1, hour), symptom="密封不良",
                                          deadline=at(DAY1, deadline_hour))
        if closed_hour is not None:
            services.anomaly_event(item, AnomalyEvent.Kind.CLOSED, leader.user, corrective_action="更换密封圈",
                                   at=at(DAY1, closed_hour))

    anomaly(10, 18, closed_hour=12)  # in time
    anomaly(10, 12, closed_hour=20)  # closed, but late
    anomaly(11, 23)  # still open
    report = compliance_report(plant, DAY1, DAY2, now=LATER)
    row = row_of(report, seal_test)
    assert (row.anomalies, row.anomalies_closed, row.anomalies_open) == (3, 2, 1)
    assert row.anomalies_closed_in_time == 1
    assert report.summary["anomalies_closed_in_time"] == 1 and report.summary["anomalies_open"] == 1


def hours_of_a_continuous_measure(plant, user):
    """DAY1: 16 h running, 2 stopped, 2 maintenance, 4 without status; hour 5 was corrected once."""
    measure = make_measure(plant, code="VOC-RTO", name="RTO 废气处理", schedule="continuous", params=False,
                           measure_type="equipment")
    plan = ["running"] * 16 + ["stopped"] * 2 + ["maintenance"] * 2
    for hour, status in enumerate(plan):
        if hour == 5:
            services.record_hourly_status(measure, at(DAY1, hour), "stopped", user=user)
        services.record_hourly_status(measure, at(DAY1, hour), status, user=user)
    return measure


def test_continuous_measure_hourly_coverage_and_hours_by_status(plant, operator):
    measure = hours_of_a_continuous_measure(plant, operator.user)
    row = row_of(compliance_report(plant, DAY1, DAY1, now=LATER), measure)
    assert (row.hours, row.hours_covered, row.coverage) == (24, 20, 83.3)
    assert (row.hours_in("running"), row.hours_in("stopped"), row.hours_in("maintenance")) == (16, 2, 2)
    assert row.expected is None and not row.no_records


def test_coverage_counts_only_hours_that_have_passed(plant, operator):
    measure = hours_of_a_continuous_measure(plant, operator.user)
    row = row_of(compliance_report(plant, DAY1, DAY1, now=at(DAY1, 10, 30)), measure)
    assert (row.hours, row.hours_covered, row.coverage) == (10, 10, 100.0)


# Annual summary ------------------------------------------------------------------------------------


def test_annual_summary_sentences(plant, seal_test, operator, leader):
    furnace = hours_of_a_continuous_measure(plant, operator.user)
    for hour in (3, 4):
        item, _ = services.report_anomaly(measure=furnace, occurred_at=at(DAY1, hour), symptom="风机跳闸停机")
        services.anomaly_event(item, AnomalyEvent.Kind.CLOSED, leader.user, corrective_action="复位风机",
                               at=at(DAY1, hour + 1))
    seal_test.started_on = DAY1
    seal_test.save()
    two_days_of_shifts(seal_test, operator, leader)
    with translation.override("en"):
        summary = annual_summary(plant, 2024, now=at("2024-10-16", 0, 30))
    texts = {line.measure.code: line.text for line in summary.lines}
    assert texts["VOC-RTO"] == "Running 16 h, 2 abnormal stops, all handled"
    assert texts["SEAL-TEST"] == "Executed 5 of 6 times (83.3 %), no anomalies"


def test_summary_text_of_a_full_year(plant):
    measure = make_measure(plant, code="GLASS-WHR", schedule="continuous", params=False)
    row = MeasureCompliance(measure=measure, hours=8760, hours_by_status={"running": 8760}, anomalies=2,
                            anomalies_closed=1)
    with translation.override("en"):
        assert summary_text(row) == "Running 8,760 h, 2 abnormal stops, 1 not closed yet"


# Pages and files ----------------------------------------------------------------------------------


PAGES = ["measures:compliance", "measures:annual_summary", "measures:dashboard"]


@pytest.mark.parametrize("page", PAGES)
def test_pages_open_for_a_shift_leader(client, plant, seal_test, operator, leader, page):
    two_days_of_shifts(seal_test, operator, leader)
    client.force_login(leader.user)
    response = client.get(reverse(page), {"site": plant.code})
    assert response.status_code == 200
    assert seal_test.name.encode() in response.content or page == "measures:dashboard"


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_forbidden_to_suppliers_and_contractors(client, plant, role_user, page):
    for role in ("supplier", "contractor"):
        client.force_login(role_user(role, plant, username=f"u-{role}-{page}"))
        assert client.get(reverse(page)).status_code == 403


def test_a_site_outside_the_scope_is_forbidden(client, plant, leader, other_site):
    client.force_login(leader.user)
    assert client.get(reverse("measures:compliance"), {"site": other_site.code}).status_code == 403


def test_compliance_page_shows_the_figures_for_the_period(client, plant, seal_test, operator, leader):
    two_days_of_shifts(seal_test, operator, leader)
    client.force_login(leader.user)
    response = client.get(reverse("measures:compliance"),
                          {"site": plant.code, "start": DAY1.isoformat(), "end": DAY2.isoformat()})
    row = row_of(response.context["report"], seal_test)
    assert (row.expected, row.counted) == (6, 5)
    assert b"83.3&nbsp;%" in response.content


def test_a_bad_period_falls_back_to_the_month_with_a_message(client, plant, leader):
    client.force_login(leader.user)
    response = client.get(reverse("measures:compliance"), {"start": "2024-10-20", "end": "2024-10-01"})
    assert response.status_code == 200 and response.context["error"]


def test_excel_report_has_measures_and_provenance(client, plant, seal_test, operator, leader):
    two_days_of_shifts(seal_test, operator, leader)
    checkpoint, _ = take_checkpoint()
    client.force_login(leader.user)
    response = client.get(reverse("measures:compliance"), {"site": plant.code, "start": DAY1.isoformat(),
                                                           "end": DAY2.isoformat(), "export": "xlsx"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    workbook = load_workbook(BytesIO(response.content))
    measures, about = workbook.worksheets
    assert measures.max_row == 2 and "封装密封性检测" in [c.value for c in measures[2]]
    facts = [c.value for row in about.iter_rows() for c in row]
    assert checkpoint.root_hash in facts and checkpoint.tree_size in facts
    assert "2024-10-14 – 2024-10-15" in facts


def test_pdf_report_renders_with_the_built_in_chinese_font(client, plant, seal_test, operator, leader):
    two_days_of_shifts(seal_test, operator, leader)
    take_checkpoint()
    client.force_login(leader.user)
    response = client.get(reverse("measures:compliance"), {"site": plant.code, "export": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and b"STSong-Light" in response.content


def test_annual_summary_excel_download(client, plant, seal_test, leader):
    client.force_login(leader.user)
    response = client.get(reverse("measures:annual_summary"),
                          {"site": plant.code, "year": 2024, "export": "xlsx"})
    workbook = load_workbook(BytesIO(response.content))
    assert [ws.max_row for ws in workbook.worksheets][0] == 2


def test_dashboard_counts_waiting_late_entries_and_open_anomalies(client, plant, seal_test, operator, leader):
    record_at(seal_test, operator, at(DAY1, 0, 10), entered_after=datetime.timedelta(hours=3),
              late_reason="补录")
    services.report_anomaly(measure=seal_test, occurred_at=at(DAY1, 3), symptom="密封不良")
    client.force_login(leader.user)
    response = client.get(reverse("measures:dashboard"))
    assert response.context["late_waiting"] == 1 and response.context["open_anomaly_count"] == 1
    assert len(response.context["chart"]["days"]) == 30
