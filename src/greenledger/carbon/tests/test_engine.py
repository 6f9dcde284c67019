"""Emissions engine against hand calculations; factor versions never change past reports."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from greenledger.carbon import engine, factors, services
from greenledger.carbon.models import EmissionFactor, EmissionReport, FactorImmutableError
from greenledger.carbon.reports import issue_report

from .factories import MARCH, activity, make_plant

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def plant():
    return make_plant()


def test_monthly_emissions_match_a_hand_calculation(plant):
    activity(plant, "electricity", 100000, "kWh", workshop="assembly")
    activity(plant, "natural_gas", 5000, "m³", workshop="coating")
    result = engine.compute(plant, *MARCH)
    # 2023 national grid average (the newest published for a 2025 period) and GB/T 32150 natural gas:
    # 38.931 MJ/m³ × 15.30 tC/TJ × 99 % × 44/12 = 2.162188809 kg/m³
    electricity = D(100000) * D("0.5306")
    gas = D(5000) * D("0.038931") * D("15.30") * D("0.99") * D(44) / D(12)
    assert electricity == D("53060.0000")
    assert gas.quantize(D("0.000001")) == D("10810.944045")
    assert result.scope2_location == electricity
    assert result.scope1.quantize(D("0.000001")) == gas.quantize(D("0.000001"))
    content = engine.to_dict(result)
    assert content["totals"]["total"] == "63870.944"
    used = {(f["code"], f["version"]) for f in content["factors"]}
    assert ("grid-cn-national-2023", 1) in used and ("fuel-natural-gas-gbt32150", 1) in used


def test_regional_grid_factor_and_year_of_the_period(plant):
    plant.carbon_profile.grid_region = "east"
    plant.carbon_profile.save()
    activity(plant, "electricity", 1000, "MWh", period=(datetime.date(2022, 6, 1), datetime.date(2022, 6, 30)))
    result = engine.compute(plant, datetime.date(2022, 6, 1), datetime.date(2022, 6, 30))
    assert result.scope2_location == D(1000000) * D("0.5617")  # 华东 2022
    assert [f.code for f in result.factors.values() if f.grid_basis == "average"] == ["grid-cn-east-2022"]


def test_market_based_scope2_subtracts_green_certificates(plant):
    activity(plant, "electricity", 100000, "kWh")
    services.record_certificate(site=plant, mwh=40, period_start=MARCH[0], period_end=MARCH[1], reference="GEC-1")
    result = engine.compute(plant, *MARCH)
    assert result.covered_kwh == D(40000)
    # 60,000 kWh uncovered × 2023 factor excluding market-traded non-fossil power
    assert result.scope2_market == D(60000) * D("0.6096")
    assert result.scope2_location == D(100000) * D("0.5306")


def test_rows_straddling_the_period_count_pro_rata(plant):
    activity(plant, "diesel", 3, "t", period=(datetime.date(2025, 3, 1), datetime.date(2025, 4, 30)))
    result = engine.compute(plant, *MARCH)
    fuel = EmissionFactor.objects.get(code="fuel-diesel-gbt32150")
    assert result.lines[0].quantity == D(3) * D(31) / D(61)
    assert result.scope1 == D(3) * D(31) / D(61) * fuel.kg_per_unit


def test_intensity_per_unit_of_product_and_per_workshop(plant):
    activity(plant, "electricity", 100000, "kWh", workshop="assembly")
    services.record_output(site=plant, product="电芯", quantity=20000, unit="pcs", period_start=MARCH[0],
                           period_end=MARCH[1], workshop=plant.workshops.get(code="assembly"))
    result = engine.compute(plant, *MARCH)
    [row] = result.intensity()
    assert row["kg_per_unit"] == D("53060") / D(20000)
    assembly = [r for r in result.by_workshop() if r["workshop"].code == "assembly"][0]
    assert assembly["intensity"] == D("2.653")


def test_process_gas_uses_the_sites_gwp_set(plant):
    activity(plant, "sf6", 2, "kg")
    assert engine.compute(plant, *MARCH).scope1 == D(2) * D(25200)  # AR6
    plant.carbon_profile.gwp_set = "AR5"
    plant.carbon_profile.save()
    assert engine.compute(plant, *MARCH).scope1 == D(2) * D(23500)


def test_a_factor_version_cannot_be_edited_in_place():
    factor = EmissionFactor.objects.get(code="grid-cn-national-2023", version=1)
    factor.value = D("0.6")
    with pytest.raises(FactorImmutableError):
        factor.save()
    with pytest.raises(FactorImmutableError):
        EmissionFactor.objects.get(pk=factor.pk).delete()


def test_a_new_factor_version_does_not_alter_an_issued_report(plant):
    activity(plant, "electricity", 100000, "kWh")
    before = timezone.now()
    report = issue_report(plant, *MARCH)
    assert report.content["totals"]["scope2_location"] == "53060.000"
    old = EmissionFactor.objects.get(code="grid-cn-national-2023", version=1)
    newer = factors.new_version(old, value=D("0.5400"), reason="勘误（测试）")
    assert newer.version == 2 and newer.kg_per_unit == D("0.54")
    # the issued report is frozen and still names version 1
    report = EmissionReport.objects.get(pk=report.pk)
    assert report.content["totals"]["scope2_location"] == "53060.000"
    assert [f["version"] for f in report.content["factors"] if f["code"] == "grid-cn-national-2023"] == [1]
    # recomputing as of the report's moment gives the same figures; now it names version 2
    assert engine.compute(plant, *MARCH, as_of=report.as_of).scope2_location == D("53060")
    now = engine.to_dict(engine.compute(plant, *MARCH))
    assert now["totals"]["scope2_location"] == "54000.000"
    assert ("grid-cn-national-2023", 2) in {(f["code"], f["version"]) for f in now["factors"]}
    assert report.checkpoint_size is not None and before <= report.as_of
    with pytest.raises(ValueError):
        factors.new_version(old, value=D("0.1"), reason="旧版本不能再被替代")


def test_a_correction_replaces_the_row_but_not_an_earlier_as_of(plant):
    first = activity(plant, "electricity", 100000, "kWh")
    moment = timezone.now()
    services.record_activity(site=plant, activity="electricity", quantity=90000, unit="kWh",
                             period_start=MARCH[0], period_end=MARCH[1], corrects=first, correction_reason="抄表错误")
    assert engine.compute(plant, *MARCH).scope2_location == D(90000) * D("0.5306")
    assert engine.compute(plant, *MARCH, as_of=moment).scope2_location == D(100000) * D("0.5306")


def test_user_factor_with_source_overrides_the_default_of_the_same_year(plant):
    factors.create_factor(code="ng-measured-2025", name="天然气实测", category="fuel", activity="natural_gas",
                          value=D("2.10"), unit="kgCO2/m3", source="2025 年实测低位发热量报告 No.7", data_year=2025)
    activity(plant, "natural_gas", 1000, "m3")
    assert engine.compute(plant, *MARCH).scope1 == D("2100")
    with pytest.raises(ValueError):
        factors.create_factor(code="no-source", name="x", category="fuel", activity="diesel", value=1,
                              unit="tCO2/t", source=" ")


def test_fuel_factors_follow_the_gbt32150_formula():
    diesel = EmissionFactor.objects.get(code="fuel-diesel-gbt32150")
    assert diesel.kg_per_unit.quantize(D("0.001")) == D("3095.910")
    assert factors.kg_from_published(D("0.5306"), "tCO2/MWh", "kWh") == D("0.5306")
    assert factors.kg_from_published(D("21.62"), "tCO2/10^4m3", "m3") == D("2.162")


def test_activity_intake_validates_unit_and_is_idempotent(plant):
    import uuid

    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        activity(plant, "electricity", 10, "m3")
    assert "unit" in error.value.message_dict
    client_id = uuid.uuid4()
    one = activity(plant, "electricity", 10, "kWh", client_id=client_id)
    two = activity(plant, "electricity", 10, "kWh", client_id=client_id)
    assert one.pk == two.pk
