"""Evidence pack for the performance-rating review (绩效评级核查), following the reviewers' procedure
(gate.md §1.2):

1. a random sample of 5–10 passages with their images, to check completeness and re-verify the
   emission stage — drawn with a printed seed from the period's passages in a fixed order, so the
   same seed over the same ledger draws the same sample;
2. every passage of a chosen 5–10 minute window, to compare against the gate video;
3. the daily counts of 3–5 normal (non-alert) days and of every alert day, to judge the emergency response;
4. the evidence log's latest signed checkpoint and each row's leaf, whose inclusion proof is at
   ``/api/evidence/records/<leaf>/proof``.

As PDF (with the sample's snapshots embedded) and Excel (every ledger field).
"""

import datetime
import random
import secrets
from dataclasses import dataclass
from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from greenledger.core.attachments import attachments_of
from greenledger.core.models import AttachmentKind
from greenledger.evidence.services import latest_checkpoint
from greenledger.measures.reports import para, pdf_styles, pdf_table, save, write_pairs, write_table

from . import reports, statistics

SAMPLE_MIN, SAMPLE_MAX = 5, 10
NORMAL_DAYS = 5
MAX_WINDOW = datetime.timedelta(hours=2)


@dataclass
class EvidencePack:
    site: object
    start: datetime.date
    end: datetime.date
    seed: int
    sample: list
    window_start: datetime.datetime | None
    window_end: datetime.datetime | None
    window: list
    normal_days: list
    alert_days: list
    checkpoint: object
    generated_at: datetime.datetime


def new_seed():
    return secrets.randbelow(10**9)


def build_pack(site, start, end, *, seed=None, sample_size=8, window_start=None, window_end=None):
    """The pack for ``site`` over the days ``start``–``end`` (inclusive)."""
    sample_size = min(SAMPLE_MAX, max(SAMPLE_MIN, int(sample_size)))
    seed = new_seed() if seed is None else int(seed)
    passages = statistics.passages_in(site, start, end)
    days = statistics.alert_day_rows(statistics.day_profile(site, passages), start, end)
    window = []
    if window_start and window_end:
        window = list(passages.model.objects.filter(site=site, occurred_at__gte=window_start,
                                                    occurred_at__lt=window_end)
                      .select_related("gate", "lane", "camera").order_by("occurred_at", "id"))
    return EvidencePack(
        site=site, start=start, end=end, seed=seed, sample=draw_sample(passages, seed, sample_size),
        window_start=window_start, window_end=window_end, window=window,
        normal_days=pick_normal_days(days), alert_days=[d for d in days if d.is_alert],
        checkpoint=latest_checkpoint(), generated_at=timezone.now(),
    )


def draw_sample(passages, seed, size):
    """``size`` passages drawn by ``random.Random(seed)`` from the ids in (occurred_at, id) order."""
    ids = list(passages.order_by("occurred_at", "id").values_list("pk", flat=True))
    chosen = random.Random(seed).sample(ids, min(size, len(ids)))
    by_id = passages.model.objects.select_related("gate", "lane", "camera").in_bulk(chosen)
    return [by_id[pk] for pk in chosen]


def pick_normal_days(days):
    """The latest normal days with traffic (3–5 of them when the period has them)."""
    normal = [d for d in days if not d.is_alert and d.heavy]
    return normal[-NORMAL_DAYS:]


def window_label(pack):
    if not (pack.window_start and pack.window_end):
        return "—"
    return f"{reports.local(pack.window_start, '%Y-%m-%d %H:%M')} – {reports.local(pack.window_end, '%H:%M')}"


def about(pack):
    items = [
        (_("Site"), pack.site.name),
        (_("Period"), f"{pack.start:%Y-%m-%d} – {pack.end:%Y-%m-%d}"),
        (_("Random sample seed"), pack.seed),
        (_("How the sample is drawn"), _("Python random.Random(seed).sample over the period's passage IDs "
                                         "ordered by passage time and ID")),
        (_("Sample size"), len(pack.sample)),
        (_("Video comparison window"), window_label(pack)),
        (_("Passages in the window"), len(pack.window)),
        (_("Generated at"), reports.local(pack.generated_at, "%Y-%m-%d %H:%M:%S %Z")),
    ]
    return items + reports.checkpoint_items(pack.checkpoint)


def day_headers():
    return [_("Day"), _("Alert level"), _("Heavy trucks in"), _("国四 and below"), _("China V"), _("China VI"),
            _("New-energy"), _("Other / unknown")]


def day_rows(days):
    return [[f"{d.day:%Y-%m-%d}", reports.alert_label(d.level), d.heavy, *d.by_group.values()] for d in days]


def images_of(passage):
    return [a for a in attachments_of(passage) if a.kind == AttachmentKind.PHOTO]


# Excel -------------------------------------------------------------------------------------------


def pack_workbook(pack):
    wb = Workbook()
    cover = wb.active
    cover.title = str(_("Evidence pack"))[:31]
    write_pairs(cover, about(pack))
    for title, passages in ((_("Random sample"), pack.sample), (_("Video window"), pack.window)):
        headers, rows = sample_rows(passages)
        write_table(wb.create_sheet(str(title)[:31]), headers, ((row, False) for row in rows))
    write_table(wb.create_sheet(str(_("Normal days"))[:31]), day_headers(),
                ((row, False) for row in day_rows(pack.normal_days)))
    write_table(wb.create_sheet(str(_("Alert days"))[:31]), day_headers(),
                ((row, False) for row in day_rows(pack.alert_days)))
    return save(wb)


def sample_rows(passages):
    """Every ledger field, the leaf, and the images' names and SHA-256 (so a copy can be checked)."""
    context = reports.PassageContext(passages)
    columns = reports.passage_columns()
    headers = [h for h, _f in columns] + [_("Images (name SHA-256)")]
    rows = []
    for p in context.passages:
        images = "; ".join(f"{a.original_name} {a.sha256}" for a in images_of(p))
        rows.append([f(p, context) for _h, f in columns] + [images])
    return headers, rows


# PDF ---------------------------------------------------------------------------------------------


def pack_pdf(pack):
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer

    styles = pdf_styles()
    cell = styles["Normal"]
    title = _("Evidence pack for the performance-rating review")
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=str(title))
    story = [para(f"{title} · {pack.site.name}", styles["Title"]),
             pdf_table([[str(k), para(v, cell)] for k, v in about(pack)], [55 * mm, 130 * mm], header=False),
             Spacer(1, 4 * mm), para(_("Random sample"), styles["Heading2"])]
    context = reports.PassageContext(pack.sample)
    for number, passage in enumerate(pack.sample, start=1):
        story += sample_block(number, passage, context, cell)
    story += [PageBreak(), para(_("Video comparison window") + f": {window_label(pack)}", styles["Heading2"]),
              window_table(pack.window, cell),
              Spacer(1, 4 * mm), para(_("Normal days"), styles["Heading2"]), days_table(pack.normal_days, cell),
              Spacer(1, 4 * mm), para(_("Alert days"), styles["Heading2"]), days_table(pack.alert_days, cell)]
    doc.build(story)
    return buffer.getvalue()


def sample_block(number, passage, context, cell):
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Spacer

    fields = [(h, f(passage, context)) for h, f in reports.passage_columns()]
    shown = [(h, v) for h, v in fields if v not in ("", None)]
    rows = [[para(h, cell), para(v, cell)] for h, v in shown]
    table = pdf_table([[para(f"#{number}", cell), para(f"{passage.plate} · "
                                                        f"{reports.local(passage.occurred_at)}", cell)], *rows],
                      [55 * mm, 130 * mm])
    return [KeepTogether([table, *snapshot_images(passage)]), Spacer(1, 3 * mm)]


def snapshot_images(passage):
    """The passage's photos scaled to fit beside each other (a broken file is named, not fatal)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Table

    cells = []
    for attachment in images_of(passage)[:3]:
        try:
            with attachment.file.open("rb") as handle:
                data = BytesIO(handle.read())
            image = Image(data)
            scale = min(60 * mm / image.imageWidth, 40 * mm / image.imageHeight)
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            cells.append(image)
        except Exception:
            cells.append(f"{attachment.original_name} (—)")
    return [Table([cells])] if cells else []


def window_table(passages, cell):
    if not passages:
        return para(_("No passages in the window (or no window chosen)."), cell)
    context = reports.PassageContext(passages)
    headers = [_("Passed at"), _("Gate code"), _("Direction"), _("Plate number"), _("Plate colour"),
               _("Emission stage"), _("Final decision"), _("Evidence leaf")]
    rows = [[reports.local(p.occurred_at), p.gate.code, p.get_direction_display(), p.plate,
             p.get_plate_color_display(), p.get_stage_display(), p.get_final_decision_display(), context.leaf(p)]
            for p in context.passages]
    return pdf_table([[para(h, cell) for h in headers]] + [[para(v, cell) for v in row] for row in rows])


def days_table(days, cell):
    if not days:
        return para(_("None in the period."), cell)
    return pdf_table([[para(h, cell) for h in day_headers()]] + [[para(v, cell) for v in row]
                                                                 for row in day_rows(days)])
