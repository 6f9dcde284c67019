"""Emission-anomaly detection as the scheduler runs it: over overlapping windows again and again
(each abnormal hour counted once, runs extended, late data joining two runs), from telemetry's
rollups, at most every quarter of an hour; and what explains an anomaly beyond its workshop
(a recovery measure's effect on the boiler's gas, a fan's frequency lapse)."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from greenledger.carbon import anomalies, scheduled, telemetry_bridge
from greenledger.carbon.models import EmissionAnomaly, MeasureEffect
from greenledger.core.models import Equipment, Workshop
from greenledger.measures import services as measure_services
from greenledger.measures.models import Measure, MeasureParameter
from greenledger.measures.tests.factories import make_person
from greenledger.measures.tests.factories_schedule import at, record_at
from greenledger.telemetry import services as telemetry
from greenledger.telemetry.tests.factories import make_point

from .factories import make_plant
from .test_anomalies import weekly_history

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.date(2025, 3, 10)
HOUR = datetime.timedelta(hours=1)
GRID = D("0.5306")


@pytest.fixture
def plant():
    return make_plant()


@pytest.fixture
def meter(plant):
    return make_point(plant, code="E-coating", quantity="electricity", workshop=plant.workshops.get(code="coating"),
                      equipment=None, interval=3600)


def spiky(*hours):
    return weekly_history(at(DAY), 8, spike={at(DAY, h): 250.0 for h in hours})


def test_overlapping_runs_count_each_abnormal_hour_once(plant, meter):
    history = spiky(10, 11, 12)
    run = lambda start, end: anomalies.detect(plant, at(DAY, start), at(DAY, end), points=[meter],
                                              history={"E-coating": history})
    [first] = run(6, 11)
    assert (first.start, first.end) == (at(DAY, 10), at(DAY, 11))
    [extended] = run(7, 12)  # the next round sees hour 11 as well
    assert extended.pk == first.pk and (extended.start, extended.end) == (at(DAY, 10), at(DAY, 12))
    assert run(7, 12) == []  # nothing new
    [extended] = run(11, 13)  # the window starts inside the run: still the same anomaly
    assert (extended.start, extended.end) == (at(DAY, 10), at(DAY, 13))
    row = EmissionAnomaly.objects.get()
    assert row.actual_kg == (D(750) * GRID).quantize(D("0.001"))
    # the same figures as one detection over the whole day
    EmissionAnomaly.objects.all().delete()
    [whole] = run(0, 23)
    assert (whole.actual_kg, whole.expected_kg, whole.excess_kg) == (row.actual_kg, row.expected_kg, row.excess_kg)


def test_late_data_joins_two_runs_into_one(plant, meter):
    history = spiky(10, 12)
    detect = lambda: anomalies.detect(plant, at(DAY, 6), at(DAY, 14), points=[meter],
                                      history={"E-coating": history})
    assert len(detect()) == 2
    history[at(DAY, 11)] = 250.0  # a PLC backfill raises hour 11 as well
    [joined] = detect()
    assert (joined.start, joined.end) == (at(DAY, 10), at(DAY, 13))
    assert EmissionAnomaly.objects.get().actual_kg == (D(750) * GRID).quantize(D("0.001"))


def test_recovery_stop_explains_the_boiler_gas_in_another_workshop(plant, django_user_model):
    utilities = Workshop.objects.create(site=plant, code="utilities", name="动力站")
    boiler = Equipment.objects.create(workshop=utilities, code="BLR-01", name="燃气锅炉")
    gas = make_point(plant, code="BLR-01.gas", quantity="natural_gas", equipment=boiler, cumulative=True,
                     interval=900)
    coating = plant.workshops.get(code="coating")
    recovery = Measure.objects.create(site=plant, stage=coating, code="COAT-02", name="烘箱余热回收",
                                      measure_type="equipment", purpose="reduction", schedule="continuous")
    MeasureEffect.objects.create(measure=recovery, method="recovery_output",
                                 parameters={"recovered_gj_per_hour": 2, "fuel": "natural_gas"})
    elsewhere = Measure.objects.create(site=plant, stage=coating, code="COAT-09", name="涂布巡检",
                                       measure_type="operation", purpose="both", schedule="per_shift")
    operator = make_person(plant, "operator", "op", django_user_model)
    record_at(elsewhere, operator, at(DAY, 10, 30), compliant=True)  # coating, but no effect on gas
    for hour in (10, 11):
        measure_services.record_hourly_status(recovery, at(DAY, hour), "stopped")
    reported, _ = measure_services.report_anomaly(measure=recovery, occurred_at=at(DAY, 10, 20), symptom="引风机跳闸")
    history = weekly_history(at(DAY), 8, value=110.0, spike={at(DAY, 10): 150.0})
    [row] = anomalies.detect(plant, at(DAY), at(DAY, 23), points=[gas], history={"BLR-01.gas": history})
    assert row.workshop == utilities
    assert row.hourly.count() == 1 and "烘箱余热回收" in row.explanation and "引风机跳闸" in row.explanation
    assert list(row.anomalies.all()) == [reported]
    assert not row.records.exists()  # the patrol of the coating workshop does not act on the boiler


def test_fan_at_fifty_hertz_is_explained_by_its_effect_lapse(plant, django_user_model):
    assembly = plant.workshops.get(code="assembly")
    fan_power = make_point(plant, code="FAN-01.power", quantity="power", interval=60,
                           equipment=Equipment.objects.get(code="FAN-01"))
    fan = Measure.objects.create(site=plant, stage=assembly, code="ASM-03", name="干燥房风机变频",
                                 measure_type="equipment", purpose="both", schedule="continuous")
    MeasureParameter.objects.create(measure=fan, code="frequency", name="频率", unit="Hz", min_value=25,
                                    max_value=35)
    MeasureEffect.objects.create(measure=fan, method="frequency_baseline",
                                 parameters={"rated_kw": 37, "baseline_hz": 50, "design_hz": 30})
    operator = make_person(plant, "operator", "op", django_user_model)
    for hour in range(8, 14):
        measure_services.record_hourly_status(fan, at(DAY, hour), "running")
    record_at(fan, operator, at(DAY, 8, 50), values={"frequency": 30})
    switched = record_at(fan, operator, at(DAY, 9, 0), values={"frequency": 50})
    record_at(fan, operator, at(DAY, 12, 55), values={"frequency": 30})
    history = weekly_history(at(DAY), 8, value=8.0, spike={at(DAY, h): 37.0 for h in (9, 10, 11)})
    [row] = anomalies.detect(plant, at(DAY), at(DAY, 23), points=[fan_power], history={"FAN-01.power": history})
    assert (row.start, row.end) == (at(DAY, 9), at(DAY, 12))
    assert "干燥房风机变频 50 Hz" in row.explanation and "09:00–12:00" in row.explanation
    assert switched in row.records.all() and row.hourly.count() == 3


def hourly_meter_readings(point, first, last, kwh=100.0, spike=None):
    """A counter read on the hour; the hourly rollup of hour H gets ``spike[H]`` or ``kwh`` (the
    increase since the reading before, i.e. a reading at H counts in the bucket of H)."""
    counter, readings, moment = 1000.0, [], first
    while moment <= last:
        counter += (spike or {}).get(moment, kwh)
        readings.append((point, moment, counter))
        moment += HOUR
    telemetry.ingest(readings, "demo")


def test_the_scheduler_keeps_anomalies_current_from_the_rollups(plant, monkeypatch):
    monkeypatch.setattr(scheduled, "detection", scheduled.Every(scheduled.DETECT_EVERY))
    meter = make_point(plant, code="E-assembly", quantity="electricity", cumulative=True, interval=3600,
                       workshop=plant.workshops.get(code="assembly"), equipment=None)
    now = timezone.now().replace(minute=5, second=0, microsecond=0)
    last_hour = now.replace(minute=0) - HOUR
    hourly_meter_readings(meter, last_hour - datetime.timedelta(weeks=4), last_hour, spike={last_hour: 400.0})
    assert telemetry_bridge.hourly_series(plant, "E-assembly", last_hour - HOUR, now)[last_hour] == 400.0
    assert scheduled.run(now) == {"emission_anomalies": 1}
    row = EmissionAnomaly.objects.get()
    assert (row.point_code, row.start, row.end) == ("E-assembly", last_hour, last_hour + HOUR)
    assert scheduled.run(now + datetime.timedelta(minutes=5)) == {}  # at most every quarter of an hour
    assert scheduled.run(now + datetime.timedelta(minutes=16)) == {"emission_anomalies": 0}


def test_measures_scheduler_runs_the_carbon_step(plant, monkeypatch):
    calls = []
    monkeypatch.setattr(scheduled, "detection", scheduled.Every(scheduled.DETECT_EVERY))
    monkeypatch.setattr(anomalies, "detect_recent", lambda now: calls.append(now) or 3)
    out = io.StringIO()
    call_command("measures_scheduler", "--once", stdout=out, stderr=io.StringIO())
    assert "emission_anomalies=3" in out.getvalue() and len(calls) == 1


def test_a_failing_app_step_does_not_stop_the_scheduler_round(plant, monkeypatch):
    def broken(now):
        raise RuntimeError("rollups unavailable")

    monkeypatch.setattr(scheduled, "run", broken)
    out, err = io.StringIO(), io.StringIO()
    call_command("measures_scheduler", "--once", stdout=out, stderr=err)
    assert "planned=" in out.getvalue() and "carbon step failed" in err.getvalue()
