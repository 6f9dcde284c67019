"""Attachments (附件): checked, hashed and sealed uploads for any record.

The type is decided from the file's first bytes, not from its name or the browser's claim, and
must be on the allowed list; the size is bounded by settings.GREENLEDGER_ATTACHMENT_MAX_BYTES.
"""

import hashlib

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Attachment, AttachmentKind

# (magic prefix, MIME type, kind)
SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg", AttachmentKind.PHOTO),
    (b"\x89PNG\r\n\x1a\n", "image/png", AttachmentKind.PHOTO),
    (b"GIF87a", "image/gif", AttachmentKind.PHOTO),
    (b"GIF89a", "image/gif", AttachmentKind.PHOTO),
    (b"%PDF-", "application/pdf", AttachmentKind.DOCUMENT),
    (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument", AttachmentKind.DOCUMENT),
]
OOXML_BY_SUFFIX = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def sniff(head: bytes, name: str):
    """Return ``(mime_type, kind)`` for an allowed file, or raise ValidationError."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", AttachmentKind.PHOTO
    for magic, mime, kind in SIGNATURES:
        if head.startswith(magic):
            if magic == b"PK\x03\x04":
                suffix = name[name.rfind("."):].lower() if "." in name else ""
                if suffix not in OOXML_BY_SUFFIX:
                    break
                return OOXML_BY_SUFFIX[suffix], kind
            return mime, kind
    raise ValidationError(
        _("File type not allowed: use JPEG, PNG, GIF, WebP, PDF, XLSX or DOCX."), code="file_type"
    )


def attach(record, uploaded_file, *, user=None, caption="", occurred_at=None):
    """Check, hash and store ``uploaded_file`` as an attachment of ``record`` (sealed)."""
    attachment = prepare(record, uploaded_file, user=user, caption=caption, occurred_at=occurred_at)
    attachment.save()
    return attachment


def prepare(record, uploaded_file, *, user=None, caption="", occurred_at=None, store=False):
    """The unsaved Attachment of ``uploaded_file`` for ``record``, checked and hashed.

    With ``store=True`` the file is written to storage now, so that a caller can write it before
    opening its database transaction and keep the transaction short (a camera push's snapshots);
    ``save()`` then only inserts the row. ``record`` needs its primary key already."""
    limit = settings.GREENLEDGER_ATTACHMENT_MAX_BYTES
    if uploaded_file.size > limit:
        raise ValidationError(
            _("File too large: %(size)d bytes, at most %(limit)d allowed.") % {"size": uploaded_file.size, "limit": limit},
            code="file_size",
        )
    if uploaded_file.size == 0:
        raise ValidationError(_("The file is empty."), code="file_empty")
    uploaded_file.seek(0)
    head = uploaded_file.read(16)
    mime, kind = sniff(head, uploaded_file.name or "")
    digest = hashlib.sha256()
    uploaded_file.seek(0)
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    attachment = Attachment(
        content_type=ContentType.objects.get_for_model(record),
        object_id=str(record.pk),
        file=uploaded_file,
        original_name=(uploaded_file.name or "file")[:255],
        mime_type=mime,
        size=uploaded_file.size,
        sha256=digest.hexdigest(),
        kind=kind,
        caption=caption,
        uploaded_by=user if user is not None and user.is_authenticated else None,
        occurred_at=occurred_at or timezone.now(),
    )
    Attachment._meta.get_field("record").set_cached_value(attachment, record)  # post_save receivers: no query
    if store:
        attachment.file.save(uploaded_file.name or "file", uploaded_file, save=False)
    return attachment


def attachments_of(record):
    return Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
    ).order_by("recorded_at")
