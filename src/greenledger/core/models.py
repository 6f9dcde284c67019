"""Core master data: organisation (enterprise > site > workshop > equipment), people, API tokens,
attachments, tags and notifications.

Master data is changed in place and audited (django-auditlog); ledger records elsewhere are
append-only and sealed in the evidence log. Attachments are evidence too, so they are sealed.
"""

import hashlib
import secrets
import uuid

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.evidence.models import SealedModel, SealedQuerySet


class Industry(models.TextChoices):
    LITHIUM = "lithium", _("Lithium battery")
    PV = "pv", _("PV module")
    WIND = "wind", _("Wind equipment")
    OTHER = "other", _("Other")


class Enterprise(models.Model):
    """企业: the legal entity that owns one or more sites."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, help_text=_("18 characters")
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")

    def __str__(self):
        return self.name


class Site(models.Model):
    """厂区: one factory; the unit of object scope for people and tokens."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="sites")
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, default=Industry.OTHER)
    address = models.CharField(_("address"), max_length=300, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")

    class Meta:
        ordering = ["enterprise__name", "code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        permissions = [("view_dashboard", _("Can view the site dashboard"))]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("core:site_detail", args=[self.pk])


class WorkshopKind(models.TextChoices):
    WORKSHOP = "workshop", _("Workshop")
    STAGE = "stage", _("Production stage")
    UTILITY = "utility", _("Utility / auxiliary")
    GATE = "gate", _("Gate area")


class Workshop(models.Model):
    """车间 / 生产环节: a workshop or production stage of a site."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="workshops")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=WorkshopKind.choices, default=WorkshopKind.STAGE)
    sequence = models.PositiveSmallIntegerField(_("order in the process"), default=0)

    class Meta:
        ordering = ["site", "sequence", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="core_workshop_unique_code")]
        verbose_name = _("workshop / stage")
        verbose_name_plural = _("workshops / stages")

    def __str__(self):
        return self.name


class Equipment(models.Model):
    """设备: a machine or installation, located in a workshop, optionally carrying an NFC/QR tag."""

    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="equipment")
    code = models.SlugField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    equipment_type = models.CharField(_("type"), max_length=100, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    tag_id = models.CharField(
        _("NFC/QR tag id"), max_length=100, blank=True, null=True, unique=True,
        help_text=_("The id read from the NFC tag or QR code fixed to the equipment"),
    )
    rated_power_kw = models.DecimalField(_("rated power (kW)"), max_digits=10, decimal_places=2, null=True, blank=True)
    in_service = models.BooleanField(_("in service"), default=True)

    class Meta:
        ordering = ["workshop", "code"]
        constraints = [models.UniqueConstraint(fields=["workshop", "code"], name="core_equipment_unique_code")]
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def site(self):
        return self.workshop.site


class Person(models.Model):
    """人员: a person working at one or more sites, optionally with a user account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="person"
    )
    name = models.CharField(_("name"), max_length=100)
    employee_no = models.CharField(_("employee number"), max_length=40, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=40, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    sites = models.ManyToManyField(Site, related_name="people", verbose_name=_("sites"), blank=True)
    workshop = models.ForeignKey(
        Workshop, on_delete=models.SET_NULL, null=True, blank=True, related_name="people", verbose_name=_("workshop")
    )
    company = models.CharField(
        _("company"), max_length=200, blank=True, help_text=_("For contractors and suppliers: their company")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self):
        return self.name


class TokenPurpose(models.TextChoices):
    CAMERA = "camera", _("Gate camera")
    TELEMETRY = "telemetry", _("Telemetry device / gateway")
    MEASURES = "measures", _("Field terminal (measure records)")
    INTEGRATION = "integration", _("Integration (ERP/WMS/EMS)")
    REGULATOR = "regulator", _("Regulator platform")


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A bearer token for a device or integration, scoped to one site and one purpose.

    Only a SHA-256 of the secret is stored; the secret is shown once when the token is created.
    """

    PREFIX = "glt_"

    name = models.CharField(_("name"), max_length=100)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="api_tokens", verbose_name=_("site"))
    purpose = models.CharField(_("purpose"), max_length=20, choices=TokenPurpose.choices)
    key_prefix = models.CharField(_("key prefix"), max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True, editable=False
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    @classmethod
    def issue(cls, *, name, site, purpose, created_by=None, expires_at=None):
        """Create a token and return ``(token, secret)``; the secret is never stored."""
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name, site=site, purpose=purpose, created_by=created_by, expires_at=expires_at,
            key_prefix=secret[: len(cls.PREFIX) + 6], key_hash=cls.hash_key(secret),
        )
        return token, secret

    @property
    def is_active(self):
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    def revoke(self, by=None):
        self.revoked_at = timezone.now()
        self.revoked_by = by
        self.save(update_fields=["revoked_at", "revoked_by"])


class AttachmentKind(models.TextChoices):
    PHOTO = "photo", _("Photo")
    DOCUMENT = "document", _("Document")


class Attachment(SealedModel):
    """A photo or document attached to any record. Append-only and sealed: it is evidence."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("original file name"), max_length=255)
    mime_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AttachmentKind.choices)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("uploaded by"),
    )
    occurred_at = models.DateTimeField(_("taken at"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="core_attach_record_idx")]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name


class Tag(models.Model):
    """标签: a free label that can be put on any record."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#2f855a")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name


class TaggedItem(models.Model):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="items")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    record = GenericForeignKey("content_type", "object_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tag", "content_type", "object_id"], name="core_taggeditem_unique")
        ]
        indexes = [models.Index(fields=["content_type", "object_id"], name="core_tagged_record_idx")]


class NotificationLevel(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    ALARM = "alarm", _("Alarm")


class Notification(models.Model):
    """站内通知: one message to one user; e-mail and adapters are sent beside it."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    level = models.CharField(_("level"), max_length=10, choices=NotificationLevel.choices, default=NotificationLevel.INFO)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self):
        return self.title


class NotificationDelivery(models.Model):
    """One attempt to deliver a notification over an outside channel (e-mail, SMS, webhook)."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20)
    address = models.CharField(max_length=200, blank=True)
    ok = models.BooleanField(default=False)
    detail = models.CharField(max_length=300, blank=True)
    attempted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-attempted_at"]


class AuditEntry(SealedModel, AbstractLogEntry):
    """审计记录: one change of master data (who, when, before/after), kept by django-auditlog.

    Audit entries are append-only and sealed like every ledger record, so a change to master
    data cannot be hidden by editing the audit trail.
    """

    # auditlog's manager (log_create, get_for_object, …) over the sealed queryset: no bulk change
    objects = LogEntryManager.from_queryset(SealedQuerySet)()

    ACTION_LABELS = {0: _("created"), 1: _("changed"), 2: _("deleted"), 3: _("accessed")}

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    @property
    def action_label(self):
        return self.ACTION_LABELS.get(self.action, self.action)
