"""Measuring points in Excel (测点台账导入导出): one sheet, one point per row.

Export writes the points of the user's sites (optionally one site) with codes, so the file can be
edited and uploaded again; the last value and time are extra columns that import ignores.
Import matches columns by header (Chinese, English or the field name), creates or updates
points by (site code, point code), and checks every row with the same form as the web page
(:class:`greenledger.telemetry.forms.PointForm`). Every problem is reported with its row and
column, and nothing is written unless every row is valid (as the measure catalogue import).
"""

from zipfile import BadZipFile

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from greenledger.core.excel import SheetError, workbook_response
from greenledger.core.models import Equipment, Workshop

from .forms import PointForm
from .models import MeasuringPoint, Quantity, Source

# field, Chinese header (written), other accepted headers
COLUMNS = [
    ("site", "厂区编码", ["Site code"]),
    ("code", "点位编码", ["Point code", "Code"]),
    ("name", "名称", ["Name"]),
    ("workshop", "车间/环节编码", ["Workshop code"]),
    ("equipment", "设备编码", ["Equipment code"]),
    ("quantity", "计量类型", ["Quantity"]),
    ("unit", "单位", ["Unit"]),
    ("cumulative", "累计表", ["Cumulative"]),
    ("generation", "自发电", ["Own generation"]),
    ("expected_interval_seconds", "预期间隔(秒)", ["Expected interval (s)"]),
    ("valid_min", "有效下限", ["Valid minimum"]),
    ("valid_max", "有效上限", ["Valid maximum"]),
    ("source", "数据来源", ["Source"]),
    ("opcua_node_id", "OPC UA 节点", ["OPC UA node id"]),
    ("active", "启用", ["Active"]),
]
REQUIRED = {"site", "code", "name", "quantity"}
INFO = ["最新读数", "最新读数时间"]  # exported for reading, ignored on import
TITLES = {field: title for field, title, _others in COLUMNS}
CHOICES = {"quantity": Quantity, "source": Source}
YES = {"是", "yes", "y", "true", "1", "√", "✔", "x"}
NO = {"否", "no", "n", "false", "0", "—", "-"}


def column_titles():
    return [title for _field, title, _others in COLUMNS]


def label(kind, value):
    return str(CHOICES[kind](value).label) if value else ""


def choice_value(kind, text):
    """The code ('natural_gas') or its label in any UI language ('Natural gas (m³)', '天然气 (m³)')."""
    text = str(text or "").strip()
    for choice in CHOICES[kind]:
        if text.lower() == choice.value:
            return choice.value
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                if text == str(choice.label):
                    return choice.value
    return text  # the form names it as not a valid choice


def yes_no(value, default):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return default
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError


def export_response(points):
    points = points.select_related("site", "workshop", "equipment", "status")

    def row(p):
        status = getattr(p, "status", None)
        last_ts = status.last_ts if status is not None else None
        return [p.site.code, p.code, p.name, p.workshop.code if p.workshop_id else "",
                p.equipment.code if p.equipment_id else "", label("quantity", p.quantity), p.unit,
                "是" if p.cumulative else "否", "是" if p.generation else "否", p.expected_interval_seconds,
                p.valid_min, p.valid_max, label("source", p.source), p.opcua_node_id, "是" if p.active else "否",
                status.last_value if status is not None else None,
                timezone.localtime(last_ts).replace(tzinfo=None) if last_ts else None]

    return workbook_response("measuring-points", "测点", [*column_titles(), *INFO], (row(p) for p in points))


def read_rows(uploaded):
    try:
        wb = load_workbook(uploaded, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, ValueError, OSError):
        raise SheetError([(0, "", _("This is not an Excel .xlsx file."))])
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    index, problems = {}, []
    for field, title, others in COLUMNS:
        found = next((header.index(name) for name in [title, field, *others] if name in header), None)
        if found is not None:
            index[field] = found
        elif field in REQUIRED:
            problems.append((1, title, _("Column missing")))
    if problems:
        raise SheetError(problems)
    result = []
    for number, row in enumerate(rows, start=2):
        if not row or all(v is None or str(v).strip() == "" for v in row):
            continue
        values = {}
        for field, i in index.items():
            v = row[i] if i < len(row) else None
            values[field] = "" if v is None else (v.strip() if isinstance(v, str) else v)
        result.append((number, values))
    return result


def text(value):
    return str(value).strip() if value is not None else ""


def number(value):
    """Excel gives 900.0 for 900; the form wants the text of a whole number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text(value)


def form_data(number_, row, site, problems):
    """The row as PointForm data; problems of codes the form cannot see are added here."""
    where = number_
    data = {"site": site.pk, "code": text(row["code"]), "name": text(row["name"]),
            "quantity": choice_value("quantity", row["quantity"]), "unit": text(row.get("unit")),
            "expected_interval_seconds": number(row.get("expected_interval_seconds")) or "900",
            "valid_min": number(row.get("valid_min")), "valid_max": number(row.get("valid_max")),
            "source": choice_value("source", row.get("source")) if text(row.get("source")) else Source.MQTT,
            "opcua_node_id": text(row.get("opcua_node_id"))}
    for field, default in (("cumulative", False), ("generation", False), ("active", True)):
        try:
            if yes_no(row.get(field, ""), default):
                data[field] = "on"
        except ValueError:
            problems.append((where, TITLES[field], _("Write 是 or 否 (yes or no).")))
    workshop_code, equipment_code = text(row.get("workshop")), text(row.get("equipment"))
    if workshop_code:
        workshop = Workshop.objects.filter(site=site, code=workshop_code).first()
        if workshop is None:
            problems.append((where, TITLES["workshop"], _("Unknown workshop at %(site)s: %(v)s")
                             % {"site": site.code, "v": workshop_code}))
        else:
            data["workshop"] = workshop.pk
    if equipment_code:
        equipment = Equipment.objects.filter(workshop__site=site, code=equipment_code).first()
        if equipment is None:
            problems.append((where, TITLES["equipment"], _("Unknown equipment at %(site)s: %(v)s")
                             % {"site": site.code, "v": equipment_code}))
        else:
            data["equipment"] = equipment.pk
    return data


@transaction.atomic
def import_points(uploaded, sites, user):
    """Create or update the points of the sheet; returns (created, changed) or raises SheetError."""
    rows = read_rows(uploaded)
    if not rows:
        raise SheetError([(2, "", _("The sheet has no points."))])
    by_code = {s.code: s for s in sites}
    may_add, may_change = user.has_perm("telemetry.add_measuringpoint"), user.has_perm(
        "telemetry.change_measuringpoint")
    problems, forms, seen = [], [], {}
    for number_, row in rows:
        site = by_code.get(text(row["site"]))
        if site is None:
            problems.append((number_, TITLES["site"], _("Unknown site or outside your scope: %(v)s")
                             % {"v": row["site"]}))
            continue
        key = (site.code, text(row["code"]))
        if key in seen:
            problems.append((number_, TITLES["code"], _("The point %(code)s is already in row %(row)d.")
                             % {"code": key[1], "row": seen[key]}))
            continue
        seen[key] = number_
        existing = MeasuringPoint.objects.filter(site=site, code=key[1]).first() if key[1] else None
        if existing is None and not may_add:
            problems.append((number_, TITLES["code"], _("You may not add measuring points.")))
            continue
        if existing is not None and not may_change:
            problems.append((number_, TITLES["code"], _("You may not change measuring points.")))
            continue
        data = form_data(number_, row, site, problems)
        form = PointForm(data, instance=existing, sites=sites, strict=True)
        if not form.is_valid():
            for field, errors in form.errors.items():
                problems.append((number_, TITLES.get(field, ""), " ".join(errors)))
            continue
        forms.append(form)
    if problems:
        raise SheetError(problems)
    created = updated = 0
    for form in forms:
        if form.instance.pk is None:
            created += 1
        elif form.has_changed():
            updated += 1
        else:
            continue  # unchanged rows write nothing (and leave no audit entry)
        form.save()
    return created, updated
