"""The monthly emission report of a site: figures (engine.to_dict), issuing (freezing) them as a
sealed EmissionReport, and the Excel and PDF files.

A report states what makes it reproducible (DESIGN rule 8): site, period, the ``as_of`` moment
(data and factor versions as they stood then), how many rows it read, every factor version with
its value and source, and the evidence log's signed checkpoint. Files are rendered from the
frozen JSON, so an issued report prints the same figures forever, whatever factors change later.
"""

from io import BytesIO

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from openpyxl import Workbook

from greenledger.evidence.services import latest_checkpoint, take_checkpoint
from greenledger.measures.reports import para, pdf_styles, pdf_table, save, write_pairs, write_table

from . import engine
from .models import EmissionReport


def report_content(site, start, end, as_of=None) -> dict:
    result = engine.compute(site, start, end, as_of)
    return engine.to_dict(result, latest_checkpoint())


@transaction.atomic
def issue_report(site, start, end, user=None, now=None) -> EmissionReport:
    """Freeze the report as it stands now, after signing a checkpoint that covers its inputs."""
    checkpoint, _created = take_checkpoint()
    as_of = now or timezone.now()
    content = engine.to_dict(engine.compute(site, start, end, as_of), checkpoint)
    report = EmissionReport(site=site, period_start=start, period_end=end, as_of=as_of, issued_by=user,
                            content=content, checkpoint_size=checkpoint.tree_size, checkpoint_root=checkpoint.root_hash)
    report.save(force_insert=True)
    return report


def t(kg_text):
    """kg (as the JSON stores it) to tonnes with three decimals, for people."""
    if kg_text in (None, ""):
        return "—"
    from decimal import Decimal

    return f"{(Decimal(kg_text) / 1000).quantize(Decimal('0.001')):,}"


def provenance(content, issued=None):
    checkpoint = content.get("checkpoint")
    items = [
        (_("Report"), _("Monthly emission report")),
        (_("Site"), f"{content['site']['name']} ({content['site']['code']})"),
        (_("Period"), f"{content['period']['start']} – {content['period']['end']}"),
        (_("Data and factor versions as of"), timezone.localtime(parse_datetime(content["as_of"])).strftime(
            "%Y-%m-%d %H:%M:%S %Z")),
        (_("Grid region"), content["grid_region"]),
        (_("Activity records read"), content["data_used"]["activity_records"]),
        (_("Green certificates read"), content["data_used"]["certificates"]),
        (_("Production rows read"), content["data_used"]["outputs"]),
    ]
    if issued is not None:
        items.insert(1, (_("Issued report"), f"{issued.pk} · {timezone.localtime(issued.issued_at):%Y-%m-%d %H:%M}"))
    if checkpoint is None:
        items.append((_("Evidence checkpoint"), _("none signed yet")))
    else:
        items += [(_("Evidence checkpoint: tree size"), checkpoint["tree_size"]),
                  (_("Evidence checkpoint: root hash"), checkpoint["root_hash"]),
                  (_("Evidence checkpoint: signed at"), checkpoint["created_at"])]
    return items


def total_items(content):
    totals = content["totals"]
    items = [
        (_("Scope 1 (t CO2)"), t(totals["scope1"])),
        (_("Scope 2, location-based (t CO2)"), t(totals["scope2_location"])),
        (_("Scope 2, market-based (t CO2)"), t(totals["scope2_market"])),
        (_("Total, location-based (t CO2)"), t(totals["total"])),
        (_("Total, market-based (t CO2)"), t(totals["total_market"])),
        (_("Electricity (kWh)"), content["green"]["electricity_kwh"]),
        (_("Covered by green certificates / contracts (kWh)"), content["green"]["covered_kwh"]),
    ]
    for row in content["intensity"]:
        items.append((_("Intensity, kg CO2 per %(unit)s %(product)s") % row, row["kg_per_unit"]))
    return items


def workshop_rows(content):
    headers = [_("Workshop"), _("Scope 1 (t)"), _("Scope 2 location (t)"), _("Scope 2 market (t)"), _("Total (t)"),
               _("Output"), _("kg CO2 per unit")]
    rows = [[(r["workshop"] or {}).get("name") or _("Site (not assigned)"), t(r["scope1"]), t(r["scope2"]),
             t(r["scope2_market"]), t(r["total"]),
             f"{r['output']} {r['output_unit']}" if r["output"] else "—", r["intensity"] or "—"]
            for r in content["by_workshop"]]
    return headers, rows


def activity_rows(content):
    headers = [_("Scope"), _("Activity"), _("Quantity"), _("Unit"), _("t CO2 (location)"), _("t CO2 (market)")]
    rows = [[a["scope"], a["label"], a["quantity"], a["unit"], t(a["kg"]), t(a["market_kg"])]
            for a in content["by_activity"]]
    return headers, rows


def factor_rows(content):
    headers = [_("Code"), _("Version"), _("Name"), _("Value"), _("Unit"), _("kg per activity unit"), _("Data year"),
               _("Confidence"), _("Source")]
    rows = [[f["code"], f["version"], f["name"], f["value"], f["unit"],
             f"{f['kg_per_unit']} kg/{f['activity_unit']}", f["data_year"] or "—", f["confidence"], f["source"]]
            for f in content["factors"]]
    return headers, rows


def line_rows(content):
    headers = [_("Scope"), _("Activity"), _("Workshop"), _("Equipment"), _("Quantity"), _("Unit"), _("Factor"),
               _("kg CO2"), _("kg CO2 (market)")]
    rows = [[line["scope"], line["activity"], (line["workshop"] or {}).get("name", "—"),
             (line["equipment"] or {}).get("code", "—"), line["quantity"], line["unit"], line["factor"], line["kg"],
             line["market_kg"] or "—"] for line in content["lines"]]
    return headers, rows


def workbook(content, issued=None) -> bytes:
    wb = Workbook()
    about = wb.active
    about.title = str(_("Report"))[:31]
    write_pairs(about, [*provenance(content, issued), ("", ""), *total_items(content)])
    for title, (headers, rows) in ((_("By workshop"), workshop_rows(content)),
                                   (_("By activity"), activity_rows(content)),
                                   (_("Lines"), line_rows(content)),
                                   (_("Factor versions"), factor_rows(content))):
        ws = wb.create_sheet(str(title)[:31])
        write_table(ws, headers, ((row, False) for row in rows))
    return save(wb)


def pdf(content, issued=None) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    styles = pdf_styles()
    cell = styles["Normal"]
    title = _("Monthly emission report")
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm, title=str(title))
    story = [para(f"{title} · {content['site']['name']} · {content['period']['start']} – {content['period']['end']}",
                  styles["Title"]),
             pdf_table([[str(k), para(v, cell)] for k, v in provenance(content, issued)], [60 * mm, 200 * mm],
                       header=False), Spacer(1, 4 * mm),
             pdf_table([[str(k), para(v, cell)] for k, v in total_items(content)], [90 * mm, 50 * mm],
                       header=False), Spacer(1, 4 * mm)]
    for heading, (headers, rows), widths in (
            (_("By workshop"), workshop_rows(content), None),
            (_("By activity"), activity_rows(content), None),
            (_("Factor versions"), factor_rows(content),
             [40 * mm, 12 * mm, 45 * mm, 16 * mm, 20 * mm, 28 * mm, 14 * mm, 14 * mm, 88 * mm])):
        story += [para(heading, styles["Heading2"]),
                  pdf_table([[para(h, cell) for h in headers], *[[para(v, cell) for v in row] for row in rows]],
                            widths), Spacer(1, 4 * mm)]
    doc.build(story)
    return buffer.getvalue()
