"""Excel in and out (openpyxl): one way for every app to export a list and import a sheet.

Import reads the first sheet, matches columns by their header text (Chinese or English), and
returns every problem as (row, column, message) so the user can fix the file; nothing is
written unless every row is valid.
"""

from io import BytesIO

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_title(title):
    """A worksheet name Excel accepts: at most 31 characters, none of : \\ / ? * [ ]."""
    cleaned = "".join("-" if ch in ':\\/?*[]' else ch for ch in str(title)).strip("'")[:31]
    return cleaned or "Sheet"


def workbook_response(filename, title, headers, rows):
    """An .xlsx download with a bold header row, frozen panes and sensible column widths."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(title)
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="2F855A")
    widths = [max(8, len(str(h)) * 2) for h in headers]
    for row in rows:
        values = [excel_value(v) for v in row]
        ws.append(values)
        for i, v in enumerate(values):
            widths[i] = min(60, max(widths[i], len(str(v or "")) + 2))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    buffer = BytesIO()
    wb.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.xlsx"'
    return response


def excel_value(value):
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


class SheetError(Exception):
    def __init__(self, problems):
        super().__init__("; ".join(f"{r}:{c} {m}" for r, c, m in problems))
        self.problems = problems


def read_sheet(uploaded_file, columns):
    """Read rows as dicts keyed by field name.

    ``columns`` maps field name -> list of accepted header texts. Missing required headers are
    reported as problems on row 1.
    """
    try:
        wb = load_workbook(uploaded_file, read_only=True, data_only=True)
    except Exception:
        raise SheetError([(0, "", _("This is not an Excel .xlsx file."))])
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        header = [str(h).strip() if h is not None else "" for h in next(rows)]
    except StopIteration:
        raise SheetError([(1, "", _("The sheet is empty."))])
    index = {}
    problems = []
    for field, names in columns.items():
        for name in names:
            if str(name) in header:
                index[field] = header.index(str(name))
                break
        else:
            problems.append((1, str(names[0]), _("Column missing")))
    if problems:
        raise SheetError(problems)
    result = []
    for number, row in enumerate(rows, start=2):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        values = {}
        for field, i in index.items():
            v = row[i] if i < len(row) else None
            values[field] = "" if v is None else (v.strip() if isinstance(v, str) else v)
        result.append((number, values))
    return result
