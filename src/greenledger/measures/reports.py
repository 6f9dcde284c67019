"""Compliance report and annual summary of the measure ledger as Excel (openpyxl) and PDF (reportlab).

Both files state what makes them reproducible: the period, the sites, when they were generated,
how many rows they read, and the evidence log's latest signed checkpoint (tree size, root hash,
time), so anyone can regenerate the figures from the same log and verify it.

The PDF uses reportlab's built-in CID font ``STSong-Light``: Chinese renders with no font file on
the machine (the viewer supplies the glyphs), which keeps the install free of system fonts.
"""

from io import BytesIO
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from greenledger.core.excel import XLSX, excel_value

from .models import EquipmentStatus

PDF_FONT = "STSong-Light"
HEADER_FILL = PatternFill("solid", fgColor="2F855A")
BELOW_FILL = PatternFill("solid", fgColor="FDECEC")


def dash(value, suffix=""):
    return "—" if value is None else f"{value}{suffix}"


def status_hours(row, status):
    """Hours in ``status`` for continuous measures, a dash for the others."""
    return dash(row.hours_in(status) if row.hours is not None else None)


def yes_no(value):
    return "—" if value is None else (_("yes") if value else _("no"))


# What the reports show ----------------------------------------------------------------------------


def measure_columns():
    """(header, value of a MeasureCompliance row) shared by the page's Excel and PDF outputs."""
    return [
        (_("Stage"), lambda r: r.measure.stage.name),
        (_("Code"), lambda r: r.measure.code),
        (_("Measure"), lambda r: r.measure.name),
        (_("Schedule"), lambda r: r.measure.get_schedule_display()),
        (_("Expected"), lambda r: dash(r.expected)),
        (_("Counted"), lambda r: r.counted),
        (_("Rate (%)"), lambda r: dash(r.rate)),
        (_("Missed"), lambda r: r.missed),
        (_("Late entries"), lambda r: r.late),
        (_("Late, waiting"), lambda r: r.late_pending),
        (_("Inspection frequency met"), lambda r: yes_no(r.inspection_met)),
        (_("Anomalies"), lambda r: r.anomalies),
        (_("Closed in time"), lambda r: r.anomalies_closed_in_time),
        (_("Open"), lambda r: r.anomalies_open),
        (_("Hourly coverage (%)"), lambda r: dash(r.coverage)),
        (_("Running h"), lambda r: status_hours(r, EquipmentStatus.RUNNING)),
        (_("Stopped h"), lambda r: status_hours(r, EquipmentStatus.STOPPED)),
        (_("Maintenance h"), lambda r: status_hours(r, EquipmentStatus.MAINTENANCE)),
        (_("No records"), lambda r: yes_no(r.no_records)),
    ]


def summary_items(report):
    s = report.summary
    return [
        (_("Measures"), s["measures"]),
        (_("Expected executions"), s["expected"]),
        (_("Counted executions"), s["counted"]),
        (_("Execution rate (%)"), dash(s["rate"])),
        (_("Missed"), s["missed"]),
        (_("Late entries"), s["late"]),
        (_("Late entries waiting for approval"), s["late_pending"]),
        (_("Measures not fully executed"), s["below_target"]),
        (_("Safety inspections below frequency"), s["inspections_not_met"]),
        (_("Anomalies"), s["anomalies"]),
        (_("Anomalies closed in time"), s["anomalies_closed_in_time"]),
        (_("Anomalies open"), s["anomalies_open"]),
        (_("Measures with no records"), s["no_records"]),
    ]


def provenance_items(report, title):
    """Period, sites, time, data used and evidence checkpoint: what makes the report reproducible."""
    used = report.data_used
    checkpoint = report.checkpoint
    items = [
        (_("Report"), title),
        (_("Sites"), "、".join(site.name for site in report.sites)),
        (_("Period"), f"{report.start:%Y-%m-%d} – {report.end:%Y-%m-%d}"),
        (_("Generated at"), timezone.localtime(report.generated_at).strftime("%Y-%m-%d %H:%M:%S %Z")),
        (_("Execution records read"), used["records"]),
        (_("Hourly status rows read"), used["hourly_rows"]),
        (_("Anomalies read"), used["anomalies"]),
        (_("Recorded misses read"), used["misses"]),
    ]
    if checkpoint is None:
        items.append((_("Evidence checkpoint"), _("none signed yet")))
    else:
        items += [
            (_("Evidence checkpoint: tree size"), checkpoint.tree_size),
            (_("Evidence checkpoint: root hash"), checkpoint.root_hash),
            (_("Evidence checkpoint: signed at"),
             timezone.localtime(checkpoint.created_at).strftime("%Y-%m-%d %H:%M:%S %Z")),
        ]
    return items


def annual_columns():
    return [
        (_("Stage"), lambda line: line.measure.stage.name),
        (_("Code"), lambda line: line.measure.code),
        (_("Measure"), lambda line: line.measure.name),
        (_("Schedule"), lambda line: line.measure.get_schedule_display()),
        (_("Summary"), lambda line: line.text),
        (_("Rate (%)"), lambda line: dash(line.figures.rate)),
        (_("Running h"), lambda line: status_hours(line.figures, EquipmentStatus.RUNNING)),
        (_("Anomalies"), lambda line: line.figures.anomalies),
        (_("Open"), lambda line: line.figures.anomalies_open),
    ]


# Excel ----------------------------------------------------------------------------------------------


def write_table(ws, headers, rows, highlight=None):
    ws.append([str(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
    widths = [max(8, len(str(h)) * 2) for h in headers]
    for row_number, (values, marked) in enumerate(rows, start=2):
        ws.append([excel_value(v) for v in values])
        if marked:
            for cell in ws[row_number]:
                cell.fill = BELOW_FILL
        for i, v in enumerate(values):
            widths[i] = min(60, max(widths[i], len(str(v)) + 2))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"


def write_pairs(ws, pairs):
    for label, value in pairs:
        ws.append([str(label), excel_value(value)])
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 70


def compliance_workbook(report):
    """Two sheets: the measures' figures (rows below 100 % shaded) and the report's summary and provenance."""
    wb = Workbook()
    ws = wb.active
    ws.title = str(_("Measures"))[:31]
    columns = measure_columns()
    rows = (([f(r) for _h, f in columns], r.below_target) for r in report.rows)
    write_table(ws, [h for h, _f in columns], rows)
    about = wb.create_sheet(str(_("Report"))[:31])
    write_pairs(about, [*provenance_items(report, _("Measure ledger compliance check")), ("", ""),
                        *summary_items(report)])
    return save(wb)


def annual_workbook(summary):
    wb = Workbook()
    ws = wb.active
    ws.title = str(_("Annual summary"))[:31]
    columns = annual_columns()
    rows = (([f(line) for _h, f in columns], False) for line in summary.lines)
    write_table(ws, [h for h, _f in columns], rows)
    about = wb.create_sheet(str(_("Report"))[:31])
    write_pairs(about, provenance_items(summary.report, _("Annual summary of measures %(year)s") % {
        "year": summary.year}))
    return save(wb)


def save(wb):
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# PDF -------------------------------------------------------------------------------------------------


def pdf_styles():
    # reportlab is imported only when a PDF is made, so pages and Excel work even without it
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    styles = getSampleStyleSheet()
    for name in ("Title", "Heading2", "Normal"):
        styles[name].fontName = PDF_FONT
    styles["Normal"].fontSize = 8
    styles["Normal"].leading = 10
    return styles


def para(value, style):
    """A table cell that wraps; the text is escaped because Paragraph reads markup."""
    from reportlab.platypus import Paragraph

    return Paragraph(escape(str(value)), style)


def pdf_table(data, col_widths=None, header=True, marked_rows=()):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(data, colWidths=col_widths, repeatRows=1 if header else 0)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 7),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c9d6cf")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2f855a")),
                  ("TEXTCOLOR", (0, 0), (-1, 0), colors.white)]
    style += [("BACKGROUND", (0, i), (-1, i), colors.HexColor("#fdecec")) for i in marked_rows]
    table.setStyle(TableStyle(style))
    return table


def compliance_pdf(report):
    """A4 landscape: provenance, summary figures, then one line per measure."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    styles = pdf_styles()
    title = _("Measure ledger compliance check")
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm, title=str(title))
    cell = styles["Normal"]
    pairs = [[str(k), para(v, cell)] for k, v in provenance_items(report, title)]
    figures = [[str(k), str(v)] for k, v in summary_items(report)]
    columns = measure_columns()
    rows = [[para(h, cell) for h, _f in columns]]
    rows += [[para(f(r), cell) for _h, f in columns] for r in report.rows]
    marked = [i for i, r in enumerate(report.rows, start=1) if r.below_target]
    widths = [22 * mm, 18 * mm, 34 * mm, 16 * mm] + [12.4 * mm] * (len(columns) - 4)
    doc.build([
        para(title, styles["Title"]),
        pdf_table(pairs, [55 * mm, 200 * mm], header=False), Spacer(1, 4 * mm),
        para(_("Summary"), styles["Heading2"]),
        pdf_table(figures, [70 * mm, 30 * mm], header=False), Spacer(1, 4 * mm),
        para(_("Measures"), styles["Heading2"]),
        pdf_table(rows, widths, marked_rows=marked),
    ])
    return buffer.getvalue()


# Responses ------------------------------------------------------------------------------------------


def download(content, name, extension, content_type):
    response = HttpResponse(content, content_type=content_type)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{extension}"'
    return response


def xlsx_response(content, name):
    return download(content, name, "xlsx", XLSX)


def pdf_response(content, name):
    return download(content, name, "pdf", "application/pdf")
