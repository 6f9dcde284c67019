"""Telemetry demo (演示数据): the measuring points of the demo lithium-cell plant and a year of data.

A year of 15-minute, hourly and daily rollups is generated directly in bulk (fast); the last seven
days are fed as raw readings through :func:`greenledger.telemetry.services.ingest`, so status,
gaps and rollups of that week come from the real intake. The story the charts tell:

- workshop electricity meters with day/night shifts, quieter Sundays and a summer peak;
- rooftop PV (PV-01) with seasons and cloudy days: renewable self-sufficiency around 15 %;
- FAN-01 (dry-room fan) runs at 30 Hz; three days ago 09:00–13:00 it ran at 50 Hz (a lapse);
  FAN-01.power shows it (37 kW instead of 8), the workshop meter only a little;
- HR-01 waste-heat recovery at ~120 °C, stopped yesterday 10:20–11:10: the boiler makes up the
  heat it recovers (2 GJ/h, the figure of measure L-COAT-02's effect in the carbon demo), so
  BLR-01's natural gas rises by ~57 m³/h while it is stopped;
- BLR-01 natural gas (±10 % between winter and summer) and steam counters, LEAK-01 helium-test
  pressure;
- FAN-01's link dropped two days ago 02:00–04:00 and the PLC cache filled the gap (visible on
  its page); LEAK-01 has an open gap since yesterday 15:00–17:00.

Idempotent: points are keyed by code, data is generated only when the points have none.
"""

import datetime
import math
import random
import time
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from greenledger.core.demo import SITE_CODE
from greenledger.core.models import Equipment, Site, Workshop

from . import rollups, services
from .models import MeasuringPoint, Rollup15m, Source

QUARTER = datetime.timedelta(minutes=15)
DAYS = 365
RAW_DAYS = 7

# code, name, workshop code, equipment code, quantity, unit, cumulative, generation, interval s, min, max, opcua
POINTS = [
    ("E-mixing", "配料搅拌车间总电表", "mixing", None, "electricity", "kWh", True, False, 900, None, None, ""),
    ("E-coating", "涂布车间总电表", "coating", None, "electricity", "kWh", True, False, 900, None, None, ""),
    ("E-assembly", "电芯封装车间总电表", "assembly", None, "electricity", "kWh", True, False, 900, None, None, ""),
    ("E-formation", "化成测试车间总电表", "formation", None, "electricity", "kWh", True, False, 900, None, None, ""),
    ("E-utilities", "动力站总电表", "utilities", None, "electricity", "kWh", True, False, 900, None, None, ""),
    ("PV-01.gen", "屋顶光伏发电量", "utilities", "PV-01", "electricity", "kWh", True, True, 900, None, None, ""),
    ("BLR-01.gas", "锅炉天然气表", "utilities", "BLR-01", "natural_gas", "m³", True, False, 900, None, None, ""),
    ("BLR-01.steam", "锅炉蒸汽流量计", "utilities", "BLR-01", "steam", "t", True, False, 900, None, None, ""),
    ("BLR-01.pressure", "蒸汽压力", "utilities", "BLR-01", "pressure", "MPa", False, False, 900, 0, 1.6, ""),
    ("FAN-01.freq", "干燥房风机运行频率", "assembly", "FAN-01", "frequency", "Hz", False, False, 60, 0, 60,
     "ns=2;s=FAN-01.Frequency"),
    ("FAN-01.power", "干燥房风机功率", "assembly", "FAN-01", "power", "kW", False, False, 60, 0, 45, ""),
    ("HR-01.temp", "余热回收出口温度", "coating", "HR-01", "temperature", "°C", False, False, 60, 0, 250,
     "ns=2;s=HR-01.OutletTemp"),
    ("LEAK-01.pressure", "氦检测试压力", "assembly", "LEAK-01", "pressure", "kPa", False, False, 900, 0, 200, ""),
]

# waste-heat recovery (HR-01): heat recovered while running, and the boiler fuel that replaces it
HR_RECOVERED_GJ_PER_HOUR = 2.0
GAS_NCV_GJ_PER_M3 = 0.038931  # GB/T 32150 default, as in the factor library
BOILER_EFFICIENCY = 0.9

# average kW and day/night swing per workshop meter
LOADS = {"E-mixing": (150, 0.35), "E-coating": (600, 0.3), "E-assembly": (220, 0.3), "E-formation": (380, 0.15),
         "E-utilities": (520, 0.25)}


def ensure_points(site):
    workshops = {w.code: w for w in Workshop.objects.filter(site=site)}
    equipment = {e.code: e for e in Equipment.objects.filter(workshop__site=site)}
    points = {}
    for code, name, ws, eq, quantity, unit, cumulative, generation, interval, lo, hi, node in POINTS:
        # get_or_create, not update_or_create: a second run must not touch (and audit) the points
        point, _created = MeasuringPoint.objects.get_or_create(site=site, code=code, defaults={
            "name": name, "workshop": workshops.get(ws), "equipment": equipment.get(eq) if eq else None,
            "quantity": quantity, "unit": unit, "cumulative": cumulative, "generation": generation,
            "expected_interval_seconds": interval, "valid_min": lo, "valid_max": hi,
            "source": Source.OPCUA if node else Source.MQTT, "opcua_node_id": node})
        points[code] = point
    return points


class Story:
    """The plant's physics, as functions of local time: kW, Hz, °C, kPa and flows."""

    def __init__(self, tz, today):
        self.tz = tz
        self.lapse_day = today - datetime.timedelta(days=3)
        self.hr_stop_day = today - datetime.timedelta(days=1)
        self.rng = random.Random(20260501)
        self.cloud = {}

    def cloudiness(self, day):
        if day not in self.cloud:
            self.cloud[day] = random.Random(day.toordinal()).choice([1.0, 0.95, 0.9, 0.8, 0.6, 0.35, 0.15])
        return self.cloud[day]

    def load_kw(self, code, local):
        base, swing = LOADS[code]
        hour = local.hour + local.minute / 60
        shift = 1 + swing * math.sin((hour - 9) / 24 * 2 * math.pi)
        week = 0.7 if local.weekday() == 6 else 1.0
        season = 1 + 0.12 * math.cos((local.timetuple().tm_yday - 200) / 365 * 2 * math.pi)  # summer cooling
        if code == "E-utilities":
            season = 1 + 0.3 * math.cos((local.timetuple().tm_yday - 200) / 365 * 2 * math.pi)
        noise = 1 + 0.03 * math.sin(local.minute * 7 + local.day * 13 + hour * 3)
        kw = base * shift * week * season * noise
        if code == "E-assembly" and self.fan_lapse(local):
            kw += 37 - 8  # the fan at 50 Hz draws 37 kW instead of 8
        return kw

    def pv_kw(self, local):
        doy = local.timetuple().tm_yday
        day_length = 12 + 2 * math.sin((doy - 81) / 365 * 2 * math.pi)
        rise = 12 - day_length / 2
        hour = local.hour + local.minute / 60 + 7.5 / 60
        if not rise < hour < rise + day_length:
            return 0.0
        sun = math.sin(math.pi * (hour - rise) / day_length) ** 1.3
        season = 0.75 + 0.25 * math.sin((doy - 81) / 365 * 2 * math.pi)
        return 2000 * 0.8 * sun * season * self.cloudiness(local.date())

    def fan_lapse(self, local):
        return local.date() == self.lapse_day and 9 <= local.hour < 13

    def fan_hz(self, local):
        return 50.0 if self.fan_lapse(local) else 30.0 + 0.2 * math.sin(local.minute / 3)

    def fan_kw(self, local):
        return 37 * (self.fan_hz(local) / 50) ** 3

    def hr_stopped(self, local):
        minutes = local.hour * 60 + local.minute
        return local.date() == self.hr_stop_day and 10 * 60 + 20 <= minutes < 11 * 60 + 10

    def hr_temp(self, local):
        minutes = local.hour * 60 + local.minute
        if self.hr_stopped(local):
            return 42.0 + 0.5 * math.sin(minutes)
        return 118 + 6 * math.sin(minutes / 180) + 0.8 * math.sin(minutes)

    def gas_m3h(self, local):
        winter = 1 + 0.10 * math.cos((local.timetuple().tm_yday - 15) / 365 * 2 * math.pi)
        gas = 110 * winter * (0.85 if local.weekday() == 6 else 1.0)
        if self.hr_stopped(local):
            gas += HR_RECOVERED_GJ_PER_HOUR / (GAS_NCV_GJ_PER_M3 * BOILER_EFFICIENCY)
        return gas

    def rate(self, code, local):
        """Per-hour amount of a cumulative point at ``local``."""
        if code in LOADS:
            return self.load_kw(code, local)
        if code == "PV-01.gen":
            return self.pv_kw(local)
        if code == "BLR-01.gas":
            return self.gas_m3h(local)
        if code == "BLR-01.steam":
            return self.gas_m3h(local) / 75  # ~75 m³ gas per tonne of steam
        raise KeyError(code)

    def value(self, code, local):
        """Instantaneous value of a non-cumulative point at ``local``."""
        if code == "FAN-01.freq":
            return self.fan_hz(local)
        if code == "FAN-01.power":
            return self.fan_kw(local)
        if code == "HR-01.temp":
            return self.hr_temp(local)
        if code == "BLR-01.pressure":
            return 0.8 + 0.05 * math.sin(local.hour / 24 * 2 * math.pi)
        if code == "LEAK-01.pressure":
            return 100 + 4 * math.sin(local.minute + local.hour)
        raise KeyError(code)


def generate_history(points, story, start, end):
    """15-minute, hourly and daily rollups in [start, end) written in bulk; returns the counters at ``end``."""
    tz = story.tz
    quarters = int((end - start) / QUARTER)
    counters = {}
    for code, point in points.items():
        q_rows, hours, days = [], {}, {}
        counter = 100000.0 if point.cumulative else None
        for i in range(quarters):
            bucket = start + i * QUARTER
            local = bucket.astimezone(tz)
            if point.cumulative:
                amount = story.rate(code, local) / 4
                counter += amount
                value = round(counter, 2)
                row = [point.pk, bucket, 1, value, value, value, bucket, value, bucket, value, round(amount, 3)]
            else:
                n = point.expected_interval_seconds and max(900 // point.expected_interval_seconds, 1)
                mid = story.value(code, local + datetime.timedelta(minutes=7))
                lo, hi = story.value(code, local), story.value(code, local + datetime.timedelta(minutes=14))
                last = bucket + datetime.timedelta(seconds=900 - 900 // n)
                row = [point.pk, bucket, n, mid * n, min(lo, mid, hi), max(lo, mid, hi), bucket, lo, last, hi, None]
            q_rows.append(row)
            for key, groups in ((rollups.floor_hour(bucket), hours), (rollups.floor_day(bucket, tz), days)):
                agg = groups.get(key)
                if agg is None:
                    groups[key] = list(row[:1]) + [key] + row[2:]
                else:
                    agg[2] += row[2]
                    agg[3] += row[3]
                    agg[4] = min(agg[4], row[4])
                    agg[5] = max(agg[5], row[5])
                    agg[8], agg[9] = row[8], row[9]
                    if row[10] is not None:
                        agg[10] = (agg[10] or 0) + row[10]
        rollups.upsert(rollups.Rollup15m, q_rows)
        rollups.upsert(rollups.RollupHour, list(hours.values()))
        rollups.upsert(rollups.RollupDay, list(days.values()))
        counters[code] = counter
    return counters


def raw_week(points, story, start, end, counters):
    """The last week as raw readings; returns (regular readings, the PLC-cache backfill)."""
    tz = story.tz
    regular, backfill = [], []
    outage_day = (end.astimezone(tz) - datetime.timedelta(days=2)).date()
    leak_day = (end.astimezone(tz) - datetime.timedelta(days=1)).date()
    for code, point in points.items():
        step = datetime.timedelta(seconds=point.expected_interval_seconds)
        ts = start
        counter = counters.get(code)
        while ts < end:
            local = ts.astimezone(tz)
            if point.cumulative:
                counter += story.rate(code, local) * step.total_seconds() / 3600
                value = round(counter, 2)
            else:
                value = round(story.value(code, local), 3)
            reading = (point, ts, value)
            if code == "FAN-01.freq" and local.date() == outage_day and 2 <= local.hour < 4:
                backfill.append(reading)  # the link was down; the PLC kept them
            elif code == "LEAK-01.pressure" and local.date() == leak_day and 15 <= local.hour < 17:
                pass  # lost for good: an open gap
            else:
                regular.append(reading)
            ts += step
    return regular, backfill


def load(stdout=None):
    site = Site.objects.filter(code=SITE_CODE).first()
    if site is None:
        return
    started = time.monotonic()
    with transaction.atomic():
        points = ensure_points(site)
        if Rollup15m.objects.filter(point__in=points.values()).exists():
            if stdout is not None:
                stdout.write(f"demo: telemetry: {len(points)} measuring points (data already loaded)")
            return
        tz = ZoneInfo(site.time_zone)
        now = timezone.now()
        today = now.astimezone(tz).date()
        raw_start = datetime.datetime.combine(today - datetime.timedelta(days=RAW_DAYS), datetime.time(), tz)
        history_start = datetime.datetime.combine(today - datetime.timedelta(days=DAYS), datetime.time(), tz)
        story = Story(tz, today)
        counters = generate_history(points, story, history_start.astimezone(datetime.UTC),
                                    raw_start.astimezone(datetime.UTC))
        end = rollups.floor_quarter(now)
        regular, backfill = raw_week(points, story, raw_start.astimezone(datetime.UTC), end, counters)
        received = services.IngestResult()
        for i in range(0, len(regular), 20000):
            received.add(services.ingest(regular[i:i + 20000], Source.DEMO))
        received.add(services.ingest(backfill, Source.OPCUA))
    if stdout is not None:
        stdout.write(f"demo: telemetry: {len(points)} measuring points, a year of rollups and "
                     f"{received.stored} raw readings of the last {RAW_DAYS} days "
                     f"({time.monotonic() - started:.1f} s)")
