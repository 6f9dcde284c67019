"""Pages of telemetry: points (list, detail with chart and gaps, form, Excel import/export), data
quality, intake errors, upload of readings read by hand, and the energy dashboard (live power,
self-sufficiency)."""

import datetime
import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from greenledger.core import permissions
from greenledger.core.excel import SheetError
from greenledger.core.listing import Column, LedgerListView
from greenledger.core.roles import ALL_SITE_ROLES

from . import point_sheet, quality, services, upload
from .filtersets import IntakeErrorFilterSet, PointFilterSet
from .forms import PointForm
from .models import Gap, IntakeError, MeasuringPoint, PointStatus, Quality, Reading

VIEW = "telemetry.view_measuringpoint"
ADD, CHANGE = "telemetry.add_measuringpoint", "telemetry.change_measuringpoint"
PERIODS = [("1d", gettext_lazy("1 day"), 1), ("7d", gettext_lazy("7 days"), 7), ("30d", gettext_lazy("30 days"), 30),
           ("180d", gettext_lazy("6 months"), 180), ("365d", gettext_lazy("1 year"), 365),
           ("730d", gettext_lazy("2 years"), 730)]
RESOLUTION_LABELS = {"raw": gettext_lazy("raw readings"), "15m": gettext_lazy("15 minutes"),
                     "hour": gettext_lazy("hourly"), "day": gettext_lazy("daily")}


def guard(perm):
    def wrap(view):
        return login_required(permission_required(perm, raise_exception=True)(view))
    return wrap


def points_for(request):
    return permissions.scope_queryset(request, MeasuringPoint.objects.select_related("site", "workshop", "equipment"))


def local(ts):
    return timezone.localtime(ts).strftime("%Y-%m-%d %H:%M") if ts else ""


def chosen_site(request):
    sites = permissions.user_sites(request.user)
    code = request.GET.get("site")
    return (sites.filter(code=code).first() if code else None) or sites.first(), sites


def period_of(request, default="7d"):
    """(key, start, end) from ?period=7d or ?start=YYYY-MM-DD&end=YYYY-MM-DD (site-local dates)."""
    now = timezone.now()
    start_text, end_text = request.GET.get("start"), request.GET.get("end")
    if start_text:
        try:
            start = timezone.make_aware(datetime.datetime.fromisoformat(start_text))
            end = timezone.make_aware(datetime.datetime.fromisoformat(end_text)) + datetime.timedelta(days=1) \
                if end_text else now
            if end > start:
                return "custom", start, end
        except ValueError:
            pass
    key = request.GET.get("period", default)
    days = dict((k, d) for k, _label, d in PERIODS).get(key)
    if days is None:
        key, days = default, dict((k, d) for k, _label, d in PERIODS)[default]
    return key, now - datetime.timedelta(days=days), now


# Points -------------------------------------------------------------------------------------------


def last_value(point):
    status = getattr(point, "status", None)
    if status is None or status.last_value is None:
        return None
    return f"{status.last_value:g} {point.unit}".strip()


class PointListView(LedgerListView):
    # model must be set: without it django-filter swallows get_queryset's error and lists every site
    model = MeasuringPoint
    permission_required = VIEW
    filterset_class = PointFilterSet
    title = gettext_lazy("Measuring points")
    export_name = "measuring-points"
    site_path = "site"
    columns = [
        Column(gettext_lazy("Code"), "code", link=True),
        Column(gettext_lazy("Name"), "name"),
        Column(gettext_lazy("Site"), "site.name"),
        Column(gettext_lazy("Workshop / stage"), "workshop.name"),
        Column(gettext_lazy("Equipment"), "equipment.code"),
        Column(gettext_lazy("Quantity"), "quantity"),
        Column(gettext_lazy("Unit"), "unit"),
        Column(gettext_lazy("Cumulative"), "cumulative"),
        Column(gettext_lazy("Expected interval (s)"), "expected_interval_seconds"),
        Column(gettext_lazy("Source"), "source"),
        Column(gettext_lazy("Last value"), last_value),
        Column(gettext_lazy("Last reading at"), lambda p: local(getattr(getattr(p, "status", None), "last_ts", None))),
    ]
    actions = [
        ("telemetry:point_create", gettext_lazy("New measuring point"), ADD),
        ("telemetry:point_import", gettext_lazy("Points in Excel"), VIEW),
        ("telemetry:quality", gettext_lazy("Data quality"), VIEW),
        ("telemetry:upload", gettext_lazy("Upload readings"), "telemetry.upload_readings"),
    ]

    def get_queryset(self):
        return super().get_queryset().select_related("site", "workshop", "equipment", "status")

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        sites = permissions.user_sites(self.request.user)
        filterset.form.fields["site"].queryset = sites
        filterset.form.fields["workshop"].queryset = filterset.form.fields["workshop"].queryset.filter(site__in=sites)
        return filterset


@guard(VIEW)
def point_detail(request, pk):
    point = get_object_or_404(points_for(request), pk=pk)
    key, start, end = period_of(request, default="1d")
    resolution = request.GET.get("resolution")
    if resolution not in services.RESOLUTIONS and resolution != "raw":
        resolution = services.choose_resolution(start, end)
    data = services.series(point, start, end, resolution)
    gaps = Gap.objects.filter(point=point, start__lt=end, end__gt=start).order_by("start")
    status = PointStatus.objects.filter(point=point).first()
    chart = {
        "name": point.name, "unit": point.unit, "cumulative": point.cumulative,
        "points": [[ts.isoformat(), value] for ts, value in data],
        "gaps": [[max(g.start, start).isoformat(), min(g.end, end).isoformat(), bool(g.filled_at)] for g in gaps],
        "valid": [point.valid_min, point.valid_max],
    }
    flagged = Reading.objects.filter(point=point).exclude(quality=Quality.GOOD).order_by("-ts")[:20]
    return render(request, "telemetry/point_detail.html", {
        "point": point, "status": status, "stale": quality.is_stale(point, status), "periods": PERIODS,
        "period": key, "resolution": resolution, "resolution_label": RESOLUTION_LABELS[resolution],
        "start": start, "end": end, "chart_json": json.dumps(chart), "count": len(data),
        "gaps": Gap.objects.filter(point=point).order_by("-start")[:50], "flagged": flagged,
        "errors": IntakeError.objects.filter(site=point.site, point_code=point.code)[:20],
        "topic": f"greenledger/{point.site.code}/{point.code}",
        "can_change": request.user.has_perm(CHANGE),
    })


@login_required
def point_edit(request, pk=None):
    """Create (``pk`` None) or edit a measuring point of one of the user's sites."""
    point = get_object_or_404(points_for(request), pk=pk) if pk else None
    if not request.user.has_perm(CHANGE if point else ADD):
        raise PermissionDenied
    form = PointForm(request.POST or None, instance=point, sites=permissions.user_sites(request.user))
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("Measuring point %(code)s saved.") % {"code": saved.code})
        return redirect(saved)
    title = _("Edit measuring point %(code)s") % {"code": point.code} if point else _("New measuring point")
    cancel = point.get_absolute_url() if point else reverse("telemetry:point_list")
    return render(request, "generic/form.html", {"title": title, "form": form, "cancel": cancel})


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel file (.xlsx)"))


@guard(VIEW)
def point_import(request):
    """The points sheet: download (``?export=1``, optionally ``&site=CODE``) and upload."""
    sites = permissions.user_sites(request.user)
    if request.GET.get("export"):
        points = points_for(request)
        if request.GET.get("site"):
            points = points.filter(site__code=request.GET["site"])
        return point_sheet.export_response(points)
    can_import = request.user.has_perm(ADD) or request.user.has_perm(CHANGE)
    form = ImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST":
        if not can_import:
            raise PermissionDenied
        if form.is_valid():
            try:
                created, updated = point_sheet.import_points(form.cleaned_data["file"], sites, request.user)
            except SheetError as exc:
                problems = exc.problems
            else:
                messages.success(request, _("Measuring points imported: %(created)d new, %(updated)d updated.")
                                 % {"created": created, "updated": updated})
                return redirect("telemetry:point_list")
    return render(request, "telemetry/point_import.html", {
        "form": form, "problems": problems, "can_import": can_import, "columns": point_sheet.column_titles()})


# Quality -------------------------------------------------------------------------------------------


@guard(VIEW)
def quality_page(request):
    site, sites = chosen_site(request)
    key, start, end = period_of(request, default="7d")
    points = points_for(request).filter(site=site, active=True) if site else MeasuringPoint.objects.none()
    rows = quality.completeness(points, start, end)
    if request.GET.get("problems"):
        rows = [r for r in rows if r["stale"] or r["open_gaps"] or (r["percent"] is not None and r["percent"] < 95)]
    return render(request, "telemetry/quality.html", {
        "site": site, "sites": sites, "rows": rows, "periods": PERIODS[:5], "period": key, "start": start, "end": end,
        "errors_24h": IntakeError.objects.filter(site=site, received_at__gte=timezone.now()
                                                 - datetime.timedelta(days=1)).count() if site else 0,
    })


# Intake errors --------------------------------------------------------------------------------------


class IntakeErrorListView(LedgerListView):
    permission_required = "telemetry.view_intakeerror"
    filterset_class = IntakeErrorFilterSet
    title = gettext_lazy("Intake errors")
    export_name = "telemetry-intake-errors"
    columns = [
        Column(gettext_lazy("Received at"), lambda e: local(e.received_at)),
        Column(gettext_lazy("Source"), "source"),
        Column(gettext_lazy("Site"), "site.code"),
        Column(gettext_lazy("Point code"), "point_code"),
        Column(gettext_lazy("Rule"), "rule"),
        Column(gettext_lazy("Problem"), "message"),
        Column(gettext_lazy("Raw payload"), lambda e: e.payload[:300]),
        Column(gettext_lazy("Topic / file"), "topic"),
    ]

    def get_queryset(self):
        scoped = Q(site__in=permissions.user_sites(self.request.user))
        user = self.request.user
        if user.is_superuser or user.groups.filter(name__in=ALL_SITE_ROLES).exists():
            scoped |= Q(site__isnull=True)  # unknown site: only those who see every site
        return IntakeError.objects.filter(scoped).select_related("site")


# Upload ---------------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Site"))
    file = forms.FileField(label=gettext_lazy("Excel (.xlsx) or CSV file"))

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if sites is not None and sites.count() == 1:
            self.fields["site"].initial = sites.first()


@guard(VIEW)
def upload_page(request):
    if request.GET.get("template"):
        return upload.template_response()
    can_upload = request.user.has_perm("telemetry.upload_readings")
    form = UploadForm(request.POST or None, request.FILES or None, sites=permissions.user_sites(request.user))
    result, problems = None, []
    if request.method == "POST":
        if not can_upload:
            raise PermissionDenied
        if form.is_valid():
            try:
                result, problems = upload.import_file(form.cleaned_data["file"], form.cleaned_data["site"])
            except SheetError as exc:
                problems = exc.problems
            else:
                messages.success(request, _("%(stored)d readings stored, %(duplicates)d already there, "
                                            "%(rejected)d rows with problems.") % result.as_dict())
    return render(request, "telemetry/upload.html", {"form": form, "result": result, "problems": problems,
                                                     "can_upload": can_upload})


# Energy dashboard ---------------------------------------------------------------------------------------


@guard(VIEW)
def energy(request):
    site, sites = chosen_site(request)
    context = {"site": site, "sites": sites}
    if site is not None:
        now = timezone.now()
        today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        month = today.replace(day=1)
        balance = quality.daily_balance(site, today - datetime.timedelta(days=30), today + datetime.timedelta(days=1))
        context.update({
            "live": quality.live_power(site, now),
            "today": quality.self_sufficiency(site, today, now),
            "month": quality.self_sufficiency(site, month, now),
            "year": quality.self_sufficiency(site, now - datetime.timedelta(days=365), now),
            "chart_json": json.dumps({
                "days": [timezone.localtime(d).strftime("%m-%d") for d, _g, _u in balance],
                "generation": [round(g, 1) for _d, g, _u in balance],
                "consumption": [round(u, 1) for _d, _g, u in balance],
            }),
        })
    return render(request, "telemetry/energy.html", context)


@guard(VIEW)
def live_power(request):
    site, _sites = chosen_site(request)
    live = quality.live_power(site) if site else None
    return render(request, "telemetry/_live_power.html", {"site": site, "live": live})
