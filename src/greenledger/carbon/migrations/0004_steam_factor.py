"""Purchased steam measured in tonnes (外购蒸汽，按吨): a new activity and its factor, version 1.

The factor is derived from the purchased-heat default (heat-cn-default v1, 0.11 tCO2/GJ) with
the heat content the sector guidelines use for steam: AD = Ma_st × (En_st − 83.74) × 10⁻³ GJ,
83.74 kJ/kg being feed water at 20 °C, and En_st assumed to be saturated steam at 0.8 MPa
(absolute), 2768.3 kJ/kg (IAPWS-IF97). Other steam conditions, or a supplier's stated heat,
belong in a user factor or in GJ under "heat". Nothing existing changes: the heat factor keeps
its version; if it is ever superseded, this factor gets a new version too.
"""

from decimal import Decimal

from django.db import migrations, models

ENTHALPY_KJ_PER_KG = Decimal("2768.3")  # saturated steam, 0.8 MPa absolute (170.4 °C), IAPWS-IF97
FEED_WATER_KJ_PER_KG = Decimal("83.74")  # 20 °C, the guidelines' reference
HEAT_T_CO2_PER_GJ = Decimal("0.11")  # heat-cn-default v1
GJ_PER_T = (ENTHALPY_KJ_PER_KG - FEED_WATER_KJ_PER_KG) / Decimal(1000)  # 2.68456
VALUE = (HEAT_T_CO2_PER_GJ * GJ_PER_T).quantize(Decimal("1e-8"))  # 0.29530160 tCO2/t

STEAM = dict(
    code="heat-cn-steam-t", version=1, name="外购蒸汽排放因子（按吨，饱和蒸汽 0.8 MPa 折算）", category="heat",
    kind="emission", activity="steam", gas="CO2", value=VALUE, unit="tCO2/t", activity_unit="t",
    kg_per_unit=(VALUE * 1000).quantize(Decimal("1e-12")), data_year=None,
    source=("由外购热力缺省值 0.11 tCO2/GJ（heat-cn-default v1，工业其他行业企业温室气体排放核算方法与报告指南（试行））"
            "折算：蒸汽热量 = 质量 × (焓值 − 83.74 kJ/kg) × 10⁻³ GJ（行业核算指南的蒸汽热量公式）；"
            "焓值取 0.8 MPa（绝压）饱和蒸汽 2768.3 kJ/kg（IAPWS-IF97 水蒸气性质表）"),
    confidence="L",
    note=("Derived: 0.11 tCO2/GJ × (2768.3 − 83.74) kJ/kg = 0.2953 tCO2 per tonne of steam. Assumes saturated "
          "steam at 0.8 MPa absolute; superheated or higher-pressure steam carries more heat (e.g. 1.0 MPa "
          "saturated: 2777.1 kJ/kg). The heat factor it rests on is a recalled default (confidence L): verify "
          "both, and prefer the heat (GJ) stated by the steam supplier."),
)


def add_steam_factor(apps, schema_editor):
    EmissionFactor = apps.get_model("carbon", "EmissionFactor")
    EmissionFactor.objects.get_or_create(code=STEAM["code"], version=1, defaults=STEAM)


def remove_steam_factor(apps, schema_editor):
    apps.get_model("carbon", "EmissionFactor").objects.filter(code=STEAM["code"], version=1).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('carbon', '0003_roles'),
    ]

    operations = [
        migrations.AlterField(
            model_name='activityrecord',
            name='activity',
            field=models.CharField(choices=[('electricity', 'Purchased electricity'), ('heat', 'Purchased steam / heat'), ('steam', 'Purchased steam (tonnes)'), ('natural_gas', 'Natural gas'), ('diesel', 'Diesel'), ('gasoline', 'Gasoline'), ('lpg', 'LPG'), ('kerosene', 'Kerosene'), ('fuel_oil', 'Fuel oil'), ('anthracite', 'Anthracite'), ('bituminous_coal', 'Bituminous coal'), ('lignite', 'Lignite'), ('coke', 'Coke'), ('limestone', 'Limestone decomposition'), ('sf6', 'SF6 leakage'), ('ch4', 'CH4 released'), ('n2o', 'N2O released'), ('cutting_fluid', 'Cutting fluid (new)')], max_length=30, verbose_name='activity'),
        ),
        migrations.RunPython(add_steam_factor, remove_steam_factor),
    ]
