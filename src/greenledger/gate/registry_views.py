"""Pages of the gate registries: road vehicles, in-plant vehicles, machines, carriers, the review
queue, carrier self-registration and the white/black/over-emission lists.

The three registries share one set of views driven by a :class:`Registry` description (model,
form, filters, documents). Every query goes through the user's sites; edits by someone without
the review permission send an entry back to "waiting for review".
"""

import datetime
from dataclasses import dataclass

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from greenledger.core import permissions
from greenledger.core.attachments import attach, attachments_of
from greenledger.core.excel import SheetError
from greenledger.core.listing import Column, LedgerListView
from greenledger.core.notifications import notify

from . import registry, registry_excel
from .codes import RegistrationSource, RegistrationState
from .models import Carrier, InPlantVehicle, ListEntry, Machine, Vehicle
from .registry_forms import (
    DOCUMENT_HELP, DOCUMENTS, CarrierFilterSet, CarrierForm, CarrierRegistrationForm, DocumentForm,
    InPlantFilterSet, InPlantVehicleForm, ListEntryFilterSet, ListEntryForm, ListImportForm, MachineFilterSet,
    MachineForm, RegistryImportForm, ReviewForm, VehicleFilterSet, VehicleForm,
)

REVIEW_PERM = "gate.review_registration"
# Self-registrations one carrier link accepts per hour (each with its document photos)
SELF_REGISTRATIONS_PER_HOUR = 20


def guard(perm):
    """login_required + permission_required(raise_exception) in one decorator."""
    def wrap(view):
        return login_required(permission_required(perm, raise_exception=True)(view))
    return wrap


def sites_of(request):
    return permissions.user_sites(request.user)


def state_badge(entry):
    return entry.get_state_display()


@dataclass
class Registry:
    key: str
    model: type
    form: type
    filterset: type
    title: str
    singular: str

    @property
    def model_name(self):
        return self.model._meta.model_name

    def perm(self, action):
        return f"gate.{action}_{self.model_name}"

    def url(self, name):
        return f"gate:{self.key}_{name}"

    def scoped(self, request):
        queryset = self.model.objects.select_related("site")
        if self.model is Vehicle:
            queryset = queryset.select_related("carrier")
        return permissions.scope_queryset(request, queryset)


REGISTRIES = {
    "vehicle": Registry("vehicle", Vehicle, VehicleForm, VehicleFilterSet, gettext_lazy("Road vehicles"),
                        gettext_lazy("road vehicle")),
    "inplant": Registry("inplant", InPlantVehicle, InPlantVehicleForm, InPlantFilterSet,
                        gettext_lazy("In-plant vehicles"), gettext_lazy("in-plant vehicle")),
    "machine": Registry("machine", Machine, MachineForm, MachineFilterSet, gettext_lazy("Non-road machines"),
                        gettext_lazy("non-road machine")),
}


def registry_of(key):
    if key not in REGISTRIES:
        raise Http404
    return REGISTRIES[key]


# ---------------------------------------------------------------- lists


class RegistryListView(LedgerListView):
    """A registry list: filters plate/stage/fuel/state(/carrier); ``?export=xlsx`` gives every ledger field."""

    registry_key = ""
    template_name = "gate/registry/list.html"

    @property
    def registry(self):
        return REGISTRIES[self.registry_key]

    def get_queryset(self):
        return self.registry.scoped(self.request)

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        if "carrier" in filterset.form.fields:
            filterset.form.fields["carrier"].queryset = Carrier.objects.filter(site__in=sites_of(self.request))
        return filterset

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "xlsx":
            filterset = self.get_filterset(self.get_filterset_class())
            rows = filterset.qs if filterset.is_valid() else self.get_queryset().none()
            return registry_excel.export_response(self.registry_key, rows)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["registry"] = self.registry
        return context


def registry_actions(key):
    reg = REGISTRIES[key]
    return [(reg.url("add"), gettext_lazy("New entry"), reg.perm("add")),
            (reg.url("import"), gettext_lazy("Import / export Excel"), reg.perm("view")),
            ("gate:review_queue", gettext_lazy("Review queue"), REVIEW_PERM)]


class VehicleListView(RegistryListView):
    registry_key = "vehicle"
    permission_required = "gate.view_vehicle"
    filterset_class = VehicleFilterSet
    title = gettext_lazy("Road vehicles")
    columns = [
        Column(gettext_lazy("Plate"), "plate", link=True),
        Column(gettext_lazy("Colour"), "plate_color"),
        Column(gettext_lazy("Vehicle type"), "vehicle_type"),
        Column(gettext_lazy("Fuel"), "fuel"),
        Column(gettext_lazy("Emission stage"), "stage"),
        Column(gettext_lazy("Carrier"), "carrier.name"),
        Column(gettext_lazy("Networking"), "network_status"),
        Column(gettext_lazy("Review"), state_badge),
        Column(gettext_lazy("Registered by"), "source"),
    ]
    actions = registry_actions("vehicle")


class InPlantListView(RegistryListView):
    registry_key = "inplant"
    permission_required = "gate.view_inplantvehicle"
    filterset_class = InPlantFilterSet
    title = gettext_lazy("In-plant vehicles")
    columns = [
        Column(gettext_lazy("Registration code"), "registration_code", link=True),
        Column(gettext_lazy("Plate"), "plate"),
        Column(gettext_lazy("Brand and model"), "brand_model"),
        Column(gettext_lazy("Fuel"), "fuel"),
        Column(gettext_lazy("Emission stage"), "stage"),
        Column(gettext_lazy("Registered owner"), "owner"),
        Column(gettext_lazy("Review"), state_badge),
    ]
    actions = registry_actions("inplant")


class MachineListView(RegistryListView):
    registry_key = "machine"
    permission_required = "gate.view_machine"
    filterset_class = MachineFilterSet
    title = gettext_lazy("Non-road machines")
    columns = [
        Column(gettext_lazy("Registration code"), "registration_code", link=True),
        Column(gettext_lazy("Machine type"), "machine_type"),
        Column(gettext_lazy("Machine code"), "machine_code"),
        Column(gettext_lazy("Fuel"), "fuel"),
        Column(gettext_lazy("Emission stage"), "stage"),
        Column(gettext_lazy("Plate"), "plate"),
        Column(gettext_lazy("Registered owner"), "owner"),
        Column(gettext_lazy("Review"), state_badge),
    ]
    actions = registry_actions("machine")


# ---------------------------------------------------------------- detail, edit, review, documents


def field_rows(obj):
    """(label, shown value) of every concrete field, for the detail page."""
    rows = []
    for field in obj._meta.concrete_fields:
        if field.primary_key or field.name in ("registration_key",):
            continue
        value = getattr(obj, field.name)
        if field.choices:
            value = getattr(obj, f"get_{field.name}_display")()
        elif isinstance(value, bool):
            value = _("yes") if value else _("no")
        elif hasattr(value, "tzinfo") and value is not None:
            value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        rows.append((field.verbose_name, value if value not in (None, "") else "—"))
    return rows


def documents_of(entry, key):
    """[(name, help, [attachments])] for each evidence document of the registry."""
    found = list(attachments_of(entry))
    return [(name, DOCUMENT_HELP[name], [a for a in found if a.caption == name]) for name in DOCUMENTS[key]]


@login_required
def registry_detail(request, key, pk):
    reg = registry_of(key)
    if not request.user.has_perm(reg.perm("view")):
        raise PermissionDenied
    entry = get_object_or_404(reg.scoped(request), pk=pk)
    return render(request, "gate/registry/detail.html", {
        "registry": reg, "entry": entry, "rows": field_rows(entry), "documents": documents_of(entry, key),
        "document_form": DocumentForm(registry=key), "review_form": ReviewForm(),
        "can_change": request.user.has_perm(reg.perm("change")), "can_review": request.user.has_perm(REVIEW_PERM),
        "title": str(entry), "edit_url": reverse(reg.url("edit"), args=[pk]), "list_url": reverse(reg.url("list")),
        "document_url": reverse(reg.url("document"), args=[pk]), "review_url": reverse(reg.url("review"), args=[pk]),
    })


@login_required
def registry_edit(request, key, pk=None):
    reg = registry_of(key)
    entry = get_object_or_404(reg.scoped(request), pk=pk) if pk else None
    if not request.user.has_perm(reg.perm("change" if entry else "add")):
        raise PermissionDenied
    form = reg.form(request.POST or None, instance=entry, sites=sites_of(request))
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if entry is None:
            saved.source = RegistrationSource.OFFICE
        if not request.user.has_perm(REVIEW_PERM):
            saved.state = RegistrationState.PENDING
        saved.save()
        messages.success(request, _("Saved: %(entry)s.") % {"entry": saved})
        return redirect(saved)
    cancel = entry.get_absolute_url() if entry else reverse(reg.url("list"))
    return render(request, "gate/registry/form.html", {
        "form": form, "registry": reg, "entry": entry, "warnings": getattr(form, "warnings", []), "cancel": cancel,
        "title": (_("Edit %(entry)s") % {"entry": entry}) if entry else (_("New %(kind)s") % {"kind": reg.singular}),
    })


@login_required
@require_POST
def registry_review(request, key, pk):
    reg = registry_of(key)
    if not request.user.has_perm(REVIEW_PERM):
        raise PermissionDenied
    entry = get_object_or_404(reg.scoped(request), pk=pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        registry.review(entry, form.cleaned_data["approve"], request.user, form.cleaned_data["note"])
        messages.success(request, _("%(entry)s: %(state)s.") % {"entry": entry, "state": entry.get_state_display()})
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect(request.POST.get("next") or entry.get_absolute_url())


@login_required
@require_POST
def registry_document(request, key, pk):
    reg = registry_of(key)
    if not request.user.has_perm(reg.perm("change")):
        raise PermissionDenied
    entry = get_object_or_404(reg.scoped(request), pk=pk)
    form = DocumentForm(request.POST, request.FILES, registry=key)
    if form.is_valid():
        try:
            attach(entry, form.cleaned_data["file"], user=request.user, caption=form.cleaned_data["document"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Document stored and sealed."))
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect(entry)


@guard(REVIEW_PERM)
def review_queue(request):
    """Every registration waiting for review in the user's sites, oldest first, with approve/reject."""
    pending = []
    for reg in REGISTRIES.values():
        for entry in reg.scoped(request).filter(state=RegistrationState.PENDING).order_by("created_at"):
            pending.append({"registry": reg, "entry": entry, "documents": documents_of(entry, reg.key),
                            "detail_url": entry.get_absolute_url(),
                            "review_url": reverse(reg.url("review"), args=[entry.pk])})
    pending.sort(key=lambda item: item["entry"].created_at)
    return render(request, "gate/registry/review_queue.html", {
        "pending": pending, "title": _("Registrations waiting for review"), "review_form": ReviewForm(),
    })


# ---------------------------------------------------------------- Excel


@login_required
def registry_import(request, key):
    """Template download, export and import of one registry (or the carriers)."""
    reg = REGISTRIES.get(key)
    model_name = reg.model_name if reg else "carrier"
    if not request.user.has_perm(f"gate.view_{model_name}"):
        raise PermissionDenied
    if request.GET.get("template"):
        return registry_excel.export_response(key, None, template=True)
    may_approve = reg is not None and request.user.has_perm(REVIEW_PERM)
    sites = sites_of(request)
    form = RegistryImportForm(request.POST or None, request.FILES or None, sites=sites, may_approve=may_approve)
    problems = []
    if request.method == "POST":
        if not request.user.has_perm(f"gate.add_{model_name}"):
            raise PermissionDenied
        if form.is_valid():
            try:
                result = registry_excel.import_rows(
                    key, form.cleaned_data["file"], sites=sites, default_site=form.cleaned_data["site"],
                    user=request.user, approve=may_approve and form.cleaned_data.get("approve", False),
                    accept_warnings=form.cleaned_data["accept_warnings"])
            except SheetError as exc:
                problems = exc.problems
            else:
                messages.success(request, _("Imported: %(created)d new, %(updated)d updated.") % {
                    "created": result.created, "updated": result.updated})
                return redirect(f"gate:{key}_list")
    return render(request, "gate/registry/import.html", {
        "form": form, "problems": problems, "key": key, "list_url": f"gate:{key}_list",
        "columns": [c.title for c in registry_excel.COLUMNS[key] if not c.export_only],
        "title": _("%(registry)s in Excel") % {"registry": reg.title if reg else _("Carriers")},
        "can_import": request.user.has_perm(f"gate.add_{model_name}"),
    })


# ---------------------------------------------------------------- carriers


class CarrierListView(LedgerListView):
    permission_required = "gate.view_carrier"
    filterset_class = CarrierFilterSet
    template_name = "gate/registry/list.html"
    title = gettext_lazy("Carriers and fleets")
    site_path = "site"
    model = Carrier
    columns = [
        Column(gettext_lazy("Name"), "name", link=True),
        Column(gettext_lazy("Site"), "site.name"),
        Column(gettext_lazy("Credit code"), "credit_code"),
        Column(gettext_lazy("Contact"), "contact"),
        Column(gettext_lazy("Phone"), "phone"),
        Column(gettext_lazy("Vehicles"), "vehicle_count"),
        Column(gettext_lazy("Self-registration open"), "registration_open"),
    ]
    actions = [("gate:carrier_add", gettext_lazy("New carrier"), "gate.add_carrier"),
               ("gate:carrier_import", gettext_lazy("Import / export Excel"), "gate.view_carrier")]

    def get_queryset(self):
        # counted in the list's own query, not one query per row
        return (super().get_queryset().select_related("site").annotate(vehicle_count=Count("vehicles"))
                .order_by("site__name", "name"))

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "xlsx":
            filterset = self.get_filterset(self.get_filterset_class())
            rows = filterset.qs if filterset.is_valid() else self.get_queryset().none()
            return registry_excel.export_response("carrier", rows.select_related("site"))
        return super().get(request, *args, **kwargs)


def carriers_for(request):
    return permissions.scope_queryset(request, Carrier.objects.select_related("site"))


def registration_link(request, carrier):
    return request.build_absolute_uri(reverse("gate:carrier_register", args=[carrier.registration_key]))


@guard("gate.view_carrier")
def carrier_detail(request, pk):
    carrier = get_object_or_404(carriers_for(request), pk=pk)
    link = registration_link(request, carrier)
    vehicles = permissions.scope_queryset(request, carrier.vehicles.all()) \
        if request.user.has_perm("gate.view_vehicle") else Vehicle.objects.none()
    return render(request, "gate/registry/carrier_detail.html", {
        "carrier": carrier, "link": link, "qr_svg": segno.make(link, error="m").svg_inline(scale=4),
        "vehicles": vehicles, "title": carrier.name,
    })


@login_required
def carrier_edit(request, pk=None):
    carrier = get_object_or_404(carriers_for(request), pk=pk) if pk else None
    if not request.user.has_perm("gate.change_carrier" if carrier else "gate.add_carrier"):
        raise PermissionDenied
    form = CarrierForm(request.POST or None, instance=carrier, sites=sites_of(request))
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("Saved: %(entry)s.") % {"entry": saved})
        return redirect(saved)
    cancel = carrier.get_absolute_url() if carrier else reverse("gate:carrier_list")
    return render(request, "generic/form.html", {
        "form": form, "cancel": cancel, "title": carrier.name if carrier else _("New carrier"),
    })


# ---------------------------------------------------------------- carrier self-registration (public)


def carrier_register(request, key):
    """The public page behind a carrier's link/QR code: register one vehicle with its documents."""
    carrier = Carrier.objects.select_related("site").filter(registration_key=key).first()
    if carrier is None or not carrier.registration_open:
        return render(request, "gate/registry/register_closed.html", {"title": _("Vehicle registration")},
                      status=404)
    form = CarrierRegistrationForm(request.POST or None, request.FILES or None, carrier=carrier)
    if request.method == "POST":
        if too_many_registrations(carrier):
            form.add_error(None, _("Too many registrations from this link in the last hour; please try later."))
        elif form.is_valid():
            try:
                vehicle = register_by_carrier(carrier, form)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return render(request, "gate/registry/register_done.html", {
                    "carrier": carrier, "vehicle": vehicle, "title": _("Vehicle registration")})
    return render(request, "gate/registry/register.html", {
        "carrier": carrier, "form": form, "warnings": getattr(form, "warnings", []),
        "title": _("Vehicle registration"),
    })


def too_many_registrations(carrier):
    since = timezone.now() - datetime.timedelta(hours=1)
    recent = Vehicle.objects.filter(carrier=carrier, source=RegistrationSource.CARRIER, created_at__gte=since)
    return recent.count() >= SELF_REGISTRATIONS_PER_HOUR


def register_by_carrier(carrier, form):
    """Store the vehicle as pending and its two document photos; tell the environmental managers."""
    with transaction.atomic():
        vehicle = form.save(commit=False)
        vehicle.site = carrier.site
        vehicle.carrier = carrier
        vehicle.source = RegistrationSource.CARRIER
        vehicle.state = RegistrationState.PENDING
        vehicle.save()
        attach(vehicle, form.cleaned_data["licence_photos"], caption="行驶证")
        attach(vehicle, form.cleaned_data["list_photos"], caption="随车清单")
    transaction.on_commit(lambda: tell_reviewers(vehicle))
    return vehicle


def tell_reviewers(vehicle):
    group = Group.objects.filter(name="environmental_manager").first()
    if group is None:
        return
    reviewers = group.user_set.filter(person__sites=vehicle.site, is_active=True).distinct()
    notify(reviewers, _("Vehicle registered by a carrier: %(plate)s") % {"plate": vehicle.plate},
           _("%(carrier)s registered %(plate)s; it waits for your review.") % {
               "carrier": vehicle.carrier, "plate": vehicle.plate},
           link=vehicle.get_absolute_url(), channels=())


# ---------------------------------------------------------------- white/black/over-emission lists


def list_state(entry):
    now = timezone.now()
    if entry.valid_from > now:
        return _("not yet in force")
    if entry.valid_until is not None and entry.valid_until <= now:
        return _("expired")
    return _("in force")


class ListEntryListView(LedgerListView):
    permission_required = "gate.view_listentry"
    filterset_class = ListEntryFilterSet
    template_name = "gate/lists/list.html"
    title = gettext_lazy("Whitelist, blacklist and over-emission list")
    export_name = "gate-lists"
    site_path = "site"
    model = ListEntry
    columns = [
        Column(gettext_lazy("List"), "kind"),
        Column(gettext_lazy("Plate"), "plate"),
        Column(gettext_lazy("Colour"), "plate_color"),
        Column(gettext_lazy("Reason"), "reason"),
        Column(gettext_lazy("Valid from"), "valid_from"),
        Column(gettext_lazy("Valid until"), "valid_until"),
        Column(gettext_lazy("Source"), "source"),
        Column(gettext_lazy("State"), list_state),
    ]
    actions = [("gate:list_entry_add", gettext_lazy("New entry"), "gate.add_listentry"),
               ("gate:list_import", gettext_lazy("Import a list"), "gate.add_listentry")]

    table_template_name = "gate/lists/_table.html"

    def get_queryset(self):
        return super().get_queryset().select_related("created_by")


@guard("gate.add_listentry")
def list_entry_add(request):
    form = ListEntryForm(request.POST or None, sites=sites_of(request),
                         initial={"kind": request.GET.get("kind"), "plate": request.GET.get("plate", "")})
    if request.method == "POST" and form.is_valid():
        entry = form.save(commit=False)
        entry.created_by = request.user
        entry.save()
        messages.success(request, _("Added: %(entry)s.") % {"entry": entry})
        return redirect("gate:list_entries")
    return render(request, "generic/form.html", {
        "form": form, "cancel": reverse("gate:list_entries"), "title": _("New list entry"),
    })


@guard("gate.change_listentry")
@require_POST
def list_entry_expire(request, pk):
    """End an entry now (entries are master data: expired, never deleted)."""
    entry = get_object_or_404(permissions.scope_queryset(request, ListEntry.objects.all()), pk=pk)
    now = timezone.now()
    if entry.valid_until is None or entry.valid_until > now:
        entry.valid_until = max(now, entry.valid_from)
        entry.save(update_fields=["valid_until"])
        messages.success(request, _("%(entry)s expired.") % {"entry": entry})
    return redirect(request.POST.get("next") or reverse("gate:list_entries"))


@guard("gate.add_listentry")
def list_import(request):
    sites = sites_of(request)
    form = ListImportForm(request.POST or None, request.FILES or None, sites=sites)
    if request.GET.get("template"):
        return registry_excel.export_response("list", None, template=True)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            result = registry_excel.import_list(
                form.cleaned_data["file"], site=form.cleaned_data["site"], kind=form.cleaned_data["kind"],
                user=request.user, source=form.cleaned_data["source"])
        except SheetError as exc:
            problems = exc.problems
        else:
            messages.success(request, _("Imported %(count)d list entries.") % {"count": result.created})
            return redirect("gate:list_entries")
    return render(request, "gate/lists/import.html", {
        "form": form, "problems": problems, "title": _("Import a list"),
        "columns": [c.title for c in registry_excel.COLUMNS["list"]],
    })
