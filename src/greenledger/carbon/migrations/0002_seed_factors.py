"""Seed the factor library (version 1 of each factor) from ../shared/domain/carbon.md §1, each row
with its source and confidence (H/M/L as in the domain notes). Later changes are new versions,
never edits of these rows."""

from decimal import Decimal

from django.db import migrations

MEE_2021 = "生态环境部、国家统计局 公告2024年第12号（2021年电力二氧化碳排放因子），2024-04"
MEE_2022 = ("生态环境部、国家统计局 2022年电力二氧化碳排放因子（公告 2024-12-20，2024-12-26 发布）；"
            "转载: daydaynews.cc/zh-hant/finance/3899452.html（新京报）")
MEE_2023 = ("生态环境部、国家统计局 2023年电力二氧化碳排放因子（约 2026-01 发布）；"
            "转载: www.163.com/dy/article/KIQVBKCG05567I2C.html（光明日报）、中国电力报 2026-01-15")
FOOT_2023 = "生态环境部、国家统计局、国家能源局 公告2025年第3号（2023年电力碳足迹因子），2025-01-17；nengy.net 转载"
FOOT_2024 = "2024年电力碳足迹因子，2025-09-28 发布；tanpaifang.com/zhengcefagui/2025/1024115022.html"
GBT = "GB/T 32150-2015 附录 / 24 个行业核算指南、工业其他行业指南 缺省值（NCV × 单位热值含碳量 × 碳氧化率 × 44/12）"
GWP_SRC = ("IPCC AR5 / AR6 100-year GWP; GHG Protocol GWP table v2.0 (Aug 2024); "
           "sdgs.unep.org annex-ii-ipcc-global-warming-potential-values")

REGIONS = {  # code: (name, 2022, 2023)
    "north": ("华北电网", "0.6776", "0.6361"), "northeast": ("东北电网", "0.5564", "0.5122"),
    "east": ("华东电网", "0.5617", "0.5500"), "central": ("华中电网", "0.5395", "0.5271"),
    "northwest": ("西北电网", "0.5857", "0.5543"), "south": ("南方电网", "0.3869", "0.4042"),
    "southwest": ("西南电网", "0.2268", "0.2472"),
}
PROVINCES_2022 = {"hebei": ("河北", "0.7252"), "shanxi": ("山西", "0.7096"), "tianjin": ("天津", "0.7041"),
                  "neimenggu": ("内蒙古", "0.6849"), "anhui": ("安徽", "0.6782"), "fujian": ("福建", "0.4092"),
                  "guangxi": ("广西", "0.4044"), "qinghai": ("青海", "0.1567"), "sichuan": ("四川", "0.1404"),
                  "yunnan": ("云南", "0.1073")}

# activity, name, NCV (GJ per activity unit), carbon content tC/TJ, oxidation, published value, unit, conf, note
FUELS = [
    ("natural_gas", "天然气", "0.038931", "15.30", "0.99", "21.62", "tCO2/10^4m3", "M",
     "NCV 389.31 GJ/10⁴Nm³ = 38.931 MJ/m³; ≈ 2.1622 kgCO2/m³. Values also appear in code citing GB/T 32151."),
    ("diesel", "柴油", "42.652", "20.20", "0.98", "3.096", "tCO2/t", "M", ""),
    ("gasoline", "汽油", "43.070", "18.90", "0.98", "2.925", "tCO2/t", "M", ""),
    ("lpg", "液化石油气", "50.179", "17.20", "0.98", "3.101", "tCO2/t", "M", ""),
    ("kerosene", "一般煤油", "43.070", "19.60", "0.98", "3.033", "tCO2/t", "L", "from memory in the domain notes"),
    ("fuel_oil", "燃料油", "41.816", "21.10", "0.98", "3.171", "tCO2/t", "L", "from memory in the domain notes"),
    ("anthracite", "无烟煤", "24.515", "27.49", "0.94", "2.323", "tCO2/t", "L",
     "Sources disagree (other tables: NCV 20.304 GJ/t). Check GB/T 32150 Annex B or use measured values."),
    ("bituminous_coal", "烟煤", "23.204", "26.18", "0.93", "2.072", "tCO2/t", "L",
     "Sources disagree (other tables: NCV 19.570 GJ/t). Check GB/T 32150 Annex B or use measured values."),
    ("lignite", "褐煤", "14.449", "28.00", "0.96", "1.424", "tCO2/t", "L", "Check GB/T 32150 Annex B."),
    ("coke", "焦炭", "28.446", "29.42", "0.93", "2.854", "tCO2/t", "L",
     "Sources disagree (NCV 28.435, CC 29.4). Check GB/T 32150 Annex B."),
]

# gas, activity (for the engine) or "", AR5, AR6, confidence, note
GWP = [
    ("CH4", "ch4", "28", "29.8", "H", "AR5: 28 (fossil 30). AR6: 29.8 fossil (used here), 27.0 non-fossil, "
                                     "27.9 IPCC intermediate value."),
    ("N2O", "n2o", "265", "273", "M", "AR5 H, AR6 M"),
    ("SF6", "sf6", "23500", "25200", "M", ""),
    ("NF3", "", "16100", "17400", "L", "AR6: one repository says 17,900 (conflicting)."),
    ("HFC-134a", "", "1300", "1530", "L", ""),
    ("HFC-32", "", "677", "771", "L", ""),
    ("HFC-23", "", "12400", "14600", "L", ""),
    ("CF4", "", "6630", "7380", "M", ""),
    ("C2F6", "", "11100", "12400", "L", "AR6: a repository config says 12,200."),
]


def rows():
    def grid(code, name, region, basis, value, year, source, source_year, conf="H", note=""):
        return dict(code=code, name=name, category="grid", activity="electricity", region=region, grid_basis=basis,
                    value=value, unit="tCO2/MWh", activity_unit="kWh", kg_per_unit=Decimal(value),
                    data_year=year, source=source, source_year=source_year, confidence=conf, note=note)

    residual_note = ("The factor for electricity not covered by green certificates / green-power contracts "
                     "(closest Chinese analogue of a residual mix; interpretation M).")
    out = [
        grid("grid-cn-national-2021", "全国电力平均二氧化碳排放因子 2021", "national", "average", "0.5568", 2021,
             MEE_2021, 2024),
        grid("grid-cn-national-fossil-2021", "全国化石能源电力二氧化碳排放因子 2021", "national", "fossil", "0.8426",
             2021, MEE_2021, 2024),
    ]
    for year, source, published, average, residual, fossil in (
            (2022, MEE_2022, 2024, "0.5366", "0.5856", "0.8325"), (2023, MEE_2023, 2026, "0.5306", "0.6096", "0.8273")):
        out += [
            grid(f"grid-cn-national-{year}", f"全国电力平均二氧化碳排放因子 {year}", "national", "average", average, year,
                 source, published),
            grid(f"grid-cn-national-residual-{year}", f"全国电力平均二氧化碳排放因子（不包括市场化交易的非化石能源电量）{year}",
                 "national", "residual", residual, year, source, published, note=residual_note),
            grid(f"grid-cn-national-fossil-{year}", f"全国化石能源电力二氧化碳排放因子 {year}", "national", "fossil", fossil,
                 year, source, published),
        ]
        for region, (name, v2022, v2023) in REGIONS.items():
            out.append(grid(f"grid-cn-{region}-{year}", f"{name}平均二氧化碳排放因子 {year}", region, "average",
                            v2022 if year == 2022 else v2023, year, source, published))
    for province, (name, value) in PROVINCES_2022.items():
        out.append(grid(f"grid-cn-{province}-2022", f"{name}电力平均二氧化碳排放因子 2022", province, "average", value, 2022,
                        MEE_2022, 2024, note="Partial provincial table (daydaynews); full annex on mee.gov.cn."))
    for code, name, value, year, source, published in (
            ("footprint-cn-national-2023", "全国电力平均碳足迹因子 2023", "0.6205", 2023, FOOT_2023, 2025),
            ("footprint-cn-national-2024", "全国电力平均碳足迹因子 2024", "0.5777", 2024, FOOT_2024, 2025),
            ("footprint-cn-wind-2023", "风电碳足迹因子 2023", "0.0336", 2023, FOOT_2023, 2025),
            ("footprint-cn-pv-2023", "光伏发电碳足迹因子 2023", "0.0545", 2023, FOOT_2023, 2025),
            ("footprint-cn-biomass-2023", "生物质发电碳足迹因子 2023", "0.0457", 2023, FOOT_2023, 2025)):
        out.append(dict(code=code, name=name, category="grid", kind="footprint", activity="electricity",
                        region=code.split("-")[2], grid_basis="average", gas="CO2e", value=value,
                        unit="kgCO2e/kWh", activity_unit="kWh", kg_per_unit=Decimal(value), data_year=year,
                        source=source, source_year=published, confidence="H",
                        note="Life-cycle factor for product footprints; never used for scope 2."))
    c_to_co2 = Decimal(44) / Decimal(12)
    for activity, name, ncv, cc, ox, value, unit, conf, note in FUELS:
        unit_of = "m3" if activity == "natural_gas" else "t"
        kg = (Decimal(ncv) * Decimal(cc) * Decimal(ox) * c_to_co2).quantize(Decimal("1e-12"))
        out.append(dict(code=f"fuel-{activity.replace('_', '-')}-gbt32150", name=f"{name}燃烧排放因子（缺省值）",
                        category="fuel", activity=activity, value=value, unit=unit, activity_unit=unit_of,
                        kg_per_unit=kg, ncv=Decimal(ncv), carbon_content=Decimal(cc), oxidation_rate=Decimal(ox),
                        data_year=2015, source=GBT, source_year=2015, confidence=conf, note=note))
    out.append(dict(code="process-limestone", name="石灰石分解排放因子", category="process", activity="limestone",
                    value="0.4397", unit="tCO2/t", activity_unit="t", kg_per_unit=Decimal("439.7"), data_year=None,
                    source="Sector guideline value seen in code (domain notes §1.3); IPCC stoichiometry CaCO3→CO2 "
                           "gives 0.440", confidence="L"))
    out.append(dict(code="heat-cn-default", name="外购热力（蒸汽）排放因子（缺省值）", category="heat", activity="heat",
                    value="0.11", unit="tCO2/GJ", activity_unit="GJ", kg_per_unit=Decimal("110"), data_year=None,
                    source="工业其他行业企业温室气体排放核算方法与报告指南（试行）缺省值 0.11 tCO2/GJ",
                    confidence="L", note="Not in the domain notes: recalled default, verify before use. Steam in "
                                         "tonnes must be converted to GJ with its enthalpy."))
    for gas, activity, ar5, ar6, conf, note in GWP:
        for gwp_set, value in (("AR5", ar5), ("AR6", ar6)):
            out.append(dict(code=f"gwp-{gwp_set.lower()}-{gas.lower()}", name=f"GWP100 {gas} ({gwp_set})",
                            category="gwp", activity=activity, gas=gas, gwp_set=gwp_set, value=value,
                            unit="kgCO2e/kg", activity_unit="kg", kg_per_unit=Decimal(value), data_year=None,
                            source=GWP_SRC, source_year=2024, confidence=conf, note=note))
    return out


def seed(apps, schema_editor):
    EmissionFactor = apps.get_model("carbon", "EmissionFactor")
    for row in rows():
        row.setdefault("kind", "emission")
        row.setdefault("gas", "CO2")
        row["value"] = Decimal(row["value"])
        EmissionFactor.objects.get_or_create(code=row["code"], version=1, defaults=row)


def unseed(apps, schema_editor):
    apps.get_model("carbon", "EmissionFactor").objects.filter(version=1, user_defined=False).delete()


class Migration(migrations.Migration):
    dependencies = [("carbon", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
