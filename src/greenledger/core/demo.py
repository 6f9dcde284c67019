"""Demo enterprise (演示数据): a lithium-battery plant with its workshops, equipment and people.

Loaded by ``greenledger demo``; safe to run again (everything is keyed by code or user name).
Other apps extend the demo with a ``demo.py`` of their own, loaded after this one.
"""

import struct
from decimal import Decimal
import zlib

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from .attachments import attach, attachments_of
from .models import Enterprise, Equipment, Industry, Person, Site, Workshop, WorkshopKind

DEMO_PASSWORD = "Demo@2026"

SITE_CODE = "changzhou-cell"

WORKSHOPS = [
    # code, name, kind, equipment: (code, name, type, location, tag, rated kW)
    ("mixing", "配料搅拌", WorkshopKind.STAGE, [
        ("MIX-01", "正极双行星搅拌机 1#", "搅拌机", "A栋1层", "NFC-MIX-01", 55),
        ("MIX-02", "负极双行星搅拌机 2#", "搅拌机", "A栋1层", "NFC-MIX-02", 55),
        ("DC-01", "粉尘收集器", "除尘设备", "A栋1层投料间", "NFC-DC-01", 15),
        ("VP-01", "真空泵组", "真空泵", "A栋1层", None, 22),
    ]),
    ("coating", "涂布", WorkshopKind.STAGE, [
        ("COAT-01", "挤压式涂布机 1#", "涂布机", "A栋2层", "NFC-COAT-01", 280),
        ("COAT-02", "挤压式涂布机 2#", "涂布机", "A栋2层", "NFC-COAT-02", 280),
        ("NMP-01", "NMP 冷凝回收装置", "溶剂回收", "A栋屋面", "NFC-NMP-01", 90),
        ("HR-01", "烘箱余热回收系统", "余热回收", "A栋2层", "NFC-HR-01", 30),
    ]),
    ("assembly", "电芯封装", WorkshopKind.STAGE, [
        ("LW-01", "激光焊接机 1#", "激光焊接", "B栋1层", "NFC-LW-01", 45),
        ("LW-02", "激光焊接机 2#", "激光焊接", "B栋1层", "NFC-LW-02", 45),
        ("FILL-01", "注液机（低VOC电解液）", "注液机", "B栋干燥房", "NFC-FILL-01", 18),
        ("SEAL-01", "真空封口机", "封口机", "B栋干燥房", "NFC-SEAL-01", 12),
        ("LEAK-01", "氦检漏仪", "密封检测", "B栋1层", "NFC-LEAK-01", 5),
        ("FAN-01", "干燥房通风变频风机", "通风系统", "B栋屋面", "NFC-FAN-01", 37),
    ]),
    ("formation", "化成测试", WorkshopKind.STAGE, [
        ("FORM-01", "能量回馈化成柜 1#", "化成柜", "C栋1层", "NFC-FORM-01", 120),
        ("FORM-02", "能量回馈化成柜 2#", "化成柜", "C栋1层", "NFC-FORM-02", 120),
        ("GRADE-01", "分容柜", "分容柜", "C栋1层", "NFC-GRADE-01", 90),
        ("AGE-01", "高温老化房", "老化房", "C栋2层", "NFC-AGE-01", 60),
        ("FIRE-01", "化成区热失控监测与消防系统", "消防系统", "C栋", "NFC-FIRE-01", None),
    ]),
    ("utilities", "动力站", WorkshopKind.UTILITY, [
        ("AC-01", "变频螺杆空压机", "空压机", "动力站", "NFC-AC-01", 132),
        ("CH-01", "冷水机组", "冷水机组", "动力站", None, 350),
        ("BLR-01", "天然气蒸汽锅炉", "锅炉", "锅炉房", "NFC-BLR-01", None),
        ("PV-01", "屋顶分布式光伏 2 MWp", "光伏电站", "A/B/C栋屋面", None, 2000),
    ]),
    ("gate", "物流门岗", WorkshopKind.GATE, [
        ("GATE-E1", "东门货运出入口", "门禁", "东门", None, None),
    ]),
]

# user name, person name, role, title, company
PEOPLE = [
    ("admin", "王建国", "system_admin", "信息部主管", ""),
    ("env", "李秀兰", "environmental_manager", "环保管理员", ""),
    ("carbon", "张伟", "carbon_manager", "能源与碳管理工程师", ""),
    ("safety", "刘洋", "safety_manager", "安全主管", ""),
    ("leader", "陈明", "shift_leader", "电芯封装班组长", ""),
    ("operator", "赵磊", "operator", "封装操作员", ""),
    ("guard", "孙强", "gate_guard", "东门门卫", ""),
    ("contractor", "周涛", "contractor", "外包维保工程师", "苏州恒安环保工程有限公司"),
    ("supplier", "吴静", "supplier", "质量与碳数据专员", "宁德正源正极材料有限公司"),
    ("auditor", "郑丽", "auditor", "第三方核查员", "华测低碳认证（示例）"),
]
EXTRA_PEOPLE = [("黄海", "operator", "涂布操作员", "coating"), ("何平", "operator", "化成操作员", "formation"),
                ("马超", "operator", "配料操作员", "mixing")]


def tiny_png(rgb=(47, 133, 90), size=8):
    """A small solid PNG, standing in for a nameplate photo."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@transaction.atomic
def load(stdout=None):
    enterprise, _ = Enterprise.objects.update_or_create(
        name="华锂新能源科技（常州）有限公司",
        defaults={"credit_code": "91320400MA1XXXXXX8", "address": "江苏省常州市武进区绿色产业园锂电路 8 号",
                  "contact_phone": "0519-8888 6600"},
    )
    site, _ = Site.objects.update_or_create(
        code=SITE_CODE,
        defaults={"enterprise": enterprise, "name": "常州电芯工厂", "industry": Industry.LITHIUM,
                  "address": enterprise.address, "time_zone": "Asia/Shanghai"},
    )
    workshops = {}
    for sequence, (code, name, kind, equipment) in enumerate(WORKSHOPS, start=1):
        workshop, _ = Workshop.objects.update_or_create(
            site=site, code=code, defaults={"name": name, "kind": kind, "sequence": sequence}
        )
        workshops[code] = workshop
        for eq_code, eq_name, eq_type, location, tag, power in equipment:
            Equipment.objects.update_or_create(
                workshop=workshop, code=eq_code,
                defaults={"name": eq_name, "equipment_type": eq_type, "location": location, "tag_id": tag,
                          "rated_power_kw": None if power is None else Decimal(power).quantize(Decimal("0.01"))},
            )

    User = get_user_model()
    for number, (username, name, role, title, company) in enumerate(PEOPLE):
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.greenledger.local"})
        if created:
            user.set_password(DEMO_PASSWORD)
        user.is_staff = role == "system_admin"
        user.is_superuser = False
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        person, _ = Person.objects.update_or_create(
            user=user, defaults={"name": name, "title": title, "company": company,
                                 "employee_no": f"HL{1001 + number}", "phone": f"13805191{number:03d}",
                                 "workshop": workshops["assembly"] if role in ("shift_leader", "operator") else None},
        )
        person.sites.add(site)
    for number, (name, _role, title, workshop) in enumerate(EXTRA_PEOPLE, start=1):
        person, _ = Person.objects.update_or_create(
            name=name, user=None, defaults={"title": title, "workshop": workshops[workshop], "employee_no": f"HL20{number:02d}"}
        )
        person.sites.add(site)

    nameplate_of = Equipment.objects.get(workshop=workshops["assembly"], code="LW-01")
    if not attachments_of(nameplate_of).exists():
        attach(nameplate_of, ContentFile(tiny_png(), name="LW-01-铭牌.png"), caption="设备铭牌照片")
    if stdout is not None:
        stdout.write(f"demo: {site.name}: {len(workshops)} workshops, "
                     f"{Equipment.objects.filter(workshop__site=site).count()} equipment, {len(PEOPLE)} demo users")
    return site
