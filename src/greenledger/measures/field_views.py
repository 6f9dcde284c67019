"""Field pages (现场录入): the operator's phone and terminal app under ``/m/``.

- ``/m/`` "my work": the executions due now or soon for the person, then every active measure in
  scope grouped by production stage, with one-tap completion (完成) for simple measures and the
  record form (记录) for the rest;
- ``/m/tag/<tag>/``: the landing page an NFC tag or QR code points at — the measures behind it;
- ``/m/measures/<id>/record/``: the record form generated from the measure's parameter schema.

Offline first, as Enketo does it: the pages are rendered here and enhanced by
``static/field/field.js``, which saves every submission in IndexedDB first and then uploads the
queue, one record at a time, to ``POST /api/measures/records`` (idempotent on the client UUID).
The service worker (``static/field/sw.js``) is served from ``/m/sw.js`` so that its scope is
``/m/``; it caches the app shell and the pages a person may need offline and never intercepts a
POST. Without JavaScript the form posts back here and is recorded through the same service.
"""

import datetime
import functools
import hashlib
import json
import os
import re
import uuid
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from greenledger.core.models import Equipment
from greenledger.core.permissions import user_sites

from . import services
from .access import measures_for
from .models import ChecklistItem, DueExecution, MeasureType, ParameterSource, RecordSource, ValueType

VIEW_PERM = "measures.view_measure"
RECORD_PERM = "measures.record_measure"
DUE_SOON = datetime.timedelta(hours=2)
DUE_LIMIT = 50
# The app shell the service worker precaches; its cache name is a hash of these files.
SHELL_STATIC = ("field/field.js", "field/field.css", "greenledger/logo.svg")
SW_SOURCE = "field/sw.js"


def field_measures(request):
    """Active measures in the request's scope (contractors: their assigned ones only)."""
    return (measures_for(request).filter(active=True)
            .select_related("checklist").prefetch_related("parameters"))


def field_config(request):
    """What field.js needs: its endpoints, the person's account and the texts it shows."""
    return {
        "user": request.user.get_username(),
        "scope": reverse("field:home"),
        "sw": reverse("field:sw"),
        "ping": reverse("field:ping"),
        "records": reverse("api:create_record"),
        "canRecord": request.user.has_perm(RECORD_PERM),
        "i18n": {
            "pending": _("Waiting to upload"),
            "sending": _("Uploading…"),
            "sent": _("Uploaded"),
            "error": _("Refused"),
            "confirm": _("Needs confirmation"),
            "other": _("Another account's record"),
            "online": _("Online"),
            "offline": _("Offline"),
            "queued": _("%(count)s waiting"),
            "attention": _("%(count)s need you"),
            "all_sent": _("All uploaded"),
            "empty": _("Nothing recorded on this device yet."),
            "confirm_submit": _("Confirm and submit"),
            "retry": _("Retry"),
            "edit": _("Edit"),
            "delete": _("Delete"),
            "delete_ask": _("Delete this record from the phone? It has not been uploaded."),
            "saved_online": _("Saved and uploaded."),
            "saved_offline": _("Saved on this phone. It will be uploaded when the network is back."),
            "saved_pending": _("Saved on this phone; uploading…"),
            "refused": _("The server refused the record. Fix it and save again:"),
            "check_values": _("Please check these values:"),
            "login_again": _("Log in again to upload."),
            "no_network": _("No network: will retry."),
            "server_trouble": _("Server problem (HTTP %(status)s): will retry."),
            "done_at": _("Done %(time)s"),
            "photo_required": _("This measure needs a photo."),
            "photos_kept": _("%(count)s photo(s) already saved with this record"),
            "not_saved": _("Could not save on this phone: %(error)s"),
            "late": _("Late entry"),
            "photos": _("Photos"),
        },
    }


def render_field(request, template, context, status=200):
    context = {"field_config": field_config(request), "can_record": request.user.has_perm(RECORD_PERM),
               **context}
    return render(request, template, context, status=status)


def stage_groups(measures, person):
    """Measures grouped by (site, stage) in process order; the person's own workshop first."""
    groups = {}
    for measure in measures:
        key = (measure.site_id, measure.stage_id)
        if key not in groups:
            groups[key] = {"site": measure.site, "stage": measure.stage, "measures": [],
                           "own": person is not None and measure.stage_id == person.workshop_id}
        groups[key]["measures"].append(measure)
    ordered = list(groups.values())
    ordered.sort(key=lambda g: not g["own"])  # stable: keeps the process order otherwise
    return ordered


def due_for(request, measures, person, now):
    """Pending scheduled executions due by ``now + DUE_SOON`` that this person should do."""
    due = (DueExecution.objects.filter(state=DueExecution.State.PENDING, due_at__lte=now + DUE_SOON,
                                       measure__in=measures.values("pk"))
           .select_related("measure__stage", "measure__equipment", "measure__site")
           .prefetch_related("measure__parameters"))
    if not services.is_contractor(request.user):
        if person is None:
            return []
        due = due.filter(Q(measure__responsible=person) | Q(measure__stage_id=person.workshop_id))
    return [{"due": d, "measure": d.measure, "overdue": d.due_at < now}
            for d in due.order_by("due_at")[:DUE_LIMIT]]


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def my_work(request):
    now = timezone.now()
    person = getattr(request.user, "person", None)
    measures = field_measures(request)
    query = request.GET.get("q", "").strip()
    listed = measures
    if query:
        listed = measures.filter(Q(name__icontains=query) | Q(code__icontains=query)
                                 | Q(stage__name__icontains=query) | Q(equipment__name__icontains=query))
    listed = list(listed)
    return render_field(request, "field/my_work.html", {
        "due": due_for(request, measures, person, now),
        "groups": stage_groups(listed, person),
        "multi_site": len({m.site_id for m in listed}) > 1,
        "query": query,
        "person": person,
        "measure_count": len(listed),
    })


def measures_behind_tag(request, tag_id):
    """Measures whose effective tag is ``tag_id``: their own tag, else their equipment's."""
    return field_measures(request).filter(Q(tag_id=tag_id) | Q(tag_id="", equipment__tag_id=tag_id))


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def tag_landing(request, tag_id):
    measures = list(measures_behind_tag(request, tag_id))
    equipment = (Equipment.objects.filter(tag_id=tag_id, workshop__site__in=user_sites(request.user))
                 .select_related("workshop").first())
    return render_field(request, "field/tag.html", {
        "tag": tag_id, "measures": measures, "equipment": equipment,
    }, status=200 if measures else 404)


# The record form ------------------------------------------------------------------------------


def decimal_text(value):
    return None if value is None else f"{value.normalize():f}"


def parameter_fields(measure, post=None, errors=None):
    fields, errors = [], errors or {}
    for p in measure.parameters.all():
        name = f"v.{p.code}"
        fields.append({
            "param": p, "name": name, "id": f"v-{p.code}",
            "number": p.value_type == ValueType.NUMBER, "boolean": p.value_type == ValueType.BOOLEAN,
            "text": p.value_type == ValueType.TEXT, "low": decimal_text(p.min_value),
            "high": decimal_text(p.max_value), "telemetry": p.source == ParameterSource.TELEMETRY,
            "required": p.required and p.source == ParameterSource.MANUAL,
            "value": (post.get(name, "") if post is not None else ""),
            "error": " ".join(errors.get(f"values.{p.code}", [])),
        })
    return fields


def local_minute(moment, tz):
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def parse_local(text, tz):
    """``2026-05-04T08:30`` typed in the site's time zone → aware datetime."""
    try:
        naive = datetime.datetime.strptime((text or "").strip()[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        raise ValidationError({"occurred_at": ValidationError(_("Enter the execution time."),
                                                              code="invalid")})
    return naive.replace(tzinfo=tz)


def split_names(text):
    return [name for name in re.split(r"[,，、;；\s]+", text or "") if name]


def record_input_from_post(request, measure, tz):
    post = request.POST
    try:
        client_id = uuid.UUID(post.get("id", ""))
    except ValueError:
        client_id = None
    checklist = {}
    if measure.checklist_id:
        item_ids = set(ChecklistItem.objects.filter(template_id=measure.checklist_id)
                       .values_list("pk", flat=True))
        ticked = [int(x) for x in post.getlist("ticked") if x.isdigit() and int(x) in item_ids]
        checklist = {"ticked": ticked, "participants": split_names(post.get("participants"))}
    return services.RecordInput(
        measure=measure, occurred_at=parse_local(post.get("occurred_at"), tz), executor=request.user.person,
        entered_by=request.user,
        values={p.code: post.get(f"v.{p.code}", "").strip() for p in measure.parameters.all()},
        remarks=post.get("remarks", "").strip(), batch_no=post.get("batch_no", "").strip(),
        tag_scanned=post.get("tag_scanned", "").strip()[:100],
        compliant={"true": True, "false": False}.get(post.get("compliant")), checklist=checklist,
        source=RecordSource.WEB, client_id=client_id, late_reason=post.get("late_reason", "").strip(),
        confirmed=post.get("confirm") == "true", photos=request.FILES.getlist("photos"),
    )


def record_posted_form(request, measure, tz):
    """The form posted without JavaScript: ``(record, errors, warnings)``."""
    if getattr(request.user, "person", None) is None:
        return None, {"": [_("Your account is not linked to a person.")]}, []
    try:
        record, _created, _warnings = services.record_execution(record_input_from_post(request, measure, tz))
    except services.NeedsConfirmation as exc:
        return None, {}, exc.warnings
    except ValidationError as exc:
        return None, (exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}), []
    return record, {}, []


@login_required
@permission_required(RECORD_PERM, raise_exception=True)
def record_form(request, pk):
    measure = get_object_or_404(field_measures(request).select_related("site", "stage", "equipment"), pk=pk)
    tz = ZoneInfo(measure.site.time_zone or "Asia/Shanghai")
    errors, warnings, post = {}, [], None
    if request.method == "POST":
        post = request.POST
        record, errors, warnings = record_posted_form(request, measure, tz)
        if record is not None:
            messages.success(request, _("Recorded: %(measure)s at %(time)s.") % {
                "measure": measure.name, "time": local_minute(record.occurred_at, tz).replace("T", " ")})
            return redirect("field:home")
    checklist_items = list(measure.checklist.items.all()) if measure.checklist_id else []
    occurred = post.get("occurred_at") if post else local_minute(timezone.now(), tz)
    late = False
    if post is not None:
        try:
            late = services.lateness(measure, parse_local(occurred, tz), timezone.now()) > 0
        except ValidationError:
            pass
    return render_field(request, "field/record.html", {
        "measure": measure,
        "fields": parameter_fields(measure, post, errors),
        "compliant_kind": {MeasureType.OPERATION: "operation", MeasureType.INSPECTION: "inspection"}.get(
            measure.measure_type, ""),
        "checklist_items": checklist_items,
        "ticked": {int(x) for x in post.getlist("ticked") if x.isdigit()} if post else set(),
        "client_id": post.get("id") if post and post.get("id") else uuid.uuid4(),
        "tag": (post.get("tag_scanned") if post else request.GET.get("tag", "")) or "",
        "occurred_at": occurred,
        "late": late or "late_reason" in errors,
        "errors": errors,
        "general_errors": [text for field, texts in errors.items() if field not in known_fields(measure)
                           for text in texts],
        "warnings": warnings,
        "post": post,
    }, status=422 if errors else (409 if warnings else 200))


def known_fields(measure):
    return {"occurred_at", "late_reason", "photos", "remarks", "batch_no"} | {
        f"values.{p.code}" for p in measure.parameters.all()}


@login_required
@permission_required(RECORD_PERM, raise_exception=True)
@require_POST
def complete(request, pk):
    """One-tap completion without JavaScript (field.js queues it offline-first instead)."""
    measure = get_object_or_404(field_measures(request), pk=pk)
    try:
        record, _created, _warnings = services.one_tap(measure, request.user,
                                                        tag_scanned=request.POST.get("tag_scanned", "")[:100])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Done: %(measure)s at %(time)s.") % {
            "measure": measure.name, "time": timezone.localtime(record.occurred_at).strftime("%H:%M")})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("field:home")
    return redirect(target)


# Offline machinery ----------------------------------------------------------------------------


@require_safe
@never_cache
def ping(request):
    """Connectivity probe: field.js trusts this answer, not navigator.onLine."""
    return HttpResponse("connected", content_type="text/plain; charset=utf-8")


def _file_key(name):
    path = finders.find(name)
    if path is None:
        raise FileNotFoundError(name)
    stat = os.stat(path)
    return name, path, stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=16)
def _digest(keys):
    digest = hashlib.sha256()
    for name, path, _mtime, _size in keys:
        digest.update(name.encode())
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def shell_version():
    """Hash of the worker and the files it precaches: any change makes a new cache (Enketo style)."""
    return _digest(tuple(_file_key(name) for name in (SW_SOURCE, *SHELL_STATIC)))


@require_safe
def service_worker(request):
    """The worker script with its version and precache list prepended, served inside its scope."""
    scope = reverse("field:home")
    with open(finders.find(SW_SOURCE), encoding="utf-8") as handle:
        source = handle.read()
    settings_js = "\n".join([
        "/* generated by greenledger.measures.field_views.service_worker */",
        f"const VERSION = {json.dumps(shell_version())};",
        f"const SCOPE = {json.dumps(scope)};",
        f"const PRECACHE = {json.dumps([static(name) for name in SHELL_STATIC])};",
        f"const NETWORK_ONLY = {json.dumps([reverse('field:ping'), reverse('field:sw'), '/api/'])};",
        "",
    ])
    response = HttpResponse(settings_js + source, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = scope
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def manifest(request):
    scope = reverse("field:home")
    data = {
        "name": _("GreenLedger field"), "short_name": _("GreenLedger"), "start_url": scope, "scope": scope,
        "display": "standalone", "background_color": "#f4f7f5", "theme_color": "#2f855a",
        "icons": [{"src": static("greenledger/logo.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return JsonResponse(data, content_type="application/manifest+json",
                        json_dumps_params={"ensure_ascii": False})
