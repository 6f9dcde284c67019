"""Excel import of activity data and production output (columns matched by Chinese or English
header). Nothing is written unless every row is valid; every problem names its row and column."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from greenledger.core.excel import SheetError, read_sheet

from . import services
from .models import Origin

COMMON = {
    "site": ["厂区代码", "site"],
    "period_start": ["开始日期", "period start"],
    "period_end": ["结束日期", "period end"],
}
ACTIVITY_COLUMNS = {**COMMON, "workshop": ["车间代码", "workshop"], "equipment": ["设备代码", "equipment"],
                    "activity": ["活动类型", "activity"], "quantity": ["数量", "quantity"], "unit": ["单位", "unit"],
                    "note": ["备注", "note"]}
OPTIONAL = {"workshop", "equipment", "note", "batch_no", "defect_rate", "final"}
OUTPUT_COLUMNS = {**COMMON, "workshop": ["工序代码", "车间代码", "workshop"], "product": ["产品", "product"],
                  "quantity": ["产量", "quantity"], "unit": ["单位", "unit"], "batch_no": ["批次", "batch"],
                  "defect_rate": ["不良率(%)", "defect rate (%)"], "final": ["最终产品", "final"]}
LABELS = {"activity": gettext_lazy("activity records"), "output": gettext_lazy("production rows")}


def column_titles(columns):
    return [names[0] for names in columns.values()]


def as_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip()[:10].replace("/", "-"))
    except ValueError:
        raise ValueError(_("Dates must look like 2025-03-01."))


def read(uploaded, columns):
    """Rows as dicts; optional columns may be missing from the sheet."""
    try:
        return read_sheet(uploaded, columns)
    except SheetError as exc:
        missing = {p[1] for p in exc.problems if p[0] == 1}
        absent_optional = {k for k in OPTIONAL if k in columns and columns[k][0] in missing}
        required_missing = missing - {columns[k][0] for k in absent_optional}
        if required_missing or any(p[0] != 1 for p in exc.problems):
            raise SheetError([p for p in exc.problems if p[0] != 1 or p[1] in required_missing])
    uploaded.seek(0)
    return read_sheet(uploaded, {k: v for k, v in columns.items() if k not in absent_optional})


def place(site, values, number, problems):
    workshop = equipment = None
    if values.get("workshop"):
        workshop = site.workshops.filter(code=str(values["workshop"])).first()
        if workshop is None:
            problems.append((number, "workshop", _("No workshop %(code)s at this site") % {"code": values["workshop"]}))
    if values.get("equipment"):
        from greenledger.core.models import Equipment

        equipment = Equipment.objects.filter(workshop__site=site, code=str(values["equipment"])).first()
        if equipment is None:
            problems.append((number, "equipment", _("No equipment %(code)s at this site") % {"code": values["equipment"]}))
    return workshop, equipment


def run(uploaded, sites, kind, user=None):
    """Import ``kind`` ('activity' or 'output'); returns the number of rows written."""
    columns = ACTIVITY_COLUMNS if kind == "activity" else OUTPUT_COLUMNS
    rows = read(uploaded, columns)
    problems = []
    by_code = {s.code: s for s in sites}
    with transaction.atomic():
        for number, values in rows:
            site = by_code.get(str(values.get("site", "")))
            if site is None:
                problems.append((number, columns["site"][0], _("Unknown site or outside your scope")))
                continue
            try:
                start, end = as_date(values["period_start"]), as_date(values["period_end"])
            except ValueError as exc:
                problems.append((number, columns["period_start"][0], str(exc)))
                continue
            workshop, equipment = place(site, values, number, problems)
            try:
                if kind == "activity":
                    services.record_activity(
                        site=site, activity=values["activity"], quantity=values["quantity"] or 0,
                        unit=values["unit"], period_start=start, period_end=end, workshop=workshop,
                        equipment=equipment, note=str(values.get("note") or ""), origin=Origin.IMPORT, user=user)
                else:
                    final = str(values.get("final", "")).strip().lower() not in ("否", "no", "false", "0")
                    services.record_output(
                        site=site, product=values["product"], quantity=values["quantity"] or 0,
                        unit=values["unit"], period_start=start, period_end=end, workshop=workshop,
                        batch_no=str(values.get("batch_no") or ""), defect_rate=values.get("defect_rate"),
                        final=final, origin=Origin.IMPORT, user=user)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    problems.append((number, columns.get(field, [field])[0], " ".join(messages)))
            except (ArithmeticError, ValueError, TypeError):
                problems.append((number, columns["quantity"][0], _("Not a number")))
        if problems:
            # rolls back every row already written: all or nothing
            raise SheetError(problems)
    return len(rows)


def template_workbook(kind):
    from greenledger.core.excel import workbook_response

    columns = ACTIVITY_COLUMNS if kind == "activity" else OUTPUT_COLUMNS
    example = (["changzhou-cell", "2025-03-01", "2025-03-31", "assembly", "FAN-01", "electricity", 12000, "kWh", ""]
               if kind == "activity" else
               ["changzhou-cell", "2025-03-01", "2025-03-31", "assembly", "电芯", 100000, "pcs", "", 1.2, "是"])
    return workbook_response(f"carbon-{kind}-template", str(LABELS[kind]), column_titles(columns), [example])
