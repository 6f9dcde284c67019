"""Demo gate e-ledger for the demo battery plant: the east gate, two carriers' fleets, in-plant vehicles
and machines, a blacklisted plate, an orange alert some days ago, and 30 days of passages decided by
the real rules (``services.record_passage``), with a few manual releases, usage and transport records.

Idempotent: registries, lanes and cameras are keyed by plate/code; the passages are generated only
when the site has none yet. A demo camera token (purpose "camera") is issued once and its secret kept
in the data directory (``demo-camera-token.txt``, readable by the owner only) so every run can print it
for ``greenledger camera-sim``; a new one is issued only when that one is gone or revoked.
"""

import datetime
import os
import random
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from greenledger.core.demo import SITE_CODE, tiny_png
from greenledger.core.models import ApiToken, Site, TokenPurpose

from . import actions, alerts, services
from .codes import AlertLevel, Decision, Direction, PerformanceGrade
from .models import (
    AlertPeriod, BarrierKind, Camera, Carrier, Gate, GateSettings, InPlantVehicle, Lane, ListEntry, ListKind,
    Machine, Passage, RuleSet, TransportMode, TransportRecord, UsageRecord, Vehicle,
)

DAYS = 30
# an entry and an exit each: ~50 passages a day. Each passage is decided and sealed by services.record_passage
# (~18 queries); ~150 a day would take about a minute on a busy 2-core machine.
VISITS_PER_DAY = 25
TOKEN_NAME = "演示东门摄像机"
BLACKLISTED = "苏D99999"
ORANGE_DAYS_AGO = (12, 10)  # the orange alert ran from 12 days ago to the end of 10 days ago

CARRIERS = [
    ("常州顺达物流有限公司", "91320412MA1SD0001X", "周师傅", "13961100001"),
    ("武进恒通运输车队", "91320412MA1HT0002Y", "钱队长", "13961100002"),
]
# (carrier index, count, stage, fuel, plate colour, brand/model, engine maker)
FLEET = [
    (0, 6, "6", "diesel", "yellow", "解放 J6P 牵引车", "一汽解放锡柴"),
    (0, 6, "5", "diesel", "yellow", "东风天龙 KL", "东风康明斯"),
    (0, 3, "6", "gas", "yellow", "陕汽德龙 X5000 LNG", "潍柴动力"),
    (0, 3, "ev", "electric", "yellow_green", "三一 EV 550 换电重卡", "三一重工"),
    (0, 2, "4", "diesel", "yellow", "欧曼 GTL", "福田康明斯"),
    (1, 4, "4", "diesel", "yellow", "重汽豪沃 T7H", "中国重汽"),
    (1, 4, "5", "diesel", "yellow", "红岩杰狮", "上汽红岩"),
    (1, 2, "6", "diesel", "yellow", "乘龙 H7", "玉柴"),
]
IN_PLANT = [("32041200NRV0001", "苏D0C001", "电动短驳车", "ev", "electric"),
            ("32041200NRV0002", "苏D0C002", "厂内牵引车", "6", "diesel")]
MACHINES = [("32041200F000101", "叉车", "合力 CPD30 电动叉车", "ev", "electric", "30.0"),
            ("32041200F000102", "叉车", "杭叉 CPCD50", "nr4", "diesel", "46.0"),
            ("32041200F000103", "装载机", "柳工 CLG856H", "nr3", "diesel", "162.0")]
UNKNOWN_PLATES = ["苏B3K512", "浙E7M209", "皖A6C833", "苏A8G217", "鲁Q5N620"]
CARGO = [("磷酸铁锂正极材料", "31.500"), ("电解液", "18.200"), ("铝箔", "12.000"), ("成品电芯", "24.800"),
         ("隔膜", "9.600"), ("废包装材料", "6.300")]
RELEASE_REASONS = ["临时送货车辆，已核对行驶证与随车清单（国五柴油），登记待审核",
                   "设备厂家售后服务车辆，经环保管理员电话同意放行",
                   "车牌识别失败，人工核对车牌与白名单一致"]
BLOCK_REASONS = ["无随车清单，无法核实排放阶段，劝返", "未预约的外来车辆，拒绝入厂"]


def load(stdout=None):
    site = Site.objects.filter(code=SITE_CODE).first()
    if site is None:
        return
    began = time.monotonic()
    with transaction.atomic():
        lanes = ensure_gate(site)
        vehicles = ensure_registries(site)
        ensure_lists(site)
        ensure_settings(site)
        ensure_alert(site)
        generated = 0 if Passage.objects.filter(site=site).exists() else generate_passages(site, lanes, vehicles)
        ensure_usage_and_transport(site)
    token = camera_token(site)
    if stdout is not None:
        stdout.write(f"demo gate: 东门 with 2 lanes, {len(vehicles)} registered vehicles, {generated} new passages "
                     f"({Passage.objects.filter(site=site).count()} in all, {time.monotonic() - began:.1f} s)")
        stdout.write(f"demo gate camera token (purpose camera, site {site.code}): {token}")
        url = os.environ.get("GREENLEDGER_URL", "http://127.0.0.1:8000")  # make run passes the address it serves
        stdout.write(f"  greenledger camera-sim --url {url} --token {token} --camera east-in-zs")


def ensure_gate(site):
    gate, _ = Gate.objects.update_or_create(site=site, code="east", defaults={
        "name": "东门", "location": "厂区东侧物流通道"})
    entry, _ = Lane.objects.update_or_create(gate=gate, code="east-in", defaults={
        "name": "东门入口", "direction": Direction.IN, "barrier": BarrierKind.CAMERA_RELAY})
    exit_, _ = Lane.objects.update_or_create(gate=gate, code="east-out", defaults={
        "name": "东门出口", "direction": Direction.OUT, "barrier": BarrierKind.HIKVISION,
        "barrier_username": "admin", "barrier_secret_env": "GREENLEDGER_DEMO_BARRIER_PASSWORD"})
    Camera.objects.update_or_create(code="east-in-zs", defaults={
        "lane": entry, "protocol": "zhenshi", "serial_no": "ZS-E1-IN-0001", "ip_address": "192.168.10.21"})
    Camera.objects.update_or_create(code="east-out-hik", defaults={
        "lane": exit_, "protocol": "hikvision", "serial_no": "DS-TCG227-E1OUT", "ip_address": "192.168.10.22"})
    return {Direction.IN: entry, Direction.OUT: exit_}


def ensure_registries(site):
    env = get_user_model().objects.filter(username="env").first()
    now = timezone.now()
    carriers = [Carrier.objects.update_or_create(site=site, name=name, defaults={
        "credit_code": code, "contact": contact, "phone": phone})[0] for name, code, contact, phone in CARRIERS]
    vehicles, number = [], 0
    for carrier_index, count, stage, fuel, color, model, maker in FLEET:
        for _ in range(count):
            number += 1
            plate = f"苏D{60000 + number * 37:05d}" + ("D" if fuel == "electric" else "")
            vehicle = _approved(Vehicle, dict(site=site, plate=plate, plate_color=color), {
                "carrier": carriers[carrier_index], "stage": stage, "fuel": fuel, "brand_model": model,
                "engine_maker": maker, "engine_model": "—" if fuel == "electric" else f"EM{number:03d}",
                "engine_no": "" if fuel == "electric" else f"E{2400000 + number}",
                "vin": demo_vin(number), "vehicle_type": "重型半挂牵引车", "category": "N3",
                "vehicle_class": "heavy_truck", "registration_date": datetime.date(2019 + number % 6, 1 + number % 12, 5),
                "use_nature": "货运", "owner": carriers[carrier_index].name, "network_status": "online",
                "state": "approved", "reviewed_by": env, "gross_mass_kg": 49000}, reviewed_at=now)
            vehicles.append(vehicle)
    for code, plate, model, stage, fuel in IN_PLANT:
        _approved(InPlantVehicle, dict(site=site, registration_code=code), {
            "plate": plate, "plate_color": "green" if fuel == "electric" else "yellow", "brand_model": model,
            "stage": stage, "fuel": fuel, "owner": "华锂新能源科技（常州）有限公司", "state": "approved",
            "reviewed_by": env}, reviewed_at=now)
    for code, kind, model, stage, fuel, power in MACHINES:
        _approved(Machine, dict(site=site, registration_code=code), {
            "machine_type": kind, "model": model, "stage": stage, "fuel": fuel, "rated_power_kw": Decimal(power),
            "machine_code": f"HL{code[-9:]}MC0001"[:17], "owner": "华锂新能源科技（常州）有限公司",
            "state": "approved", "reviewed_by": env}, reviewed_at=now)
    return vehicles


def _approved(model, lookup, defaults, *, reviewed_at):
    """Create or refresh a registry entry; the review time is set once, so a second demo run changes nothing."""
    entry, _created = model.objects.update_or_create(
        **lookup, defaults=defaults, create_defaults={**defaults, "reviewed_at": reviewed_at})
    return entry


def demo_vin(number):
    """A VIN with a correct check digit (GB 16735), so the registry shows no warning."""
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    body = f"LFWSRXRJ0K1{number:06d}"
    values = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))),
              **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
    total = sum(values[c] * w for c, w in zip(body, weights))
    check = "X" if total % 11 == 10 else str(total % 11)
    return body[:8] + check + body[9:]


def ensure_lists(site):
    ListEntry.objects.update_or_create(site=site, kind=ListKind.BLACKLIST, plate=BLACKLISTED, defaults={
        "reason": "多次冲卡、随车清单造假（2025-06 环保检查发现）", "source": "企业环保管理制度"})


def ensure_settings(site):
    rule_set = default_rule_set()
    GateSettings.objects.update_or_create(site=site, defaults={"grade": PerformanceGrade.B, "rule_set": rule_set})


def default_rule_set():
    try:
        from .rulesets import DEFAULT_RULE_SETS
        preferred = DEFAULT_RULE_SETS[0]["name"]
    except ImportError:
        preferred = None
    return RuleSet.objects.filter(name=preferred).first() or RuleSet.objects.order_by("pk").first()


def local_midnight(days_ago):
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def ensure_alert(site):
    if AlertPeriod.objects.filter(site=site).exists():
        return
    env = get_user_model().objects.filter(username="env").first()
    start, end = ORANGE_DAYS_AGO
    alerts.switch_alert(site, AlertLevel.ORANGE, starts_at=local_midnight(start), ends_at=local_midnight(end - 1),
                        reason="常州市重污染天气橙色预警（II级响应）", user=env, regulator_ref="常环应急〔示例〕12号",
                        measures_text="禁止国四及以下柴油重型货车（含燃气）进出，停用国二及以下非道路移动机械")


# Passages ----------------------------------------------------------------------------------------------


def generate_passages(site, lanes, vehicles):
    """~150 passages a day for 30 days, in time order so exits pair with their entries."""
    rnd = random.Random(2026)
    guard = get_user_model().objects.filter(username="guard").first()
    orange = {timezone.localdate() - datetime.timedelta(days=d) for d in range(ORANGE_DAYS_AGO[1], ORANGE_DAYS_AGO[0] + 1)}
    events = []
    for days_ago in range(DAYS, -1, -1):
        day = timezone.localdate() - datetime.timedelta(days=days_ago)
        events += day_visits(rnd, day, vehicles, day in orange)
    now = timezone.now()
    events = sorted((e for e in events if e[0] <= now), key=lambda e: e[0])
    photo_from = len(events) - 20
    count = 0
    for number, (at, direction, plate, color, cargo) in enumerate(events):
        images = snapshots() if number >= photo_from else ()
        passage = services.record_passage(lane=lanes[direction], plate=plate, plate_color=color, occurred_at=at,
                                          direction=direction, confidence=rnd.randint(86, 99), images=images,
                                          cargo=cargo, open_barrier=direction == Direction.IN or None)
        count += 1
        if guard is not None and passage.decision == Decision.MANUAL and direction == Direction.IN:
            handle_by_hand(rnd, passage, guard)
    return count


def day_visits(rnd, day, vehicles, orange):
    """(time, direction, plate, colour, cargo) of one day's visits."""
    events = []
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(6)))
    for _ in range(VISITS_PER_DAY):
        vehicle = rnd.choice(vehicles)
        if orange and vehicle.stage == "4" and rnd.random() < 0.7:
            continue  # most carriers keep their 国四 trucks home during the alert; some still come and are turned back
        plate, color = vehicle.plate, vehicle.plate_color
        roll = rnd.random()
        if roll < 0.025:
            plate, color = rnd.choice(UNKNOWN_PLATES), "blue" if rnd.random() < 0.5 else "yellow"
        elif roll < 0.03:
            plate, color = BLACKLISTED, "yellow"
        at = start + datetime.timedelta(minutes=rnd.randint(0, 14 * 60), seconds=rnd.randint(0, 59))
        name, weight = rnd.choice(CARGO)
        cargo = {"name": name, "weight_t": weight} if rnd.random() < 0.6 else None
        events.append((at, Direction.IN, plate, color, cargo))
        events.append((at + datetime.timedelta(minutes=rnd.randint(25, 150)), Direction.OUT, plate, color, None))
    return events


def handle_by_hand(rnd, passage, guard):
    """The guard releases most vehicles sent to manual check, with a reason, and turns a few away."""
    at = passage.occurred_at + datetime.timedelta(minutes=rnd.randint(1, 6))
    if rnd.random() < 0.75:
        actions.manual_release(passage, guard, rnd.choice(RELEASE_REASONS), occurred_at=at)
    else:
        actions.manual_block(passage, guard, rnd.choice(BLOCK_REASONS), occurred_at=at)


def snapshots():
    return (("plate", tiny_png((246, 192, 0), 48)), ("scene", tiny_png((120, 130, 140), 96)))


# Usage, transport, token -------------------------------------------------------------------------------


def ensure_usage_and_transport(site):
    if not UsageRecord.objects.filter(site=site).exists():
        operator = get_user_model().objects.filter(username="operator").first()
        rnd = random.Random(7)
        machines = list(Machine.objects.filter(site=site))
        in_plant = list(InPlantVehicle.objects.filter(site=site))
        for days_ago in range(DAYS, 0, -2):
            start = local_midnight(days_ago) + datetime.timedelta(hours=8)
            hours = Decimal(rnd.randint(4, 9))
            machine = rnd.choice(machines)
            UsageRecord.objects.create(site=site, machine=machine, started_at=start,
                                       ended_at=start + datetime.timedelta(hours=int(hours)), hours=hours,
                                       operator_name="马超", entered_by=operator, occurred_at=start,
                                       fuel_litres=None if machine.fuel == "electric" else hours * 6)
            UsageRecord.objects.create(site=site, in_plant_vehicle=rnd.choice(in_plant), started_at=start,
                                       ended_at=start + datetime.timedelta(hours=3), hours=Decimal(3),
                                       operator_name="黄海", entered_by=operator, occurred_at=start)
    if not TransportRecord.objects.filter(site=site).exists():
        env = get_user_model().objects.filter(username="env").first()
        today = timezone.localdate()
        for months_back in (1, 0):
            first = (today.replace(day=1) - datetime.timedelta(days=months_back * 28)).replace(day=1)
            last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
            for mode, cargo, tonnes in ((TransportMode.RAIL, "磷酸铁锂正极材料", "12600"),
                                        (TransportMode.BELT, "电解液（管廊输送）", "2100"),
                                        (TransportMode.ROAD_NEV, "成品电芯", "1850"),
                                        (TransportMode.ROAD, "铝箔、隔膜等", "4300")):
                TransportRecord.objects.create(site=site, period_start=first, period_end=last,
                                               direction=Direction.IN if mode != TransportMode.ROAD_NEV else Direction.OUT,
                                               mode=mode, cargo_name=cargo, tonnes=Decimal(tonnes),
                                               source_doc=f"ERP 运输月报 {first:%Y-%m}", entered_by=env)


def camera_token(site):
    kept = Path(settings.DATA_DIR) / "demo-camera-token.txt"
    if kept.exists():
        secret = kept.read_text().strip()
        token = ApiToken.objects.filter(key_hash=ApiToken.hash_key(secret), site=site).first()
        if token is not None and token.is_active:
            return secret
    _token, secret = ApiToken.issue(name=TOKEN_NAME, site=site, purpose=TokenPurpose.CAMERA)
    kept.write_text(secret + "\n")
    kept.chmod(0o600)
    return secret
