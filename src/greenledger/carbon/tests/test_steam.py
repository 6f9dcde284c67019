"""Purchased steam in tonnes: its factor derived from the heat default with a stated enthalpy,
accounted in scope 2, and 蒸汽 following its unit (t → steam, GJ → heat)."""

from decimal import Decimal

import pytest

from greenledger.carbon import engine, services
from greenledger.carbon.activities import activity_of
from greenledger.carbon.factors import select_factor
from greenledger.carbon.models import EmissionFactor
from greenledger.carbon.telemetry_bridge import point_activity
from greenledger.telemetry.tests.factories import make_point

from .factories import MARCH, activity, make_plant

pytestmark = pytest.mark.django_db
D = Decimal


def test_steam_factor_is_the_heat_default_times_the_heat_of_a_tonne_of_steam():
    steam = select_factor("steam", year=2025)
    heat = select_factor("heat", year=2025)
    assert (steam.code, steam.version, steam.unit, steam.activity_unit) == ("heat-cn-steam-t", 1, "tCO2/t", "t")
    # (2768.3 − 83.74) kJ/kg = 2.68456 GJ/t, × 0.11 tCO2/GJ
    assert steam.kg_per_unit == heat.kg_per_unit * D("2.68456") == D("295.3016")
    assert "83.74" in steam.source and "0.8 MPa" in steam.source and steam.confidence == "L"
    # the heat factor itself is unchanged: one version, as seeded
    assert list(EmissionFactor.objects.filter(code="heat-cn-default").values_list("version", "value")) == [
        (1, D("0.11"))]


def test_steam_in_tonnes_is_scope_two():
    plant = make_plant()
    record = activity(plant, "蒸汽", D(10), "吨")
    assert (record.activity, record.unit) == ("steam", "t")
    result = engine.compute(plant, *MARCH)
    assert result.scope2_location == D("2953.016") and result.scope1 == 0
    assert "heat-cn-steam-t" in {f["code"] for f in engine.to_dict(result)["factors"]}


def test_steam_follows_its_unit():
    assert activity_of("蒸汽", "t").code == "steam"
    assert activity_of("蒸汽", "GJ").code == "heat"
    assert activity_of("heat", "吨").code == "steam"
    assert activity_of("蒸汽").code == "steam"
    plant = make_plant()
    assert services.extra_emissions(plant, D(2), "t", "蒸汽")[0] == D("590.603")
    assert services.extra_emissions(plant, D(2), "GJ", "蒸汽")[0] == D("220.000")


def test_a_steam_flow_meter_is_accounted_per_tonne():
    plant = make_plant()
    assert point_activity(make_point(plant, code="BLR-01.steam", quantity="steam", cumulative=True)) == "steam"
