"""Default admission rule sets (默认准入规则集), shipped as data and editable afterwards.

Each set names its source (``../shared/domain/gate.md`` §3). The national guide's exact
per-industry matrix was not found, so the sets follow what could be sourced: the 2020 guide
(环办大气函〔2020〕340号) and its cement transport indicators, and the orange-alert vehicle measures
several cities publish (no 国四-and-below heavy trucks incl. gas, special and hazmat vehicles exempt;
no 国二-and-below non-road machinery). A site picks one set on the gate settings page and edits it;
:func:`load_defaults` (data migration 0004, the "reload defaults" button) writes them again.

Rows are checked lowest priority first; the first match decides (``gate.rules``).
"""

from django.db import transaction

ORANGE_RED = ["orange", "red"]
ALERTS = ["yellow", "orange", "red"]


def _rule(priority, action, reason, **conditions):
    return {"priority": priority, "action": action, "reason": reason, **conditions}


EXEMPTIONS = [
    _rule(10, "pass", "特种车辆（消防、救护、环卫等）豁免", special_purpose=True),
    _rule(20, "pass", "危险化学品运输车辆豁免", hazmat=True, alert_levels=ALERTS),
]

DEFAULT_RULE_SETS = [
    {
        "name": "按绩效分级通用规则（环办大气函〔2020〕340号 + 城市橙色预警常见措施）",
        "source": "《重污染天气重点行业应急减排措施制定技术指南（2020年修订版）》环办大气函〔2020〕340号；"
                  "唐山、绵阳、石家庄鹿泉等城市橙色（II级）预警车辆管控措施",
        "description": "A级和绩效引领性企业预警期间自主减排：放行并记录。B、B-级及以下：橙色、红色预警期间只允许"
                       "国五及以上或新能源重型货车（特种车辆、危化品车辆豁免），停用国二及以下非道路移动机械。"
                       "C、D级更严：黄色预警起禁止国四及以下重型货车，红色预警只允许新能源重型货车。"
                       "无预警时不拦截（国四车辆比例在统计中跟踪）。",
        "default_action": "pass",
        "rules": [
            *EXEMPTIONS,
            _rule(30, "pass", "A级/绩效引领性企业预警期间自主减排，放行并记录", grades=["leading", "A"]),
            _rule(100, "block", "橙色及以上预警期间禁止国四及以下重型货车（含燃气）进出", alert_levels=ORANGE_RED,
                  vehicle_classes=["heavy_truck"], stage_max="4"),
            _rule(110, "block", "橙色及以上预警期间停止使用国二及以下非道路移动机械", alert_levels=ORANGE_RED,
                  vehicle_classes=["nrmm"], stage_max="nr2"),
            _rule(120, "block", "C/D级企业黄色预警期间禁止国四及以下重型货车", grades=["C", "D"],
                  alert_levels=["yellow"], vehicle_classes=["heavy_truck"], stage_max="4"),
            _rule(130, "block", "C/D级企业红色预警期间只允许新能源重型货车", grades=["C", "D"], alert_levels=["red"],
                  vehicle_classes=["heavy_truck"], stage_max="6"),
        ],
    },
    {
        "name": "水泥行业A级运输指标（环办大气函〔2020〕340号）",
        "source": "《重污染天气重点行业应急减排措施制定技术指南（2020年修订版）》水泥行业A级：物料公路运输"
                  "（水泥罐车除外）全部国五及以上或新能源重型货车；厂内车辆国五及以上或新能源；"
                  "厂内非道路移动机械国三及以上或电动",
        "description": "每天都执行（不分预警等级）。散装水泥罐车不受重型货车排放阶段限制。",
        "default_action": "pass",
        "rules": [
            *EXEMPTIONS,
            _rule(50, "pass", "水泥罐车不受运输车辆排放阶段限制", vehicle_classes=["heavy_truck"],
                  cargo_keywords="水泥,散装水泥"),
            _rule(100, "block", "物料公路运输只允许国五及以上或新能源重型货车", vehicle_classes=["heavy_truck"],
                  stage_max="4"),
            _rule(110, "block", "厂内运输车辆须国五及以上或新能源", vehicle_classes=["in_plant"], stage_max="4"),
            _rule(120, "block", "厂内非道路移动机械须国三及以上或电动", vehicle_classes=["nrmm"], stage_max="nr2"),
        ],
    },
    {
        "name": "重点大宗运输企业从严规则（巴中、郑州等城市做法）",
        "source": "巴中：重点大宗物料运输企业原则上禁止新能源和国五及以上以外的柴油重型货车；"
                  "郑州：中度污染期间水泥企业停用国四及以下货车（gate.md §3，可信度中）",
        "description": "黄色预警起只允许国五及以上或新能源重型货车（特种车辆、危化品车辆豁免），"
                       "停用国二及以下非道路移动机械；无预警时国三及以下柴油重型货车人工核查。",
        "default_action": "pass",
        "rules": [
            *EXEMPTIONS,
            _rule(100, "block", "预警期间只允许国五及以上或新能源重型货车", alert_levels=ALERTS,
                  vehicle_classes=["heavy_truck"], stage_max="4"),
            _rule(110, "block", "预警期间停用国二及以下非道路移动机械", alert_levels=ALERTS, vehicle_classes=["nrmm"],
                  stage_max="nr2"),
            _rule(200, "manual", "国三及以下柴油重型货车，人工核查随车清单", alert_levels=["none"],
                  vehicle_classes=["heavy_truck"], fuels=["diesel"], stage_max="3"),
        ],
    },
]


def load_defaults(rule_set_model=None, rule_model=None, names=None):
    """Write the default rule sets (all, or those in ``names``), replacing their rows; returns the sets.

    Takes the models as arguments so the data migration can pass its historical models.
    """
    if rule_set_model is None:
        from .models import Rule as rule_model, RuleSet as rule_set_model  # noqa: N813
    written = []
    with transaction.atomic():
        for spec in DEFAULT_RULE_SETS:
            if names is not None and spec["name"] not in names:
                continue
            rule_set, _created = rule_set_model.objects.update_or_create(
                name=spec["name"], defaults={"source": spec["source"], "description": spec["description"],
                                             "default_action": spec["default_action"]})
            rule_model.objects.filter(rule_set=rule_set).delete()
            rule_model.objects.bulk_create(rule_model(rule_set=rule_set, **_row(row)) for row in spec["rules"])
            written.append(rule_set)
    return written


def _row(row):
    values = {"grades": [], "alert_levels": [], "vehicle_classes": [], "fuels": [], "stages": [], "stage_max": "",
              "directions": [], "special_purpose": None, "hazmat": None, "cargo_keywords": ""}
    values.update(row)
    return values


def is_default(rule_set):
    return any(spec["name"] == rule_set.name for spec in DEFAULT_RULE_SETS)
