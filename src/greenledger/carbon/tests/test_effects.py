"""Measure effects against hand calculations; lapses show as emission increases linked to the
hourly status rows and records that explain them."""

import datetime
from decimal import Decimal

import pytest

from greenledger.carbon.effects import compute_effect
from greenledger.carbon.models import EmissionFactor, MeasureEffect
from greenledger.measures import services as measure_services
from greenledger.measures.models import Measure, MeasureParameter
from greenledger.measures.tests.factories import make_person
from greenledger.measures.tests.factories_schedule import at, record_at

from .factories import make_plant

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.date(2025, 3, 10)


@pytest.fixture
def plant():
    return make_plant()


@pytest.fixture
def operator(plant, django_user_model):
    return make_person(plant, "operator", "op", django_user_model)


def continuous(plant, code, equipment, params=()):
    stage = plant.workshops.get(code="assembly" if equipment == "FAN-01" else "coating")
    measure = Measure.objects.create(site=plant, stage=stage, code=code, name=code, measure_type="equipment",
                                     purpose="reduction", schedule="continuous",
                                     equipment=stage.equipment.filter(code=equipment).first())
    for pcode, unit in params:
        MeasureParameter.objects.create(measure=measure, code=pcode, name=pcode, unit=unit, min_value=0,
                                        max_value=60, required=False)
    return measure


def status(measure, hour, value):
    measure_services.record_hourly_status(measure, at(DAY, hour), value)


def test_frequency_baseline_saving_and_a_lapse_to_50_hz(plant, operator):
    fan = continuous(plant, "ASM-03", "FAN-01", [("frequency", "Hz")])
    effect = MeasureEffect.objects.create(measure=fan, method="frequency_baseline",
                                          parameters={"baseline_hz": 50, "design_hz": 30})
    for hour in range(8, 12):
        status(fan, hour, "running")
    record_at(fan, operator, at(DAY, 7, 55), values={"frequency": 30})
    raised = record_at(fan, operator, at(DAY, 10, 5), values={"frequency": 50})
    result = compute_effect(effect, DAY, DAY)
    grid = EmissionFactor.objects.get(code="grid-cn-national-2023").kg_per_unit
    per_hour = D(37) * (1 - (D(30) / D(50)) ** 3)  # 37 kW fan: 29.008 kWh saved per hour at 30 Hz
    assert per_hour == D("29.008")
    assert result.expected_kg == 4 * per_hour * grid
    assert result.achieved_kg == 2 * per_hour * grid  # 10:00 and 11:00 ran at 50 Hz: no saving
    [lapse] = result.lapses
    assert (lapse.start, lapse.end) == (at(DAY, 10), at(DAY, 12))
    assert lapse.kg == 2 * per_hour * grid
    assert lapse.records == [raised.pk] and len(lapse.hourly) == 2
    assert result.factors[0]["code"] == "grid-cn-national-2023"


def test_recovery_stopped_three_hours_is_an_increase_linked_to_the_hours(plant):
    recovery = continuous(plant, "COAT-02", "COAT-01")
    effect = MeasureEffect.objects.create(measure=recovery, method="recovery_output",
                                          parameters={"recovered_gj_per_hour": 0.9, "boiler_efficiency": 0.9})
    for hour in range(6, 14):
        status(recovery, hour, "stopped" if 10 <= hour < 13 else "running")
    anomaly, _ = measure_services.report_anomaly(measure=recovery, occurred_at=at(DAY, 10, 20),
                                                 symptom="余热回收停机")
    result = compute_effect(effect, DAY, DAY)
    gas = EmissionFactor.objects.get(code="fuel-natural-gas-gbt32150")
    per_hour = D("0.9") / (gas.ncv * D("0.9")) * gas.kg_per_unit  # 25.71 m³ of gas avoided per hour
    assert result.expected_kg == 8 * per_hour
    assert result.achieved_kg == 5 * per_hour
    [lapse] = result.lapses
    assert (lapse.start, lapse.end, lapse.kg) == (at(DAY, 10), at(DAY, 13), 3 * per_hour)
    assert len(lapse.hourly) == 3 and lapse.anomalies == [anomaly.pk]
    assert result.unknown_hours == 16


def test_fixed_per_execution_and_a_non_compliant_record(plant, operator):
    stage = plant.workshops.get(code="assembly")
    weld = Measure.objects.create(site=plant, stage=stage, code="WLD-01", name="激光焊", measure_type="operation",
                                  purpose="reduction", schedule="per_batch")
    effect = MeasureEffect.objects.create(measure=weld, method="fixed_per_execution", parameters={
        "baseline_kg_per_unit": 8, "actual_kg_per_unit": 5, "units_per_execution": 10})
    record_at(weld, operator, at(DAY, 10), compliant=True)
    bad = record_at(weld, operator, at(DAY, 15), compliant=False)
    result = compute_effect(effect, DAY, DAY)
    assert (result.expected_kg, result.achieved_kg, result.lapse_kg) == (D(60), D(30), D(30))
    assert result.lapses[0].records == [bad.pk]


def test_material_substitution_uses_each_records_content(plant, operator):
    stage = plant.workshops.get(code="assembly")
    mix = Measure.objects.create(site=plant, stage=stage, code="MIX-01", name="低VOC电解液", measure_type="operation",
                                 purpose="reduction", schedule="per_batch")
    for code in ("dosage", "voc"):
        MeasureParameter.objects.create(measure=mix, code=code, name=code, min_value=0, max_value=1000,
                                        required=False)
    effect = MeasureEffect.objects.create(measure=mix, method="material_substitution", parameters={
        "quantity_param": "dosage", "content_param": "voc", "baseline_content": 80, "design_content": 40,
        "scale": "0.001", "kg_co2_per_substance": 2})
    record_at(mix, operator, at(DAY, 10), values={"dosage": 100, "voc": 40})
    record_at(mix, operator, at(DAY, 15), values={"dosage": 100, "voc": 60})
    result = compute_effect(effect, DAY, DAY)
    # 100 × (80 − 40) × 0.001 × 2 = 8 kg expected per record; the second achieved 4
    assert (result.expected_kg, result.achieved_kg, result.lapse_kg) == (D(16), D(12), D(4))
