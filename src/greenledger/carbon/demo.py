"""Carbon demo (演示数据): a year of monthly activity and production for the demo lithium plant,
green certificates for some months, and the reduction methods of the demo measures.

Loaded by ``greenledger demo`` after measures and telemetry. Electricity and natural gas come from
telemetry's rollups (the year of 15-minute data) through the same import a carbon manager runs
each month; diesel for forklifts and the monthly cell output come in as an ERP import would.
Without telemetry data the plant's meters are replaced by a monthly series of the same shape.
The wind-equipment plant's flange welding carries the 8 → 5 kg CO2 per flange story (W-WLD-01).
Factors come from the seed migration. Idempotent: rows are keyed by client ids.

The emission-anomaly story (page *Emission anomalies*), on top of telemetry's week of readings:
- yesterday 10:20–11:10 the coating oven's waste-heat recovery (L-COAT-02, HR-01) stopped; its
  hourly status says so, the operator reported it as an anomaly with the gas burnt instead, and
  the boiler's gas meter BLR-01.gas is flagged, linked through the measure's effect (recovered
  heat → boiler gas) although the boiler stands in another workshop;
- three days ago 09:00–13:00 the dry-room fan ran at 50 Hz instead of 30 Hz (L-ASM-03): nobody
  reported it, its effect shows the lapse, FAN-01.power is flagged, and the "no anomaly" records
  of the assembly workshop in those hours get an emission review flag for the shift leader.
The detection runs over the last two weeks at the end of the load.
"""

import datetime
import math
import time
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from greenledger.core.demo import SITE_CODE
from greenledger.core.models import Site

from . import anomalies, engine, services, telemetry_bridge
from .factors import select_factor
from .models import ActivityRecord, EmissionAnomaly, MeasureEffect, Origin, ProductionOutput, SiteCarbonProfile

NAMESPACE = uuid.UUID("c4a1d7e2-3b9f-4f0a-8e6d-1a2b3c4d5e6f")
MONTHS = 12
GAS_NCV = Decimal("0.038931")  # GJ/m³, the natural gas factor's NCV (GB/T 32150 default)
BOILER_EFFICIENCY = Decimal("0.9")
FALLBACK_KWH = {"mixing": 110000, "coating": 430000, "assembly": 160000, "formation": 275000, "utilities": 380000}

EFFECTS = {
    "L-ASM-03": ("frequency_baseline", {"rated_kw": 37, "baseline_hz": 50, "design_hz": 30, "param": "frequency"},
                 ["FAN-01.freq"], "干燥房风机 30 Hz 对 50 Hz 基准：P ∝ (f/f0)³ × 37 kW"),
    "L-COAT-02": ("recovery_output", {"recovered_gj_per_hour": 2.0, "fuel": "natural_gas", "boiler_efficiency": 0.9},
                  [], "烘箱排风余热预热新风，按 2 GJ/h 回收热量折算少烧天然气（锅炉效率 90 %）"),
    "L-MIX-01": ("material_substitution", {
        "quantity_param": "dosage", "content_param": "voc", "baseline_content": 80, "design_content": 40,
        "scale": 0.000833, "kg_co2_per_substance": 2.0,
        "source": "演示假设：常规电解液 VOC 80 g/L、密度 1.2 kg/L、VOC 经 RTO 氧化约 2 kgCO2/kg"}, [],
        "低 VOC 电解液：用量 × (80 − 实测 VOC) g/L ÷ 1.2 kg/L × 2 kgCO2/kg VOC（演示假设）"),
    "W-WLD-01": ("fixed_per_execution", {"baseline_kg_per_unit": 8, "actual_kg_per_unit": 5, "units_per_execution": 10,
                                         "source": "电弧焊 8 kgCO2/件 → 激光焊 5 kgCO2/件，每批 10 件"}, [],
                 "法兰电弧焊改激光焊：每批 10 件 × (8 − 5) kgCO2"),
}


def uid(*parts):
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def month_starts(today, count):
    year, month = today.year, today.month
    out = []
    for _i in range(count + 1):  # the current month to date plus ``count`` full months before it
        out.append(datetime.date(year, month, 1))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(out))


def period_of(first, today):
    end = engine.month_bounds(first.year, first.month)[1]
    if end >= today:
        end = today - datetime.timedelta(days=1)
    return first, end


def earlier_to_date(model, start, end, **match):
    """The month-to-date row an earlier load wrote (the demo loaded again on a later day of the month):
    today's longer row corrects it rather than being counted beside it."""
    return model.objects.filter(period_start=start, period_end__lt=end, origin=Origin.IMPORT, superseded=False,
                                **match).order_by("-period_end").first()


def month_to_date_activity(site, activity, start, end, workshop, client_id, **fields):
    earlier = earlier_to_date(ActivityRecord, start, end, site=site, activity=activity, workshop=workshop)
    services.record_activity(site=site, activity=activity, period_start=start, period_end=end, workshop=workshop,
                             origin=Origin.IMPORT, client_id=client_id, corrects=earlier,
                             correction_reason="月初至今数据延长" if earlier else "", **fields)


def month_to_date_output(site, product, start, end, workshop, client_id, **fields):
    earlier = earlier_to_date(ProductionOutput, start, end, site=site, product=product, workshop=workshop)
    services.record_output(site=site, product=product, period_start=start, period_end=end, workshop=workshop,
                           origin=Origin.IMPORT, client_id=client_id, corrects=earlier, **fields)


def season(first):
    return 1 + 0.12 * math.cos((first.timetuple().tm_yday - 200) / 365 * 2 * math.pi)


def ensure_profiles():
    for code in (SITE_CODE, "yancheng-pv", "nantong-wind"):
        site = Site.objects.filter(code=code).first()
        if site is not None:
            # Jiangsu plants: East China grid (华东电网)
            SiteCarbonProfile.objects.get_or_create(site=site, defaults={"grid_region": "east", "gwp_set": "AR6"})


def lithium_year(site, today):
    workshops = {w.code: w for w in site.workshops.all()}
    with_telemetry = telemetry_bridge.available() and telemetry_bridge.consumption_points(site)
    for first in month_starts(today, MONTHS):
        start, end = period_of(first, today)
        if end < start:
            continue
        share = Decimal((end - start).days + 1) / Decimal(engine.month_bounds(first.year, first.month)[1].day)
        if with_telemetry:
            telemetry_bridge.import_consumption(site, start, end)
        else:
            for code, kwh in FALLBACK_KWH.items():
                if code in workshops:
                    quantity = (Decimal(kwh) * Decimal(str(round(season(first), 3))) * share).quantize(Decimal(1))
                    month_to_date_activity(site, "electricity", start, end, workshops[code],
                                           uid("kwh", code, start, end), quantity=quantity, unit="kWh")
            month_to_date_activity(site, "natural_gas", start, end, workshops.get("utilities"), uid("gas", start, end),
                                   quantity=(Decimal(52000) * share).quantize(Decimal(1)), unit="m3")
        month_to_date_activity(site, "diesel", start, end, workshops.get("utilities"), uid("diesel", start, end),
                               quantity=(Decimal("1.8") * share).quantize(Decimal("0.001")), unit="t",
                               note="叉车柴油（加油记录汇总）")
        cells = (Decimal(1150000) * Decimal(str(round(season(first), 3))) * share).quantize(Decimal(1))
        month_to_date_output(site, "方形磷酸铁锂电芯", start, end, workshops.get("formation"), uid("cells", start, end),
                             quantity=cells, unit="只", final=True, defect_rate=Decimal("1.8"))
        for stage, product, unit, per_cell in (("coating", "正负极极片", "m²", Decimal("0.052")),
                                               ("assembly", "电芯（封装）", "只", Decimal(1))):
            if stage in workshops:
                month_to_date_output(site, product, start, end, workshops[stage], uid(stage, start, end),
                                     quantity=(cells * per_cell).quantize(Decimal(1)), unit=unit, final=False)
        if first.month in (3, 6, 9, 12) and end == engine.month_bounds(first.year, first.month)[1]:
            services.record_certificate(site=site, mwh=Decimal(300), period_start=start, period_end=end,
                                        reference=f"GEC-{first:%Y%m}-0001~0300", source="中国绿色电力证书交易平台",
                                        client_id=uid("gec", start))


def wind_welding_year(site, today):
    """Flange welding: 8 kg CO2 per flange before laser welding, 5 after (W-WLD-01 started_on)."""
    from greenledger.measures.models import Measure

    welding = site.workshops.filter(code="welding").first()
    measure = Measure.objects.filter(site=site, code="W-WLD-01").first()
    if welding is None or measure is None:
        return
    profile = services.profile_of(site)
    for first in month_starts(today, MONTHS):
        start, end = period_of(first, today)
        if end < start:
            continue
        factor = select_factor("electricity", year=start.year, region=profile.grid_region)
        flanges = Decimal(400 + 20 * (first.month % 3))
        per_unit = Decimal(5) if measure.started_on and start >= measure.started_on else Decimal(8)
        kwh = (flanges * per_unit / factor.kg_per_unit).quantize(Decimal(1))
        month_to_date_activity(site, "electricity", start, end, welding, uid("weld", start, end, kwh), quantity=kwh,
                               unit="kWh")
        month_to_date_output(site, "风电塔筒法兰", start, end, welding, uid("flanges", start, end), quantity=flanges,
                             unit="件", final=True)


def ensure_effects():
    from greenledger.measures.models import Measure

    for code, (method, parameters, points, note) in EFFECTS.items():
        measure = Measure.objects.filter(code=code).first()
        if measure is not None:
            MeasureEffect.objects.update_or_create(measure=measure, defaults={
                "method": method, "parameters": parameters, "points": points, "note": note})


def recovery_stop(today):
    """The telemetry story's waste-heat stop (yesterday 10:20–11:10): L-COAT-02's hourly status
    and the operator's anomaly report with the natural gas the boiler burnt instead."""
    from django.contrib.auth import get_user_model

    from greenledger.measures import services as measure_services
    from greenledger.measures.models import HourlyStatus, Measure

    measure = Measure.objects.filter(code="L-COAT-02").first()
    if measure is None:
        return
    local = timezone.localtime().replace(minute=0, second=0, microsecond=0) - datetime.timedelta(days=1)
    for hour in (10, 11):
        moment = local.replace(hour=hour)
        if HourlyStatus.objects.filter(measure=measure, hour=moment, superseded=False, status="stopped").exists():
            continue
        measure_services.record_hourly_status(measure, moment, "stopped", source="telemetry",
                                              note="余热回收出口温度骤降，10:20–11:10 停机",
                                              client_id=uid("hr-stop", moment.isoformat()))
    recovered = Decimal(str(EFFECTS["L-COAT-02"][1]["recovered_gj_per_hour"])) * Decimal(50) / Decimal(60)
    gas = (recovered / (GAS_NCV * BOILER_EFFICIENCY)).quantize(Decimal("0.1"))
    operator = get_user_model().objects.filter(username="operator").first()
    measure_services.report_anomaly(
        measure=measure, occurred_at=local.replace(hour=10, minute=20), user=operator,
        symptom="余热回收引风机跳闸，出口温度由 118 °C 降至 42 °C；锅炉补燃，11:10 复位恢复回收",
        immediate_handling="复位引风机并检查过载保护，通知设备科排查跳闸原因",
        extra_quantity=gas, extra_unit="m³", extra_activity="天然气",
        client_id=uid("hr-stop-anomaly", local.date().isoformat()))


def load(stdout=None):
    began = time.monotonic()
    site = Site.objects.filter(code=SITE_CODE).first()
    if site is None:
        return
    today = timezone.localdate()
    with transaction.atomic():
        ensure_profiles()
        lithium_year(site, today)
        wind = Site.objects.filter(code="nantong-wind").first()
        if wind is not None:
            wind_welding_year(wind, today)
        ensure_effects()
        recovery_stop(today)
        filled = services.fill_anomaly_emissions()
        if telemetry_bridge.available():
            now = timezone.now().replace(minute=0, second=0, microsecond=0)
            anomalies.detect(site, now - datetime.timedelta(days=14), now)
    if stdout is not None:
        stdout.write(f"demo: carbon: {ActivityRecord.objects.filter(site=site).count()} activity rows for "
                     f"{site.code}, {MeasureEffect.objects.count()} measure effects, {filled} anomaly emissions, "
                     f"{EmissionAnomaly.objects.filter(site=site).count()} emission anomalies "
                     f"({time.monotonic() - began:.1f} s)")
