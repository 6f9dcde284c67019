"""Pages of the measure ledger: catalogue, records (query, detail, form, corrections), approvals,
anomalies, hourly status, batch trace, contractor assignments."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from greenledger.core import permissions
from greenledger.core.attachments import attachments_of
from greenledger.core.excel import SheetError
from greenledger.core.forms import ImportForm
from greenledger.core.listing import Column, LedgerListView
from greenledger.core.models import Person
from greenledger.evidence.services import leaf_of

from . import catalogue, services
from .access import anomalies_for, measures_for, records_for
from .filtersets import AnomalyFilterSet, MeasureFilterSet, RecordFilterSet
from .forms import (
    AnomalyEventForm, AnomalyForm, ContractorAssignmentForm, DecisionForm, HourlyForm, MeasureForm,
    ParameterFormSet, RecordForm,
)
from .models import (
    ApprovalState, ContractorAssignment, EquipmentStatus, ExecutionRecord, HourlyStatus, ReviewFlag, SavedView,
    ScheduleKind,
)
from .trace import batch_trace


def guard(perm):
    """login_required + permission_required(raise_exception) in one decorator."""
    def wrap(view):
        return login_required(permission_required(perm, raise_exception=True)(view))
    return wrap


def scoped_people(request):
    return Person.objects.filter(sites__in=permissions.user_sites(request.user)).distinct().order_by("name")


# Catalogue --------------------------------------------------------------------------------------


class ScopedListView(LedgerListView):
    """A ledger list whose filter choices are narrowed to the user's scope."""

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        scope_choices(self.request, filterset)
        return filterset


class MeasureListView(ScopedListView):
    permission_required = "measures.view_measure"
    filterset_class = MeasureFilterSet
    title = gettext_lazy("Measure catalogue")
    export_name = "measures"
    columns = [
        Column(gettext_lazy("Code"), "code", link=True),
        Column(gettext_lazy("Measure"), "name"),
        Column(gettext_lazy("Site"), "site.name"),
        Column(gettext_lazy("Stage"), "stage.name"),
        Column(gettext_lazy("Type"), "measure_type"),
        Column(gettext_lazy("Purpose"), "purpose"),
        Column(gettext_lazy("Schedule"), "schedule"),
        Column(gettext_lazy("Reduction target"), "reduction_target"),
        Column(gettext_lazy("Safety target"), "safety_target"),
        Column(gettext_lazy("Responsible"), lambda m: " ".join(filter(None, [m.responsible.name if m.responsible_id else "", str(m.responsible_role_label)]))),
        Column(gettext_lazy("NFC/QR tag"), "effective_tag"),
    ]
    actions = [
        ("measures:measure_create", gettext_lazy("New measure"), "measures.add_measure"),
        ("measures:catalogue_import", gettext_lazy("Import / export Excel"), "measures.view_measure"),
    ]

    def get_queryset(self):
        return measures_for(self.request).select_related("checklist")

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "xlsx":
            return catalogue.export_response(self.get_queryset())
        return super().get(request, *args, **kwargs)


@guard("measures.view_measure")
def measure_detail(request, pk):
    measure = get_object_or_404(measures_for(request).prefetch_related("parameters"), pk=pk)
    records = records_for(request).filter(measure=measure).order_by("-occurred_at")[:20]
    return render(request, "measures/measure_detail.html", {
        "measure": measure, "records": records,
        "anomalies": anomalies_for(request).filter(measure=measure)[:10],
        "hourly": HourlyStatus.objects.filter(measure=measure, superseded=False).order_by("-hour")[:24]
        if measure.schedule == ScheduleKind.CONTINUOUS else None,
    })


@guard("measures.add_measure")
def measure_edit(request, pk=None):
    measure = get_object_or_404(measures_for(request), pk=pk) if pk else None
    if measure is not None and not request.user.has_perm("measures.change_measure"):
        raise PermissionDenied
    sites = permissions.user_sites(request.user)
    form = MeasureForm(request.POST or None, instance=measure, sites=sites)
    formset = ParameterFormSet(request.POST or None, instance=measure or None, prefix="params")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        with transaction.atomic():
            saved = form.save()
            formset.instance = saved
            formset.save()
        messages.success(request, _("Measure %(code)s saved.") % {"code": saved.code})
        return redirect("measures:measure_detail", pk=saved.pk)
    return render(request, "measures/measure_form.html", {"form": form, "formset": formset, "measure": measure})


@guard("measures.view_measure")
def catalogue_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST":
        if not request.user.has_perm("measures.add_measure"):
            raise PermissionDenied
        if form.is_valid():
            try:
                created, updated = catalogue.import_workbook(form.cleaned_data["file"], permissions.user_sites(request.user))
            except SheetError as exc:
                problems = exc.problems
            else:
                messages.success(request, _("Catalogue imported: %(created)d new, %(updated)d updated.") % {
                    "created": created, "updated": updated})
                return redirect("measures:measure_list")
    return render(request, "measures/catalogue_import.html", {
        "form": form, "problems": problems, "columns": catalogue.column_titles(),
        "can_import": request.user.has_perm("measures.add_measure"),
    })


# Records --------------------------------------------------------------------------------------


def flags(record):
    marks = []
    if record.is_late:
        marks.append(_("late") + f" ({record.get_late_state_display()})")
    if record.outsourced:
        marks.append(_("outsourced") + f" ({record.get_confirmation_state_display()})")
    if record.has_anomaly:
        marks.append(_("anomaly"))
    if record.superseded:
        marks.append(_("corrected"))
    if record.corrects_id:
        marks.append(_("correction"))
    return " · ".join(marks)


class RecordListView(ScopedListView):
    permission_required = "measures.view_executionrecord"
    filterset_class = RecordFilterSet
    template_name = "measures/record_list.html"
    title = gettext_lazy("Execution records")
    export_name = "measure-records"
    columns = [
        Column(gettext_lazy("Executed at"), lambda r: timezone.localtime(r.occurred_at).strftime("%Y-%m-%d %H:%M")),
        Column(gettext_lazy("Measure"), "measure.name"),
        Column(gettext_lazy("Stage"), "stage.name"),
        Column(gettext_lazy("Executor"), "executor.name"),
        Column(gettext_lazy("Parameters"), "values_display"),
        Column(gettext_lazy("Complies"), "compliant"),
        Column(gettext_lazy("Batch"), "batch_no"),
        Column(gettext_lazy("Remarks"), "remarks"),
        Column(gettext_lazy("Flags"), flags),
        Column(gettext_lazy("Recorded at"), lambda r: timezone.localtime(r.recorded_at).strftime("%Y-%m-%d %H:%M")),
    ]

    def get_queryset(self):
        return records_for(self.request).prefetch_related("measure__parameters").order_by("-occurred_at")


    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["saved_views"] = SavedView.objects.filter(Q(user=self.request.user) | Q(user__isnull=True))
        context["quick_views"] = quick_views()
        return context


def scope_choices(request, filterset):
    """Offer only the stages, measures, people and equipment the user may see."""
    sites = permissions.user_sites(request.user)
    fields = filterset.form.fields
    choices = {
        "stage": lambda qs: qs.filter(site__in=sites),
        "measure": lambda qs: qs.filter(pk__in=measures_for(request).values("pk")),
        "executor": lambda qs: qs.filter(sites__in=sites).distinct(),
        "equipment": lambda qs: qs.filter(workshop__site__in=sites),
        "site": lambda qs: qs.filter(pk__in=sites.values("pk")),
    }
    for name, narrow in choices.items():
        if name in fields:
            fields[name].queryset = narrow(fields[name].queryset)


def quick_views():
    today = timezone.localdate()
    month_start = today.replace(day=1)
    return [
        (_("Anomalies this month"), f"anomaly=true&start={month_start}"),
        (_("Late entries waiting for approval"), "late=true"),
        (_("Outsourced work"), "outsourced=true"),
        (_("In emission-anomaly periods, last 30 days"), "emission_anomaly_days=30"),
        (_("Today"), f"start={today}&end={today}"),
    ]


@guard("measures.view_executionrecord")
@require_POST
def save_view(request):
    name = request.POST.get("name", "").strip()[:100]
    query = request.POST.get("query", "")[:1000]
    if name:
        SavedView.objects.create(user=request.user, name=name, query=query)
        messages.success(request, _("View “%(name)s” saved.") % {"name": name})
    return redirect(reverse("measures:record_list") + ("?" + query if query else ""))


@guard("measures.view_executionrecord")
def record_detail(request, pk):
    record = get_object_or_404(records_for(request).select_related("corrects", "entered_by"), pk=pk)
    params = {p.code: p for p in record.measure.parameters.all()}
    values = [(params.get(code), code, value) for code, value in record.values.items()]
    checklist = []
    if record.measure.checklist_id and record.checklist:
        ticked = set(record.checklist.get("ticked", []))
        checklist = [(item.text, item.pk in ticked) for item in record.measure.checklist.items.all()]
    leaf = leaf_of(record)
    return render(request, "measures/record_detail.html", {
        "record": record, "values": values, "checklist": checklist, "photos": attachments_of(record),
        "corrections": record.corrections.all(), "anomalies": record.anomalies.all(),
        "late_decisions": record.late_decisions.select_related("decided_by"),
        "confirmations": record.contractor_confirmations.select_related("confirmed_by"),
        "flags": record.review_flags.all(), "leaf": leaf, "decision_form": DecisionForm(),
    })


@guard("measures.record_measure")
def record_create(request, measure_pk):
    measure = get_object_or_404(measures_for(request).prefetch_related("parameters"), pk=measure_pk)
    correcting = None
    if request.GET.get("corrects") or request.POST.get("corrects"):
        correcting = get_object_or_404(records_for(request), pk=request.GET.get("corrects") or request.POST["corrects"])
    people = scoped_people(request)
    if services.is_contractor(request.user):
        people = Person.objects.filter(user=request.user)
    initial = RecordForm.initial_for(request.user)
    if correcting is not None:
        initial.update({"occurred_at": timezone.localtime(correcting.occurred_at).strftime("%Y-%m-%dT%H:%M"),
                        "executor": correcting.executor, "batch_no": correcting.batch_no,
                        "remarks": correcting.remarks, "compliant": correcting.compliant,
                        **{f"p_{k}": v for k, v in correcting.values.items()}})
    form = RecordForm(request.POST or None, request.FILES or None, measure=measure, people=people,
                      correcting=correcting, initial=initial)
    warnings = []
    if request.method == "POST" and form.is_valid():
        data = services.RecordInput(
            measure=measure, occurred_at=form.cleaned_data["occurred_at"], executor=form.cleaned_data["executor"],
            entered_by=request.user, values=form.values(), remarks=form.cleaned_data["remarks"],
            batch_no=form.cleaned_data["batch_no"], compliant=form.cleaned_data.get("compliant"),
            checklist=form.checklist(), late_reason=form.cleaned_data["late_reason"],
            confirmed=form.cleaned_data["confirm"], photos=form.cleaned_data["photos"], corrects=correcting,
            correction_reason=form.cleaned_data.get("correction_reason", ""),
            tag_scanned=request.GET.get("tag", ""),
        )
        try:
            record, _created, _w = services.record_execution(data)
        except services.NeedsConfirmation as exc:
            warnings = exc.warnings
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                name = "p_" + field.split(".", 1)[1] if field.startswith("values.") else field
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, _("Recorded and sealed: %(measure)s.") % {"measure": measure.name})
            return redirect("measures:record_detail", pk=record.pk)
    return render(request, "measures/record_form.html", {
        "form": form, "measure": measure, "warnings": warnings, "correcting": correcting,
    })


@guard("measures.record_measure")
@require_POST
def one_tap(request, measure_pk):
    measure = get_object_or_404(measures_for(request), pk=measure_pk)
    try:
        record, _created, _w = services.one_tap(measure, request.user, tag_scanned=request.POST.get("tag", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("measures:measure_detail", pk=measure.pk)
    messages.success(request, _("Done: %(measure)s at %(time)s.") % {
        "measure": measure.name, "time": timezone.localtime(record.occurred_at).strftime("%H:%M")})
    return redirect(request.POST.get("next") or reverse("measures:record_detail", args=[record.pk]))


# Approvals ------------------------------------------------------------------------------------


@login_required
def approvals(request):
    user = request.user
    if not (user.has_perm("measures.approve_late_entry") or user.has_perm("measures.confirm_contractor_work")):
        raise PermissionDenied
    records = records_for(request).select_related("measure", "executor")
    late = records.filter(late_state=ApprovalState.PENDING).order_by("occurred_at")[:200] \
        if user.has_perm("measures.approve_late_entry") else []
    outsourced = records.filter(confirmation_state=ApprovalState.PENDING).order_by("occurred_at")[:200] \
        if user.has_perm("measures.confirm_contractor_work") else []
    maintenance = HourlyStatus.objects.filter(
        measure__in=measures_for(request), approval_state=ApprovalState.PENDING, superseded=False,
    ).select_related("measure")[:200] if user.has_perm("measures.approve_late_entry") else []
    return render(request, "measures/approvals.html", {"late": late, "outsourced": outsourced,
                                                       "maintenance": maintenance})


DECISIONS = {
    # kind: (permission, what is decided, service)
    "late": ("measures.approve_late_entry", "record", services.decide_late_entry),
    "contractor": ("measures.confirm_contractor_work", "record", services.confirm_contractor_record),
    "maintenance": ("measures.approve_late_entry", "hourly", services.decide_maintenance),
}


@login_required
@require_POST
def decide(request, kind, pk):
    if kind not in DECISIONS:
        raise Http404
    perm, target, decide_with = DECISIONS[kind]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    form = DecisionForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors)
    if target == "record":
        item = get_object_or_404(records_for(request), pk=pk)
    else:
        item = get_object_or_404(HourlyStatus.objects.filter(measure__in=measures_for(request)), pk=pk)
    approved = form.cleaned_data["approved"]
    try:
        decide_with(item, approved, request.user, form.cleaned_data["comment"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Approved.") if approved else _("Rejected."))
    return redirect(request.POST.get("next") or reverse("measures:approvals"))


@guard("measures.view_executionrecord")
@require_POST
def resolve_flag(request, pk):
    flag = get_object_or_404(ReviewFlag.objects.filter(measure__in=measures_for(request)), pk=pk)
    if not request.user.has_perm("measures.handle_anomaly"):
        raise PermissionDenied
    flag.resolved_at, flag.resolved_by = timezone.now(), request.user
    flag.resolution = request.POST.get("resolution", "")[:1000]
    flag.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return redirect(request.POST.get("next") or reverse("measures:approvals"))


# Anomalies ------------------------------------------------------------------------------------


class AnomalyListView(ScopedListView):
    permission_required = "measures.view_anomaly"
    filterset_class = AnomalyFilterSet
    title = gettext_lazy("Anomalies")
    export_name = "anomalies"
    columns = [
        Column(gettext_lazy("Occurred at"), lambda a: timezone.localtime(a.occurred_at).strftime("%Y-%m-%d %H:%M")),
        Column(gettext_lazy("Measure"), "measure.name"),
        Column(gettext_lazy("Symptom"), "symptom"),
        Column(gettext_lazy("State"), "state"),
        Column(gettext_lazy("Owner"), "owner.name"),
        Column(gettext_lazy("Close by"), lambda a: timezone.localtime(a.deadline).strftime("%Y-%m-%d %H:%M")
               if a.deadline else ""),
        Column(gettext_lazy("Extra kg CO2"), "extra_co2_kg"),
        Column(gettext_lazy("Result"), "result"),
    ]
    actions = [("measures:anomaly_create", gettext_lazy("Report an anomaly"), "measures.add_anomaly")]

    def get_queryset(self):
        return anomalies_for(self.request).order_by("-occurred_at")


@guard("measures.view_anomaly")
def anomaly_detail(request, pk):
    anomaly = get_object_or_404(anomalies_for(request).select_related("record", "reported_by"), pk=pk)
    form = AnomalyEventForm(request.POST or None)
    form.fields["owner"].queryset = scoped_people(request)
    if request.method == "POST":
        if not request.user.has_perm("measures.handle_anomaly"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.anomaly_event(anomaly, form.cleaned_data["kind"], request.user, text=form.cleaned_data["text"],
                                       owner=form.cleaned_data["owner"],
                                       corrective_action=form.cleaned_data["corrective_action"],
                                       resolved_at=form.cleaned_data["resolved_at"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("measures:anomaly_detail", pk=anomaly.pk)
    return render(request, "measures/anomaly_detail.html", {
        "anomaly": anomaly, "events": anomaly.events.select_related("by", "owner"), "form": form,
        "overdue": anomaly.deadline and anomaly.state != "closed" and anomaly.deadline < timezone.now(),
    })


@guard("measures.add_anomaly")
def anomaly_create(request):
    form = AnomalyForm(request.POST or None, initial={
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "measure": request.GET.get("measure")})
    form.fields["measure"].queryset = measures_for(request)
    record = None
    if request.GET.get("record"):
        record = get_object_or_404(records_for(request), pk=request.GET["record"])
        form.initial.update({"measure": record.measure_id, "batch_no": record.batch_no,
                             "occurred_at": timezone.localtime(record.occurred_at).strftime("%Y-%m-%dT%H:%M")})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items()}
        anomaly, _created = services.report_anomaly(user=request.user, record=record, **data)
        messages.success(request, _("Anomaly recorded and sealed."))
        return redirect("measures:anomaly_detail", pk=anomaly.pk)
    return render(request, "generic/form.html", {"form": form, "title": _("Report an anomaly"),
                                                 "cancel": reverse("measures:anomaly_list")})


# Hourly status of continuous measures ---------------------------------------------------------


@guard("measures.view_hourlystatus")
def hourly_board(request):
    """The last 24 hours of every continuous measure as a grid, and a form to set an hour's status."""
    measures = list(measures_for(request).filter(schedule=ScheduleKind.CONTINUOUS, active=True))
    now = timezone.localtime()
    hours = [now.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=h) for h in range(23, -1, -1)]
    rows = HourlyStatus.objects.filter(measure__in=measures, hour__gte=hours[0], superseded=False)
    status = {(row.measure_id, timezone.localtime(row.hour)): row for row in rows}
    grid = [(m, [status.get((m.pk, h)) for h in hours]) for m in measures]
    form = HourlyForm(request.POST or None, initial={"hour": hours[-1].strftime("%Y-%m-%dT%H:%M")})
    form.fields["measure"].queryset = measures_for(request).filter(schedule=ScheduleKind.CONTINUOUS)
    if request.method == "POST":
        if not request.user.has_perm("measures.add_hourlystatus"):
            raise PermissionDenied
        if form.is_valid():
            services.record_hourly_status(form.cleaned_data["measure"], form.cleaned_data["hour"],
                                          form.cleaned_data["status"], user=request.user,
                                          note=form.cleaned_data["note"])
            messages.success(request, _("Hourly status recorded."))
            return redirect("measures:hourly_board")
    return render(request, "measures/hourly_board.html", {"grid": grid, "hours": hours, "form": form,
                                                          "statuses": EquipmentStatus})


# Batch trace ------------------------------------------------------------------------------------


@guard("measures.view_executionrecord")
def trace(request):
    batch_no = request.GET.get("batch", "").strip()
    result = batch_trace(batch_no, permissions.user_sites(request.user)) if batch_no else None
    recent = records_for(request).exclude(batch_no="").order_by("-occurred_at").values_list(
        "batch_no", flat=True).distinct()[:12] if not batch_no else []
    return render(request, "measures/trace.html", {"batch_no": batch_no, "trace": result, "recent": recent})


# Contractors ------------------------------------------------------------------------------------


@guard("measures.view_contractorassignment")
def contractors(request):
    assignments = ContractorAssignment.objects.filter(
        measures__site__in=permissions.user_sites(request.user)).distinct().select_related(
        "user__person", "company_contact").prefetch_related("measures")
    form = None
    if request.user.has_perm("measures.add_contractorassignment"):
        form = ContractorAssignmentForm(request.POST or None, measures=measures_for(request))
        if request.method == "POST" and form.is_valid():
            form.save()
            messages.success(request, _("Contractor assignment saved."))
            return redirect("measures:contractors")
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "measures/contractors.html", {"assignments": assignments, "form": form,
                                                         "now": timezone.now()})


@login_required
def home(request):
    if request.user.has_perm("measures.view_compliance"):
        return redirect("measures:dashboard")
    if request.user.has_perm("measures.record_measure"):
        return redirect("field:home")
    raise PermissionDenied

