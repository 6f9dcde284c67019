"""Core pages: dashboard, organisation, equipment, people, API tokens, notifications, audit trail."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from greenledger.evidence import services as evidence

from . import permissions
from .attachments import attach, attachments_of
from .excel import SheetError, read_sheet, workbook_response
from .extensions import app_modules
from .filtersets import AuditFilterSet, EquipmentFilterSet, PersonFilterSet, SiteFilterSet
from .forms import ApiTokenForm, AttachmentForm, EquipmentForm, ImportForm
from .listing import Column, LedgerListView
from .models import ApiToken, Attachment, AuditEntry, Equipment, Notification, Person, Site
from .navigation import COMING
from .roles import role_label
from .services import EQUIPMENT_COLUMNS, import_equipment
from .tags import add_tag, remove_tag, tags_of


@login_required
def home(request):
    if request.user.has_perm("core.view_dashboard"):
        return redirect("core:dashboard")
    return redirect("core:notification_list")


def chosen_site(request):
    sites = permissions.user_sites(request.user)
    code = request.GET.get("site")
    site = sites.filter(code=code).first() if code else None
    return site or sites.first(), sites


@login_required
@permission_required("core.view_dashboard", raise_exception=True)
def dashboard(request):
    site, sites = chosen_site(request)
    figures, chart = {}, {"workshops": [], "equipment": []}
    if site is not None:
        workshops = site.workshops.annotate(
            equipment_count=Count("equipment", filter=Q(equipment__in_service=True))
        )
        chart = {"workshops": [w.name for w in workshops], "equipment": [w.equipment_count for w in workshops]}
        figures = {
            "workshops": len(workshops),
            "equipment": sum(chart["equipment"]),
            "people": site.people.count(),
            "tagged": Equipment.objects.filter(workshop__site=site).exclude(tag_id=None).count(),
        }
    summary = evidence.log_summary()
    return render(request, "core/dashboard.html", {
        "site": site,
        "panels": app_panels(request, site) if site is not None else [],
        "sites": sites,
        "figures": figures,
        "evidence": summary,
        "latest_checkpoint": evidence.latest_checkpoint(),
        "chart_json": json.dumps({
            "workshops": chart["workshops"],
            "equipment": chart["equipment"],
            "days": [day.strftime("%m-%d") for day, _count in summary["per_day"]],
            "sealed": [count for _day, count in summary["per_day"]],
        }, ensure_ascii=False),
        "recent_changes": AuditEntry.objects.select_related("actor", "content_type")[:8],
    })


def app_panels(request, site):
    """One panel of key figures per ledger app that ships a ``dashboard.panel(request, site)``."""
    panels = (module.panel(request, site) for _config, module in app_modules("dashboard"))
    return [panel for panel in panels if panel]


@login_required
def coming(request, section):
    if section not in COMING:
        raise Http404
    if not request.user.has_perm("core.view_dashboard"):
        raise PermissionDenied
    title, description = COMING[section]
    return render(request, "core/coming.html", {"title": title, "description": description})


# Organisation ---------------------------------------------------------------------------------


class SiteListView(LedgerListView):
    permission_required = "core.view_site"
    queryset = Site.objects.select_related("enterprise").annotate(workshop_count=Count("workshops"))
    filterset_class = SiteFilterSet
    title = gettext_lazy("Sites")
    export_name = "sites"
    site_path = "pk"
    columns = [
        Column(gettext_lazy("Code"), "code", link=True),
        Column(gettext_lazy("Name"), "name"),
        Column(gettext_lazy("Enterprise"), "enterprise.name"),
        Column(gettext_lazy("Industry"), "industry"),
        Column(gettext_lazy("Workshops"), "workshop_count"),
        Column(gettext_lazy("Address"), "address"),
    ]


@login_required
@permission_required("core.view_site", raise_exception=True)
def site_detail(request, pk):
    site = get_object_or_404(permissions.user_sites(request.user).select_related("enterprise"), pk=pk)
    workshops = site.workshops.prefetch_related("equipment")
    return render(request, "core/site_detail.html", {"site": site, "workshops": workshops})


class EquipmentListView(LedgerListView):
    permission_required = "core.view_equipment"
    queryset = Equipment.objects.select_related("workshop__site")
    filterset_class = EquipmentFilterSet
    title = gettext_lazy("Equipment")
    export_name = "equipment"
    site_path = "workshop__site"
    columns = [
        Column(gettext_lazy("Code"), "code", link=True),
        Column(gettext_lazy("Name"), "name"),
        Column(gettext_lazy("Site"), "workshop.site.name"),
        Column(gettext_lazy("Workshop"), "workshop.name"),
        Column(gettext_lazy("Type"), "equipment_type"),
        Column(gettext_lazy("Location"), "location"),
        Column(gettext_lazy("NFC/QR tag"), "tag_id"),
        Column(gettext_lazy("In service"), "in_service"),
    ]
    actions = [
        ("core:equipment_create", gettext_lazy("New equipment"), "core.add_equipment"),
        ("core:equipment_import", gettext_lazy("Import from Excel"), "core.add_equipment"),
    ]


def scoped_equipment(request):
    return permissions.scope_queryset(request, Equipment.objects.select_related("workshop__site"), "workshop__site")


@login_required
@permission_required("core.view_equipment", raise_exception=True)
def equipment_detail(request, pk):
    item = get_object_or_404(scoped_equipment(request), pk=pk)
    form = AttachmentForm()
    if request.method == "POST":
        if not request.user.has_perm("core.add_attachment"):
            raise PermissionDenied
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                attach(item, form.cleaned_data["file"], user=request.user, caption=form.cleaned_data["caption"])
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                messages.success(request, _("Attachment saved and sealed in the evidence log."))
                return redirect("core:equipment_detail", pk=item.pk)
    return render(request, "core/equipment_detail.html", {
        "item": item,
        "attachments": attachments_of(item),
        "form": form,
        "history": AuditEntry.objects.get_for_object(item).select_related("actor")[:20],
    })


@login_required
@permission_required("core.add_equipment", raise_exception=True)
def equipment_edit(request, pk=None):
    item = get_object_or_404(scoped_equipment(request), pk=pk) if pk else None
    if item is not None and not request.user.has_perm("core.change_equipment"):
        raise PermissionDenied
    sites = permissions.user_sites(request.user)
    form = EquipmentForm(request.POST or None, instance=item, sites=sites)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("Equipment %(code)s saved.") % {"code": saved.code})
        return redirect("core:equipment_detail", pk=saved.pk)
    return render(request, "generic/form.html", {
        "form": form,
        "title": _("Edit equipment") if item else _("New equipment"),
        "cancel": reverse("core:equipment_list"),
    })


@login_required
@permission_required("core.add_equipment", raise_exception=True)
def equipment_import(request):
    if request.GET.get("template"):
        return workbook_response("equipment-template", _("Equipment"),
                                 [names[0] for names in EQUIPMENT_COLUMNS.values()], [])
    form = ImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            rows = read_sheet(form.cleaned_data["file"], EQUIPMENT_COLUMNS)
            created, updated = import_equipment(rows, permissions.user_sites(request.user))
        except SheetError as exc:
            problems = exc.problems
        else:
            messages.success(request, _("Imported: %(created)d new, %(updated)d updated.") % {
                "created": created, "updated": updated})
            return redirect("core:equipment_list")
    return render(request, "core/import.html", {
        "form": form, "problems": problems, "title": _("Import equipment from Excel"),
        "template_url": reverse("core:equipment_import") + "?template=1",
        "columns": [names[0] for names in EQUIPMENT_COLUMNS.values()],
    })


class PersonListView(LedgerListView):
    permission_required = "core.view_person"
    queryset = Person.objects.select_related("user", "workshop").prefetch_related("sites", "user__groups").distinct()
    filterset_class = PersonFilterSet
    title = gettext_lazy("People")
    export_name = "people"
    site_path = "sites"
    columns = [
        Column(gettext_lazy("Name"), "name"),
        Column(gettext_lazy("Employee number"), "employee_no"),
        Column(gettext_lazy("Job title"), "title"),
        Column(gettext_lazy("Company"), "company"),
        Column(gettext_lazy("User"), "user.username"),
        Column(gettext_lazy("Roles"), lambda p: "、".join(
            str(role_label(g.name)) for g in p.user.groups.all()) if p.user else ""),
        Column(gettext_lazy("Sites"), lambda p: "、".join(s.name for s in p.sites.all())),
    ]


# API tokens -----------------------------------------------------------------------------------


@login_required
@permission_required("core.view_apitoken", raise_exception=True)
def token_list(request):
    tokens = permissions.scope_queryset(request, ApiToken.objects.select_related("site", "created_by"))
    form = None
    if request.user.has_perm("core.add_apitoken"):
        form = ApiTokenForm(request.POST or None, sites=permissions.user_sites(request.user))
        if request.method == "POST" and form.is_valid():
            token, secret = ApiToken.issue(created_by=request.user, **form.cleaned_data)
            messages.success(request, _("Token created. Copy it now: it is not shown again."))
            return render(request, "core/token_created.html", {"token": token, "secret": secret})
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "core/token_list.html", {"tokens": tokens, "form": form})


@login_required
@permission_required("core.change_apitoken", raise_exception=True)
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(permissions.scope_queryset(request, ApiToken.objects.all()), pk=pk)
    if token.revoked_at is None:
        token.revoke(by=request.user)
        messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    return redirect("core:token_list")


# Notifications --------------------------------------------------------------------------------


@login_required
def notification_list(request):
    items = Notification.objects.filter(recipient=request.user)[:200]
    return render(request, "core/notification_list.html", {"items": items})


@login_required
@require_POST
def notification_read_all(request):
    Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("core:notification_list")


# Audit trail and attachments ------------------------------------------------------------------


class AuditListView(LedgerListView):
    permission_required = "core.view_auditentry"
    queryset = AuditEntry.objects.select_related("actor", "content_type")
    filterset_class = AuditFilterSet
    title = gettext_lazy("Audit trail of master data")
    export_name = "audit"
    columns = [
        Column(gettext_lazy("Time"), "timestamp"),
        Column(gettext_lazy("User"), lambda e: e.actor.username if e.actor else _("system")),
        Column(gettext_lazy("Action"), lambda e: e.action_label),
        Column(gettext_lazy("Object type"), lambda e: e.content_type.name),
        Column(gettext_lazy("Object"), "object_repr"),
        Column(gettext_lazy("Changes (before → after)"), lambda e: "; ".join(
            f"{field}: {values[0]} → {values[1]}" if isinstance(values, list) and len(values) == 2 else f"{field}: {values}"
            for field, values in (e.changes_dict or {}).items())),
    ]


@login_required
@permission_required("core.view_attachment", raise_exception=True)
def attachment_download(request, pk):
    item = get_object_or_404(Attachment.objects.select_related("content_type"), pk=pk)
    record = item.record
    site = getattr(record, "site", None)
    if site is not None and not isinstance(site, Site):
        site = None
    if site is not None:
        permissions.require_site(request, site)
    return FileResponse(item.file.open("rb"), content_type=item.mime_type, filename=item.original_name)


# Tags -----------------------------------------------------------------------------------------


@login_required
def record_tags(request, app_label, model, pk):
    """The tag chips of any record (HTMX partial); adding or removing needs the change permission."""
    content_type = get_object_or_404(ContentType, app_label=app_label, model=model)
    if not request.user.has_perm(f"{app_label}.view_{model}"):
        raise PermissionDenied
    record = get_object_or_404(content_type.model_class()._default_manager.all(), pk=pk)
    site = getattr(record, "site", None)
    if isinstance(site, Site):
        permissions.require_site(request, site)
    can_edit = request.user.has_perm(f"{app_label}.change_{model}")
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        name = request.POST.get("name", "").strip()
        if request.POST.get("remove"):
            remove_tag(record, request.POST["remove"])
        elif name:
            add_tag(record, name)
    return render(request, "core/_tags.html", {
        "tags": tags_of(record), "can_edit": can_edit,
        "url": reverse("core:record_tags", args=[app_label, model, pk]),
    })
