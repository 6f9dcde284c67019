"""The demo's emission-anomaly story (on the demo's telemetry year, ~10 s): the waste-heat recovery
stop raises the boiler's gas and the fan at 50 Hz raises its power; the demo run flags both and
links them to what explains them. The measure ledger's month of demo records is replaced by the
few hourly rows and records of those two days (it takes minutes to generate)."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from greenledger.carbon import demo
from greenledger.carbon.models import EmissionAnomaly
from greenledger.core import demo as core_demo
from greenledger.measures import demo as measures_demo
from greenledger.measures import services as measure_services
from greenledger.measures.models import Measure, ReviewFlag
from greenledger.measures.tests.factories_schedule import record_at
from greenledger.telemetry import demo as telemetry_demo

pytestmark = pytest.mark.django_db


def test_demo_flags_the_recovery_stop_and_the_fan_lapse_with_their_reasons():
    core_demo.load()
    measures_demo.ensure_catalogue(measures_demo.ensure_sites())
    telemetry_demo.load()
    zone = ZoneInfo("Asia/Shanghai")
    today = timezone.now().astimezone(zone).date()
    at = lambda days, hour, minute=0: datetime.datetime.combine(
        today - datetime.timedelta(days=days), datetime.time(hour, minute), zone)
    # what the measure ledger's demo month holds on those days: continuous measures running every
    # hour, and routine checks in the assembly workshop that report nothing unusual
    for code, days in (("L-COAT-02", 1), ("L-ASM-03", 3)):
        measure = Measure.objects.get(code=code)
        for hour in range(8, 15):
            measure_services.record_hourly_status(measure, at(days, hour), "running", source="demo")
    check = Measure.objects.get(code="L-ASM-04")
    operator = core_demo_person("operator")
    for hour in (10, 12):
        record_at(check, operator, at(3, hour, 5), values=typical_values(check))
    out = io.StringIO()
    demo.load(stdout=out)
    gas = EmissionAnomaly.objects.get(point_code="BLR-01.gas")
    assert gas.start == at(1, 10) and gas.end in (at(1, 11), at(1, 12)) and gas.excess_kg > 50
    assert gas.workshop.code == "utilities"  # the boiler; the recovery stands in the coating workshop
    assert {row.measure.code for row in gas.hourly.all()} == {"L-COAT-02"}
    assert [a.measure.code for a in gas.anomalies.all()] == ["L-COAT-02"]
    assert "余热回收" in gas.explanation
    fan = EmissionAnomaly.objects.get(point_code="FAN-01.power")
    assert (fan.start, fan.end) == (at(3, 9), at(3, 13))
    assert "50 Hz" in fan.explanation and {row.measure.code for row in fan.hourly.all()} == {"L-ASM-03"}
    assert ReviewFlag.objects.filter(kind="emission", message__contains="FAN-01.power").exists()
    assert EmissionAnomaly.objects.count() == 2 and "2 emission anomalies" in out.getvalue()
    demo.load(stdout=out)  # again: nothing new
    assert EmissionAnomaly.objects.count() == 2


def core_demo_person(username):
    from greenledger.core.models import Person

    return Person.objects.get(user__username=username)


def typical_values(measure):
    """Mid-range values of the measure's numeric parameters (a normal check)."""
    values = {}
    for p in measure.parameters.all():
        if p.min_value is not None and p.max_value is not None:
            values[p.code] = float(p.min_value + p.max_value) / 2
    return values
