"""Excel import/export of the three registries, the carriers and the regulator's lists.

One column list per registry serves the export, the template and the import, so an exported file
can be edited and imported again. Headers are matched in Chinese (as exported), in English or as
the field code; choices accept the code, the label in any UI language or the usual Chinese words
(国五, 柴油, 黄色, 已联网…). Import is all-or-nothing: every problem is reported with its row and
column and nothing is written unless every row is valid. Rows are created or updated by their
natural key (site + plate + colour; site + registration code; site + carrier name).
"""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from io import BytesIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _, gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from greenledger.core.excel import XLSX, SheetError, excel_value

from . import registry, validation
from .codes import (
    CATEGORY_CLASS, NRMM_STAGES, ROAD_STAGES, EmissionStage, Fuel, NetworkStatus, PlateColor, RegistrationSource,
    RegistrationState, VehicleCategory, VehicleClass,
)
from .models import Carrier, InPlantVehicle, ListEntry, ListKind, Machine, Vehicle

YES = {"是", "yes", "y", "true", "1", "√", "✔", "x"}
NO = {"否", "no", "n", "false", "0", ""}

# Chinese words people write in ledgers, per code (the first is used in exports)
ALIASES = {
    "plate_color": {
        PlateColor.BLUE: ["蓝色", "蓝", "蓝牌"], PlateColor.YELLOW: ["黄色", "黄", "黄牌"],
        PlateColor.WHITE: ["白色", "白"], PlateColor.BLACK: ["黑色", "黑"],
        PlateColor.GREEN: ["绿色", "渐变绿色", "渐变绿", "绿", "绿牌"],
        PlateColor.YELLOW_GREEN: ["黄绿色", "黄绿双拼色", "黄绿", "黄绿双拼"], PlateColor.UNKNOWN: ["未知"],
    },
    "fuel": {
        Fuel.DIESEL: ["柴油"], Fuel.GASOLINE: ["汽油"], Fuel.NATURAL_GAS: ["天然气", "燃气", "CNG", "LNG", "气"],
        Fuel.ELECTRIC: ["纯电动", "电动", "电", "纯电"], Fuel.HYBRID: ["混合动力", "油电混合", "插电式混合动力", "混动"],
        Fuel.HYDROGEN: ["氢燃料电池", "氢燃料", "氢", "燃料电池"], Fuel.METHANOL: ["甲醇"], Fuel.OTHER: ["其他"],
    },
    "network_status": {
        NetworkStatus.ONLINE: ["已联网", "联网", "是"], NetworkStatus.OFFLINE: ["未联网", "否"],
        NetworkStatus.UNKNOWN: ["未知"],
    },
    "vehicle_class": {
        VehicleClass.HEAVY_TRUCK: ["重型货车", "重型载货汽车", "重卡", "中重型货车"],
        VehicleClass.LIGHT_TRUCK: ["轻型货车", "轻型载货汽车"], VehicleClass.BUS: ["客车", "大客车", "大中型客车"],
        VehicleClass.CAR: ["小型汽车", "乘用车", "小汽车"], VehicleClass.SPECIAL: ["专项作业车", "专用车"],
        VehicleClass.IN_PLANT: ["厂内车辆"], VehicleClass.NRMM: ["非道路移动机械"], VehicleClass.UNKNOWN: ["未知"],
    },
    "category": {VehicleCategory.O: ["挂车"], VehicleCategory.OTHER: ["其他"]},
}
CHOICE_CLASSES = {"plate_color": PlateColor, "fuel": Fuel, "network_status": NetworkStatus,
                  "vehicle_class": VehicleClass, "category": VehicleCategory}
STAGE_NUMERALS = {"0": 0, "零": 0, "一": 1, "I": 1, "Ⅰ": 1, "1": 1, "二": 2, "II": 2, "Ⅱ": 2, "2": 2,
                  "三": 3, "III": 3, "Ⅲ": 3, "3": 3, "四": 4, "IV": 4, "Ⅳ": 4, "4": 4, "五": 5, "V": 5, "Ⅴ": 5,
                  "5": 5, "六": 6, "VI": 6, "Ⅵ": 6, "6": 6}
ELECTRIC_WORDS = {"电动", "纯电动", "新能源", "电", "ev", "d", "零排放", "electric"}
ROAD_STAGE_WORDS = {"0": "国0", "1": "国一", "2": "国二", "3": "国三", "4": "国四", "5": "国五", "6": "国六"}
NR_STAGE_WORDS = {"nr1": "国一", "nr2": "国二", "nr3": "国三", "nr4": "国四"}


@dataclass(frozen=True)
class Col:
    field: str
    title: str  # Chinese header, as exported
    kind: str = "text"  # text, plate, code, choice, stage, date, int, decimal, bool, carrier, site
    required: bool = False
    export_only: bool = False


def _site_cols():
    return [Col("site", "厂区编码", "site")]


ENGINE = [Col("engine_model", "发动机型号"), Col("engine_maker", "发动机生产厂"), Col("engine_no", "发动机号码"),
          Col("fuel", "燃料类型", "choice"), Col("stage", "排放阶段", "stage")]
REVIEW = [Col("state", "审核状态", export_only=True), Col("source", "登记来源", export_only=True),
          Col("reviewed_by", "审核人", export_only=True), Col("reviewed_at", "审核时间", export_only=True),
          Col("review_note", "审核意见", export_only=True), Col("created_at", "登记时间", export_only=True)]

COLUMNS = {
    "vehicle": [*_site_cols(), Col("plate", "车牌号码", "plate", True), Col("plate_color", "号牌颜色", "choice", True),
                Col("trailer_plate", "挂车号牌", "plate"), Col("vin", "车辆识别代号(VIN)", "code"),
                Col("vehicle_type", "车辆类型"), Col("category", "车辆类别", "choice"),
                Col("vehicle_class", "管控类别", "choice"), Col("brand_model", "品牌型号"), *ENGINE,
                Col("registration_date", "注册登记日期", "date"), Col("use_nature", "使用性质"),
                Col("carrier", "车队名称", "carrier"), Col("owner", "车辆所有人"),
                Col("network_status", "联网状态", "choice"), Col("gross_mass_kg", "总质量(kg)", "int"),
                Col("special_purpose", "专项作业车(豁免)", "bool"), Col("hazmat", "危险货物运输车", "bool"),
                Col("remarks", "备注"), *REVIEW],
    "inplant": [*_site_cols(), Col("registration_code", "环保登记编码", required=True), Col("plate", "车牌号码", "plate"),
                Col("plate_color", "号牌颜色", "choice"), Col("vin", "车辆识别代号(VIN)", "code"),
                Col("brand_model", "品牌型号"), *ENGINE, Col("production_date", "生产日期", "date"),
                Col("registration_date", "注册登记日期", "date"), Col("owner", "车辆所有人(单位)"),
                Col("network_status", "联网状态", "choice"), Col("remarks", "备注"), *REVIEW],
    "machine": [*_site_cols(), Col("registration_code", "环保登记编码", required=True),
                Col("machine_code", "机械环保代码", "code"), Col("machine_type", "机械种类", required=True),
                Col("model", "机械型号"), Col("maker", "机械生产厂"), Col("rated_power_kw", "额定功率(kW)", "decimal"),
                *ENGINE, Col("production_date", "生产日期", "date"), Col("plate", "号牌", "plate"),
                Col("disclosure_no", "环保信息公开编号"), Col("owner", "所属人(单位)"),
                Col("network_status", "联网状态", "choice"), Col("remarks", "备注"), *REVIEW],
    "carrier": [*_site_cols(), Col("name", "承运单位名称", required=True), Col("credit_code", "统一社会信用代码"),
                Col("contact", "联系人"), Col("phone", "联系电话"), Col("registration_open", "开放自助登记", "bool")],
    "list": [Col("plate", "车牌号码", "plate", True), Col("plate_color", "号牌颜色", "choice"),
             Col("reason", "原因", required=True), Col("valid_from", "开始时间", "datetime"),
             Col("valid_until", "截止时间", "datetime"), Col("source", "来源")],
}
MODELS = {"vehicle": Vehicle, "inplant": InPlantVehicle, "machine": Machine, "carrier": Carrier, "list": ListEntry}
CHECKERS = {"vehicle": validation.check_vehicle, "inplant": validation.check_in_plant_vehicle,
            "machine": validation.check_machine}
FILE_NAMES = {"vehicle": "gate-vehicles", "inplant": "gate-inplant-vehicles", "machine": "gate-machines",
              "carrier": "gate-carriers", "list": "gate-list"}


# ---------------------------------------------------------------- export


def english_title(key, col):
    if col.field in ("site",):
        return "Site code"
    model = MODELS[key]
    with translation.override("en"):
        return str(model._meta.get_field(col.field).verbose_name)


def stage_word(code, key):
    if code in ROAD_STAGE_WORDS:
        return ROAD_STAGE_WORDS[code]
    if code in NR_STAGE_WORDS:
        return NR_STAGE_WORDS[code]
    return {"ev": "电动", "unknown": "未知"}.get(code, code)


def cell(obj, col, key):
    value = getattr(obj, col.field, None) if col.field != "site" else obj.site.code
    if col.kind == "choice" and value:
        return ALIASES.get(col.field, {}).get(value, [None])[0] or str(CHOICE_CLASSES[col.field](value).label)
    if col.kind == "stage":
        return stage_word(value, key)
    if col.field in ("state", "source"):
        return str((dict(RegistrationState.choices) | dict(RegistrationSource.choices)).get(value, value))
    if col.kind == "bool":
        return "是" if value else "否"
    if col.kind == "carrier" or col.field == "reviewed_by":
        return str(value) if value is not None else ""
    if isinstance(value, Decimal):
        return float(value)
    return excel_value(value)


def workbook(key, rows=(), title=None):
    """An .xlsx workbook (bytes) with the key's columns and the given objects."""
    wb = Workbook()
    ws = wb.active
    ws.title = (title or FILE_NAMES[key])[:31]
    columns = COLUMNS[key]
    ws.append([c.title for c in columns])
    for item in ws[1]:
        item.font = Font(bold=True, color="FFFFFF")
        item.fill = PatternFill("solid", fgColor="2F855A")
    for obj in rows:
        ws.append([cell(obj, c, key) for c in columns])
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, len(col.title) * 2 + 2)
    ws.freeze_panes = "A2"
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def export_response(key, queryset, template=False):
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{FILE_NAMES[key]}-{'template' if template else stamp}.xlsx"
    response = HttpResponse(workbook(key, [] if template else queryset.iterator(chunk_size=2000)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- reading values


def text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def choice_value(field, raw):
    """The code for what a person wrote: the code itself, a label in any UI language or a Chinese word."""
    given = text(raw)
    if not given:
        return None
    folded = given.lower()
    for code, words in ALIASES.get(field, {}).items():
        if folded == str(code).lower() or given in words or folded in (w.lower() for w in words):
            return str(code)
    for choice in CHOICE_CLASSES[field]:
        if folded == choice.value.lower():
            return choice.value
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                if folded == str(choice.label).lower():
                    return choice.value
    raise ValueError


def stage_value(raw, key):
    """国五 / 国V / 国5 / 5 → "5" for vehicles; 国三 / 非道路国三 / III → "nr3" for machines; 电动 → "ev"."""
    given = text(raw)
    if not given:
        return None
    if given in EmissionStage.values:
        return given
    folded = given.lower().replace(" ", "")
    if folded in ELECTRIC_WORDS:
        return EmissionStage.ELECTRIC.value
    if folded in ("未知", "unknown"):
        return EmissionStage.UNKNOWN.value
    allowed = NRMM_STAGES if key == "machine" else ROAD_STAGES  # 国三 is a non-road stage on the machine sheet
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for choice in allowed:
                if folded == str(choice.label).lower().replace(" ", ""):
                    return choice.value
    match = re.fullmatch(r"(?:非道路)?(?:国|china|cn)?([0-9一二三四五六零ⅠⅡⅢⅣⅤⅥivx]+)(?:阶段)?", given.replace(" ", ""),
                         re.IGNORECASE)
    if match is None or match.group(1).upper() not in STAGE_NUMERALS and match.group(1) not in STAGE_NUMERALS:
        raise ValueError
    number = STAGE_NUMERALS.get(match.group(1).upper(), STAGE_NUMERALS.get(match.group(1)))
    if key == "machine":
        if not 1 <= number <= 4:
            raise ValueError
        return f"nr{number}"
    return str(number)


def date_value(raw):
    if raw in ("", None):
        return None
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    given = text(raw)
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.datetime.strptime(given, pattern).date()
        except ValueError:
            continue
    raise ValueError


def datetime_value(raw):
    if raw in ("", None):
        return None
    if isinstance(raw, datetime.datetime):
        moment = raw
    else:
        given = text(raw)
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"):
            try:
                moment = datetime.datetime.strptime(given, pattern)
                break
            except ValueError:
                continue
        else:
            moment = datetime.datetime.combine(date_value(raw), datetime.time())
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def bool_value(raw):
    folded = text(raw).lower()
    if folded in YES:
        return True
    if folded in NO:
        return False
    raise ValueError


def int_value(raw):
    given = text(raw)
    if not given:
        return None
    number = int(Decimal(given))
    if number < 0 or Decimal(given) != number:
        raise ValueError
    return number


def decimal_value(raw):
    given = text(raw)
    if not given:
        return None
    try:
        return Decimal(given)
    except InvalidOperation:
        raise ValueError


KIND_MESSAGES = {
    "choice": gettext_lazy("not one of the choices: %(v)s"),
    "stage": gettext_lazy("not an emission stage: %(v)s (write e.g. 国五, 国六 or 电动)"),
    "date": gettext_lazy("not a date: %(v)s (write YYYY-MM-DD)"),
    "datetime": gettext_lazy("not a date and time: %(v)s (write YYYY-MM-DD HH:MM)"),
    "int": gettext_lazy("not a whole number: %(v)s"),
    "decimal": gettext_lazy("not a number: %(v)s"),
    "bool": gettext_lazy("write 是 or 否, not %(v)s"),
}


# ---------------------------------------------------------------- import


def header_index(header, key, problems):
    """Column positions by field; a header may be the Chinese title, the English label or the code."""
    index = {}
    for col in COLUMNS[key]:
        if col.export_only:
            continue
        names = {col.title, col.field, english_title(key, col)}
        for position, name in enumerate(header):
            if name and (name in names or name.lower() in {n.lower() for n in names}):
                index[col.field] = position
                break
        else:
            if col.required:
                problems.append((1, col.title, _("Column missing")))
    return index


def read_rows(uploaded, key):
    try:
        wb = load_workbook(uploaded, read_only=True, data_only=True)
    except Exception:
        raise SheetError([(0, "", _("This is not an Excel .xlsx file."))])
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = [text(h) for h in next(rows, ())]
    problems = []
    index = header_index(header, key, problems)
    if not header or problems:
        raise SheetError(problems or [(1, "", _("The sheet is empty."))])
    result = []
    for number, row in enumerate(rows, start=2):
        if not row or all(text(v) == "" for v in row):
            continue
        result.append((number, {f: (row[i] if i < len(row) else None) for f, i in index.items()}))
    return result


def convert(key, col, raw, sites, default_site):
    """The model value for one cell, or ValueError with a message."""
    if col.kind == "site":
        code = text(raw)
        if not code:
            return default_site
        site = sites.filter(code=code).first()
        if site is None:
            raise ValueError(_("unknown site or outside your scope: %(v)s") % {"v": code})
        return site
    if col.kind == "plate":
        return validation.normalize_plate(text(raw))
    if col.kind == "code":
        return validation.normalize_code(text(raw))
    try:
        if col.kind == "choice":
            return choice_value(col.field, raw)
        if col.kind == "stage":
            return stage_value(raw, key)
        converters = {"date": date_value, "datetime": datetime_value, "int": int_value, "decimal": decimal_value,
                      "bool": bool_value}
        if col.kind in converters:
            return converters[col.kind](raw)
    except (ValueError, ArithmeticError):
        raise ValueError(KIND_MESSAGES[col.kind] % {"v": text(raw)})
    return text(raw)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def import_rows(key, uploaded, *, sites, default_site, user, approve=False, accept_warnings=False, extra=None):
    """Create or update every row of the sheet, or nothing; raises SheetError listing every problem."""
    rows = read_rows(uploaded, key)
    problems = []
    result = ImportResult()
    with transaction.atomic():
        for number, raw in rows:
            row_problems = import_row(key, number, raw, sites=sites, default_site=default_site, user=user,
                                      approve=approve, accept_warnings=accept_warnings, extra=extra or {},
                                      result=result)
            problems.extend(row_problems)
        if not rows:
            problems.append((2, "", _("The sheet has no rows to import.")))
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise SheetError(problems)
    return result


def import_row(key, number, raw, *, sites, default_site, user, approve, accept_warnings, extra, result):
    columns = {c.field: c for c in COLUMNS[key] if not c.export_only}
    values, problems = {}, []
    for field, value in raw.items():
        col = columns[field]
        try:
            values[field] = convert(key, col, value, sites, default_site)
        except ValueError as exc:
            problems.append((number, col.title, str(exc)))
    if problems:
        return problems
    values.setdefault("site", default_site)
    for col in columns.values():
        if col.required and not values.get(col.field):
            problems.append((number, col.title, _("Required")))
    if problems:
        return problems
    if key in CHECKERS:
        problems = check_row(key, number, values, accept_warnings)
        if problems:
            return problems
    if key == "vehicle" and values.get("carrier"):
        carrier = Carrier.objects.filter(site=values["site"], name=values["carrier"]).first()
        if carrier is None:
            return [(number, columns["carrier"].title, _("Unknown carrier: %(v)s (import the carriers first)")
                     % {"v": values["carrier"]})]
        values["carrier"] = carrier
    elif "carrier" in values:
        values["carrier"] = None
    if key == "vehicle" and values.get("category") and not values.get("vehicle_class"):
        values["vehicle_class"] = CATEGORY_CLASS.get(values["category"])
    try:
        with transaction.atomic():
            created = save_row(key, values, user=user, approve=approve, extra=extra)
    except (IntegrityError, ValidationError) as exc:
        return [(number, "", _("Could not be saved: %(error)s") % {"error": exc})]
    result.created += created
    result.updated += not created
    return []


def check_row(key, number, values, accept_warnings):
    check = CHECKERS[key](values)
    titles = {c.field: c.title for c in COLUMNS[key]}
    problems = [(number, titles.get(p.field, p.field), p.message) for p in check.errors]
    if not problems and check.warnings and not accept_warnings:
        problems = [(number, titles.get(p.field, p.field),
                     p.message + " " + _("(tick “Import rows that only have warnings” to import it anyway)"))
                    for p in check.warnings]
    return problems


def natural_key(key, values):
    if key == "vehicle":
        return {"site": values["site"], "plate": values["plate"], "plate_color": values["plate_color"]}
    if key == "carrier":
        return {"site": values["site"], "name": values["name"]}
    return {"site": values["site"], "registration_code": values["registration_code"]}


def save_row(key, values, *, user, approve, extra):
    if key == "list":
        ListEntry.objects.create(**values, **extra, created_by=user)
        return True
    lookup = natural_key(key, values)
    defaults = {f: v for f, v in values.items() if f not in lookup and v is not None}
    model = MODELS[key]
    obj = model.objects.filter(**lookup).first()
    created = obj is None
    if created:
        obj = model(**lookup)
        if key != "carrier":
            obj.source = RegistrationSource.IMPORT
    for field, value in defaults.items():
        setattr(obj, field, value)
    if key != "carrier":
        obj.state = RegistrationState.PENDING
    obj.full_clean(validate_unique=False)
    obj.save()
    if key != "carrier" and approve:
        registry.review(obj, True, user, _("Approved on import"))
    return created


def import_list(uploaded, *, site, kind, user, source=""):
    """The regulator's over-emission list (or a white/black list) from Excel; a reason is required per row."""
    if kind not in ListKind.values:
        raise SheetError([(0, "", _("Unknown list"))])
    extra = {"kind": kind, "site": site}
    rows = read_rows(uploaded, "list")
    problems, result = [], ImportResult()
    with transaction.atomic():
        for number, raw in rows:
            problems.extend(_list_row(number, raw, extra, user, source, result))
        if not rows:
            problems.append((2, "", _("The sheet has no rows to import.")))
        if problems:
            transaction.set_rollback(True)
    if problems:
        raise SheetError(problems)
    return result


def _list_row(number, raw, extra, user, source, result):
    columns = {c.field: c for c in COLUMNS["list"]}
    values, problems = {}, []
    for field, value in raw.items():
        try:
            values[field] = convert("list", columns[field], value, None, None)
        except ValueError as exc:
            problems.append((number, columns[field].title, str(exc)))
    if problems:
        return problems
    check = validation.check_plate(values.get("plate"))
    problems = [(number, columns["plate"].title, p.message) for p in check.errors]
    if not values.get("reason"):
        problems.append((number, columns["reason"].title, _("Give the reason for this entry.")))
    if problems:
        return problems
    values = {f: v for f, v in values.items() if v is not None}
    values["plate_color"] = values.get("plate_color") or ""
    values["source"] = values.get("source") or source
    if values.get("valid_until") and values["valid_until"] <= values.get("valid_from", timezone.now()):
        return [(number, columns["valid_until"].title, _("The end must be after the start."))]
    save_row("list", values, user=user, approve=False, extra=extra)
    result.created += 1
    return []
