"""Core API: who am I, the organisation tree, equipment lookup by tag, attachments, notifications."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from . import permissions
from .attachments import attach, attachments_of
from .models import Equipment, Notification, TokenPurpose
from .roles import role_label

router = Router(tags=["core"])
ALL_PURPOSES = tuple(TokenPurpose.values)


class MeOut(Schema):
    username: str
    name: str
    roles: list[dict]
    sites: list[str]
    token_purpose: str | None = None


class SiteOut(Schema):
    id: int
    code: str
    name: str
    industry: str
    enterprise: str


class WorkshopOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    sequence: int


class EquipmentOut(Schema):
    id: int
    code: str
    name: str
    equipment_type: str
    location: str
    tag_id: str | None
    site: str
    workshop: str
    in_service: bool


class AttachmentOut(Schema):
    id: str
    original_name: str
    mime_type: str
    size: int
    sha256: str
    kind: str
    caption: str
    occurred_at: datetime
    recorded_at: datetime
    url: str


class NotificationOut(Schema):
    id: int
    level: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


def equipment_out(item):
    return EquipmentOut(
        id=item.pk, code=item.code, name=item.name, equipment_type=item.equipment_type, location=item.location,
        tag_id=item.tag_id, site=item.workshop.site.code, workshop=item.workshop.code, in_service=item.in_service,
    )


def attachment_out(item):
    return AttachmentOut(
        id=str(item.pk), original_name=item.original_name, mime_type=item.mime_type, size=item.size,
        sha256=item.sha256, kind=item.kind, caption=item.caption, occurred_at=item.occurred_at,
        recorded_at=item.recorded_at, url=f"/attachments/{item.pk}/",
    )


@router.get("/me", response=MeOut)
def me(request):
    token = permissions.token_of(request)
    if token is not None:
        return MeOut(username=f"token:{token.key_prefix}", name=token.name, roles=[],
                     sites=[token.site.code], token_purpose=token.purpose)
    user = request.user
    person = getattr(user, "person", None)
    return MeOut(
        username=user.get_username(),
        name=person.name if person else user.get_full_name() or user.get_username(),
        roles=[{"code": g.name, "label": str(role_label(g.name))} for g in user.groups.all()],
        sites=[s.code for s in permissions.user_sites(user)],
    )


@router.get("/sites", response=list[SiteOut])
def list_sites(request):
    permissions.require(request, "core.view_site", purposes=ALL_PURPOSES)
    return [
        SiteOut(id=s.pk, code=s.code, name=s.name, industry=s.industry, enterprise=s.enterprise.name)
        for s in permissions.scope_sites(request).select_related("enterprise")
    ]


@router.get("/sites/{code}/workshops", response=list[WorkshopOut])
def list_workshops(request, code: str):
    permissions.require(request, "core.view_workshop", purposes=("measures", "telemetry", "integration"))
    site = get_object_or_404(permissions.scope_sites(request), code=code)
    return list(site.workshops.all())


@router.get("/equipment", response=list[EquipmentOut])
def list_equipment(request, site: str | None = None, workshop: str | None = None, tag: str | None = None,
                   q: str | None = None):
    """Equipment in scope; ``tag`` finds the equipment carrying an NFC/QR tag."""
    permissions.require(request, "core.view_equipment", purposes=("measures", "telemetry", "integration"))
    items = permissions.scope_queryset(request, Equipment.objects.select_related("workshop__site"), "workshop__site")
    if site:
        items = items.filter(workshop__site__code=site)
    if workshop:
        items = items.filter(workshop__code=workshop)
    if tag:
        items = items.filter(tag_id=tag)
    if q:
        items = items.filter(name__icontains=q) | items.filter(code__icontains=q)
    return [equipment_out(item) for item in items[:1000]]


@router.post("/equipment/{equipment_id}/attachments", response={201: AttachmentOut})
def upload_equipment_attachment(request, equipment_id: int, file: File[UploadedFile], caption: Form[str] = "",
                                occurred_at: Form[datetime | None] = None):
    """Attach a photo or document (nameplate, certificate) to equipment."""
    permissions.require(request, "core.add_attachment", purposes=("measures",))
    equipment = get_object_or_404(
        permissions.scope_queryset(request, Equipment.objects.all(), "workshop__site"), pk=equipment_id
    )
    user = None if permissions.token_of(request) else request.user
    return Status(201, attachment_out(attach(equipment, file, user=user, caption=caption, occurred_at=occurred_at)))


@router.get("/equipment/{equipment_id}/attachments", response=list[AttachmentOut])
def equipment_attachments(request, equipment_id: int):
    permissions.require(request, "core.view_attachment", purposes=("measures",))
    equipment = get_object_or_404(
        permissions.scope_queryset(request, Equipment.objects.all(), "workshop__site"), pk=equipment_id
    )
    return [attachment_out(a) for a in attachments_of(equipment)]


@router.get("/notifications", response=list[NotificationOut])
def my_notifications(request, unread: bool = False):
    if permissions.token_of(request):
        return []
    items = Notification.objects.filter(recipient=request.user)
    if unread:
        items = items.filter(read_at__isnull=True)
    return list(items[:200])


@router.post("/notifications/{notification_id}/read", response=NotificationOut)
def mark_read(request, notification_id: int):
    item = get_object_or_404(Notification, pk=notification_id, recipient=request.user)
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    return item
