"""Telemetry consumption as activity data, cross-checks with production, dashboard figures."""

import datetime
from decimal import Decimal

import pytest

from greenledger.carbon import charts, crosschecks, engine, services, telemetry_bridge
from greenledger.carbon.models import ActivityRecord
from greenledger.evidence.verification import verify_log
from greenledger.measures.models import Measure, MeasureParameter
from greenledger.measures.tests.factories import make_person
from greenledger.measures.tests.factories_schedule import at, record_at
from greenledger.telemetry.services import ingest
from greenledger.telemetry.tests.factories import make_point

from .factories import MARCH, activity, make_plant

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def plant():
    return make_plant()


def meter_readings(code, day, kwh_per_hour, first=0, last=24):
    """A cumulative meter read hourly from ``day`` 00:00 − 1 h: bucket h of the day gets one hour's kWh."""
    start = at(day) - datetime.timedelta(hours=1)
    return [(code, (start + datetime.timedelta(hours=h)).isoformat(), kwh_per_hour * h) for h in range(first, last + 1)]


def test_telemetry_consumption_becomes_activity_data_without_sub_meters(plant):
    assembly = plant.workshops.get(code="assembly")
    make_point(plant, code="E-assembly", quantity="electricity", cumulative=True, workshop=assembly,
               equipment=None, interval=3600)
    make_point(plant, code="FAN-01.power", quantity="power", workshop=assembly,
               equipment=assembly.equipment.get(code="FAN-01"), interval=3600)
    make_point(plant, code="PV.gen", quantity="electricity", cumulative=True, generation=True, equipment=None,
               interval=3600)
    assert [p.code for p in telemetry_bridge.consumption_points(plant)] == ["E-assembly"]
    day = datetime.date(2025, 3, 10)
    ingest(meter_readings("E-assembly", day, 100.0, last=21), source="http", site=plant)  # up to 20:00
    ingest(meter_readings("PV.gen", day, 20.0), source="http", site=plant)
    assert telemetry_bridge.import_consumption(plant, day, day) == (1, 0)
    first = ActivityRecord.objects.get()
    assert (first.quantity, first.origin, first.point_code, first.workshop) == (D(2100), "telemetry", "E-assembly",
                                                                                assembly)
    assert telemetry_bridge.import_consumption(plant, day, day) == (0, 1)
    # the PLC cache delivers 21:00–23:00 late: the next import corrects the row and keeps the first one
    ingest(meter_readings("E-assembly", day, 100.0, first=22), source="http", site=plant)
    assert telemetry_bridge.import_consumption(plant, day, day) == (1, 0)
    current = ActivityRecord.objects.get(superseded=False)
    assert current.quantity == D(2400) and current.corrects_id == first.pk
    assert engine.compute(plant, day, day).scope2_location == D(2400) * D("0.5306")
    assert telemetry_bridge.self_sufficiency(plant, day, day) == (480.0, 2400.0)
    assert verify_log().ok  # rows written in one batch are sealed like any other
    # the next day, the month-to-date import (10th–11th) takes the place of the 10th's row
    ingest(meter_readings("E-assembly", day, 100.0, first=25, last=49), source="http", site=plant)  # to the 12th 00:00
    assert telemetry_bridge.import_consumption(plant, day, day + datetime.timedelta(days=1)) == (1, 0)
    extended = ActivityRecord.objects.get(superseded=False)
    assert (extended.quantity, extended.period_end, extended.corrects_id) == (D(4800), day + datetime.timedelta(days=1),
                                                                              current.pk)
    assert extended.correction_reason == "period extended (month to date)"
    assert engine.compute(plant, day, day + datetime.timedelta(days=1)).scope2_location == D(4800) * D("0.5306")


def test_seal_test_pass_rate_against_cell_defect_rate(plant, django_user_model):
    operator = make_person(plant, "operator", "op", django_user_model)
    stage = plant.workshops.get(code="assembly")
    seal = Measure.objects.create(site=plant, stage=stage, code="ASM-02", name="密封性检测", measure_type="inspection",
                                  purpose="safety", schedule="per_batch")
    MeasureParameter.objects.create(measure=seal, code="pass_rate", name="合格率", unit="%", min_value=0,
                                    max_value=100)
    agreeing = record_at(seal, operator, at("2025-03-05", 10), values={"pass_rate": 98.5}, batch_no="LC-A")
    record = record_at(seal, operator, at("2025-03-06", 10), values={"pass_rate": 99.8}, batch_no="LC-B")
    for batch, defects in (("LC-A", "1.2"), ("LC-B", "3.5")):
        services.record_output(site=plant, product="电芯", quantity=1000, unit="只", period_start=MARCH[0],
                               period_end=MARCH[1], workshop=stage, batch_no=batch, defect_rate=D(defects))
    [finding] = crosschecks.cross_checks(plant, *MARCH)
    assert finding.kind == "seal_vs_defects" and finding.records == [record.pk]
    assert finding.figures["batch"] == "LC-B" and agreeing.pk not in finding.records


def test_cutting_fluid_recycle_rate_up_while_consumption_does_not_fall(plant, django_user_model):
    operator = make_person(plant, "operator", "op", django_user_model)
    stage = plant.workshops.get(code="coating")
    fluid = Measure.objects.create(site=plant, stage=stage, code="CUT-01", name="切割液循环利用", measure_type="equipment",
                                   purpose="reduction", schedule="daily")
    MeasureParameter.objects.create(measure=fluid, code="recycle_rate", name="循环利用率", unit="%", min_value=0,
                                    max_value=100)
    february = (datetime.date(2025, 2, 1), datetime.date(2025, 2, 28))
    record_at(fluid, operator, at("2025-02-10", 9), values={"recycle_rate": 80})
    record_at(fluid, operator, at("2025-03-10", 9), values={"recycle_rate": 92})
    for period, litres in ((february, 1000), (MARCH, 1100)):
        activity(plant, "cutting_fluid", litres, "L", period=period)
        services.record_output(site=plant, product="硅片", quantity=10000, unit="片", period_start=period[0],
                               period_end=period[1])
    [finding] = crosschecks.cross_checks(plant, *MARCH)
    assert finding.kind == "fluid_recycling" and finding.figures["fluid_now"] == D("0.11")
    # cutting fluid is tracked but carries no emission factor of its own
    assert engine.compute(plant, *MARCH).total == 0


def test_dashboard_shows_unit_product_emissions_before_and_after_a_measure(plant):
    stage = plant.workshops.get(code="assembly")
    Measure.objects.create(site=plant, stage=stage, code="WLD", name="激光焊", measure_type="equipment",
                           purpose="reduction", schedule="per_batch", started_on=datetime.date(2025, 3, 1))
    for month, kwh in ((1, 8000), (2, 8000), (3, 5000)):
        start, end = engine.month_bounds(2025, month)
        activity(plant, "electricity", D(kwh) / D("0.5306"), "kWh", period=(start, end), workshop="assembly")
        services.record_output(site=plant, product="法兰", quantity=1000, unit="件", period_start=start, period_end=end,
                               workshop=stage)
    data = charts.dashboard_data(plant, months=3, today=datetime.date(2025, 3, 15))
    [measure] = data["measures"]
    assert (measure["before"], measure["after"]) == (8.0, 5.0)
    assert data["months"] == ["2025-01", "2025-02", "2025-03"] and data["scope2"] == [8.0, 8.0, 5.0]
