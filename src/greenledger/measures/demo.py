"""Demo measure ledger: catalogues for a lithium-battery, a PV-module and a wind-equipment plant,
and a month of records with anomalies, late entries, misses and a contractor.

Idempotent: the catalogue is keyed by measure code, and the month of records is generated only
when the demo site has no records yet (record ids are derived from measure and time).
"""

import datetime
import random
import uuid
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone

from greenledger.core.demo import SITE_CODE, tiny_png
from greenledger.core.models import Enterprise, Equipment, Industry, Person, Site, Workshop, WorkshopKind

from . import services
from .models import (
    ChecklistItem, ChecklistTemplate, ContractorAssignment, ExecutionRecord, Measure, MeasureParameter,
    MissedExecution, Shift,
)

NAMESPACE = uuid.UUID("6f1c2a9e-5b7d-4c1e-9a3f-2d8e4b6c0a11")

OTHER_SITES = [
    # enterprise, site code, site name, industry, stages [(code, name, [(equipment code, name, tag)])]
    ("苏光光伏科技（盐城）有限公司", "yancheng-pv", "盐城光伏组件工厂", Industry.PV, [
        ("wafer", "硅片切割", [("SAW-01", "金刚线切片机 1#", "NFC-SAW-01"), ("CF-01", "切割液循环系统", "NFC-CF-01")]),
        ("soldering", "电池片焊接", [("IR-01", "红外串焊机 1#", "NFC-IR-01"), ("FUME-01", "焊接烟尘净化器", "NFC-FUME-01")]),
        ("glass", "光伏玻璃熔窑", [("FUR-01", "玻璃熔窑", "NFC-FUR-01"), ("WHR-01", "熔窑余热回收系统", "NFC-WHR-01")]),
        ("cleaning", "组件清洗", [("WASH-01", "清洗水循环系统", "NFC-WASH-01")]),
    ]),
    ("海风重工（南通）有限公司", "nantong-wind", "南通风电设备工厂", Industry.WIND, [
        ("grinding", "叶片打磨", [("DUST-01", "打磨区集尘系统", "NFC-DUST-01")]),
        ("welding", "法兰焊接", [("LASER-01", "法兰激光焊接机", "NFC-LASER-01"), ("COOL-01", "焊枪冷却系统", "NFC-COOL-01")]),
        ("nacelle", "机舱装配", [("GB-01", "齿轮箱装配台", "NFC-GB-01")]),
    ]),
]

# site, stage, code, name, type, purpose, schedule, extras, params [(code, name, unit, min, max, source)]
CATALOGUE = [
    (SITE_CODE, "mixing", "L-MIX-01", "使用低挥发性电解液", "operation", "reduction", "per_batch",
     {"equipment": "MIX-01", "reduction_target": "VOCs −30 %", "reduction_link": "低 VOC 电解液减少挥发性有机物排放与溶剂回收能耗",
      "safety_link": "降低车间可燃蒸气浓度，预防燃爆"},
     [("dosage", "用量", "kg", 0, 500, "manual"), ("voc", "VOC 含量", "g/L", 0, 50, "manual")]),
    (SITE_CODE, "mixing", "L-MIX-02", "搅拌罐压力实时监测", "equipment", "safety", "continuous",
     {"equipment": "MIX-01", "safety_target": "零超压", "safety_link": "防止搅拌罐超压泄漏"},
     [("pressure", "罐内压力", "kPa", -95, 20, "telemetry")]),
    (SITE_CODE, "mixing", "L-MIX-03", "投料间粉尘收集器运行", "equipment", "both", "continuous",
     {"equipment": "DC-01", "safety_target": "粉尘浓度 ≤ 4 mg/m³", "reduction_link": "减少正极粉尘无组织排放",
      "safety_link": "预防粉尘爆炸与职业病"}, []),
    (SITE_CODE, "coating", "L-COAT-01", "NMP 冷凝回收", "equipment", "both", "every_n_hours",
     {"equipment": "NMP-01", "interval_hours": 4, "reduction_target": "NMP 回收率 ≥ 95 %",
      "reduction_link": "回收 NMP，减少 VOCs 排放与新溶剂生产的隐含碳", "safety_link": "降低 NMP 暴露"},
     [("recovery", "回收率", "%", 95, 100, "manual"), ("outlet_temp", "冷凝出口温度", "°C", 5, 25, "manual")]),
    (SITE_CODE, "coating", "L-COAT-02", "烘箱余热回收系统运行", "equipment", "reduction", "continuous",
     {"equipment": "HR-01", "reduction_target": "烘箱天然气 −8 %", "reduction_link": "回收烘箱排风余热预热新风，少烧天然气"},
     [("heat_temp", "余热回收温度", "°C", 80, 160, "telemetry", "HR-01.temp")]),
    (SITE_CODE, "assembly", "L-ASM-01", "封装设备能耗优化", "operation", "reduction", "per_shift",
     {"equipment": "SEAL-01", "reduction_target": "单位电芯电耗 −5 %", "reduction_link": "待机自动休眠，降低封装电耗"},
     [("energy", "班次电耗", "kWh", 50, 400, "manual")]),
    (SITE_CODE, "assembly", "L-ASM-02", "封装密封性检测", "inspection", "safety", "per_batch",
     {"equipment": "LEAK-01", "safety_target": "零泄漏", "safety_link": "防止电解液泄漏引发短路与火灾"},
     [("pass_rate", "检测合格率", "%", 98, 100, "manual"), ("pressure", "检测压力", "kPa", 80, 120, "telemetry",
                                                             "LEAK-01.pressure")]),
    (SITE_CODE, "assembly", "L-ASM-03", "干燥房通风系统变频运行", "equipment", "both", "continuous",
     {"equipment": "FAN-01", "reduction_target": "风机电耗 −40 %",
      "reduction_link": "风机 30 Hz 运行，降低风机能耗，减少间接碳排放（约 2 kgCO₂/h）",
      "safety_link": "保证车间有害气体浓度 ≤ 0.1 mg/m³，预防中毒"},
     [("frequency", "运行频率", "Hz", 25, 35, "telemetry", "FAN-01.freq")]),
    (SITE_CODE, "assembly", "L-ASM-04", "电解液挥发浓度检测", "inspection", "safety", "every_n_hours",
     {"interval_hours": 2, "safety_target": "≤ 0.1 mg/m³", "safety_link": "及时发现电解液挥发，预防中毒"},
     [("concentration", "挥发浓度", "mg/m³", 0, 0.1, "manual")]),
    (SITE_CODE, "assembly", "L-ASM-05", "激光焊接质量抽检", "inspection", "both", "per_shift",
     {"equipment": "LW-01", "reduction_link": "激光焊替代电阻焊，单位产品电耗更低", "safety_link": "虚焊导致内短路"},
     [("samples", "抽检数", "个", 5, 50, "manual"), ("defects", "不良数", "个", 0, 1, "manual")]),
    (SITE_CODE, "formation", "L-FORM-01", "化成柜电能回馈装置启用", "equipment", "reduction", "daily",
     {"equipment": "FORM-01", "reduction_target": "化成电耗 −20 %", "reduction_link": "放电能量回馈电网，减少外购电"},
     [("recovered", "回馈电量", "kWh", 500, 3000, "manual")]),
    (SITE_CODE, "formation", "L-FORM-02", "过充保护装置定期校验", "inspection", "safety", "weekly",
     {"equipment": "FORM-02", "photo_required": True, "safety_target": "校验合格率 100 %",
      "safety_link": "防止过充引发热失控"}, [("channels_ok", "合格通道数", "个", 512, 512, "manual")]),
    (SITE_CODE, "utilities", "L-UT-01", "空压机变频运行", "equipment", "reduction", "daily",
     {"equipment": "AC-01", "reduction_target": "空压电耗 −15 %", "reduction_link": "按用气量变频，减少卸载空转电耗"},
     [("pressure", "管网压力", "MPa", 0.55, 0.7, "manual")]),
    (SITE_CODE, "formation", "L-SAFE-01", "化成区消防应急演练", "operation", "safety", "on_event",
     {"checklist": "消防应急演练", "safety_target": "全员 3 分钟内疏散", "safety_link": "热失控火灾应急处置能力"}, []),
    (SITE_CODE, "assembly", "L-SAFE-02", "安全减排巡检", "operation", "both", "per_shift",
     {"checklist": "安全减排巡检表", "safety_link": "及时发现泄漏、过热与防护缺失"}, []),
    ("yancheng-pv", "wafer", "P-CUT-01", "切割液循环利用", "equipment", "reduction", "daily",
     {"equipment": "CF-01", "reduction_target": "切割液消耗 −30 %", "reduction_link": "切割液过滤回用，减少新液与危废处置"},
     [("recycle_rate", "循环利用率", "%", 80, 100, "manual")]),
    ("yancheng-pv", "wafer", "P-CUT-02", "切割设备防护罩完好性检查", "inspection", "safety", "per_shift",
     {"equipment": "SAW-01", "safety_link": "防止断线飞溅伤人"}, []),
    ("yancheng-pv", "soldering", "P-SOL-01", "红外焊接替代热风焊接", "equipment", "reduction", "per_shift",
     {"equipment": "IR-01", "reduction_target": "焊接电耗 −25 %", "reduction_link": "红外加热只加热焊带，电耗更低"},
     [("power", "平均功率", "kW", 10, 25, "manual")]),
    ("yancheng-pv", "soldering", "P-SOL-02", "焊接烟尘收集系统运行", "equipment", "safety", "continuous",
     {"equipment": "FUME-01", "safety_link": "降低焊接烟尘职业暴露"}, []),
    ("yancheng-pv", "glass", "P-GLS-01", "光伏玻璃熔窑余热回收", "equipment", "reduction", "continuous",
     {"equipment": "WHR-01", "reduction_target": "熔窑天然气 −10 %", "reduction_link": "余热锅炉产汽替代燃气锅炉",
      "safety_link": "防止熔窑过热"}, [("steam_pressure", "蒸汽压力", "MPa", 0.6, 1.0, "telemetry")]),
    ("yancheng-pv", "glass", "P-GLS-02", "熔窑温度控制", "equipment", "both", "every_n_hours",
     {"equipment": "FUR-01", "interval_hours": 2, "safety_link": "设备过热风险"},
     [("temperature", "熔窑温度", "°C", 1500, 1600, "manual")]),
    ("yancheng-pv", "cleaning", "P-CLN-01", "组件清洗用水循环系统", "equipment", "reduction", "daily",
     {"equipment": "WASH-01", "reduction_link": "减少新鲜水消耗，降低水处理能耗", "safety_link": "防止废水外溢导致地面湿滑"},
     [("reuse_rate", "回用率", "%", 70, 100, "manual")]),
    ("nantong-wind", "grinding", "W-GRD-01", "叶片打磨集尘系统运行", "equipment", "safety", "continuous",
     {"equipment": "DUST-01", "safety_link": "玻纤粉尘爆炸与尘肺风险"}, []),
    ("nantong-wind", "grinding", "W-GRD-02", "打磨区粉尘浓度检测", "inspection", "safety", "per_shift",
     {"safety_target": "≤ 4 mg/m³"}, [("dust", "粉尘浓度", "mg/m³", 0, 4, "manual")]),
    ("nantong-wind", "welding", "W-WLD-01", "法兰电弧焊改激光焊", "equipment", "reduction", "per_batch",
     {"equipment": "LASER-01", "reduction_target": "单位产品 8 → 5 kgCO₂", "reduction_link": "激光焊热输入小、焊材少"},
     [("energy_per_unit", "单位产品电耗", "kWh", 5, 12, "manual")]),
    ("nantong-wind", "welding", "W-WLD-02", "焊枪冷却系统压力监测", "inspection", "safety", "per_shift",
     {"equipment": "COOL-01", "safety_link": "冷却失效导致焊枪过热"}, [("pressure", "冷却水压力", "MPa", 0.3, 0.6, "manual")]),
    ("nantong-wind", "nacelle", "W-NAC-01", "机舱润滑脂低耗使用", "operation", "reduction", "per_batch",
     {"reduction_link": "按量加注，减少润滑脂与危废"}, [("grease", "润滑脂用量", "kg", 0, 5, "manual")]),
    ("nantong-wind", "nacelle", "W-NAC-02", "齿轮箱维修废油回收处理", "operation", "both", "on_event",
     {"equipment": "GB-01", "photo_required": True, "safety_link": "废油泄漏污染与滑倒",
      "reduction_link": "废油规范回收再生"},
     [("oil", "废油收集量", "L", 0, 200, "manual"), ("container", "密封容器编号", "", None, None, "manual")]),
]

CHECKLISTS = {
    "消防应急演练": [("item", "报警与广播"), ("item", "切断化成柜电源"), ("step", "人员按路线疏散至集合点"),
                 ("step", "清点人数"), ("item", "灭火器与消防栓使用演示")],
    "安全减排巡检表": [("item", "电解液无泄漏"), ("item", "通风系统在 30 Hz 运行"), ("item", "防护用品佩戴正确"),
                  ("item", "废气处理装置运行"), ("item", "消防通道畅通")],
}


COUNT_UNITS = {"个", "次", "件", "台", "辆", "人"}


def ensure_sites():
    sites = {SITE_CODE: Site.objects.get(code=SITE_CODE)}
    for enterprise_name, code, name, industry, stages in OTHER_SITES:
        enterprise, _ = Enterprise.objects.get_or_create(name=enterprise_name)
        site, _ = Site.objects.update_or_create(code=code, defaults={"enterprise": enterprise, "name": name,
                                                                     "industry": industry})
        for sequence, (stage_code, stage_name, equipment) in enumerate(stages, start=1):
            stage, _ = Workshop.objects.update_or_create(site=site, code=stage_code, defaults={
                "name": stage_name, "kind": WorkshopKind.STAGE, "sequence": sequence})
            for eq_code, eq_name, tag in equipment:
                Equipment.objects.update_or_create(workshop=stage, code=eq_code,
                                                   defaults={"name": eq_name, "tag_id": tag})
        sites[code] = site
    for site in sites.values():
        for name, start in (("早班", datetime.time(8)), ("中班", datetime.time(16)), ("夜班", datetime.time(0))):
            Shift.objects.update_or_create(site=site, name=name, defaults={"start": start, "hours": 8})
    # group-level managers and the auditor see all three plants
    for username in ("env", "carbon", "safety", "auditor", "contractor"):
        person = Person.objects.filter(user__username=username).first()
        if person is not None:
            person.sites.add(*sites.values())
    return sites


def ensure_catalogue(sites):
    people = {p.user.username: p for p in Person.objects.filter(user__isnull=False).select_related("user")}
    checklists = {}
    for name, items in CHECKLISTS.items():
        template, _ = ChecklistTemplate.objects.get_or_create(site=sites[SITE_CODE], name=name)
        if not template.items.exists():
            for order, (kind, text) in enumerate(items):
                ChecklistItem.objects.create(template=template, order=order, kind=kind, text=text)
        checklists[name] = template
    measures = {}
    for site_code, stage_code, code, name, mtype, purpose, schedule, extras, params in CATALOGUE:
        site = sites[site_code]
        extras = dict(extras)
        equipment = extras.pop("equipment", None)
        checklist = extras.pop("checklist", None)
        responsible = people.get("operator") if site_code == SITE_CODE else people.get("safety")
        measure, _ = Measure.objects.update_or_create(site=site, code=code, defaults={
            "stage": Workshop.objects.get(site=site, code=stage_code), "name": name, "measure_type": mtype,
            "purpose": purpose, "schedule": schedule, "grace_minutes": 60, "escalate_after_minutes": 15,
            "equipment": Equipment.objects.get(workshop__site=site, code=equipment) if equipment else None,
            "checklist": checklists.get(checklist), "responsible": responsible,
            "responsible_role": "operator", "due_time": datetime.time(9) if schedule in ("daily", "weekly") else None,
            "weekday": 0 if schedule == "weekly" else None,
            "started_on": timezone.localdate() - datetime.timedelta(days=30), **extras,
        })
        for order, (pcode, pname, unit, low, high, source, *point) in enumerate(params):
            MeasureParameter.objects.update_or_create(measure=measure, code=pcode, defaults={
                "order": order, "name": pname, "unit": unit, "source": source,
                "telemetry_point": point[0] if point else "",
                "value_type": "text" if low is None and high is None and not unit else "number",
                "min_value": None if low is None else Decimal(str(low)),
                "max_value": None if high is None else Decimal(str(high)),
                "required": source == "manual",
            })
        measures[code] = measure
    return measures


def load(stdout=None):
    sites = ensure_sites()
    measures = ensure_catalogue(sites)
    contractor = ensure_contractor(measures)
    if not ExecutionRecord.objects.filter(site__in=sites.values()).exists():
        MonthOfRecords(measures, contractor).generate()
    if stdout is not None:
        stdout.write(f"demo: measure ledger: {len(measures)} measures in 3 plants, "
                     f"{ExecutionRecord.objects.count()} records")


def ensure_contractor(measures):
    user = get_user_model().objects.filter(username="contractor").first()
    contact = Person.objects.filter(user__username="leader").first()
    if user is None or contact is None:
        return None
    now = timezone.now()
    assignment = ContractorAssignment.objects.filter(user=user).first()
    if assignment is None:
        assignment = ContractorAssignment.objects.create(
            user=user, company_contact=contact, valid_from=now - datetime.timedelta(days=31),
            valid_to=now + datetime.timedelta(days=60), work_description="风电齿轮箱维修与废油回收、集尘系统维保")
    assignment.measures.add(measures["W-NAC-02"], measures["W-GRD-01"])
    return user


class MonthOfRecords:
    """Thirty days of realistic executions up to now, written through the normal services."""

    def __init__(self, measures, contractor):
        self.measures = measures
        self.contractor = contractor
        self.rng = random.Random(20261130)
        self.now = timezone.now()
        self.start = timezone.localtime(self.now).replace(hour=0, minute=0, second=0, microsecond=0) \
            - datetime.timedelta(days=30)
        people = Person.objects.filter(user__isnull=False).select_related("user")
        self.by_username = {p.user.username: p for p in people}
        self.leader = self.by_username.get("leader")
        self.batches = {}

    def uid(self, *parts):
        return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))

    def executor(self, measure):
        if measure.site.code == SITE_CODE:
            return self.by_username.get(self.rng.choice(["operator", "leader", "operator"]))
        return self.by_username.get("safety")

    def slots(self, measure):
        day = self.start
        while day < self.now:
            if measure.schedule == "every_n_hours":
                hours = range(0, 24, measure.interval_hours or 4)
            elif measure.schedule == "per_shift":
                hours = (8, 16, 23)
            elif measure.schedule == "daily":
                hours = (9,)
            elif measure.schedule == "weekly":
                hours = (9,) if day.weekday() == 0 else ()
            elif measure.schedule == "per_batch":
                hours = (10, 15)
            else:
                hours = (14,) if day.day in (5, 19) else ()
            for hour in hours:
                moment = day.replace(hour=hour) + datetime.timedelta(minutes=self.rng.randint(0, 25))
                if moment < self.now - datetime.timedelta(minutes=90):
                    yield moment
            day += datetime.timedelta(days=1)

    def batch_for(self, measure, moment):
        prefix = {"changzhou-cell": "LC", "yancheng-pv": "PV", "nantong-wind": "WF"}[measure.site.code]
        return f"{prefix}{timezone.localtime(moment):%Y%m%d}{'A' if timezone.localtime(moment).hour < 12 else 'B'}"

    def values(self, measure, anomaly=False):
        values = {}
        for p in measure.parameters.all():
            if p.source != "manual":
                continue
            if p.value_type == "text":
                values[p.code] = f"HY-{self.rng.randint(100, 999)}"
                continue
            low, high = float(p.min_value or 0), float(p.max_value or 100)
            value = low + (high - low) * self.rng.uniform(0.35, 0.9)
            if anomaly:
                value = low - abs(high - low) * 0.2 if low > 0 else high * 1.3
            # counted things (抽检数 个) are whole numbers; measured ones keep one or three decimals
            values[p.code] = round(value) if p.unit in COUNT_UNITS else round(value, 3 if high < 1 else 1)
        return values

    def generate(self):
        for code, measure in self.measures.items():
            if measure.schedule == "continuous":
                self.hourly(measure)
                continue
            for moment in self.slots(measure):
                self.one(measure, moment)
        self.story()

    def one(self, measure, moment):
        roll = self.rng.random()
        if roll < 0.03:  # missed
            MissedExecution(measure=measure, due_at=moment, window_end=moment + datetime.timedelta(minutes=60),
                            recorded_at=moment + datetime.timedelta(minutes=61)).save()
            return
        late = roll < 0.07
        anomaly = 0.07 <= roll < 0.085
        contractor = measure.code == "W-NAC-02" and self.contractor is not None
        executor = self.contractor.person if contractor else self.executor(measure)
        entered = moment + (datetime.timedelta(hours=self.rng.randint(3, 10)) if late
                            else datetime.timedelta(minutes=self.rng.randint(1, 20)))
        photos = [ContentFile(tiny_png(), name=f"{measure.code}.png")] if measure.photo_required else []
        checklist = {}
        if measure.checklist_id:
            items = list(measure.checklist.items.values_list("pk", flat=True))
            checklist = {"ticked": items if not anomaly else items[:-1], "participants": ["赵磊", "陈明", "黄海"]}
        data = services.RecordInput(
            measure=measure, occurred_at=moment, executor=executor,
            entered_by=self.contractor if contractor else executor.user, values=self.values(measure, anomaly),
            confirmed=True, batch_no=self.batch_for(measure, moment) if measure.schedule == "per_batch" else "",
            compliant=(not anomaly) if measure.measure_type == "operation" else None, checklist=checklist,
            client_id=self.uid(measure.code, moment.isoformat()), late_reason="夜班交接后补录，纸质记录为据" if late else "",
            photos=photos, remarks="现场正常" if not anomaly else "参数异常，已报班组长",
            source="web" if not late else "offline", entered_at=entered if late else None,
        )
        record, _, _ = services.record_execution(data, now=entered)
        if late and self.leader is not None and self.rng.random() < 0.8:
            services.decide_late_entry(record, True, self.leader.user, "核对纸质记录一致")
        if contractor and self.leader is not None and moment < self.now - datetime.timedelta(days=2):
            services.confirm_contractor_record(record, True, self.leader.user, "现场核验，废油桶已贴标")
        if anomaly:
            self.anomaly_for(measure, record, moment)

    def anomaly_for(self, measure, record, moment):
        anomaly, _ = services.report_anomaly(
            measure=measure, record=record, occurred_at=moment, symptom=f"{measure.name}：参数超出范围",
            immediate_handling="暂停作业，通知班组长复核", owner=self.leader,
            client_id=self.uid("anomaly", record.pk))
        if moment < self.now - datetime.timedelta(days=3) and self.leader is not None:
            services.anomaly_event(anomaly, "handling", self.leader.user, text="已安排维修", at=moment
                                   + datetime.timedelta(minutes=30))
            services.anomaly_event(anomaly, "closed", self.leader.user, text="复测合格，恢复生产",
                                   corrective_action="更换密封件并复测", at=moment + datetime.timedelta(hours=20))

    def hourly(self, measure):
        hour = self.start
        stop = None
        if measure.code == "P-GLS-01":
            stop = timezone.localtime(self.now - datetime.timedelta(days=6)).replace(hour=10, minute=0, second=0,
                                                                                    microsecond=0)
        while hour < self.now - datetime.timedelta(hours=1):
            status = "running"
            if stop is not None and stop <= hour < stop + datetime.timedelta(hours=2):
                status = "stopped"
            elif self.rng.random() < 0.004:
                status = "maintenance"
            row, _ = services.record_hourly_status(measure, hour, status, source="demo",
                                                   client_id=self.uid(measure.code, "h", hour.isoformat()))
            if status == "maintenance" and self.leader is not None:
                services.decide_maintenance(row, True, self.leader.user, "计划检修")
            hour += datetime.timedelta(hours=1)

    def story(self):
        """The seed's example: the furnace's waste-heat recovery lost pressure 10:20–11:10."""
        measure = self.measures["P-GLS-01"]
        day = timezone.localtime(self.now - datetime.timedelta(days=6))
        start = day.replace(hour=10, minute=20, second=0, microsecond=0)
        anomaly, _ = services.report_anomaly(
            measure=measure, occurred_at=start, client_id=self.uid("story", "furnace"),
            symptom="余热回收系统蒸汽压力骤降：0.8 MPa 降至 0.4 MPa",
            immediate_handling="立即启动备用加热装置（确保生产安全），联系维修人员",
            safety_impact="无人员伤害；熔窑温度维持在控制范围内",
            extra_quantity=Decimal("50"), extra_unit="m³", extra_activity="天然气",
            extra_co2_kg=Decimal("108.400"), extra_co2_basis="50 m³ × 2.168 kgCO₂/m³（天然气，手工填报）",
            owner=self.by_username.get("safety"))
        if anomaly.state != "closed":
            user = self.by_username["safety"].user
            services.anomaly_event(anomaly, "handling", user, text="维修人员到场", at=start + datetime.timedelta(minutes=15))
            services.anomaly_event(anomaly, "closed", user, text="11:10 修复，压力恢复正常",
                                   corrective_action="更换余热锅炉给水泵密封，增加压力低报警",
                                   resolved_at=start + datetime.timedelta(minutes=50),
                                   at=start + datetime.timedelta(hours=2))
        # the batch in the seed's traceability example: two cells failed the seal test, no result recorded
        seal = self.measures["L-ASM-02"]
        moment = timezone.localtime(self.now - datetime.timedelta(days=15)).replace(hour=10, minute=5, second=0,
                                                                                    microsecond=0)
        batch = f"LC{moment:%Y%m%d}A"
        record, _, _ = services.record_execution(services.RecordInput(
            measure=seal, occurred_at=moment + datetime.timedelta(minutes=40), executor=self.by_username["operator"],
            entered_by=self.by_username["operator"].user, values={"pass_rate": 97.5}, confirmed=True,
            batch_no=batch, remarks="2 个电芯未通过密封性检测", client_id=self.uid("story", "seal"),
        ), now=moment + datetime.timedelta(minutes=45))
        services.report_anomaly(measure=seal, record=record, occurred_at=record.occurred_at, batch_no=batch,
                                symptom="2 个电芯未通过密封性检测，未记录处理结果；检测时段压力传感器轻微漂移",
                                client_id=self.uid("story", "seal-anomaly"), owner=self.by_username.get("leader"))
