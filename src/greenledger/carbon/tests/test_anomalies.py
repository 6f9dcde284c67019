"""Extra emissions of measure-ledger anomalies, and emission anomalies with their explanation and
the review flag for "no anomaly" records during an abnormal period."""

import datetime
from decimal import Decimal

import pytest

from greenledger.carbon import anomalies, services
from greenledger.carbon.models import AnomalyEmission, EmissionAnomaly
from greenledger.measures import services as measure_services
from greenledger.measures.models import Measure, ReviewFlag
from greenledger.measures.tests.factories import make_person
from greenledger.measures.tests.factories_schedule import at, record_at
from greenledger.telemetry.tests.factories import make_point

from .factories import make_plant

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.date(2025, 3, 10)


@pytest.fixture
def plant():
    return make_plant()


def test_fifty_cubic_metres_of_natural_gas_in_kg_co2(plant):
    kg, basis, factor = services.extra_emissions(plant, D(50), "m³", "天然气", at=at(DAY, 10))
    assert kg == D("108.109")  # 50 × 2.162188809
    assert "fuel-natural-gas-gbt32150 v1" in basis and factor.code == "fuel-natural-gas-gbt32150"
    kg, basis, _f = services.extra_emissions(plant, D(2), "MWh", "electricity", at=at(DAY, 10))
    assert kg == D("1061.200") and "grid-cn-national-2023 v1" in basis
    assert services.extra_emissions(plant, D(5), "m³", "压缩空气") is None


def test_report_anomaly_hook_computes_unless_the_reporter_typed_a_figure(plant):
    fields = dict(site=plant, occurred_at=at(DAY, 10), extra_quantity=D(50), extra_unit="m³",
                  extra_activity="天然气")
    assert services.anomaly_extra_fields(**fields)[0] == D("108.109")
    assert services.anomaly_extra_fields(**fields, extra_co2_kg=D("108.4"), extra_co2_basis="手工") == (
        D("108.4"), "手工")


def test_fill_anomaly_emissions_writes_a_sealed_row_once(plant):
    measure = Measure.objects.create(site=plant, stage=plant.workshops.first(), code="HR", name="余热回收",
                                     measure_type="equipment", purpose="reduction", schedule="continuous")
    anomaly, _ = measure_services.report_anomaly(measure=measure, occurred_at=at(DAY, 10, 20), symptom="压力骤降",
                                                 extra_quantity=D(50), extra_unit="m³", extra_activity="天然气")
    assert services.fill_anomaly_emissions() == 1
    assert services.fill_anomaly_emissions() == 0
    row = AnomalyEmission.objects.get(anomaly=anomaly)
    assert row.kg_co2 == D("108.109") and "v1" in row.basis


def weekly_history(start, weeks, value=100.0, spike=None):
    history = {}
    hour = start - datetime.timedelta(weeks=weeks)
    while hour < start + datetime.timedelta(days=1):
        jitter = 1 + 0.02 * ((hour.hour * 7 + hour.day) % 5 - 2)
        history[hour] = value * jitter
        hour += datetime.timedelta(hours=1)
    for moment, v in (spike or {}).items():
        history[moment] = v
    return history


def test_band_is_mean_plus_k_std_of_the_same_hour_of_week():
    start = at(DAY)
    history = {start - datetime.timedelta(weeks=i): v for i, v in enumerate([0, 90, 100, 110, 100], start=0)}
    history.pop(start)
    mean, high = anomalies.band(history, start, weeks=8, k=3)
    assert mean == 100 and high == pytest.approx(100 + 3 * (50 ** 0.5))


def test_abnormal_hours_are_flagged_explained_and_flag_quiet_records(plant, django_user_model):
    leader = make_person(plant, "shift_leader", "leader", django_user_model)
    operator = make_person(plant, "operator", "op", django_user_model)
    coating = plant.workshops.get(code="coating")
    point = make_point(plant, code="E-coating", quantity="electricity", workshop=coating, equipment=None,
                       interval=3600)
    recovery = Measure.objects.create(site=plant, stage=coating, code="COAT-02", name="余热回收",
                                      measure_type="equipment", purpose="reduction", schedule="continuous")
    patrol = Measure.objects.create(site=plant, stage=coating, code="COAT-P", name="涂布巡检",
                                    measure_type="operation", purpose="both", schedule="every_n_hours",
                                    interval_hours=1)
    start = at(DAY)
    history = weekly_history(start, 8, spike={at(DAY, 10): 200.0, at(DAY, 11): 190.0})
    measure_services.record_hourly_status(recovery, at(DAY, 10), "stopped")
    measure_services.record_hourly_status(recovery, at(DAY, 11), "stopped")
    quiet = [record_at(patrol, operator, at(DAY, 10, 15), compliant=True),
             record_at(patrol, operator, at(DAY, 11, 15), compliant=True)]
    created = anomalies.detect(plant, start, start + datetime.timedelta(days=1), points=[point],
                               history={"E-coating": history})
    [row] = created
    assert (row.start, row.end) == (at(DAY, 10), at(DAY, 12))
    grid = D("0.5306")
    assert row.actual_kg == (D(390) * grid).quantize(D("0.001"))
    assert row.excess_kg > 0 and row.workshop == coating
    assert "余热回收" in row.explanation and row.hourly.count() == 2
    assert set(row.records.all()) == set(quiet)
    flag = ReviewFlag.objects.get(kind="emission")
    assert flag.measure == patrol and flag.record == quiet[-1] and "E-coating" in flag.message
    assert leader.user.notifications.filter(title__isnull=False).exists()
    # running it again flags nothing new
    assert anomalies.detect(plant, start, start + datetime.timedelta(days=1), points=[point],
                            history={"E-coating": history}) == []
    assert EmissionAnomaly.objects.count() == 1


def test_an_anomaly_recorded_in_the_window_means_no_review_flag(plant, django_user_model):
    operator = make_person(plant, "operator", "op", django_user_model)
    coating = plant.workshops.get(code="coating")
    point = make_point(plant, code="E-coating", quantity="electricity", workshop=coating, equipment=None)
    patrol = Measure.objects.create(site=plant, stage=coating, code="COAT-P", name="涂布巡检",
                                    measure_type="operation", purpose="both", schedule="per_shift")
    record_at(patrol, operator, at(DAY, 10, 15), compliant=True)
    record = record_at(patrol, operator, at(DAY, 10, 30), compliant=True)
    measure_services.report_anomaly(measure=patrol, record=record, occurred_at=at(DAY, 10, 30), symptom="涂布机过热")
    history = weekly_history(at(DAY), 8, spike={at(DAY, 10): 250.0})
    [row] = anomalies.detect(plant, at(DAY), at(DAY, 23), points=[point], history={"E-coating": history})
    assert row.anomalies.count() == 1 and "涂布机过热" in row.explanation
    assert not ReviewFlag.objects.filter(kind="emission").exists()
