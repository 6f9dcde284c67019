"""Pages of the gate ledgers: passages (list, detail, Excel, PDF of a window), the exceptions report,
usage and transport records, statistics and the evidence pack for the performance-rating review.

Thin views: the filters live in ``ledger_forms``, the figures in ``statistics``, the files in
``reports`` and ``evidence_pack``. Every query is narrowed to the user's sites.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _, gettext_lazy

from greenledger.core import permissions
from greenledger.core.attachments import attachments_of
from greenledger.core.excel import SheetError, workbook_response
from greenledger.core.forms import ImportForm
from greenledger.core.listing import Column, LedgerListView
from greenledger.evidence.services import leaf_of

from . import evidence_pack as packs, reports, statistics
from .actions import can_open_remotely
from .console_forms import CargoForm, ReasonForm
from .ledger_forms import (
    MINUTE_FORMATS, TRANSPORT_COLUMNS, ExceptionFilterSet, PassageFilterSet, TransportFilterSet,
    TransportRecordForm, UsageFilterSet, UsageRecordForm, narrow_to_sites, transport_sheet_rows,
)
from .models import ActionKind, Passage, PassageAction, TransportRecord, UsageRecord

STATISTICS_PERMISSION = "gate.view_gate_statistics"
MAX_PERIOD_DAYS = 400


def guard(perm):
    def wrap(view):
        return login_required(permission_required(perm, raise_exception=True)(view))
    return wrap


def local(moment, fmt="%Y-%m-%d %H:%M"):
    return timezone.localtime(moment).strftime(fmt) if moment else ""


def passages_for(request):
    return permissions.scope_queryset(request, Passage.objects.all())


class GateListView(LedgerListView):
    """A gate ledger list: choices narrowed to the user's sites, filter errors shown, extra downloads."""

    template_name = "gate/ledger/list.html"
    downloads: list[tuple[str, str]] = []  # (export value, label) besides Excel

    def get_filterset(self, filterset_class):
        return narrow_to_sites(super().get_filterset(filterset_class), permissions.user_sites(self.request.user))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["downloads"] = self.downloads
        return context


# Passages -----------------------------------------------------------------------------------------


def passage_link(p):
    return format_html('<a href="{}">{}</a>', reverse("gate:passage_detail", args=[p.pk]), local(p.occurred_at))


def handled(p):
    return "✋" if p.handled_by_id else ""


class PassageListView(GateListView):
    permission_required = "gate.view_passage"
    filterset_class = PassageFilterSet
    site_path = "site"
    title = gettext_lazy("Passage ledger")
    export_name = "passages"
    downloads = [("pdf", gettext_lazy("PDF of this window"))]
    columns = [
        Column(gettext_lazy("Passed at"), passage_link),
        Column(gettext_lazy("Gate"), "gate.name"),
        Column(gettext_lazy("Lane"), "lane.name"),
        Column(gettext_lazy("Direction"), "direction"),
        Column(gettext_lazy("Plate"), "plate"),
        Column(gettext_lazy("Plate colour"), "plate_color"),
        Column(gettext_lazy("Emission stage"), "stage"),
        Column(gettext_lazy("Fuel"), "fuel"),
        Column(gettext_lazy("Carrier / fleet"), "carrier_name"),
        Column(gettext_lazy("Decision"), "decision"),
        Column(gettext_lazy("Final decision"), "final_decision"),
        Column(gettext_lazy("By hand"), handled),
        Column(gettext_lazy("Reason"), "reason"),
        Column(gettext_lazy("Cargo"), lambda p: f"{p.cargo_name} {p.cargo_weight_t or ''}".strip()),
    ]
    actions = [("gate:exceptions", gettext_lazy("Exceptions report"), "gate.view_passageaction"),
               ("gate:console", gettext_lazy("Guard console"), "gate.operate_gate")]

    def get_queryset(self):
        return passages_for(self.request).select_related("gate", "lane").order_by("-occurred_at")

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export in ("xlsx", "pdf"):
            return self.download(export)
        return super().get(request, *args, **kwargs)

    def download(self, export):
        filterset = self.get_filterset(self.get_filterset_class())
        if not filterset.is_valid():
            messages.error(self.request, _("Fix the filter first: %(errors)s") % {
                "errors": "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())})
            return redirect(reverse("gate:passage_list"))
        rows = filterset.qs.order_by("occurred_at", "id")
        data = filterset.form.cleaned_data
        window = f"{local(data.get('start')) or '…'} – {local(data.get('end')) or '…'}"
        filters = ", ".join(f"{k}={v}" for k, v in self.request.GET.items() if v and k not in ("export", "page"))
        sites = [s.name for s in permissions.user_sites(self.request.user).filter(
            pk__in=rows.values("site_id").distinct())]
        if export == "pdf":
            count = rows.count()
            about = reports.provenance(sites, window, filters, count)
            if count > reports.PDF_ROW_LIMIT:
                about.append((_("Note"), _("Only the first %(n)d rows are in the PDF; use Excel for all.") % {
                    "n": reports.PDF_ROW_LIMIT}))
            return reports.pdf_response(reports.passages_pdf(rows, about, _("Passage ledger")), "passages")
        about = reports.provenance(sites, window, filters, rows.count())
        return reports.xlsx_response(reports.passages_workbook(rows, about), "passages")


@guard("gate.view_passage")
def passage_detail(request, pk):
    passage = get_object_or_404(passages_for(request).select_related("gate", "lane", "camera", "vehicle"), pk=pk)
    context = reports.PassageContext([passage])
    fields = [(h, f(passage, context)) for h, f in reports.passage_columns()]
    paired = passages_for(request).filter(pk=passage.paired_id).first() if passage.paired_id else None
    return render(request, "gate/ledger/passage_detail.html", {
        "title": f"{passage.plate} {passage.get_direction_display()}", "passage": passage,
        "fields": [(h, v) for h, v in fields if v not in ("", None)], "photos": attachments_of(passage),
        "actions": passage.actions.select_related("actor").order_by("occurred_at"), "paired": paired,
        "leaf": leaf_of(passage), "reason_form": ReasonForm(), "cargo_form": CargoForm(),
        "remote_barrier": can_open_remotely(passage.lane),
    })


# Exceptions report ------------------------------------------------------------------------------------


class ExceptionListView(GateListView):
    """Manual releases and blocks (例外放行/拦截) with reasons, who and when."""

    permission_required = "gate.view_passageaction"
    filterset_class = ExceptionFilterSet
    site_path = "passage__site"
    title = gettext_lazy("Exceptions — manual releases and blocks")
    export_name = "gate-exceptions"
    columns = [
        Column(gettext_lazy("At"), lambda a: local(a.occurred_at)),
        Column(gettext_lazy("Action"), "kind"),
        Column(gettext_lazy("Reason"), "reason"),
        Column(gettext_lazy("By"), lambda a: reports.operator_name(a.actor)),
        Column(gettext_lazy("Plate"), "passage.plate"),
        Column(gettext_lazy("Passed at"), lambda a: local(a.passage.occurred_at)),
        Column(gettext_lazy("Gate"), "passage.gate.name"),
        Column(gettext_lazy("Direction"), lambda a: a.passage.get_direction_display()),
        Column(gettext_lazy("Emission stage"), lambda a: a.passage.get_stage_display()),
        Column(gettext_lazy("Gate's decision"), lambda a: a.passage.get_decision_display()),
        Column(gettext_lazy("Gate's reason"), "passage.reason"),
        Column(gettext_lazy("Recorded at"), lambda a: local(a.recorded_at)),
    ]

    def get_queryset(self):
        return (PassageAction.objects.filter(kind__in=[ActionKind.RELEASE, ActionKind.BLOCK])
                .select_related("passage", "passage__gate", "actor", "actor__person").order_by("-occurred_at"))


# Usage and transport records ------------------------------------------------------------------------


class UsageListView(GateListView):
    permission_required = "gate.view_usagerecord"
    filterset_class = UsageFilterSet
    site_path = "site"
    title = gettext_lazy("In-plant vehicle and machinery usage")
    export_name = "gate-usage"
    columns = [
        Column(gettext_lazy("From"), lambda u: local(u.started_at)),
        Column(gettext_lazy("Until"), lambda u: local(u.ended_at)),
        Column(gettext_lazy("Vehicle or machine"), lambda u: str(u.in_plant_vehicle or u.machine)),
        Column(gettext_lazy("Environmental registration code"),
               lambda u: (u.in_plant_vehicle or u.machine).registration_code),
        Column(gettext_lazy("Emission stage"), lambda u: (u.in_plant_vehicle or u.machine).get_stage_display()),
        Column(gettext_lazy("Where"), "workshop.name"),
        Column(gettext_lazy("Operator"), "operator_name"),
        Column(gettext_lazy("Hours"), "hours"),
        Column(gettext_lazy("Fuel (L)"), "fuel_litres"),
        Column(gettext_lazy("Note"), "note"),
        Column(gettext_lazy("Recorded at"), lambda u: local(u.recorded_at)),
    ]
    actions = [("gate:usage_create", gettext_lazy("New usage record"), "gate.add_usagerecord")]

    def get_queryset(self):
        return UsageRecord.objects.select_related("in_plant_vehicle", "machine", "workshop").order_by("-started_at")


class TransportListView(GateListView):
    permission_required = "gate.view_transportrecord"
    filterset_class = TransportFilterSet
    site_path = "site"
    title = gettext_lazy("Transport records (clean-transport share)")
    export_name = "gate-transport"
    columns = [
        Column(gettext_lazy("From"), "period_start"),
        Column(gettext_lazy("Until"), "period_end"),
        Column(gettext_lazy("Direction"), "direction"),
        Column(gettext_lazy("Transport mode"), "mode"),
        Column(gettext_lazy("Cargo"), "cargo_name"),
        Column(gettext_lazy("Tonnes"), "tonnes"),
        Column(gettext_lazy("Source document"), "source_doc"),
        Column(gettext_lazy("Site"), "site.name"),
        Column(gettext_lazy("Recorded at"), lambda t: local(t.recorded_at)),
    ]
    actions = [("gate:transport_create", gettext_lazy("New transport record"), "gate.add_transportrecord"),
               ("gate:transport_import", gettext_lazy("Import Excel"), "gate.add_transportrecord")]

    def get_queryset(self):
        return TransportRecord.objects.select_related("site").order_by("-period_start")


def record_form(request, form_class, title, list_url, list_permission):
    sites = permissions.user_sites(request.user)
    form = form_class(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        record = form.save(commit=False)
        record.entered_by = request.user
        record.save()
        messages.success(request, _("Saved and sealed."))
        # a guard may record usage without reading the usage ledger: back to an empty form then
        return redirect(list_url if request.user.has_perm(list_permission) else request.path)
    return render(request, "generic/form.html", {"title": title, "form": form, "cancel": reverse(list_url)
                   if request.user.has_perm(list_permission) else reverse("gate:console")})


@guard("gate.add_usagerecord")
def usage_create(request):
    return record_form(request, UsageRecordForm, _("New usage record"), "gate:usage_list",
                       "gate.view_usagerecord")


@guard("gate.add_transportrecord")
def transport_create(request):
    return record_form(request, TransportRecordForm, _("New transport record"), "gate:transport_list",
                       "gate.view_transportrecord")


@guard("gate.add_transportrecord")
def transport_import(request):
    if request.GET.get("template"):
        return workbook_response("transport-template", str(_("Transport records")),
                                 [names[0] for names in TRANSPORT_COLUMNS.values()], [])
    form = ImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            records, problems = transport_sheet_rows(form.cleaned_data["file"],
                                                     permissions.user_sites(request.user), request.user)
        except SheetError as exc:
            problems = exc.problems
        else:
            if not problems:
                with transaction.atomic():
                    for record in records:
                        record.save()
                messages.success(request, _("%(n)d transport records imported.") % {"n": len(records)})
                return redirect("gate:transport_list")
    return render(request, "core/import.html", {
        "title": _("Import transport records"), "form": form, "problems": problems,
        "columns": [names[0] for names in TRANSPORT_COLUMNS.values()],
        "template_url": reverse("gate:transport_import") + "?template=1",
    })


# Statistics and evidence pack -----------------------------------------------------------------------


def chosen_site(request):
    sites = permissions.user_sites(request.user)
    code = request.GET.get("site")
    if code:
        site = sites.filter(code=code).first()
        if site is None:
            raise PermissionDenied("site outside your scope")
        return site, sites
    return sites.order_by("pk").first(), sites


def chosen_period(request):
    """(start, end, error): ?month=YYYY-MM, or ?start=&end= dates; the current month by default."""
    first, last = statistics.month_bounds(timezone.localdate())
    try:
        if request.GET.get("month"):
            first, last = statistics.month_bounds(datetime.date.fromisoformat(request.GET["month"] + "-01"))
        elif request.GET.get("start") or request.GET.get("end"):
            first = datetime.date.fromisoformat(request.GET.get("start") or f"{first}")
            last = datetime.date.fromisoformat(request.GET.get("end") or f"{last}")
    except ValueError:
        default = statistics.month_bounds(timezone.localdate())
        return *default, _("Dates must look like 2025-01-31 and months like 2025-01.")
    if last < first:
        return *statistics.month_bounds(timezone.localdate()), _("The end date is before the start date.")
    if (last - first).days > MAX_PERIOD_DAYS:
        return (*statistics.month_bounds(timezone.localdate()),
                _("Choose a period of at most %(days)d days.") % {"days": MAX_PERIOD_DAYS})
    return first, last, ""


@guard(STATISTICS_PERMISSION)
def statistics_page(request):
    site, sites = chosen_site(request)
    start, end, error = chosen_period(request)
    figures = statistics.gate_statistics(site, start, end) if site else None
    export = request.GET.get("export")
    if figures is not None and export == "xlsx":
        return reports.xlsx_response(reports.statistics_workbook(figures), f"gate-statistics-{start:%Y%m%d}")
    if figures is not None and export == "pdf":
        return reports.pdf_response(reports.statistics_pdf(figures), f"gate-statistics-{start:%Y%m%d}")
    query = request.GET.copy()
    query.pop("export", None)
    return render(request, "gate/stats/statistics.html", {
        "title": _("Gate statistics"), "s": figures, "site": site, "sites": sites, "start": start, "end": end,
        "error": error, "query_string": query.urlencode(),
        "summary": reports.statistics_summary(figures) if figures else [],
        "tables": reports.statistics_tables(figures)[3:] if figures else [],
        "chart": chart_data(figures) if figures else {},
    })


def chart_data(s):
    return {
        "days": [f"{d.day:%m-%d}" for d in s.days], "entries": [d.entries for d in s.days],
        "exits": [d.exits for d in s.days], "blocked": [d.blocked for d in s.days],
        "stages": [{"name": str(label), "value": n} for _code, label, n, _pct in s.stages],
        "transport": [{"name": str(label), "value": float(t)} for _m, label, t, _c in s.transport],
        "alert_days": [f"{d.day:%m-%d}" for d in s.alert_days],
        "alert_flags": [d.is_alert for d in s.alert_days],
        "groups": {name: [d.by_group[name] for d in s.alert_days] for name in statistics.STAGE_GROUPS},
    }


def parse_minute(value):
    for fmt in MINUTE_FORMATS:
        try:
            return timezone.make_aware(datetime.datetime.strptime(value, fmt))
        except (ValueError, TypeError):
            continue
    return None


@guard(STATISTICS_PERMISSION)
def evidence_pack(request):
    site, sites = chosen_site(request)
    start, end, error = chosen_period(request)
    window_start, window_end = parse_minute(request.GET.get("window_start")), parse_minute(request.GET.get("window_end"))
    if window_start and window_end and not (window_start < window_end <= window_start + packs.MAX_WINDOW):
        error = _("The video window must end after it starts and last at most two hours.")
        window_start = window_end = None
    try:
        seed = int(request.GET["seed"]) if request.GET.get("seed") else None
        size = int(request.GET.get("size") or 8)
    except ValueError:
        seed, size, error = None, 8, _("The seed and the sample size are whole numbers.")
    export = request.GET.get("export")
    if site is not None and export in ("pdf", "xlsx") and not error:
        pack = packs.build_pack(site, start, end, seed=seed, sample_size=size, window_start=window_start,
                                window_end=window_end)
        name = f"gate-evidence-pack-{start:%Y%m%d}-seed{pack.seed}"
        if export == "pdf":
            return reports.pdf_response(packs.pack_pdf(pack), name)
        return reports.xlsx_response(packs.pack_workbook(pack), name)
    return render(request, "gate/stats/evidence_pack.html", {
        "title": _("Evidence pack for the performance-rating review"), "site": site, "sites": sites,
        "start": start, "end": end, "error": error, "seed": seed if seed is not None else packs.new_seed(),
        "size": size, "window_start": request.GET.get("window_start", ""),
        "window_end": request.GET.get("window_end", ""),
    })
