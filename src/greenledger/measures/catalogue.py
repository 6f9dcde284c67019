"""Excel import/export of the measure catalogue: one sheet of measures, one of their parameters.

Columns are matched by header (Chinese or English). Import creates or updates measures by
(site code, measure code) and replaces nothing silently: every problem is reported with its
sheet, row and column, and nothing is written unless the whole workbook is valid.
"""

from decimal import Decimal, InvalidOperation
from io import BytesIO

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill

from greenledger.core.excel import XLSX, SheetError
from greenledger.core.models import Equipment, Person, Workshop

from .models import Measure, MeasureParameter, MeasureType, ParameterSource, Purpose, ScheduleKind, ValueType

MEASURE_COLUMNS = [
    ("site", "厂区编码"), ("stage", "环节编码"), ("code", "措施编码"), ("name", "措施名称"), ("measure_type", "措施类型"),
    ("purpose", "目的"), ("reduction_target", "减排目标"), ("safety_target", "安全目标"), ("reduction_link", "减排关联项"),
    ("safety_link", "安全关联项"), ("responsible_role", "责任角色"), ("responsible", "责任人"), ("equipment", "设备编码"),
    ("tag_id", "NFC/二维码标签"), ("schedule", "执行频次"), ("interval_hours", "间隔小时"), ("grace_minutes", "宽限分钟"),
    ("escalate_after_minutes", "升级提醒分钟"), ("photo_required", "需拍照"), ("active", "启用"),
]
PARAMETER_COLUMNS = [
    ("site", "厂区编码"), ("measure", "措施编码"), ("code", "参数编码"), ("name", "参数名称"), ("unit", "单位"),
    ("value_type", "数据类型"), ("min_value", "下限"), ("max_value", "上限"), ("required", "必填"), ("source", "来源"),
    ("telemetry_point", "遥测点位"),
]
CHOICES = {"measure_type": MeasureType, "purpose": Purpose, "schedule": ScheduleKind, "value_type": ValueType,
           "source": ParameterSource}
YES = {"是", "yes", "y", "true", "1", "√", "✔"}


def column_titles():
    return [title for _field, title in MEASURE_COLUMNS]


def choice_label(kind, value):
    return str(CHOICES[kind](value).label) if value else ""


def choice_value(kind, text):
    """Accept the code ('per_shift') or its label in any UI language ('Every shift', '每班')."""
    text = str(text or "").strip()
    for choice in CHOICES[kind]:
        if text.lower() == choice.value:
            return choice.value
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                if text == str(choice.label):
                    return choice.value
    return None


def _sheet(wb, title, columns, rows):
    ws = wb.create_sheet(title)
    ws.append([c[1] for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="2F855A")
    for row in rows:
        ws.append(row)
    ws.freeze_panes = "A2"


def export_response(measures):
    wb = Workbook()
    wb.remove(wb.active)
    measures = list(measures.select_related("site", "stage", "equipment", "responsible").prefetch_related("parameters"))
    _sheet(wb, "措施", MEASURE_COLUMNS, ([
        m.site.code, m.stage.code, m.code, m.name, choice_label("measure_type", m.measure_type),
        choice_label("purpose", m.purpose), m.reduction_target, m.safety_target, m.reduction_link, m.safety_link,
        m.responsible_role, m.responsible.name if m.responsible_id else "", m.equipment.code if m.equipment_id else "",
        m.tag_id, choice_label("schedule", m.schedule), m.interval_hours, m.grace_minutes, m.escalate_after_minutes,
        "是" if m.photo_required else "否", "是" if m.active else "否",
    ] for m in measures))
    _sheet(wb, "参数", PARAMETER_COLUMNS, ([
        m.site.code, m.code, p.code, p.name, p.unit, choice_label("value_type", p.value_type),
        None if p.min_value is None else float(p.min_value), None if p.max_value is None else float(p.max_value),
        "是" if p.required else "否", choice_label("source", p.source), p.telemetry_point,
    ] for m in measures for p in m.parameters.all()))
    buffer = BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="measure-catalogue-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


def read_rows(ws, columns, sheet_name, problems):
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    index = {}
    for field, title in columns:
        if title in header:
            index[field] = header.index(title)
        elif field in header:
            index[field] = header.index(field)
        else:
            problems.append((f"{sheet_name}!1", title, _("Column missing")))
    result = []
    for number, row in enumerate(rows, start=2):
        if not row or all(v is None or str(v).strip() == "" for v in row):
            continue
        result.append((number, {f: ("" if i >= len(row) or row[i] is None else row[i]) for f, i in index.items()}))
    return result


def text(value):
    return str(value).strip() if value is not None else ""


def decimal_or_none(value):
    if value in ("", None):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError


@transaction.atomic
def import_workbook(uploaded, sites):
    try:
        wb = load_workbook(uploaded, read_only=True, data_only=True)
    except Exception:
        raise SheetError([(0, "", _("This is not an Excel .xlsx file."))])
    problems = []
    sheets = {ws.title: ws for ws in wb.worksheets}
    measure_ws = sheets.get("措施") or wb.worksheets[0]
    measure_rows = read_rows(measure_ws, MEASURE_COLUMNS, measure_ws.title, problems)
    param_ws = sheets.get("参数")
    param_rows = read_rows(param_ws, PARAMETER_COLUMNS, "参数", problems) if param_ws is not None else []
    if problems:
        raise SheetError(problems)
    sites_by_code = {s.code: s for s in sites}
    created = updated = 0
    measures = {}
    for number, row in measure_rows:
        where = f"措施!{number}"
        site = sites_by_code.get(text(row["site"]))
        if site is None:
            problems.append((where, "厂区编码", _("Unknown site or outside your scope: %(v)s") % {"v": row["site"]}))
            continue
        stage = Workshop.objects.filter(site=site, code=text(row["stage"])).first()
        if stage is None:
            problems.append((where, "环节编码", _("Unknown stage: %(v)s") % {"v": row["stage"]}))
            continue
        values = {}
        for kind, title in (("measure_type", "措施类型"), ("purpose", "目的"), ("schedule", "执行频次")):
            values[kind] = choice_value(kind, row[kind])
            if values[kind] is None:
                problems.append((where, title, _("Not a valid choice: %(v)s") % {"v": row[kind]}))
        equipment = None
        if text(row["equipment"]):
            equipment = Equipment.objects.filter(workshop__site=site, code=text(row["equipment"])).first()
            if equipment is None:
                problems.append((where, "设备编码", _("Unknown equipment: %(v)s") % {"v": row["equipment"]}))
        responsible = Person.objects.filter(sites=site, name=text(row["responsible"])).first() \
            if text(row["responsible"]) else None
        try:
            numbers = {f: int(row[f]) if text(row[f]) else None
                       for f in ("interval_hours", "grace_minutes", "escalate_after_minutes")}
        except (TypeError, ValueError):
            problems.append((where, "宽限分钟", _("Not a whole number")))
            continue
        if not text(row["code"]) or not text(row["name"]):
            problems.append((where, "措施编码", _("Code and name are required")))
            continue
        if None in values.values():
            continue
        defaults = {
            "stage": stage, "name": text(row["name"]), "reduction_target": text(row["reduction_target"]),
            "safety_target": text(row["safety_target"]), "reduction_link": text(row["reduction_link"]),
            "safety_link": text(row["safety_link"]), "responsible_role": text(row["responsible_role"]),
            "responsible": responsible, "equipment": equipment, "tag_id": text(row["tag_id"]),
            "interval_hours": numbers["interval_hours"], "grace_minutes": numbers["grace_minutes"] or 60,
            "escalate_after_minutes": numbers["escalate_after_minutes"] or 15,
            "photo_required": text(row["photo_required"]).lower() in YES,
            "active": text(row["active"]).lower() in YES if text(row["active"]) else True, **values,
        }
        measure, was_created = Measure.objects.update_or_create(site=site, code=text(row["code"]), defaults=defaults)
        created += was_created
        updated += not was_created
        measures[(site.code, measure.code)] = measure
    for number, row in param_rows:
        where = f"参数!{number}"
        measure = measures.get((text(row["site"]), text(row["measure"]))) or Measure.objects.filter(
            site__in=sites, site__code=text(row["site"]), code=text(row["measure"])).first()
        if measure is None:
            problems.append((where, "措施编码", _("Unknown measure: %(v)s") % {"v": row["measure"]}))
            continue
        value_type = choice_value("value_type", row["value_type"]) or ValueType.NUMBER
        source = choice_value("source", row["source"]) or ParameterSource.MANUAL
        try:
            low, high = decimal_or_none(row["min_value"]), decimal_or_none(row["max_value"])
        except ValueError:
            problems.append((where, "下限", _("Not a number")))
            continue
        if low is not None and high is not None and low > high:
            problems.append((where, "上限", _("The maximum is below the minimum")))
            continue
        MeasureParameter.objects.update_or_create(measure=measure, code=text(row["code"]), defaults={
            "name": text(row["name"]), "unit": text(row["unit"]), "value_type": value_type, "min_value": low,
            "max_value": high, "required": text(row["required"]).lower() in YES, "source": source,
            "telemetry_point": text(row["telemetry_point"]),
        })
    if problems:
        transaction.set_rollback(True)
        raise SheetError(problems)
    return created, updated
