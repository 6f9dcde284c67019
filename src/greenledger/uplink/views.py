"""Pages of the regulator uplink: dashboard (rate, backlog, chart), platforms, outbox and dead
letters (fix and resend), re-upload of a period, reconciliation (page + Excel), instructions.

Every page checks its permission and narrows rows to the platforms of the user's sites. Secrets
are never shown: a platform shows where its secret and key are (env:/file:), not what they are.
"""

import datetime
import json

import django_filters
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from greenledger.core import permissions
from greenledger.core.excel import workbook_response
from greenledger.core.listing import Column, LedgerListView

from . import outbox, rates
from .client import UplinkError
from .forms import PayloadForm, PeriodForm, PlatformForm
from .models import InboundInstruction, Kind, OutboxItem, Platform, State


def guard(perm):
    def wrap(view):
        return login_required(permission_required(perm, raise_exception=True)(view))
    return wrap


def platforms_for(request):
    return permissions.scope_queryset(request, Platform.objects.select_related("site"), "site")


def chosen_platform(request):
    platforms = list(platforms_for(request))
    wanted = request.GET.get("platform") or request.POST.get("platform")
    chosen = next((p for p in platforms if str(p.pk) == str(wanted)), platforms[0] if platforms else None)
    return platforms, chosen


def local_today(platform):
    return timezone.now().astimezone(rates.zone_of(platform)).date()


# ---------------------------------------------------------------- dashboard


@guard("uplink.view_uplink_dashboard")
def dashboard(request):
    platforms, platform = chosen_platform(request)
    context = {"platforms": platforms, "platform": platform, "title": _("Regulator uplink")}
    if platform is not None:
        context.update(dashboard_figures(platform))
        context["period_form"] = PeriodForm(initial={"start": local_today(platform), "end": local_today(platform)})
    template = "uplink/_figures.html" if request.headers.get("HX-Request") else "uplink/dashboard.html"
    return render(request, template, context)


def dashboard_figures(platform):
    now = timezone.now()
    today = local_today(platform)
    days = rates.upload_rate(platform, today - datetime.timedelta(days=29), today + datetime.timedelta(days=1), now=now)
    month = rates.upload_rate(platform, today.replace(day=1), today + datetime.timedelta(days=1), by="month", now=now)
    by_day = {row["period"]: row for row in days}
    axis = [today - datetime.timedelta(days=n) for n in range(29, -1, -1)]
    chart = {"days": [d.strftime("%m-%d") for d in axis],
             "produced": [by_day.get(d, {}).get("produced", 0) for d in axis],
             "in_time": [by_day.get(d, {}).get("in_time", 0) for d in axis],
             "rate": [by_day.get(d, {}).get("rate") for d in axis], "target": rates.TARGET_RATE}
    circuit = getattr(platform, "circuit", None)
    last_day, _figures = rates.last_day_rate(platform, now)
    return {"today": by_day.get(today), "month": month[0] if month else None, "backlog": rates.backlog(platform, now),
            "last_day_rate": last_day, "target": rates.TARGET_RATE, "circuit": circuit, "chart": chart,
            "days": list(reversed(days))[:10]}


# ---------------------------------------------------------------- platforms


class PlatformListView(LedgerListView):
    permission_required = "uplink.view_platform"
    title = gettext_lazy("Regulator platforms")
    export_name = "uplink-platforms"
    site_path = "site"
    model = Platform
    filterset_fields = ["site", "profile", "enabled"]
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Code"), "code"),
        Column(gettext_lazy("Site"), "site.name"),
        Column(gettext_lazy("Profile"), "profile"),
        Column(gettext_lazy("Base URL"), "base_url"),
        Column(gettext_lazy("App id"), "app_id"),
        Column(gettext_lazy("Enabled"), "enabled"),
    ]
    actions = [("uplink:platform_create", gettext_lazy("New platform"), "uplink.add_platform")]


@guard("uplink.view_platform")
def platform_detail(request, pk):
    platform = get_object_or_404(platforms_for(request), pk=pk)
    from .mapping import DEFAULT_FIELD_MAP, code_tables_of

    return render(request, "uplink/platform_detail.html", {
        "platform": platform, "title": platform.name, "circuit": getattr(platform, "circuit", None),
        "field_map": json.dumps(platform.field_map or DEFAULT_FIELD_MAP, ensure_ascii=False, indent=2),
        "code_tables": json.dumps(code_tables_of(platform), ensure_ascii=False, indent=2),
        "mapping_is_default": not platform.field_map,
    })


@guard("uplink.add_platform")
def platform_edit(request, pk=None):
    platform = get_object_or_404(platforms_for(request), pk=pk) if pk else None
    if platform is not None and not request.user.has_perm("uplink.change_platform"):
        raise PermissionDenied
    form = PlatformForm(request.POST or None, instance=platform, sites=permissions.user_sites(request.user))
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("Platform %(name)s saved.") % {"name": saved.name})
        return redirect("uplink:platform_detail", pk=saved.pk)
    cancel = reverse("uplink:platform_detail", args=[pk]) if pk else reverse("uplink:platform_list")
    return render(request, "generic/form.html", {"form": form, "cancel": cancel,
                                                 "title": _("Regulator platform")})


@require_POST
@guard("uplink.manage_outbox")
def platform_reupload(request, pk):
    platform = get_object_or_404(platforms_for(request), pk=pk)
    form = PeriodForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(reverse("uplink:dashboard") + f"?platform={platform.pk}")
    zone = rates.zone_of(platform)
    start = datetime.datetime.combine(form.cleaned_data["start"], datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(form.cleaned_data["end"] + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    count = outbox.reupload(platform, start, end)
    messages.success(request, _("%(count)d items queued again for %(platform)s.") % {"count": count,
                                                                                     "platform": platform.name})
    return redirect(reverse("uplink:dashboard") + f"?platform={platform.pk}")


# ---------------------------------------------------------------- outbox and dead letters


class OutboxFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label=gettext_lazy("State"), choices=State.choices)
    kind = django_filters.ChoiceFilter(label=gettext_lazy("Kind"), choices=Kind.choices)
    record_id = django_filters.CharFilter(label=gettext_lazy("Record id"), lookup_expr="icontains")

    class Meta:
        model = OutboxItem
        fields = ["platform", "state", "kind", "backfilled", "reupload", "record_id"]


class ScopedPlatformList(LedgerListView):
    """A list whose platform filter offers only the platforms of the user's sites."""

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        if "platform" in filterset.form.fields:
            filterset.form.fields["platform"].queryset = platforms_for(self.request)
        return filterset


class OutboxListView(ScopedPlatformList):
    permission_required = "uplink.view_outboxitem"
    filterset_class = OutboxFilterSet
    title = gettext_lazy("Outbox and dead letters")
    export_name = "uplink-outbox"
    site_path = "platform__site"
    columns = [
        Column(gettext_lazy("No."), "id", link=True),
        Column(gettext_lazy("Platform"), "platform.name"),
        Column(gettext_lazy("Kind"), "kind"),
        Column(gettext_lazy("Record"), "record_id"),
        Column(gettext_lazy("Record time"), lambda i: timezone.localtime(i.occurred_at).strftime("%Y-%m-%d %H:%M:%S")),
        Column(gettext_lazy("State"), "state"),
        Column(gettext_lazy("Attempts"), "attempts"),
        Column(gettext_lazy("Back-filled"), "backfilled"),
        Column(gettext_lazy("Receipt"), "receipt_id"),
        Column(gettext_lazy("Last error"), "last_error"),
    ]

    def get_queryset(self):
        return super().get_queryset().select_related("platform").order_by("-id")

    queryset = OutboxItem.objects.all()


@guard("uplink.view_outboxitem")
def item_detail(request, pk):
    item = get_object_or_404(OutboxItem.objects.filter(platform__in=platforms_for(request)).select_related("platform"),
                             pk=pk)
    form = PayloadForm(initial={"payload": json.dumps(item.payload, ensure_ascii=False, indent=2)
                                if item.payload is not None else ""})
    return render(request, "uplink/item_detail.html", {
        "item": item, "title": _("Outbox item %(id)s") % {"id": item.pk}, "form": form,
        "attempts": item.attempt_log.order_by("-at")[:50],
        "can_resend": item.state == State.DEAD and request.user.has_perm("uplink.manage_outbox"),
    })


@require_POST
@guard("uplink.manage_outbox")
def item_resend(request, pk):
    item = get_object_or_404(OutboxItem.objects.filter(platform__in=platforms_for(request)), pk=pk)
    form = PayloadForm(request.POST)
    if not form.is_valid():
        return render(request, "uplink/item_detail.html", {
            "item": item, "title": _("Outbox item %(id)s") % {"id": item.pk}, "form": form,
            "attempts": item.attempt_log.order_by("-at")[:50], "can_resend": True}, status=422)
    try:
        outbox.resend(item, payload=form.cleaned_data["payload"], user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Item %(id)s queued again.") % {"id": item.pk})
    return redirect("uplink:item_detail", pk=item.pk)


# ---------------------------------------------------------------- reconciliation


RECONCILIATION_HEADERS = [gettext_lazy("Day"), gettext_lazy("Records produced"), gettext_lazy("Acknowledged here"),
                          gettext_lazy("Dead letters"), gettext_lazy("Platform's count"),
                          gettext_lazy("Difference"), gettext_lazy("Error")]


@guard("uplink.view_uplink_dashboard")
def reconciliation(request):
    platforms, platform = chosen_platform(request)
    context = {"platforms": platforms, "platform": platform, "title": _("Reconciliation (对账)"), "rows": None}
    if platform is None:
        return render(request, "uplink/reconciliation.html", context)
    today = local_today(platform)
    form = PeriodForm(request.GET if "start" in request.GET else None,
                      initial={"start": today - datetime.timedelta(days=6), "end": today})
    start, end = today - datetime.timedelta(days=6), today
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if (end - start).days > 92:
        start = end - datetime.timedelta(days=92)
    try:
        rows = rates.reconcile(platform, start, end + datetime.timedelta(days=1))
    except UplinkError as exc:  # the client could not even be set up (a missing key)
        rows, context["error"] = [], str(exc)
    except Exception as exc:
        rows, context["error"] = [], f"{exc.__class__.__name__}: {exc}"
    if request.GET.get("export") == "xlsx":
        return workbook_response(f"uplink-reconciliation-{platform.code}", str(_("Reconciliation")),
                                 [str(h) for h in RECONCILIATION_HEADERS],
                                 ([r["day"].isoformat(), r["produced"], r["acked"], r["dead"], r["platform"],
                                   r["difference"], r["error"]] for r in rows))
    context.update(form=form, rows=rows, headers=RECONCILIATION_HEADERS, start=start, end=end,
                   query_string=request.GET.urlencode())
    return render(request, "uplink/reconciliation.html", context)


# ---------------------------------------------------------------- instructions


class InstructionListView(ScopedPlatformList):
    permission_required = "uplink.view_inboundinstruction"
    model = InboundInstruction
    queryset = InboundInstruction.objects.select_related("platform")
    filterset_fields = ["platform", "channel"]
    title = gettext_lazy("Regulator instructions")
    export_name = "uplink-instructions"
    site_path = "platform__site"
    columns = [
        Column(gettext_lazy("Received at"), lambda i: timezone.localtime(i.recorded_at).strftime("%Y-%m-%d %H:%M")),
        Column(gettext_lazy("Platform"), "platform.name"),
        Column(gettext_lazy("Regulator's id"), "regulator_id"),
        Column(gettext_lazy("Received by"), "channel"),
        Column(gettext_lazy("Warning level"), "warning_level"),
        Column(gettext_lazy("Response level"), "response_level"),
        Column(gettext_lazy("From"), lambda i: timezone.localtime(i.starts_at).strftime("%Y-%m-%d %H:%M")
               if i.starts_at else ""),
        Column(gettext_lazy("Until"), lambda i: timezone.localtime(i.ends_at).strftime("%Y-%m-%d %H:%M")
               if i.ends_at else ""),
        Column(gettext_lazy("Control measures"), "measures_text"),
        Column(gettext_lazy("Applied"), lambda i: not i.apply_error),
        Column(gettext_lazy("Could not apply"), "apply_error"),
        Column(gettext_lazy("Acknowledged"), lambda i: timezone.localtime(i.acknowledged_at).strftime("%Y-%m-%d %H:%M")
               if i.acknowledged_at else ""),
    ]
