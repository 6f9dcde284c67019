"""Gate ledger files: the passage ledger (every HJ 1321 field) and the statistics as Excel and PDF.

Every file carries its provenance (site, period or window, filters, when it was made, how many
rows, the evidence log's latest signed checkpoint), so a reviewer can regenerate and verify it.
Each passage row names its evidence leaf; ``/api/evidence/records/<leaf>/proof`` proves it is in the log.
The table helpers (header style, CID font ``STSong-Light`` for Chinese) are the measure ledger's.
"""

from collections import defaultdict
from io import BytesIO

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from greenledger.core.models import Attachment
from greenledger.evidence.models import Leaf
from greenledger.evidence.services import latest_checkpoint
from greenledger.measures.reports import (
    para, pdf_response, pdf_styles, pdf_table, save, write_pairs, write_table, xlsx_response,
)

from .codes import AlertLevel, Fuel, NetworkStatus, VehicleCategory
from .models import Passage

PDF_ROW_LIMIT = 3000  # a window for video comparison is minutes long; a bigger one belongs in Excel

__all__ = ["pdf_response", "xlsx_response"]  # the views' downloads, shared with the measure ledger


def local(moment, fmt="%Y-%m-%d %H:%M:%S"):
    return timezone.localtime(moment).strftime(fmt) if moment else ""


def label_of(choices, value):
    return dict(choices).get(value, value or "")


def dwell_minutes(p):
    return "" if p.dwell_seconds is None else round(p.dwell_seconds / 60, 1)


class PassageContext:
    """What the rows need besides the passages: operators' names and evidence leaf indexes, in two queries."""

    def __init__(self, passages):
        passages = list(passages)
        ids = {p.handled_by_id for p in passages if p.handled_by_id}
        users = get_user_model().objects.filter(pk__in=ids).select_related("person")
        self.operators = {u.pk: operator_name(u) for u in users}
        ids = [str(p.pk) for p in passages]
        self.leaves = dict(Leaf.objects.filter(table=Passage._meta.label_lower, record_id__in=ids)
                           .values_list("record_id", "index"))
        self.photos = defaultdict(list)
        for attachment in Attachment.objects.filter(content_type=ContentType.objects.get_for_model(Passage),
                                                    object_id__in=ids).order_by("recorded_at"):
            self.photos[attachment.object_id].append(attachment)
        self.passages = passages

    def operator(self, p):
        return self.operators.get(p.handled_by_id, "") if p.handled_by_id else ""

    def leaf(self, p):
        return self.leaves.get(str(p.pk), "")

    def images(self, p):
        """进/出厂照片: each snapshot's caption and download path (its SHA-256 is on the attachment)."""
        return " ".join(f"{a.caption or a.original_name}:{reverse('core:attachment_download', args=[a.pk])}"
                        for a in self.photos.get(str(p.pk), []))


def operator_name(user):
    person = getattr(user, "person", None)
    return f"{person.name} ({user.get_username()})" if person else user.get_username()


def ledger(p, key):
    value = (p.ledger or {}).get(key, "")
    return "" if value is None else value


def passage_columns():
    """(header, value of a passage given the context): the in/out ledger's fields (gate.md §1.3 a–c)."""
    return [
        (_("Gate code"), lambda p, c: p.gate.code),
        (_("Lane (barrier) code"), lambda p, c: p.lane.code),
        (_("Direction"), lambda p, c: p.get_direction_display()),
        (_("Passed at"), lambda p, c: local(p.occurred_at)),
        (_("Recorded at"), lambda p, c: local(p.recorded_at)),
        (_("Plate number"), lambda p, c: p.plate),
        (_("Plate colour"), lambda p, c: p.get_plate_color_display()),
        (_("Trailer plate"), lambda p, c: ledger(p, "trailer_plate")),
        (_("Registry"), lambda p, c: p.get_vehicle_kind_display()),
        (_("Vehicle type"), lambda p, c: ledger(p, "vehicle_type")),
        (_("Category (GB/T 15089)"), lambda p, c: label_of(VehicleCategory.choices, ledger(p, "category"))),
        (_("Policy class"), lambda p, c: p.get_vehicle_class_display()),
        (_("VIN"), lambda p, c: ledger(p, "vin")),
        (_("Registration date"), lambda p, c: ledger(p, "registration_date")),
        (_("Brand and model"), lambda p, c: ledger(p, "brand_model") or ledger(p, "model")),
        (_("Engine model"), lambda p, c: ledger(p, "engine_model")),
        (_("Engine manufacturer"), lambda p, c: ledger(p, "engine_maker")),
        (_("Engine number"), lambda p, c: ledger(p, "engine_no")),
        (_("Fuel"), lambda p, c: p.get_fuel_display() if p.fuel else label_of(Fuel.choices, ledger(p, "fuel"))),
        (_("Emission stage"), lambda p, c: p.get_stage_display()),
        (_("Use (使用性质)"), lambda p, c: ledger(p, "use_nature")),
        (_("Networking (OBD) status"), lambda p, c: label_of(NetworkStatus.choices, ledger(p, "network_status"))),
        (_("Registered owner"), lambda p, c: ledger(p, "owner")),
        (_("Carrier / fleet"), lambda p, c: p.carrier_name),
        (_("Gross mass (kg)"), lambda p, c: ledger(p, "gross_mass_kg")),
        (_("Environmental registration code"), lambda p, c: ledger(p, "registration_code")),
        (_("Machine environmental code (PIN)"), lambda p, c: ledger(p, "machine_code")),
        (_("Machine type"), lambda p, c: ledger(p, "machine_type")),
        (_("Registration state"), lambda p, c: ledger(p, "registration_state")),
        (_("Cargo"), lambda p, c: p.cargo_name),
        (_("Cargo weight (t)"), lambda p, c: "" if p.cargo_weight_t is None else p.cargo_weight_t),
        (_("Alert level in force"), lambda p, c: p.get_alert_level_display()),
        (_("Performance grade"), lambda p, c: p.grade),
        (_("Decision"), lambda p, c: p.get_decision_display()),
        (_("Reason"), lambda p, c: p.reason),
        (_("Rule applied"), lambda p, c: p.rule_ref),
        (_("Display text"), lambda p, c: p.display_text),
        (_("Final decision"), lambda p, c: p.get_final_decision_display()),
        (_("Handled by"), lambda p, c: c.operator(p)),
        (_("Barrier opened"), lambda p, c: "" if p.barrier_opened is None else p.barrier_opened),
        (_("Paired entry/exit"), lambda p, c: str(p.paired_id or "")),
        (_("Dwell time (min)"), lambda p, c: dwell_minutes(p)),
        (_("Recognition confidence"), lambda p, c: "" if p.confidence is None else p.confidence),
        (_("Camera"), lambda p, c: p.camera.code if p.camera_id else ""),
        (_("Snapshots"), lambda p, c: c.images(p)),
        (_("Evidence leaf"), lambda p, c: c.leaf(p)),
        (_("Passage ID"), lambda p, c: str(p.pk)),
    ]


PDF_COLUMNS = ("Gate code", "Lane (barrier) code", "Direction", "Passed at", "Plate number", "Plate colour",
               "Vehicle type", "VIN", "Fuel", "Emission stage", "Carrier / fleet", "Cargo", "Decision",
               "Final decision", "Reason", "Handled by", "Evidence leaf")


def passage_rows(passages):
    """(headers, rows) of the full ledger export."""
    passages = passages.select_related("gate", "lane", "camera")
    context = PassageContext(passages)
    columns = passage_columns()
    return [h for h, _f in columns], [[f(p, context) for _h, f in columns] for p in context.passages]


def provenance(site_names, window, filters, count):
    checkpoint = latest_checkpoint()
    items = [
        (_("Sites"), "、".join(site_names)),
        (_("Window"), window),
        (_("Filters"), filters or "—"),
        (_("Generated at"), local(timezone.now(), "%Y-%m-%d %H:%M:%S %Z")),
        (_("Rows"), count),
    ]
    return items + checkpoint_items(checkpoint)


def checkpoint_items(checkpoint):
    if checkpoint is None:
        return [(_("Evidence checkpoint"), _("none signed yet"))]
    return [
        (_("Evidence checkpoint: tree size"), checkpoint.tree_size),
        (_("Evidence checkpoint: root hash"), checkpoint.root_hash),
        (_("Evidence checkpoint: signed at"), local(checkpoint.created_at, "%Y-%m-%d %H:%M:%S %Z")),
        (_("Inclusion proof of a row"), "/api/evidence/records/<leaf>/proof"),
    ]


def passages_workbook(passages, about):
    headers, rows = passage_rows(passages)
    wb = Workbook()
    ws = wb.active
    ws.title = str(_("Passages"))[:31]
    write_table(ws, headers, ((row, False) for row in rows))
    write_pairs(wb.create_sheet(str(_("Report"))[:31]), about)
    return save(wb)


def passages_pdf(passages, about, title):
    """A4 landscape: provenance, then the window's passages with the columns a video check needs."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    headers, rows = passage_rows(passages[:PDF_ROW_LIMIT])
    wanted = [headers.index(_(name)) for name in PDF_COLUMNS]
    styles = pdf_styles()
    cell = styles["Normal"]
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=8 * mm, rightMargin=8 * mm,
                            topMargin=8 * mm, bottomMargin=8 * mm, title=str(title))
    table = [[para(headers[i], cell) for i in wanted]]
    table += [[para(row[i], cell) for i in wanted] for row in rows]
    doc.build([
        para(title, styles["Title"]),
        pdf_table([[str(k), para(v, cell)] for k, v in about], [50 * mm, 220 * mm], header=False),
        Spacer(1, 4 * mm),
        pdf_table(table, [15 * mm, 15 * mm, 10 * mm, 25 * mm, 18 * mm, 13 * mm, 18 * mm, 26 * mm, 13 * mm,
                          13 * mm, 20 * mm, 15 * mm, 12 * mm, 12 * mm, 30 * mm, 16 * mm, 12 * mm]),
    ])
    return buffer.getvalue()


# Statistics -------------------------------------------------------------------------------------


def dash(value, suffix=""):
    return "—" if value is None else f"{value}{suffix}"


def statistics_summary(s):
    a = s.alert_summary
    return [
        (_("Passages"), s.total),
        (_("Share 国五 and above or new-energy (%)"), dash(s.compliant_share)),
        (_("Share new-energy (%)"), dash(s.nev_share)),
        (_("Heavy-truck passages"), s.heavy_total),
        (_("Heavy trucks: share 国五 and above or new-energy (%)"), dash(s.heavy_compliant_share)),
        (_("Clean-transport share (%)"), dash(s.clean_share)),
        (_("Manual releases"), s.actions.get("release", 0)),
        (_("Manual blocks"), s.actions.get("block", 0)),
        (_("Alert days / normal days"), f"{a['alert_days']} / {a['normal_days']}"),
        (_("Heavy trucks per day in, alert days"), dash(a["alert_mean"])),
        (_("Heavy trucks per day in, normal days"), dash(a["normal_mean"])),
        (_("国四 and below per day in, alert days"), dash(a["alert_old_mean"])),
        (_("国四 and below per day in, normal days"), dash(a["normal_old_mean"])),
        (_("Dwell time: visits / mean / median / p90 (min)"), minutes_text(s.dwell)),
        (_("Waiting for the guard: cases / mean / median / p90 (min)"), minutes_text(s.waiting)),
    ]


def minutes_text(figures):
    return " / ".join(dash(figures[k]) for k in ("count", "mean", "median", "p90"))


def statistics_tables(s):
    """(sheet title, headers, rows) of every table on the statistics page."""
    stage_group_labels = [_("国四 and below"), _("China V"), _("China VI"), _("New-energy"), _("Other / unknown")]
    return [
        (_("Per day"), [_("Day"), _("Entries"), _("Exits"), _("Blocked"), _("Handled by hand")],
         [[f"{d.day:%Y-%m-%d}", d.entries, d.exits, d.blocked, d.manual] for d in s.days]),
        (_("Emission stages"), [_("Emission stage"), _("Passages"), _("Share (%)")],
         [[label, n, dash(pct)] for _code, label, n, pct in s.stages]),
        (_("Clean transport"), [_("Transport mode"), _("Tonnes"), _("Clean")],
         [[label, tonnes, clean] for _mode, label, tonnes, clean in s.transport]),
        (_("Manual actions"), [_("Action"), _("Reason"), _("Count")], [list(r) for r in s.reasons]),
        (_("Carriers"), [_("Carrier / fleet"), _("Passages"), _("Compliant (%)"), _("Blocked"), _("Blocked (%)"),
                         _("Handled by hand")],
         [[c.name, c.passages, dash(c.compliant_share), c.blocked, dash(c.blocked_share), c.manual]
          for c in s.carriers]),
        (_("Alert days"), [_("Day"), _("Alert level"), _("Heavy trucks in"), *stage_group_labels],
         [[f"{d.day:%Y-%m-%d}", alert_label(d.level), d.heavy, *d.by_group.values()] for d in s.alert_days]),
    ]


def alert_label(level):
    return label_of(AlertLevel.choices, level)


def statistics_about(s):
    return [(_("Site"), s.site.name), (_("Period"), s.period_label)] + [
        (_("Generated at"), local(timezone.now(), "%Y-%m-%d %H:%M:%S %Z")),
        (_("Passages read"), s.total)] + checkpoint_items(latest_checkpoint())


def statistics_workbook(s):
    wb = Workbook()
    about = wb.active
    about.title = str(_("Report"))[:31]
    write_pairs(about, [*statistics_about(s), ("", ""), *statistics_summary(s)])
    for title, headers, rows in statistics_tables(s):
        write_table(wb.create_sheet(str(title)[:31]), headers, ((row, False) for row in rows))
    return save(wb)


def statistics_pdf(s):
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    styles = pdf_styles()
    cell = styles["Normal"]
    title = _("Gate statistics")
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=str(title))
    story = [para(f"{title} · {s.site.name} · {s.period_label}", styles["Title"]),
             pdf_table([[str(k), para(v, cell)] for k, v in statistics_about(s)], [60 * mm, 120 * mm], header=False),
             Spacer(1, 3 * mm),
             pdf_table([[para(k, cell), str(v)] for k, v in statistics_summary(s)], [120 * mm, 60 * mm], header=False)]
    for heading, headers, rows in statistics_tables(s):
        if not rows:
            continue
        story += [Spacer(1, 3 * mm), para(heading, styles["Heading2"]),
                  pdf_table([[para(h, cell) for h in headers]] + [[para(v, cell) for v in row] for row in rows])]
    doc.build(story)
    return buffer.getvalue()

