"""Pages of carbon accounting: factor library, activity data, production, green certificates,
the monthly emission report (page, Excel, PDF, issue), measure effects, emission anomalies,
cross-checks and the carbon dashboard.

Views are thin: they check the permission and the site scope, then call engine/services/reports.
"""

import datetime
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from greenledger.core import permissions
from greenledger.core.excel import SheetError
from greenledger.core.listing import Column, LedgerListView
from greenledger.measures.reports import pdf_response, xlsx_response

from . import anomalies as emission_anomalies
from . import crosschecks, effects, engine, factors, imports, reports, services
from .filtersets import FactorFilterSet, period_filterset
from .forms import (ActivityForm, CertificateForm, EffectForm, FactorCreateForm, FactorVersionForm, ImportForm,
                    OutputForm)
from .models import (ActivityRecord, EmissionAnomaly, EmissionFactor, EmissionReport, GreenCertificate,
                     MeasureEffect, Origin, ProductionOutput)

VIEW = "carbon.view_emissions"


def sites_in_scope(request):
    return permissions.user_sites(request.user)


def chosen_site(request, sites):
    code = request.GET.get("site") or request.POST.get("site")
    if not code:
        return sites.first()
    site = sites.filter(code=code).first()
    if site is None:
        raise PermissionDenied("site outside your scope")
    return site


def chosen_month(request):
    """(start, end) of ?month=YYYY-MM, the previous full month by default."""
    text = request.GET.get("month") or request.POST.get("month") or ""
    try:
        year, month = (int(part) for part in text.split("-")[:2])
        return engine.month_bounds(year, month)
    except (ValueError, TypeError):
        today = timezone.localdate()
        last = today.replace(day=1) - datetime.timedelta(days=1)
        return engine.month_bounds(last.year, last.month)


@login_required
def home(request):
    return redirect("carbon:dashboard")


# Lists ------------------------------------------------------------------------------------------


class FactorListView(LedgerListView):
    permission_required = "carbon.view_emissionfactor"
    queryset = EmissionFactor.objects.all()
    filterset_class = FactorFilterSet
    title = gettext_lazy("Emission factor library")
    export_name = "emission-factors"
    columns = [
        Column(gettext_lazy("Code"), "code", link=True), Column(gettext_lazy("Version"), "version"),
        Column(gettext_lazy("Name"), "name"), Column(gettext_lazy("Category"), "category"),
        Column(gettext_lazy("Region"), "region"), Column(gettext_lazy("Value"), "value"),
        Column(gettext_lazy("Unit"), "unit"), Column(gettext_lazy("Data year"), "data_year"),
        Column(gettext_lazy("Confidence"), "confidence"), Column(gettext_lazy("Source"), "source"),
        Column(gettext_lazy("Superseded at"), "superseded_at"),
    ]
    actions = [("carbon:factor_create", gettext_lazy("New user factor"), "carbon.add_emissionfactor")]


def scoped_list(model_class, perm, title, columns, name, extra_filters=(), actions=()):
    class View(LedgerListView):
        permission_required = perm
        queryset = model_class.objects.select_related("site", *(["workshop"] if hasattr(model_class, "workshop")
                                                              else []))
        filterset_class = period_filterset(model_class, extra_filters)
        site_path = "site"
        export_name = name

        def get_filterset(self, filterset_class):
            filterset = super().get_filterset(filterset_class)
            sites = sites_in_scope(self.request)
            filterset.form.fields["site"].queryset = sites
            filterset.form.fields["workshop"].queryset = filterset.form.fields["workshop"].queryset.filter(
                site__in=sites)
            return filterset

    View.title, View.columns, View.actions = title, columns, list(actions)
    return View


PERIOD = [Column(gettext_lazy("Site"), "site.name"), Column(gettext_lazy("From"), "period_start"),
          Column(gettext_lazy("To"), "period_end")]

ActivityListView = scoped_list(
    ActivityRecord, "carbon.view_activityrecord", gettext_lazy("Activity data"),
    [*PERIOD, Column(gettext_lazy("Workshop"), "workshop.name"), Column(gettext_lazy("Equipment"), "equipment.code"),
     Column(gettext_lazy("Activity"), "activity"), Column(gettext_lazy("Quantity"), "quantity"),
     Column(gettext_lazy("Unit"), "unit"), Column(gettext_lazy("Origin"), "origin"),
     Column(gettext_lazy("Telemetry point"), "point_code"), Column(gettext_lazy("Corrected"), "superseded"),
     Column(gettext_lazy("Note"), "note")],
    "activity-data", ["activity", "origin"],
    [("carbon:activity_create", gettext_lazy("Enter activity data"), "carbon.add_activityrecord"),
     ("carbon:activity_import", gettext_lazy("Import from Excel"), "carbon.add_activityrecord")])
ActivityListView.filterset_class = period_filterset(ActivityRecord, ["activity", "origin"])

OutputListView = scoped_list(
    ProductionOutput, "carbon.view_productionoutput", gettext_lazy("Production output"),
    [*PERIOD, Column(gettext_lazy("Stage"), "workshop.name"), Column(gettext_lazy("Product"), "product"),
     Column(gettext_lazy("Quantity"), "quantity"), Column(gettext_lazy("Unit"), "unit"),
     Column(gettext_lazy("Batch"), "batch_no"), Column(gettext_lazy("Defect rate (%)"), "defect_rate"),
     Column(gettext_lazy("Final product"), "final"), Column(gettext_lazy("Corrected"), "superseded")],
    "production-output", [],
    [("carbon:output_create", gettext_lazy("Enter production output"), "carbon.add_productionoutput"),
     ("carbon:output_import", gettext_lazy("Import from Excel"), "carbon.add_productionoutput")])


class CertificateListView(LedgerListView):
    permission_required = "carbon.view_greencertificate"
    queryset = GreenCertificate.objects.select_related("site")
    filterset_class = period_filterset(GreenCertificate, [])
    site_path = "site"
    title = gettext_lazy("Green certificates and green-power contracts")
    export_name = "green-certificates"
    columns = [*PERIOD, Column(gettext_lazy("Kind"), "kind"), Column(gettext_lazy("MWh"), "mwh"),
               Column(gettext_lazy("Reference"), "reference"), Column(gettext_lazy("Issuer / platform"), "source")]
    actions = [("carbon:certificate_create", gettext_lazy("Record certificates"), "carbon.add_greencertificate")]

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        filterset.form.fields.pop("workshop", None)
        filterset.form.fields["site"].queryset = sites_in_scope(self.request)
        return filterset


# Factors ----------------------------------------------------------------------------------------


@login_required
@permission_required("carbon.view_emissionfactor", raise_exception=True)
def factor_detail(request, pk):
    factor = get_object_or_404(EmissionFactor, pk=pk)
    versions = EmissionFactor.objects.filter(code=factor.code).order_by("-version")
    form = None
    if request.user.has_perm("carbon.add_emissionfactor") and factor.superseded_at is None:
        form = FactorVersionForm(request.POST or None, initial={
            "value": factor.value, "unit": factor.unit, "source": factor.source, "source_year": factor.source_year,
            "data_year": factor.data_year})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            newer = factors.new_version(factor, reason=data["reason"], user=request.user, value=data["value"],
                                        unit=data["unit"], source=data["source"], source_year=data["source_year"],
                                        data_year=data["data_year"])
            messages.success(request, _("Version %(v)d published; reports already issued keep version %(old)d.") % {
                "v": newer.version, "old": factor.version})
            return redirect("carbon:factor_detail", newer.pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "carbon/factor_detail.html", {"title": str(factor), "factor": factor,
                                                         "versions": versions, "form": form})


@login_required
@permission_required("carbon.add_emissionfactor", raise_exception=True)
def factor_create(request):
    form = FactorCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            factor = factors.create_factor(user=request.user, data_year=data.pop("data_year"),
                                           region=data.pop("region") or ("national" if data["category"] == "grid"
                                                                         else ""),
                                           grid_basis="average" if data["category"] == "grid" else "", **data)
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("carbon:factor_detail", factor.pk)
    return render(request, "generic/form.html", {"title": _("New user factor"), "form": form,
                                                 "cancel": "/carbon/factors/"})


# Intake pages -----------------------------------------------------------------------------------


def intake(request, form_class, perm, title, write, back):
    if not request.user.has_perm(perm):
        raise PermissionDenied
    sites = sites_in_scope(request)
    form = form_class(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        try:
            write(form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Saved."))
            return redirect(back)
    return render(request, "generic/form.html", {"title": title, "form": form, "cancel": reverse(back)})


@login_required
def activity_create(request):
    return intake(request, ActivityForm, "carbon.add_activityrecord", _("Enter activity data"),
                  lambda d: services.record_activity(user=request.user, origin=Origin.MANUAL, **d),
                  "carbon:activity_list")


@login_required
def output_create(request):
    return intake(request, OutputForm, "carbon.add_productionoutput", _("Enter production output"),
                  lambda d: services.record_output(user=request.user, **d), "carbon:output_list")


@login_required
def certificate_create(request):
    return intake(request, CertificateForm, "carbon.add_greencertificate", _("Record green certificates"),
                  lambda d: services.record_certificate(user=request.user, **d), "carbon:certificate_list")


def excel_import(request, kind, perm, back, title):
    if not request.user.has_perm(perm):
        raise PermissionDenied
    if request.GET.get("template"):
        return imports.template_workbook(kind)
    form = ImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            count = imports.run(form.cleaned_data["file"], list(sites_in_scope(request)), kind, user=request.user)
        except SheetError as exc:
            problems = exc.problems
        else:
            messages.success(request, _("%(n)d rows imported.") % {"n": count})
            return redirect(back)
    columns = imports.ACTIVITY_COLUMNS if kind == "activity" else imports.OUTPUT_COLUMNS
    return render(request, "carbon/import.html", {"title": title, "form": form, "problems": problems,
                                                  "columns": imports.column_titles(columns)})


@login_required
def activity_import(request):
    return excel_import(request, "activity", "carbon.add_activityrecord", "carbon:activity_list",
                        _("Import activity data"))


@login_required
def output_import(request):
    return excel_import(request, "output", "carbon.add_productionoutput", "carbon:output_list",
                        _("Import production output"))


# Report -----------------------------------------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
def report(request):
    sites = sites_in_scope(request)
    site = chosen_site(request, sites)
    start, end = chosen_month(request)
    if site is None:
        return render(request, "carbon/report.html", {"title": _("Monthly emission report"), "sites": sites})
    if request.method == "POST":
        if not request.user.has_perm("carbon.issue_report"):
            raise PermissionDenied
        issued = reports.issue_report(site, start, end, user=request.user)
        messages.success(request, _("Report issued and frozen."))
        return redirect("carbon:issued_report", issued.pk)
    content = reports.report_content(site, start, end)
    export = request.GET.get("export")
    if export == "xlsx":
        return xlsx_response(reports.workbook(content), f"emissions-{site.code}-{start:%Y-%m}")
    if export == "pdf":
        return pdf_response(reports.pdf(content), f"emissions-{site.code}-{start:%Y-%m}")
    issued = EmissionReport.objects.filter(site=site, period_start=start, period_end=end)
    return render(request, "carbon/report.html", {
        "title": _("Monthly emission report"), "sites": sites, "site": site, "month": f"{start:%Y-%m}",
        "content": content, "issued_reports": issued, "live": True,
        **report_tables(content)})


def report_tables(content):
    return {"workshop_table": reports.workshop_rows(content), "activity_table": reports.activity_rows(content),
            "factor_table": reports.factor_rows(content), "totals": reports.total_items(content),
            "provenance": reports.provenance(content)}


@login_required
@permission_required(VIEW, raise_exception=True)
def issued_report(request, pk):
    issued = get_object_or_404(EmissionReport.objects.select_related("site"), pk=pk)
    permissions.require_site(request, issued.site)
    content = issued.content
    export = request.GET.get("export")
    name = f"emissions-{issued.site.code}-{issued.period_start:%Y-%m}-issued"
    if export == "xlsx":
        return xlsx_response(reports.workbook(content, issued), name)
    if export == "pdf":
        return pdf_response(reports.pdf(content, issued), name)
    return render(request, "carbon/report.html", {
        "title": _("Issued emission report"), "site": issued.site, "content": content, "issued": issued,
        "month": f"{issued.period_start:%Y-%m}", **report_tables(content),
        "provenance": reports.provenance(content, issued)})


# Effects, anomalies, cross-checks, dashboard -------------------------------------------------------


@login_required
@permission_required(VIEW, raise_exception=True)
def effect_list(request):
    sites = sites_in_scope(request)
    site = chosen_site(request, sites)
    start, end = chosen_month(request)
    results = effects.effects_for(site, start, end) if site else []
    return render(request, "carbon/effects.html", {"title": _("Measure effects"), "sites": sites, "site": site,
                                                   "month": f"{start:%Y-%m}", "results": results})


@login_required
def effect_edit(request, measure_pk):
    from greenledger.measures.models import Measure

    if not request.user.has_perm("carbon.change_measureeffect") or not request.user.has_perm(
            "carbon.add_measureeffect"):
        raise PermissionDenied
    measure = get_object_or_404(Measure, pk=measure_pk)
    permissions.require_site(request, measure.site)
    effect = MeasureEffect.objects.filter(measure=measure).first()
    initial = {"method": effect.method, "parameters": effect.parameters, "points": effect.points,
               "note": effect.note} if effect else {"parameters": {}, "points": []}
    form = EffectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        MeasureEffect.objects.update_or_create(measure=measure, defaults={
            "method": data["method"], "parameters": data["parameters"] or {}, "points": data["points"] or [],
            "note": data["note"]})
        return redirect(f"/carbon/effects/?site={measure.site.code}")
    return render(request, "generic/form.html", {"title": _("Effect of %(m)s") % {"m": measure}, "form": form,
                                                 "cancel": "/carbon/effects/"})


@login_required
@permission_required("carbon.view_emissionanomaly", raise_exception=True)
def anomaly_list(request):
    sites = sites_in_scope(request)
    site = chosen_site(request, sites)
    rows = (EmissionAnomaly.objects.filter(site=site).select_related("workshop")
            .prefetch_related("records__measure", "anomalies", "hourly__measure")[:200]) if site else []
    return render(request, "carbon/anomalies.html", {"title": _("Emission anomalies"), "sites": sites, "site": site,
                                                     "rows": rows})


@login_required
@permission_required(VIEW, raise_exception=True)
def crosscheck_list(request):
    sites = sites_in_scope(request)
    site = chosen_site(request, sites)
    start, end = chosen_month(request)
    findings = crosschecks.cross_checks(site, start, end) if site else []
    return render(request, "carbon/crosschecks.html", {"title": _("Cross-checks with production"), "sites": sites,
                                                       "site": site, "month": f"{start:%Y-%m}",
                                                       "findings": findings})


@login_required
@permission_required(VIEW, raise_exception=True)
def dashboard(request):
    from . import charts

    sites = sites_in_scope(request)
    site = chosen_site(request, sites)
    context = {"title": _("Carbon dashboard"), "sites": sites, "site": site}
    if site is not None:
        context["chart"] = charts.dashboard_data(site)
        context["chart_json"] = json.dumps(context["chart"], ensure_ascii=False)
    return render(request, "carbon/dashboard.html", context)
