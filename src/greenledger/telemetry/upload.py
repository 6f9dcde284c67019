"""Readings from a file (手工抄表): meters read by hand, typed into Excel or CSV and uploaded.

Columns are matched by header: 点位/point, 时间/time, 读数/value (Chinese or English). Every row
is stored or kept: good rows become readings (source ``csv``), rows that fail are reported by row
number and kept raw as intake errors, so a file can be fixed and uploaded again — rows already
stored count as duplicates, never twice.
"""

import csv
import io

from django.utils.translation import gettext as _

from greenledger.core.excel import SheetError, read_sheet, workbook_response

from . import services
from .models import Source

COLUMNS = {"point": ["点位", "point", "Point", "测点"], "ts": ["时间", "time", "Time", "ts"],
           "value": ["读数", "value", "Value", "v"]}


def read_csv(uploaded):
    raw = uploaded.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetError([(0, "", _("The file is neither UTF-8 nor GB18030 text."))])
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise SheetError([(1, "", _("The sheet is empty."))])
    header = [h.strip() for h in rows[0]]
    index, problems = {}, []
    for field, names in COLUMNS.items():
        found = next((header.index(n) for n in names if n in header), None)
        if found is None:
            problems.append((1, names[0], _("Column missing")))
        index[field] = found
    if problems:
        raise SheetError(problems)
    result = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        result.append((number, {f: (row[i].strip() if i < len(row) else "") for f, i in index.items()}))
    return result


def import_file(uploaded, site):
    """Store the readings of an uploaded .xlsx or .csv; returns (IngestResult, [(row, column, message)])."""
    if uploaded.name.lower().endswith(".csv"):
        rows = read_csv(uploaded)
    else:
        rows = read_sheet(uploaded, COLUMNS)
    readings = [{"point": values["point"], "ts": values["ts"], "v": values["value"]} for _n, values in rows]
    result = services.ingest(readings, Source.CSV, site=site, topic=uploaded.name)
    titles = {"point": "点位", "ts": "时间", "v": "读数", "": ""}
    problems = [(rows[e["index"]][0], titles.get(e["field"], e["field"]), e["message"]) for e in result.errors]
    return result, problems


def template_response():
    return workbook_response("readings-template", _("Readings"), ["点位", "时间", "读数"],
                             [["BLR-01.gas", "2026-05-01 08:00", 123456.7]])
