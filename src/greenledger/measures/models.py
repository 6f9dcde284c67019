"""Measure ledger (措施执行台账): the catalogue of safety and emission-reduction measures and the
append-only records of their execution.

Catalogue (master data, audited): Measure, MeasureParameter, ChecklistTemplate/ChecklistItem,
Shift, ContractorAssignment, SavedView.

Ledger (append-only, sealed in the evidence log): ExecutionRecord, HourlyStatus, Anomaly,
AnomalyEvent, LateEntryDecision, ContractorConfirmation, MissedExecution. A ledger row may carry
*derived* columns (listed in ``evidence_derived_fields``): state computed from later sealed rows
(a late entry's approval, a correction that supersedes it, the search text), kept on the row so
queries stay fast. They are not part of the seal and can be rebuilt from the sealed rows.

Workflow (mutable): DueExecution (a scheduled execution and its reminders), ReviewFlag.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Equipment, Person, Site, Workshop
from greenledger.evidence.models import SealedModel


class MeasureType(models.TextChoices):
    EQUIPMENT = "equipment", _("Equipment (设备类)")
    OPERATION = "operation", _("Operation (操作类)")
    INSPECTION = "inspection", _("Inspection (检测类)")


class Purpose(models.TextChoices):
    REDUCTION = "reduction", _("Emission reduction")
    SAFETY = "safety", _("Safety")
    BOTH = "both", _("Reduction and safety")


class ScheduleKind(models.TextChoices):
    CONTINUOUS = "continuous", _("Continuous (hourly status)")
    EVERY_N_HOURS = "every_n_hours", _("Every N hours")
    PER_SHIFT = "per_shift", _("Every shift")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    PER_BATCH = "per_batch", _("Every batch")
    ON_EVENT = "on_event", _("On event")


SCHEDULED_KINDS = {ScheduleKind.EVERY_N_HOURS, ScheduleKind.PER_SHIFT, ScheduleKind.DAILY, ScheduleKind.WEEKLY}


class ChecklistTemplate(models.Model):
    """检查表模板: ticked items and steps for complex measures (drills, safety inspections)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="checklists")
    name = models.CharField(_("name"), max_length=200)
    needs_participants = models.BooleanField(_("participants recorded"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")

    def __str__(self):
        return self.name


class ChecklistItem(models.Model):
    class Kind(models.TextChoices):
        ITEM = "item", _("Item to tick")
        STEP = "step", _("Step")

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ITEM)
    text = models.CharField(_("text"), max_length=300)

    class Meta:
        ordering = ["template", "order"]


class Measure(models.Model):
    """措施: one safety and/or emission-reduction measure at a production stage."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="measures", verbose_name=_("site"))
    stage = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="measures",
                              verbose_name=_("production stage"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    measure_type = models.CharField(_("measure type"), max_length=20, choices=MeasureType.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    reduction_target = models.CharField(_("reduction target"), max_length=100, blank=True,
                                        help_text=_("e.g. −5 % CO2"))
    safety_target = models.CharField(_("safety target"), max_length=100, blank=True,
                                     help_text=_("e.g. zero leaks"))
    reduction_link = models.TextField(_("reduction link"), blank=True, help_text=_("What emissions it cuts"))
    safety_link = models.TextField(_("safety link"), blank=True, help_text=_("What risk it prevents"))
    responsible_role = models.CharField(_("responsible role"), max_length=40, blank=True)
    responsible = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="measures",
                                    verbose_name=_("responsible person"))
    equipment = models.ForeignKey(Equipment, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="measures", verbose_name=_("equipment"))
    tag_id = models.CharField(_("NFC/QR tag"), max_length=100, blank=True,
                              help_text=_("Empty: the equipment's tag"))
    schedule = models.CharField(_("schedule"), max_length=20, choices=ScheduleKind.choices)
    interval_hours = models.PositiveSmallIntegerField(_("every N hours"), null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(_("weekday (weekly)"), null=True, blank=True,
                                               help_text=_("0 = Monday"))
    due_time = models.TimeField(_("due time (daily/weekly)"), null=True, blank=True)
    grace_minutes = models.PositiveIntegerField(_("grace window (minutes)"), default=60)
    escalate_after_minutes = models.PositiveIntegerField(_("escalate after (minutes)"), default=15)
    photo_required = models.BooleanField(_("photo required"), default=False)
    checklist = models.ForeignKey(ChecklistTemplate, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="measures", verbose_name=_("checklist"))
    active = models.BooleanField(_("active"), default=True)
    started_on = models.DateField(_("in force since"), null=True, blank=True)

    class Meta:
        ordering = ["site", "stage__sequence", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="measures_measure_unique_code")]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        permissions = [
            ("record_measure", _("Can record measure executions")),
            ("approve_late_entry", _("Can approve late entries and maintenance")),
            ("confirm_contractor_work", _("Can confirm contractor work")),
            ("handle_anomaly", _("Can handle anomalies")),
            ("view_compliance", _("Can view measure dashboards and compliance reports")),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def responsible_role_label(self):
        from greenledger.core.roles import role_label

        return role_label(self.responsible_role) if self.responsible_role else ""

    @property
    def effective_tag(self):
        return self.tag_id or (self.equipment.tag_id if self.equipment_id else "") or ""

    @property
    def is_simple(self):
        """One-tap completion: no manual parameter required, no photo, no checklist."""
        return not self.photo_required and self.checklist_id is None and not any(
            p.required and p.source == ParameterSource.MANUAL for p in self.parameters.all()
        )


class ValueType(models.TextChoices):
    NUMBER = "number", _("Number")
    BOOLEAN = "boolean", _("Yes/no")
    TEXT = "text", _("Text")


class ParameterSource(models.TextChoices):
    MANUAL = "manual", _("Typed in")
    TELEMETRY = "telemetry", _("Telemetry point")


class MeasureParameter(models.Model):
    """A key parameter recorded with each execution (e.g. waste-heat temperature, seal pass rate)."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="parameters",
                                verbose_name=_("measure"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    value_type = models.CharField(_("type"), max_length=10, choices=ValueType.choices, default=ValueType.NUMBER)
    min_value = models.DecimalField(_("minimum"), max_digits=14, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=14, decimal_places=4, null=True, blank=True)
    required = models.BooleanField(_("required"), default=True)
    source = models.CharField(_("source"), max_length=10, choices=ParameterSource.choices,
                              default=ParameterSource.MANUAL)
    telemetry_point = models.CharField(_("telemetry point code"), max_length=100, blank=True)

    class Meta:
        ordering = ["measure", "order"]
        constraints = [models.UniqueConstraint(fields=["measure", "code"], name="measures_param_unique_code")]
        verbose_name = _("measure parameter")
        verbose_name_plural = _("measure parameters")

    def __str__(self):
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def in_range(self, value):
        if self.value_type != ValueType.NUMBER or value is None:
            return True
        if self.min_value is not None and value < float(self.min_value):
            return False
        if self.max_value is not None and value > float(self.max_value):
            return False
        return True


class Shift(models.Model):
    """班次: used by per-shift schedules and shown on records."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="shifts")
    name = models.CharField(_("name"), max_length=50)
    start = models.TimeField(_("start"))
    hours = models.PositiveSmallIntegerField(_("hours"), default=8)

    class Meta:
        ordering = ["site", "start"]

    def __str__(self):
        return self.name


class ContractorAssignment(models.Model):
    """外包授权: a contractor account may record only these measures, only inside the window."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contractor_assignments",
                             verbose_name=_("contractor account"))
    measures = models.ManyToManyField(Measure, related_name="contractor_assignments", verbose_name=_("measures"))
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"))
    company_contact = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="contractor_contacts",
                                        verbose_name=_("company contact"))
    work_description = models.CharField(_("work"), max_length=300, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("contractor assignment")
        verbose_name_plural = _("contractor assignments")

    def __str__(self):
        return f"{self.user.get_username()} {self.valid_from:%Y-%m-%d}–{self.valid_to:%Y-%m-%d}"

    def is_valid_at(self, moment):
        return self.valid_from <= moment <= self.valid_to


# Ledger ---------------------------------------------------------------------------------------


class RecordSource(models.TextChoices):
    WEB = "web", _("Web form")
    ONE_TAP = "one_tap", _("One-tap completion")
    OFFLINE = "offline", _("Phone (synced later)")
    API = "api", _("API / terminal")
    IMPORT = "import", _("Import")


class ApprovalState(models.TextChoices):
    NOT_NEEDED = "none", _("Not needed")
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ExecutionRecord(SealedModel):
    """执行记录: one execution of a measure, with who, when, parameters and evidence."""

    evidence_derived_fields = ("late_state", "confirmation_state", "superseded", "has_anomaly", "search_text",
                               "search_bigrams")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False,
                          help_text=_("Generated by the client, so a record sent twice is stored once"))
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="records")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(_("executed at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    entered_at = models.DateTimeField(_("entered on the device at"), null=True, blank=True,
                                      help_text=_("When an offline phone saved it; empty for online entry"))
    executor = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="executions",
                                 verbose_name=_("executor"))
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   related_name="+", verbose_name=_("entered by"))
    equipment = models.ForeignKey(Equipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    tag_scanned = models.CharField(_("tag scanned"), max_length=100, blank=True)
    values = models.JSONField(_("parameter values"), default=dict, blank=True)
    compliant = models.BooleanField(_("complies / within range"), null=True,
                                    help_text=_("Operation: done as the procedure says; inspection: within range"))
    checklist = models.JSONField(_("checklist"), default=dict, blank=True,
                                 help_text=_("ticked item ids, participants"))
    remarks = models.TextField(_("remarks"), blank=True)
    batch_no = models.CharField(_("production batch"), max_length=60, blank=True, db_index=True)
    outsourced = models.BooleanField(_("outsourced"), default=False)
    source = models.CharField(_("source"), max_length=10, choices=RecordSource.choices, default=RecordSource.WEB)
    is_late = models.BooleanField(_("late entry (非实时)"), default=False)
    late_reason = models.TextField(_("late-entry reason"), blank=True)
    confirmed_warnings = models.JSONField(_("warnings confirmed at entry"), default=list, blank=True)
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="corrections", verbose_name=_("corrects record"))
    correction_reason = models.TextField(_("correction reason"), blank=True)
    # derived (not sealed): see module docstring
    late_state = models.CharField(max_length=10, choices=ApprovalState.choices, default=ApprovalState.NOT_NEEDED)
    confirmation_state = models.CharField(max_length=10, choices=ApprovalState.choices,
                                          default=ApprovalState.NOT_NEEDED)
    superseded = models.BooleanField(default=False)
    has_anomaly = models.BooleanField(default=False)
    search_text = models.TextField(default="", blank=True)
    # the distinct two-character pieces of search_text: a two-character word (封装, 异常) yields no
    # trigram, so on PostgreSQL an array index over these serves such searches
    search_bigrams = models.TextField(default="", blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["site", "occurred_at"], name="measures_rec_site_time"),
            models.Index(fields=["measure", "occurred_at"], name="measures_rec_measure_time"),
            models.Index(fields=["stage", "occurred_at"], name="measures_rec_stage_time"),
            models.Index(fields=["executor", "occurred_at"], name="measures_rec_executor_time"),
            # batch lookups are case-insensitive: index the upper-cased number (bench: 589 → 15 ms at 2 M rows)
            models.Index(Upper("batch_no"), name="measures_rec_batch_upper"),
            # "anomaly / late / outsourced only" filters read a small slice of a year: partial indexes
            models.Index(fields=["occurred_at", "site", "has_anomaly"], condition=Q(has_anomaly=True),
                         name="measures_rec_anomaly_time"),
            models.Index(fields=["occurred_at", "site", "is_late"], condition=Q(is_late=True),
                         name="measures_rec_late_time"),
            models.Index(fields=["occurred_at", "site", "outsourced"], condition=Q(outsourced=True),
                         name="measures_rec_outsourced_time"),
        ]
        verbose_name = _("execution record")
        verbose_name_plural = _("execution records")

    def __str__(self):
        return f"{self.measure.name} @ {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"

    @property
    def values_display(self):
        """Parameter values with names and units, e.g. "检测合格率 99.2 %；检测压力 101 kPa"."""
        params = {p.code: p for p in self.measure.parameters.all()}
        parts = []
        for code, value in self.values.items():
            param = params.get(code)
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            parts.append(f"{param.name if param else code} {shown}{(' ' + param.unit) if param and param.unit else ''}")
        return "；".join(parts)

    @property
    def counts(self):
        """Whether the record counts towards compliance now."""
        return (not self.superseded and self.late_state in (ApprovalState.NOT_NEEDED, ApprovalState.APPROVED)
                and self.confirmation_state != ApprovalState.REJECTED)


class EquipmentStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")
    MAINTENANCE = "maintenance", _("Maintenance")


class HourlyStatus(SealedModel):
    """小时运行状态 of a continuous measure; maintenance needs a shift leader's approval."""

    evidence_derived_fields = ("approval_state", "superseded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="hourly")
    hour = models.DateTimeField(_("hour starting"), db_index=True)
    status = models.CharField(_("status"), max_length=12, choices=EquipmentStatus.choices)
    source = models.CharField(_("source"), max_length=10, default="manual")
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    approval_state = models.CharField(max_length=10, choices=ApprovalState.choices, default=ApprovalState.NOT_NEEDED)
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["measure", "hour"]
        indexes = [models.Index(fields=["measure", "hour"], name="measures_hourly_measure_hour")]
        verbose_name = _("hourly status")
        verbose_name_plural = _("hourly status")


class AnomalyState(models.TextChoices):
    OPEN = "open", _("Open")
    HANDLING = "handling", _("Being handled")
    CLOSED = "closed", _("Closed")


class Anomaly(SealedModel):
    """异常: what went wrong while a measure ran, its handling and its cost in emissions."""

    evidence_derived_fields = ("state", "resolved_at", "closed_at", "result", "corrective_action", "owner",
                               "search_text")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="anomalies",
                                verbose_name=_("measure"))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(ExecutionRecord, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="anomalies", verbose_name=_("execution record"))
    equipment = models.ForeignKey(Equipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    batch_no = models.CharField(_("production batch"), max_length=60, blank=True, db_index=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    symptom = models.TextField(_("symptom"))
    immediate_handling = models.TextField(_("immediate handling"), blank=True)
    safety_impact = models.TextField(_("safety impact"), blank=True)
    extra_quantity = models.DecimalField(_("extra consumption"), max_digits=14, decimal_places=3, null=True,
                                         blank=True, help_text=_("e.g. 50 (m³ of natural gas)"))
    extra_unit = models.CharField(_("unit"), max_length=20, blank=True)
    extra_activity = models.CharField(_("what was consumed"), max_length=60, blank=True,
                                      help_text=_("e.g. natural gas, electricity"))
    extra_co2_kg = models.DecimalField(_("extra emissions (kg CO2)"), max_digits=14, decimal_places=3, null=True,
                                       blank=True)
    extra_co2_basis = models.CharField(_("how the extra emissions were computed"), max_length=200, blank=True)
    deadline = models.DateTimeField(_("close by"), null=True, blank=True)
    # derived from AnomalyEvent rows
    state = models.CharField(_("state"), max_length=10, choices=AnomalyState.choices, default=AnomalyState.OPEN)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    result = models.TextField(_("result"), blank=True)
    corrective_action = models.TextField(_("corrective action"), blank=True)
    owner = models.ForeignKey(Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              verbose_name=_("owner"))
    search_text = models.TextField(default="", blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(Upper("batch_no"), name="measures_anom_batch_upper")]
        verbose_name = _("anomaly")
        verbose_name_plural = _("anomalies")

    def __str__(self):
        return f"{self.measure.name}: {self.symptom[:40]}"


class AnomalyEvent(SealedModel):
    """One step in an anomaly's life: handling started, progress, corrective action, closed."""

    class Kind(models.TextChoices):
        HANDLING = "handling", _("Handling started")
        UPDATE = "update", _("Progress")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    anomaly = models.ForeignKey(Anomaly, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    text = models.TextField(blank=True)
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    corrective_action = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["anomaly", "at"]


class LateEntryDecision(SealedModel):
    """A shift leader's approval or rejection of a late entry or a maintenance hour."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    record = models.ForeignKey(ExecutionRecord, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="late_decisions")
    hourly = models.ForeignKey(HourlyStatus, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="decisions")
    approved = models.BooleanField()
    comment = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)


class ContractorConfirmation(SealedModel):
    """The company contact's online confirmation (or rejection) of a contractor's record."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    record = models.ForeignKey(ExecutionRecord, on_delete=models.PROTECT, related_name="contractor_confirmations")
    confirmed = models.BooleanField()
    comment = models.TextField(blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)


class MissedExecution(SealedModel):
    """漏执行: a scheduled execution whose window closed with no record."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="misses")
    due_at = models.DateTimeField(db_index=True)
    window_end = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["measure", "due_at"], name="measures_miss_once")]


# Workflow -------------------------------------------------------------------------------------


class DueExecution(models.Model):
    """A scheduled execution: due time, its window, reminders sent, and how it ended."""

    class State(models.TextChoices):
        PENDING = "pending", _("Due")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="due")
    due_at = models.DateTimeField(db_index=True)
    window_end = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    record = models.ForeignKey(ExecutionRecord, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    leader_escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["measure", "due_at"], name="measures_due_once")]
        indexes = [models.Index(fields=["state", "due_at"], name="measures_due_state_time")]


class ReviewFlag(models.Model):
    """请确认 / 现场复核: a plausibility finding that a person must look at."""

    class Kind(models.TextChoices):
        OUT_OF_RANGE = "out_of_range", _("Value outside its range")
        SENSOR_CONTRADICTION = "sensor", _("Contradicts sensor data")
        EMISSION_REVIEW = "emission", _("No anomaly recorded while emissions were abnormal")

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="review_flags")
    record = models.ForeignKey(ExecutionRecord, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="review_flags")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]


class SavedView(models.Model):
    """A saved query of the record list (shared when ``user`` is empty)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+")
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("query"), max_length=1000)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
