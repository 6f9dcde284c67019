"""Guard console (门岗控制台): the live passages of a site's gates, made for a gate PC.

The page polls a small partial every second (HTMX ``every 1s``). The partial is keyed by a stamp of
the latest passage, the latest guard action and the alert level: when nothing changed the server
answers 204 and HTMX leaves the page alone, so polling costs two indexed queries and never
disturbs a guard typing a reason (the reason dialog lives outside the polled part).

From here a guard releases or blocks by hand (reason required), enters the cargo, registers an
unknown vehicle on the spot with photos of its documents, and types in a passage while the camera is down.
"""

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from greenledger.core import permissions
from greenledger.core.attachments import attach
from greenledger.core.models import Attachment, AttachmentKind

from . import actions, alerts, services
from .codes import AlertLevel, Decision, RegistrationSource, RegistrationState
from .console_forms import CargoForm, GuardVehicleForm, ManualPassageForm, ReasonForm
from .models import Gate, Passage, PassageAction, VehicleKind

CONSOLE_PERMISSION = "gate.operate_gate"
FEED_SIZE = 25


def guard(perm):
    def wrap(view):
        return login_required(permission_required(perm, raise_exception=True)(view))
    return wrap


def console_site(request):
    """(site, sites, gate or None) from ?site= and ?gate=, inside the user's scope."""
    sites = permissions.user_sites(request.user)
    code = request.GET.get("site") or request.POST.get("site")
    site = sites.filter(code=code).first() if code else sites.order_by("pk").first()
    if code and site is None:
        raise PermissionDenied("site outside your scope")
    gate = None
    if site is not None and request.GET.get("gate"):
        gate = Gate.objects.filter(site=site, code=request.GET["gate"]).first()
    return site, sites, gate


def alert_state(site):
    """The alert level in force now and the period behind it."""
    period = alerts.period_at(site)
    level = period.level if period is not None else AlertLevel.NONE
    return {"level": level, "label": AlertLevel(level).label, "period": period,
            "colour": alerts.LEVEL_COLOURS.get(level, "#2f855a")}


def feed_passages(site, gate=None):
    passages = (Passage.objects.filter(site=site).select_related("gate", "lane")
                .annotate(offline=F("event__offline_replay")).order_by("-recorded_at", "-pk"))
    if gate is not None:
        passages = passages.filter(gate=gate)
    return list(passages[:FEED_SIZE])


def feed_stamp(site, gate=None):
    """Changes whenever a passage arrives, a guard acts or the alert level switches."""
    passages = Passage.objects.filter(site=site)
    if gate is not None:
        passages = passages.filter(gate=gate)
    last = passages.aggregate(at=Max("recorded_at"))["at"]
    acted = PassageAction.objects.filter(passage__site=site).aggregate(at=Max("recorded_at"))["at"]
    level = alerts.level_at(site)
    return f"{last.timestamp() if last else 0:.6f}-{acted.timestamp() if acted else 0:.6f}-{level}"


def photos_by_passage(passages):
    """{passage id: [photo attachments]} in one query, plate picture first."""
    found = defaultdict(list)
    if not passages:
        return found
    rows = Attachment.objects.filter(content_type=ContentType.objects.get_for_model(Passage),
                                     object_id__in=[str(p.pk) for p in passages], kind=AttachmentKind.PHOTO)
    for attachment in rows.order_by("recorded_at"):
        found[attachment.object_id].append(attachment)
    for items in found.values():
        items.sort(key=lambda a: 0 if "plate" in a.caption.lower() or "车牌" in a.caption else 1)
    return found


def feed_context(request, site, gate):
    passages = feed_passages(site, gate)
    photos = photos_by_passage(passages)
    rows = [{"p": p, "photos": photos.get(str(p.pk), []), "unknown": p.vehicle_kind == VehicleKind.UNKNOWN,
             "remote": actions.can_open_remotely(p.lane)} for p in passages]
    # the big card is the vehicle at the gate now: not a camera's offline replay of an earlier passage
    latest = next((row for row in rows if not row["p"].offline), rows[0] if rows else None)
    return {"site": site, "gate": gate, "rows": rows, "latest": latest,
            "stamp": feed_stamp(site, gate), "alert": alert_state(site),
            "can_release": request.user.has_perm(actions.RELEASE_PERMISSION),
            "can_cargo": request.user.has_perm(actions.CARGO_PERMISSION),
            "can_register": request.user.has_perm("gate.add_vehicle")}


@guard(CONSOLE_PERMISSION)
def console(request):
    site, sites, gate = console_site(request)
    context = {"title": _("Guard console"), "sites": sites, "site": site}
    if site is not None:
        context.update(feed_context(request, site, gate))
        context.update({"gates": Gate.objects.filter(site=site), "reason_form": ReasonForm(),
                        "cargo_form": CargoForm(), "manual_form": ManualPassageForm(sites=sites.filter(pk=site.pk))})
    return render(request, "gate/console/console.html", context)


@guard(CONSOLE_PERMISSION)
def console_feed(request):
    """The polled part: 204 when nothing changed since the stamp the page holds."""
    site, _sites, gate = console_site(request)
    if site is None:
        return HttpResponse(status=204)
    if request.GET.get("since") == feed_stamp(site, gate):
        return HttpResponse(status=204)
    return render(request, "gate/console/_feed.html", feed_context(request, site, gate))


def back(request, passage):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("gate:console") + f"?site={passage.site.code}")


@guard(CONSOLE_PERMISSION)
@require_POST
def console_action(request, pk, kind):
    """Manual release / manual block / cargo for one passage; errors come back as a message, nothing is lost."""
    passage = get_object_or_404(permissions.scope_queryset(request, Passage.objects.select_related("site", "lane")),
                                pk=pk)
    try:
        if kind == "cargo":
            actions.enter_cargo(passage, request.user, request.POST.get("cargo_name"),
                                request.POST.get("cargo_weight_t"))
            messages.success(request, _("Cargo of %(plate)s recorded.") % {"plate": passage.plate})
        elif kind in ("release", "block"):
            act = actions.manual_release if kind == "release" else actions.manual_block
            act(passage, request.user, request.POST.get("reason"))
            messages.success(request, release_message(passage, kind))
        else:
            raise PermissionDenied("unknown action")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return back(request, passage)


def release_message(passage, kind):
    if kind == "block":
        return _("%(plate)s blocked by hand; recorded as an exception.") % {"plate": passage.plate}
    if actions.can_open_remotely(passage.lane):
        return _("%(plate)s released by hand; the barrier command was sent. Recorded as an exception.") % {
            "plate": passage.plate}
    return _("%(plate)s released by hand; open the barrier at the gate. Recorded as an exception.") % {
        "plate": passage.plate}


@guard("gate.add_vehicle")
def console_register(request):
    """Register an unknown vehicle at the gate (pending review), with photos of its documents."""
    sites = permissions.user_sites(request.user)
    initial = {"plate": request.GET.get("plate", ""), "plate_color": request.GET.get("plate_color") or "yellow"}
    site = sites.filter(code=request.GET.get("site")).first() or sites.order_by("pk").first()
    if site is not None:
        initial["site"] = site.pk
    form = GuardVehicleForm(request.POST or None, request.FILES or None, sites=sites, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle = register_vehicle(form, request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(plate)s registered; it waits for the environmental manager's review.")
                             % {"plate": vehicle.plate})
            return redirect(reverse("gate:console") + f"?site={vehicle.site.code}")
    return render(request, "gate/console/register.html", {"title": _("Register this vehicle"), "form": form,
                                                          "site": site})


def register_vehicle(form, user):
    with transaction.atomic():
        vehicle = form.save(commit=False)
        vehicle.state, vehicle.source = RegistrationState.PENDING, RegistrationSource.GUARD
        vehicle.save()
        for name, upload in form.documents():
            attach(vehicle, upload, user=user, caption=name)
    return vehicle


@guard(CONSOLE_PERMISSION)
@require_POST
def console_manual_passage(request):
    """A passage typed in while the camera is down: decided by the rules like a camera read."""
    sites = permissions.user_sites(request.user)
    form = ManualPassageForm(request.POST, sites=sites)
    if not form.is_valid():
        messages.error(request, " ".join(f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}"
                                         for f, e in form.errors.items()))
        return redirect(reverse("gate:console") + f"?site={request.POST.get('site', '')}")
    lane = form.cleaned_data["lane"]
    passage = services.record_passage(lane=lane, plate=form.cleaned_data["plate"],
                                      plate_color=form.cleaned_data["plate_color"],
                                      occurred_at=form.cleaned_data["occurred_at"], direction=lane.direction,
                                      user=request.user)
    level = messages.SUCCESS if passage.decision == Decision.PASS else messages.WARNING
    messages.add_message(request, level, _("%(plate)s entered by hand: %(decision)s — %(reason)s") % {
        "plate": passage.plate, "decision": passage.get_decision_display(), "reason": passage.reason})
    return redirect(reverse("gate:console") + f"?site={lane.gate.site.code}")
