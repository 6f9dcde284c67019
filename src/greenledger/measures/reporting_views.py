"""Reporting pages of the measure ledger: compliance check (page, Excel, PDF), annual summary
(page, Excel) and the ledger's dashboard.

Views stay thin: they pick the sites in the user's scope and the period, then hand over to
``compliance.py`` for the figures and ``reports.py`` for the files. Contractors hold the view
permission for their own records but never see site-wide reports.
"""

import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from greenledger.core import permissions

from .compliance import annual_summary as build_annual_summary, compliance_report, rate_by_stage
from .models import Anomaly, AnomalyState, ApprovalState, ExecutionRecord, ReviewFlag
from .reports import annual_workbook, compliance_pdf, compliance_workbook, pdf_response, xlsx_response
from .schedule import zone_of
from .services import is_contractor

VIEW_PERMISSION = "measures.view_compliance"
MAX_PERIOD_DAYS = 400  # a year and a bit: the report is sized for that


def sites_in_scope(request):
    if is_contractor(request.user):
        raise PermissionDenied("contractors see only their own records")
    return permissions.user_sites(request.user)


def chosen_site(request, sites):
    """The site named by ?site= (it must be in scope), else None."""
    code = request.GET.get("site")
    if not code:
        return None
    site = sites.filter(code=code).first()
    if site is None:
        raise PermissionDenied("site outside your scope")
    return site


def today():
    return timezone.localdate()


def parse_date(value, default):
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return None


def chosen_period(request):
    """(start, end, error): ?start=&end= as dates, the current month by default."""
    day = today()
    month_start = day.replace(day=1)
    month_end = (month_start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    start = parse_date(request.GET.get("start"), month_start)
    end = parse_date(request.GET.get("end"), month_end)
    if start is None or end is None:
        return month_start, month_end, _("Dates must look like 2024-10-01.")
    if end < start:
        return month_start, month_end, _("The end date is before the start date.")
    if (end - start).days > MAX_PERIOD_DAYS:
        error = _("Choose a period of at most %(days)d days.") % {"days": MAX_PERIOD_DAYS}
        return month_start, month_end, error
    return start, end, ""


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def compliance(request):
    sites = sites_in_scope(request)
    site = chosen_site(request, sites)
    start, end, error = chosen_period(request)
    report = compliance_report([site] if site else list(sites), start, end)
    export = request.GET.get("export")
    if export == "xlsx":
        return xlsx_response(compliance_workbook(report), "compliance")
    if export == "pdf":
        return pdf_response(compliance_pdf(report), "compliance")
    query = request.GET.copy()
    query.pop("export", None)
    return render(request, "measures/compliance.html", {
        "title": _("Compliance check"), "report": report, "summary": report.summary, "sites": sites,
        "site": site, "start": start, "end": end, "error": error, "query_string": query.urlencode(),
    })


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def annual_summary(request):
    sites = sites_in_scope(request)
    site = chosen_site(request, sites) or sites.first()
    try:
        year = int(request.GET.get("year") or today().year)
    except ValueError:
        year = today().year
    year = min(max(year, 2000), today().year)
    summary = build_annual_summary(site, year) if site else None
    if summary is not None and request.GET.get("export") == "xlsx":
        return xlsx_response(annual_workbook(summary), f"annual-summary-{year}")
    return render(request, "measures/annual_summary.html", {
        "title": _("Annual summary of measures"), "summary": summary, "sites": sites, "site": site,
        "year": year, "years": range(today().year, today().year - 6, -1),
    })


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def dashboard(request):
    sites = sites_in_scope(request)
    site = chosen_site(request, sites) or sites.first()
    context = {"title": _("Measure ledger dashboard"), "sites": sites, "site": site}
    if site is not None:
        context.update(dashboard_figures(site))
    return render(request, "measures/dashboard.html", context)


def dashboard_figures(site):
    now = timezone.now()
    day = now.astimezone(zone_of(site)).date()
    report = compliance_report(site, day.replace(day=1), day, now)
    stages = rate_by_stage(report)
    open_anomalies = Anomaly.objects.filter(site=site).exclude(state=AnomalyState.CLOSED)
    return {
        "now": now,
        "summary": report.summary,
        "late_waiting": ExecutionRecord.objects.filter(site=site, superseded=False,
                                                       late_state=ApprovalState.PENDING).count(),
        "open_anomaly_count": open_anomalies.count(),
        "oldest_anomalies": open_anomalies.select_related("measure", "owner").order_by("occurred_at")[:10],
        "review_flags_open": ReviewFlag.objects.filter(measure__site=site, resolved_at__isnull=True).count(),
        "chart": {
            "stages": [name for name, _rate in stages],
            "rates": [rate for _name, rate in stages],
            **anomalies_per_day(site, day),
        },
    }


def anomalies_per_day(site, day, days=30):
    zone = zone_of(site)
    first = day - datetime.timedelta(days=days - 1)
    since = datetime.datetime.combine(first, datetime.time(0), tzinfo=zone)
    counts = dict(Anomaly.objects.filter(site=site, occurred_at__gte=since)
                  .annotate(day=TruncDate("occurred_at", tzinfo=zone)).values("day")
                  .annotate(n=Count("pk")).values_list("day", "n"))
    span = [first + datetime.timedelta(days=i) for i in range(days)]
    return {"days": [d.strftime("%m-%d") for d in span], "anomalies": [counts.get(d, 0) for d in span]}
