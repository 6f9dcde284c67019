"""Regulator uplink (数据上报): platforms, the outbox, delivery attempts, receipts and instructions.

Configuration (edited in place, audited):

- ``Platform`` one regulator platform a site reports to (municipal, provincial…): profile, URL,
  app id, the *names* of the secret and private key (environment variable or file under the data
  directory — never the secret itself), the platform's public key, field mapping and code tables.

Work (operational state, changed by the workers):

- ``OutboxItem`` one record to deliver to one platform, queued in the same transaction that wrote
  the record; claimed by a worker with a lease, retried, acknowledged or dead-lettered;
- ``DeliveryAttempt`` every request a worker made for an item (or a heartbeat), with the outcome;
- ``CircuitState`` per platform: closed / open / half-open, back-off, outages, last heartbeat.

Ledger records (sealed into the evidence log, append-only):

- ``UplinkReceipt`` the platform's acknowledgement of one record (回执): receipt id, real-time or
  back-filled, when;
- ``InboundInstruction`` a control-measure instruction received from the regulator (管控指令),
  exactly as received, with the alert period it switched and the acknowledgement sent back.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Site
from greenledger.evidence.models import SealedModel


class Profile(models.TextChoices):
    GENERIC_RSA2 = "generic_rsa2", _("Generic HTTPS/JSON, SHA256withRSA (RSA2)")
    GENERIC_SM2 = "generic_sm2", _("Generic HTTPS/JSON, SM2 signature with SM3 digest (国密)")


class Platform(models.Model):
    """A regulator platform one site reports to; a site may report to several at once."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="uplink_platforms", verbose_name=_("site"))
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. 常州市重点用车单位门禁监管平台"))
    profile = models.CharField(_("interface profile"), max_length=20, choices=Profile.choices,
                               default=Profile.GENERIC_RSA2)
    base_url = models.URLField(_("base URL"), max_length=300)
    app_id = models.CharField(_("app id"), max_length=100)
    enterprise_code = models.CharField(_("enterprise code at the platform"), max_length=60, blank=True,
                                       help_text=_("e.g. the HJ 608 排污单位编码 the platform knows the site by"))
    app_secret_ref = models.CharField(
        _("where the app secret is"), max_length=300,
        help_text=_("env:VARIABLE or file:path (relative to the data directory); the secret itself is never stored"))
    private_key_ref = models.CharField(
        _("where our private key is"), max_length=300,
        help_text=_("env:VARIABLE or file:path to a PEM (RSA) or hex (SM2) private key; never stored here"))
    platform_public_key = models.TextField(
        _("platform's public key"), help_text=_("PEM (RSA) or hex (SM2); verifies the platform's replies and pushes"))
    field_map = models.JSONField(_("field mapping"), default=dict, blank=True,
                                 help_text=_("Per record kind: platform field name → GreenLedger field; empty: default"))
    code_tables = models.JSONField(_("code tables"), default=dict, blank=True,
                                   help_text=_("Per GreenLedger code table: our code → platform code; empty: default"))
    heartbeat_seconds = models.PositiveIntegerField(_("heartbeat interval (s)"), default=60)
    realtime_seconds = models.PositiveIntegerField(
        _("real-time window (s)"), default=300,
        help_text=_("A record sent later than this after it was recorded is flagged back-filled (补传)"))
    deadline_minutes = models.PositiveIntegerField(
        _("upload-rate deadline (min)"), default=24 * 60,
        help_text=_("A record counts as uploaded for the rate when acknowledged within this time"))
    backlog_alarm_minutes = models.PositiveIntegerField(_("alarm when the oldest pending record is older than (min)"),
                                                        default=60)
    send_measure_records = models.BooleanField(
        _("send measure execution records"), default=False,
        help_text=_("Only where this regulator asks for the measure ledger (措施执行台账)"))
    send_emission_reports = models.BooleanField(
        _("send issued emission reports"), default=False,
        help_text=_("Only where this regulator asks for carbon figures"))
    pull_instructions = models.BooleanField(_("pull control measures"), default=True)
    pull_seconds = models.PositiveIntegerField(_("pull interval (s)"), default=300)
    timeout_seconds = models.PositiveIntegerField(_("request timeout (s)"), default=10)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["site", "name"]
        permissions = [
            ("view_uplink_dashboard", _("View the upload rate and reconciliation")),
            ("manage_outbox", _("Fix and resend dead letters, re-upload a period")),
        ]
        verbose_name = _("regulator platform")
        verbose_name_plural = _("regulator platforms")

    def __str__(self):
        return self.name

    @property
    def sm2(self):
        return self.profile == Profile.GENERIC_SM2


class Kind(models.TextChoices):
    PASSAGE = "passage", _("Passage")
    PASSAGE_IMAGE = "passage_image", _("Passage image")
    VEHICLE = "vehicle", _("Road vehicle")
    IN_PLANT_VEHICLE = "in_plant_vehicle", _("In-plant vehicle")
    MACHINE = "machine", _("Non-road machine")
    MEASURE_RECORD = "measure_record", _("Measure execution record")
    EMISSION_REPORT = "emission_report", _("Emission report")
    HEARTBEAT = "heartbeat", _("Heartbeat")


RECORD_KINDS = (Kind.PASSAGE, Kind.VEHICLE, Kind.IN_PLANT_VEHICLE, Kind.MACHINE, Kind.MEASURE_RECORD,
                Kind.EMISSION_REPORT)


class State(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Being sent")
    ACKED = "acked", _("Acknowledged")
    DEAD = "dead", _("Dead letter")


class OutboxItem(models.Model):
    """One record to deliver to one platform (发件箱).

    The primary key is the sequence: workers send in ``id`` order per platform, so after an outage
    the backlog resumes in the original order (断点续传). ``payload`` is built from the record at the
    first attempt and kept, so every retry sends the same body; the environmental manager may edit
    it for a dead letter. ``after`` holds an image back until its passage is acknowledged.
    """

    id = models.BigAutoField(primary_key=True)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="outbox")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    record_table = models.CharField(_("record table"), max_length=100)
    record_id = models.CharField(_("record id"), max_length=64)
    record_version = models.CharField(_("record version"), max_length=40, blank=True,
                                      help_text=_("Registry records: the change reported; empty for ledger records"))
    after = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("sent after"))
    occurred_at = models.DateTimeField(_("record time"))
    produced_at = models.DateTimeField(_("recorded at"), db_index=True,
                                       help_text=_("When GreenLedger had the record: the deadline counts from here"))
    reupload = models.BooleanField(_("re-upload"), default=False)
    payload = models.JSONField(_("payload"), null=True, blank=True)
    payload_edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+", verbose_name=_("payload edited by"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_by = models.CharField(_("claimed by"), max_length=100, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    backfilled = models.BooleanField(_("back-filled (补传)"), null=True, blank=True)
    sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    acked_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    receipt_id = models.CharField(_("platform receipt"), max_length=100, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            # what the workers scan: only pending rows, in sequence order (acked rows never slow a claim)
            models.Index(fields=["platform", "id"], name="uplink_outbox_pending",
                         condition=models.Q(state__in=["queued", "sending"])),
            models.Index(fields=["platform", "produced_at"], name="uplink_outbox_produced"),
            models.Index(fields=["record_table", "record_id"], name="uplink_outbox_record"),
        ]
        verbose_name = _("outbox item")
        verbose_name_plural = _("outbox items")

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {self.record_id} → {self.platform_id}"

    @property
    def platform_record_id(self):
        """The id the platform deduplicates on: the record's own id (+ version for registry changes)."""
        return f"{self.record_id}@{self.record_version}" if self.record_version else self.record_id


class Outcome(models.TextChoices):
    ACKED = "acked", _("Acknowledged")
    DUPLICATE = "duplicate", _("Already there (acknowledged again)")
    REJECTED = "rejected", _("Rejected by the platform")
    TRANSIENT = "transient", _("Failed, will retry")
    AUTH = "auth", _("Token or signature refused")


class DeliveryAttempt(models.Model):
    """One request to a platform: an item's delivery or a heartbeat, and what came back."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="attempts")
    item = models.ForeignKey(OutboxItem, on_delete=models.CASCADE, null=True, blank=True, related_name="attempt_log")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    worker = models.CharField(_("worker"), max_length=100, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")


class Circuit(models.TextChoices):
    CLOSED = "closed", _("Closed (sending)")
    OPEN = "open", _("Open (waiting after failures)")
    HALF_OPEN = "half_open", _("Half-open (probing)")


class CircuitState(models.Model):
    """The circuit breaker and liveness of one platform, shared by every worker."""

    platform = models.OneToOneField(Platform, on_delete=models.CASCADE, primary_key=True, related_name="circuit")
    state = models.CharField(_("circuit"), max_length=10, choices=Circuit.choices, default=Circuit.CLOSED)
    failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    open_until = models.DateTimeField(_("next probe at"), null=True, blank=True)
    outage_started_at = models.DateTimeField(_("outage since"), null=True, blank=True)
    last_outage_start = models.DateTimeField(_("last outage from"), null=True, blank=True)
    last_outage_end = models.DateTimeField(_("last outage until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(_("last heartbeat sent"), null=True, blank=True)
    heartbeat_ok = models.BooleanField(_("last heartbeat acknowledged"), null=True, blank=True)
    last_pull_at = models.DateTimeField(_("last instruction pull"), null=True, blank=True)
    last_alarm_check_at = models.DateTimeField(null=True, blank=True)
    rate_alarm_at = models.DateTimeField(_("last upload-rate alarm"), null=True, blank=True)
    backlog_alarm_at = models.DateTimeField(_("last backlog alarm"), null=True, blank=True)

    class Meta:
        verbose_name = _("circuit state")
        verbose_name_plural = _("circuit states")


class UplinkReceipt(SealedModel):
    """回执: the platform acknowledged one record (sealed; a re-upload's receipt is a new row)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="receipts")
    item_id = models.BigIntegerField(_("outbox item"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    record_table = models.CharField(_("record table"), max_length=100)
    record_id = models.CharField(_("record id"), max_length=64)
    record_version = models.CharField(_("record version"), max_length=40, blank=True)
    receipt_id = models.CharField(_("platform receipt"), max_length=100)
    duplicate = models.BooleanField(_("platform had it already"), default=False)
    backfilled = models.BooleanField(_("back-filled (补传)"), default=False)
    payload_sha256 = models.CharField(_("SHA-256 of the body sent"), max_length=64)
    occurred_at = models.DateTimeField(_("acknowledged at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = _("uplink receipt")
        verbose_name_plural = _("uplink receipts")


class InboundInstruction(SealedModel):
    """管控指令: a control measure from the regulator, as received (pulled or pushed), sealed.

    ``alert_period_id``, ``acknowledged_at``, ``ack_error`` record what was done with it (derived).
    """

    evidence_derived_fields = ("alert_period_id", "acknowledged_at", "ack_error", "apply_error")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    platform = models.ForeignKey(Platform, on_delete=models.PROTECT, related_name="instructions")
    regulator_id = models.CharField(_("regulator's id"), max_length=100)
    channel = models.CharField(_("received by"), max_length=10, choices=[("pull", _("Pulled")), ("push", _("Pushed"))])
    warning_level = models.CharField(_("warning level"), max_length=20, blank=True)
    response_level = models.CharField(_("response level"), max_length=20, blank=True)
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    measures_text = models.TextField(_("control measures"), blank=True)
    raw = models.JSONField(_("as received"), default=dict)
    occurred_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("received at"), default=timezone.now)
    alert_period_id = models.UUIDField(_("alert period"), null=True, blank=True)
    apply_error = models.TextField(_("could not apply"), blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    ack_error = models.TextField(_("acknowledgement error"), blank=True)

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [models.UniqueConstraint(fields=["platform", "regulator_id"], name="uplink_instruction_once")]
        verbose_name = _("regulator instruction")
        verbose_name_plural = _("regulator instructions")
