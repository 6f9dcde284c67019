"""Recording executions: idempotent intake, append-only, corrections, late entries, contractors,
plausibility, anomalies and hourly status."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from greenledger.evidence.models import AppendOnlyError, Leaf
from greenledger.evidence.verification import verify_log
from greenledger.measures import services
from greenledger.measures.models import (
    Anomaly, ApprovalState, ContractorAssignment, ExecutionRecord, HourlyStatus, ReviewFlag,
)

from .factories import make_measure, make_person, make_site, minutes_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant():
    return make_site()


@pytest.fixture
def operator(plant, django_user_model):
    return make_person(plant, "operator", "op", django_user_model)


def entry(measure, operator, **kw):
    return services.RecordInput(measure=measure, executor=operator, entered_by=operator.user,
                                occurred_at=kw.pop("occurred_at", minutes_ago(5)), **kw)


def test_same_client_id_twice_stores_one_record(plant, operator):
    measure = make_measure(plant)
    client_id = uuid.uuid4()
    first, created, _ = services.record_execution(entry(measure, operator, client_id=client_id,
                                                        values={"pass_rate": 99.5}))
    again, created_again, _ = services.record_execution(entry(measure, operator, client_id=client_id,
                                                              values={"pass_rate": 12}))
    assert created and not created_again
    assert again.pk == first.pk and again.values == {"pass_rate": 99.5}
    assert ExecutionRecord.objects.count() == 1
    assert Leaf.objects.filter(table="measures.executionrecord", record_id=str(client_id)).count() == 1


def test_records_are_append_only_and_sealed(plant, operator):
    record, _, _ = services.record_execution(entry(measure := make_measure(plant), operator,
                                                   values={"pass_rate": 99}))
    record.remarks = "改一下"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    # derived columns may change without touching the seal
    services.report_anomaly(measure=measure, record=record, occurred_at=record.occurred_at, symptom="2 个电芯未通过")
    assert verify_log().ok


def test_correction_points_to_the_old_record_with_reason(plant, operator):
    measure = make_measure(plant)
    old, _, _ = services.record_execution(entry(measure, operator, values={"pass_rate": 96}))
    new, _, _ = services.record_execution(entry(measure, operator, values={"pass_rate": 98},
                                                corrects=old, correction_reason="录入错误"))
    old.refresh_from_db()
    assert new.corrects == old and old.superseded and not new.superseded
    with pytest.raises(ValidationError):
        services.record_execution(entry(measure, operator, values={"pass_rate": 98}, corrects=old))


def test_missing_required_value_names_the_field(plant, operator):
    with pytest.raises(ValidationError) as caught:
        services.record_execution(entry(make_measure(plant), operator, values={}))
    assert "values.pass_rate" in caught.value.error_dict


def test_out_of_range_value_needs_confirmation_then_is_flagged(plant, operator):
    measure = make_measure(plant)
    with pytest.raises(services.NeedsConfirmation) as caught:
        services.record_execution(entry(measure, operator, values={"pass_rate": 90}))
    assert caught.value.warnings[0]["field"] == "values.pass_rate"
    assert not ExecutionRecord.objects.exists()
    record, _, warnings = services.record_execution(entry(measure, operator, values={"pass_rate": 90},
                                                          confirmed=True))
    assert record.compliant is False and warnings
    assert ReviewFlag.objects.get(record=record).kind == "out_of_range"


def test_late_entry_needs_reason_and_counts_only_after_approval(plant, operator, django_user_model):
    measure = make_measure(plant, grace=30)
    leader = make_person(plant, "shift_leader", "leader", django_user_model)
    with pytest.raises(ValidationError) as caught:
        services.record_execution(entry(measure, operator, occurred_at=minutes_ago(120), values={"pass_rate": 99}))
    assert "late_reason" in caught.value.error_dict
    record, _, _ = services.record_execution(entry(measure, operator, occurred_at=minutes_ago(120),
                                                   values={"pass_rate": 99}, late_reason="下班后补录"))
    assert record.is_late and record.late_state == ApprovalState.PENDING and not record.counts
    assert leader.user.notifications.count() == 1
    services.decide_late_entry(record, True, leader.user, "情况属实")
    record.refresh_from_db()
    assert record.late_state == ApprovalState.APPROVED and record.counts
    assert Leaf.objects.filter(table="measures.lateentrydecision").count() == 1


def test_offline_record_entered_on_time_is_not_late(plant, operator):
    measure = make_measure(plant, grace=30)
    occurred = minutes_ago(180)
    record, _, _ = services.record_execution(entry(measure, operator, occurred_at=occurred, values={"pass_rate": 99},
                                                   entered_at=occurred + datetime.timedelta(minutes=2),
                                                   source="offline"))
    assert not record.is_late


def test_contractor_records_only_bound_measures_inside_window(plant, django_user_model):
    measure = make_measure(plant)
    other = make_measure(plant, code="OTHER", name="其他措施")
    contractor = make_person(plant, "contractor", "ctr", django_user_model)
    contact = make_person(plant, "shift_leader", "contact", django_user_model)
    assignment = ContractorAssignment.objects.create(
        user=contractor.user, company_contact=contact, valid_from=timezone.now() - datetime.timedelta(hours=2),
        valid_to=timezone.now() + datetime.timedelta(hours=2))
    assignment.measures.add(measure)
    record, _, _ = services.record_execution(entry(measure, contractor, values={"pass_rate": 99}))
    assert record.outsourced and record.confirmation_state == ApprovalState.PENDING
    assert contact.user.notifications.exists()
    with pytest.raises(PermissionDenied):
        services.record_execution(entry(other, contractor, values={"pass_rate": 99}))
    with pytest.raises(PermissionDenied):
        services.record_execution(entry(measure, contractor, values={"pass_rate": 99},
                                        occurred_at=timezone.now() - datetime.timedelta(hours=5),
                                        late_reason="x"))
    someone_else = make_person(plant, "shift_leader", "other-leader", django_user_model)
    with pytest.raises(PermissionDenied):
        services.confirm_contractor_record(record, True, someone_else.user)
    services.confirm_contractor_record(record, True, contact.user)
    record.refresh_from_db()
    assert record.confirmation_state == ApprovalState.APPROVED


def test_anomaly_lifecycle_open_handling_closed(plant, operator, django_user_model):
    measure = make_measure(plant)
    anomaly, _ = services.report_anomaly(measure=measure, occurred_at=minutes_ago(50), symptom="蒸汽压力骤降",
                                         extra_quantity=50, extra_unit="m³", extra_activity="天然气",
                                         extra_co2_kg="108.6")
    leader = make_person(plant, "shift_leader", "leader2", django_user_model)
    with pytest.raises(ValidationError):
        services.anomaly_event(anomaly, "closed", leader.user)  # closing needs a corrective action
    services.anomaly_event(anomaly, "handling", leader.user, text="联系维修", owner=leader)
    services.anomaly_event(anomaly, "closed", leader.user, text="11:10 修复", corrective_action="更换压力阀")
    anomaly.refresh_from_db()
    assert anomaly.state == "closed" and anomaly.closed_at and anomaly.owner == leader
    assert anomaly.events.count() == 2
    with pytest.raises(ValidationError):
        services.anomaly_event(anomaly, "handling", leader.user)


def test_hourly_maintenance_needs_approval_and_later_row_supersedes(plant, operator, django_user_model):
    measure = make_measure(plant, schedule="continuous", params=False, measure_type="equipment")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    first, _ = services.record_hourly_status(measure, hour, "running")
    second, _ = services.record_hourly_status(measure, hour, "maintenance", note="更换滤芯")
    first.refresh_from_db()
    assert first.superseded and second.approval_state == ApprovalState.PENDING
    leader = make_person(plant, "shift_leader", "leader3", django_user_model)
    services.decide_maintenance(second, True, leader.user)
    assert HourlyStatus.objects.get(pk=second.pk).approval_state == ApprovalState.APPROVED


def test_one_tap_completion_fills_time_and_executor(plant, operator):
    measure = make_measure(plant, params=False, measure_type="operation", name="通风系统变频运行确认")
    record, created, _ = services.one_tap(measure, operator.user)
    assert created and record.executor == operator and record.source == "one_tap"
    assert record.occurred_at.second == 0


def test_sensor_bound_value_is_filled_and_a_contradiction_needs_confirmation(plant, operator):
    from greenledger.telemetry.models import MeasuringPoint
    from greenledger.telemetry.services import ingest

    measure = make_measure(plant)
    measure.parameters.filter(code="pressure").update(source="telemetry", telemetry_point="LEAK-01.pressure")
    MeasuringPoint.objects.create(site=plant, code="LEAK-01.pressure", name="检测压力", quantity="pressure",
                                  unit="kPa", expected_interval_seconds=60, source="mqtt")
    occurred = minutes_ago(5)
    steady = [("LEAK-01.pressure", occurred - datetime.timedelta(minutes=m), 101.0) for m in range(1, 6)]
    ingest(steady, "mqtt", site=plant)
    record, _, warnings = services.record_execution(entry(measure, operator, occurred_at=occurred,
                                                          values={"pass_rate": 100}))
    assert not warnings and record.values["pressure"] == 101.0

    later = minutes_ago(1)
    ingest([("LEAK-01.pressure", later - datetime.timedelta(minutes=2), 60.0)], "mqtt", site=plant)
    with pytest.raises(services.NeedsConfirmation) as caught:
        services.record_execution(entry(measure, operator, occurred_at=later, values={"pass_rate": 100}))
    assert caught.value.warnings[0]["rule"] == "sensor_contradiction"
    record, _, _ = services.record_execution(entry(measure, operator, occurred_at=later, values={"pass_rate": 100},
                                                   confirmed=True))
    assert ReviewFlag.objects.get(record=record).kind == ReviewFlag.Kind.SENSOR_CONTRADICTION


def test_hourly_status_of_a_continuous_measure_follows_its_telemetry(plant):
    from greenledger.measures.models import MeasureParameter
    from greenledger.measures.telemetry_status import derive
    from greenledger.telemetry.models import MeasuringPoint
    from greenledger.telemetry.services import ingest

    measure = make_measure(plant, schedule="continuous", params=False, measure_type="equipment",
                           name="通风系统变频运行")
    MeasureParameter.objects.create(measure=measure, code="frequency", name="运行频率", unit="Hz", min_value=25,
                                    max_value=35, source="telemetry", telemetry_point="FAN-01.freq", required=False)
    MeasuringPoint.objects.create(site=plant, code="FAN-01.freq", name="风机频率", quantity="frequency", unit="Hz",
                                  expected_interval_seconds=600, source="mqtt")
    base = timezone.now().replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=4)
    readings = [("FAN-01.freq", base + datetime.timedelta(minutes=10 * n), 30.0 if n < 12 else 50.0)
                for n in range(18)]  # two hours at 30 Hz, then an hour at 50 Hz
    ingest(readings, "mqtt", site=plant)
    services.record_hourly_status(measure, base, "maintenance", note="人工登记：检修")
    assert derive(measure, base, base + datetime.timedelta(hours=3)) == 2
    assert derive(measure, base, base + datetime.timedelta(hours=3)) == 0  # idempotent
    rows = {row.hour: row for row in HourlyStatus.objects.filter(measure=measure, superseded=False)}
    assert rows[base].status == "maintenance"  # a person's row is never overridden
    assert rows[base + datetime.timedelta(hours=1)].status == "running"
    assert rows[base + datetime.timedelta(hours=2)].status == "stopped"
    assert rows[base + datetime.timedelta(hours=2)].source == "telemetry"


@pytest.mark.django_db
def test_demo_records_count_whole_things_in_whole_numbers():
    from greenledger.measures.demo import MonthOfRecords
    from greenledger.measures.models import MeasureParameter

    from .factories import make_measure, make_site

    measure = make_measure(make_site(), params=False)
    MeasureParameter.objects.create(measure=measure, code="samples", name="抽检数", unit="个", min_value=5, max_value=50)
    MeasureParameter.objects.create(measure=measure, code="temp", name="温度", unit="°C", min_value=20, max_value=30)
    month = MonthOfRecords({measure.code: measure}, contractor=None)
    values = [month.values(measure, anomaly=anomaly) for anomaly in (False, True) for _ in range(20)]
    assert all(type(v["samples"]) is int for v in values)
    assert any(v["temp"] != int(v["temp"]) for v in values)  # measured values keep their decimals
