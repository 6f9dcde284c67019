"""Gate e-ledger (环保门禁电子台账, HJ 1321-2023): registries, policies, gates and the passage ledger.

Master data (audited with django-auditlog, edited in place):

- ``Carrier`` 承运单位/车队, ``Vehicle`` 进出厂运输车辆, ``InPlantVehicle`` 厂内运输车辆, ``Machine``
  非道路移动机械 — the three registries, each reviewed by the environmental manager;
- ``ListEntry`` whitelist / blacklist / the regulator's over-emission list;
- ``GateSettings`` a site's performance grade and the rule set in force; ``RuleSet`` and ``Rule``:
  grade × alert level × vehicle class × fuel × stage × direction → pass / block / manual check;
- ``Gate`` 出入口, ``Lane`` 车道 with its barrier and display, ``Camera``.

Ledger records (sealed into the evidence log, append-only; kept at least 24 months):

- ``AlertPeriod`` a heavy-pollution-weather alert level in force from–to (manual or regulator);
- ``CameraEvent`` every push exactly as received (stored once per camera event key);
- ``Passage`` 进出厂记录: one entry or exit, with the ledger fields copied from the registry at that
  moment, the decision and its reason;
- ``PassageAction`` manual release / manual block / cargo entry by a guard, with a reason;
- ``UsageRecord`` use of an in-plant vehicle or a machine; ``TransportRecord`` tonnes moved by mode
  (rail, water, pipeline, belt, NEV road, road) for the clean-transport share.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Site, Workshop
from greenledger.evidence.models import SealedModel

from .codes import (
    AlertLevel, Decision, Direction, EmissionStage, Fuel, NetworkStatus, PerformanceGrade, PlateColor,
    RegistrationSource, RegistrationState, VehicleCategory, VehicleClass,
)

RETENTION_MONTHS = 24


class Carrier(models.Model):
    """承运单位/车队: a transport company or fleet whose vehicles come to the site."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="carriers", verbose_name=_("site"))
    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    contact = models.CharField(_("contact person"), max_length=100, blank=True)
    phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    registration_key = models.UUIDField(
        _("self-registration key"), default=uuid.uuid4, unique=True, editable=False,
        help_text=_("Part of the link/QR code the carrier uses to register its own vehicles"))
    registration_open = models.BooleanField(_("self-registration open"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="gate_carrier_site_name")]
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("gate:carrier_detail", args=[self.pk])


class RegistryEntry(models.Model):
    """Fields shared by the three registries: engine, fuel, stage, owner, review state, evidence photos."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    engine_model = models.CharField(_("engine model"), max_length=60, blank=True)
    engine_maker = models.CharField(_("engine manufacturer"), max_length=120, blank=True)
    engine_no = models.CharField(_("engine number"), max_length=60, blank=True)
    fuel = models.CharField(_("fuel"), max_length=10, choices=Fuel.choices, default=Fuel.DIESEL)
    stage = models.CharField(_("emission stage"), max_length=8, choices=EmissionStage.choices,
                             default=EmissionStage.UNKNOWN)
    owner = models.CharField(_("registered owner"), max_length=200, blank=True)
    network_status = models.CharField(_("networking (OBD) status"), max_length=10, choices=NetworkStatus.choices,
                                      default=NetworkStatus.UNKNOWN)
    state = models.CharField(_("review state"), max_length=10, choices=RegistrationState.choices,
                             default=RegistrationState.PENDING)
    source = models.CharField(_("registered by"), max_length=10, choices=RegistrationSource.choices,
                              default=RegistrationSource.OFFICE)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=300, blank=True)
    remarks = models.TextField(_("remarks"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True

    detail_url_name = ""  # the registry's detail page

    @property
    def approved(self):
        return self.state == RegistrationState.APPROVED

    def get_absolute_url(self):
        return reverse(self.detail_url_name, args=[self.pk])


class Vehicle(RegistryEntry):
    """进出厂运输车辆: a road vehicle that enters or leaves the site."""

    detail_url_name = "gate:vehicle_detail"

    plate = models.CharField(_("plate number"), max_length=12, db_index=True)
    plate_color = models.CharField(_("plate colour"), max_length=12, choices=PlateColor.choices,
                                   default=PlateColor.YELLOW)
    trailer_plate = models.CharField(_("trailer plate"), max_length=12, blank=True)
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    vehicle_type = models.CharField(_("vehicle type"), max_length=60, blank=True,
                                    help_text=_("As on the registration certificate, e.g. 重型半挂牵引车"))
    category = models.CharField(_("category (GB/T 15089)"), max_length=6, choices=VehicleCategory.choices,
                                default=VehicleCategory.N3)
    vehicle_class = models.CharField(_("policy class"), max_length=12, choices=VehicleClass.choices,
                                     default=VehicleClass.HEAVY_TRUCK)
    brand_model = models.CharField(_("brand and model"), max_length=120, blank=True)
    registration_date = models.DateField(_("registration date"), null=True, blank=True)
    use_nature = models.CharField(_("use (使用性质)"), max_length=40, blank=True)
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, null=True, blank=True, related_name="vehicles",
                                verbose_name=_("carrier / fleet"))
    gross_mass_kg = models.PositiveIntegerField(_("gross mass (kg)"), null=True, blank=True)
    special_purpose = models.BooleanField(_("special vehicle (exempt)"), default=False,
                                          help_text=_("Fire, ambulance, sanitation and other exempt special vehicles"))
    hazmat = models.BooleanField(_("hazardous goods vehicle"), default=False)

    class Meta:
        ordering = ["plate"]
        constraints = [models.UniqueConstraint(fields=["site", "plate", "plate_color"], name="gate_vehicle_plate")]
        permissions = [("review_registration", _("Review vehicle and machine registrations"))]
        verbose_name = _("road vehicle")
        verbose_name_plural = _("road vehicles")

    def __str__(self):
        return self.plate


class InPlantVehicle(RegistryEntry):
    """厂内运输车辆: a vehicle that works inside the site (with 环保登记编码)."""

    detail_url_name = "gate:inplant_detail"

    registration_code = models.CharField(_("environmental registration code"), max_length=50)
    plate = models.CharField(_("plate number"), max_length=12, blank=True, db_index=True)
    plate_color = models.CharField(_("plate colour"), max_length=12, choices=PlateColor.choices, blank=True)
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    brand_model = models.CharField(_("brand and model"), max_length=120, blank=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    registration_date = models.DateField(_("registration date"), null=True, blank=True)

    class Meta:
        ordering = ["registration_code"]
        constraints = [models.UniqueConstraint(fields=["site", "registration_code"], name="gate_inplant_code")]
        verbose_name = _("in-plant vehicle")
        verbose_name_plural = _("in-plant vehicles")

    def __str__(self):
        return self.plate or self.registration_code


class Machine(RegistryEntry):
    """非道路移动机械: non-road mobile machinery (forklift, loader, excavator…)."""

    detail_url_name = "gate:machine_detail"

    registration_code = models.CharField(_("environmental registration code"), max_length=50)
    machine_code = models.CharField(_("machine environmental code (PIN)"), max_length=17, blank=True,
                                    help_text=_("17 characters, stamped on the machine"))
    machine_type = models.CharField(_("machine type"), max_length=60)
    model = models.CharField(_("machine model"), max_length=120, blank=True)
    maker = models.CharField(_("machine manufacturer"), max_length=120, blank=True)
    rated_power_kw = models.DecimalField(_("rated power (kW)"), max_digits=8, decimal_places=1, null=True, blank=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    plate = models.CharField(_("plate number"), max_length=12, blank=True, db_index=True)
    disclosure_no = models.CharField(_("information disclosure number"), max_length=30, blank=True)

    class Meta:
        ordering = ["registration_code"]
        constraints = [models.UniqueConstraint(fields=["site", "registration_code"], name="gate_machine_code")]
        verbose_name = _("non-road machine")
        verbose_name_plural = _("non-road machines")

    def __str__(self):
        return f"{self.machine_type} {self.registration_code}"


class ListKind(models.TextChoices):
    WHITELIST = "white", _("Whitelist")
    BLACKLIST = "black", _("Blacklist")
    OVER_EMISSION = "over_emission", _("Regulator's over-emission list")


class ListEntry(models.Model):
    """A plate on the whitelist, the blacklist or the regulator's over-emission list, for a period."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    kind = models.CharField(_("list"), max_length=16, choices=ListKind.choices)
    plate = models.CharField(_("plate number"), max_length=12, db_index=True)
    plate_color = models.CharField(_("plate colour"), max_length=12, choices=PlateColor.choices, blank=True,
                                   help_text=_("Empty: any colour"))
    reason = models.CharField(_("reason"), max_length=300)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True, help_text=_("Empty: no expiry"))
    source = models.CharField(_("source"), max_length=100, blank=True, help_text=_("e.g. the regulator's notice"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["kind", "plate"]
        verbose_name = _("list entry")
        verbose_name_plural = _("list entries")

    def __str__(self):
        return f"{self.get_kind_display()} {self.plate}"


class RuleSet(models.Model):
    """A named, editable set of admission rules with its source (e.g. a city's heavy-pollution plan)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    source = models.CharField(_("source"), max_length=300, blank=True,
                              help_text=_("The document the rules come from"))
    description = models.TextField(_("description"), blank=True)
    default_action = models.CharField(_("when no rule matches"), max_length=8, choices=Decision.choices,
                                      default=Decision.PASS)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")

    def __str__(self):
        return self.name


class Rule(models.Model):
    """One row of the admission matrix; the first matching rule (lowest ``priority``) decides.

    Each list field holds the codes it applies to; an empty list means "any". ``stage_max`` is
    "this stage or below" for combustion stages (electric never matches it).
    """

    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    priority = models.PositiveIntegerField(_("priority"), default=100, help_text=_("Lower is checked first"))
    grades = models.JSONField(_("performance grades"), default=list, blank=True)
    alert_levels = models.JSONField(_("alert levels"), default=list, blank=True)
    vehicle_classes = models.JSONField(_("vehicle classes"), default=list, blank=True)
    fuels = models.JSONField(_("fuels"), default=list, blank=True)
    stages = models.JSONField(_("emission stages"), default=list, blank=True)
    stage_max = models.CharField(_("stage or below"), max_length=8, choices=EmissionStage.choices, blank=True)
    directions = models.JSONField(_("directions"), default=list, blank=True)
    special_purpose = models.BooleanField(_("special vehicles only"), null=True, blank=True)
    hazmat = models.BooleanField(_("hazardous goods vehicles only"), null=True, blank=True)
    cargo_keywords = models.CharField(_("cargo contains"), max_length=200, blank=True,
                                      help_text=_("Comma-separated; empty: any cargo"))
    action = models.CharField(_("action"), max_length=8, choices=Decision.choices)
    reason = models.CharField(_("reason shown"), max_length=300)

    class Meta:
        ordering = ["rule_set", "priority", "id"]
        verbose_name = _("rule")
        verbose_name_plural = _("rules")

    def __str__(self):
        return f"{self.priority}: {self.get_action_display()} — {self.reason}"


class GateSettings(models.Model):
    """A site's performance grade, rule set in force and display texts."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, related_name="gate_settings",
                                verbose_name=_("site"))
    grade = models.CharField(_("performance grade"), max_length=8, choices=PerformanceGrade.choices,
                             default=PerformanceGrade.B)
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("rule set in force"))
    unknown_vehicle_action = models.CharField(_("unregistered vehicles"), max_length=8, choices=Decision.choices,
                                              default=Decision.MANUAL)
    pending_vehicle_action = models.CharField(_("vehicles waiting for review"), max_length=8,
                                              choices=Decision.choices, default=Decision.MANUAL)
    min_confidence = models.PositiveSmallIntegerField(_("minimum plate confidence"), default=80,
                                                      help_text=_("Below it the passage goes to manual check"))

    class Meta:
        verbose_name = _("gate settings")
        verbose_name_plural = _("gate settings")

    def __str__(self):
        return str(self.site)


class Gate(models.Model):
    """出入口: an entrance/exit of the site."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="gates", verbose_name=_("site"))
    code = models.SlugField(_("code"), max_length=40, help_text=_("出入口编号 as reported to the regulator"))
    name = models.CharField(_("name"), max_length=100)
    location = models.CharField(_("location"), max_length=200, blank=True)

    class Meta:
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="gate_gate_site_code")]
        verbose_name = _("gate")
        verbose_name_plural = _("gates")

    def __str__(self):
        return self.name


class BarrierKind(models.TextChoices):
    CAMERA_RELAY = "relay", _("Camera relay (opened by the reply to the push)")
    HIKVISION = "hikvision", _("Hikvision ISAPI barrierGate command")
    NONE = "none", _("No barrier / opened by hand")


class Lane(models.Model):
    """车道: one lane of a gate, with its direction, barrier and LED/voice display."""

    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="lanes", verbose_name=_("gate"))
    code = models.SlugField(_("code"), max_length=40, help_text=_("道闸编号"))
    name = models.CharField(_("name"), max_length=100)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    barrier = models.CharField(_("barrier"), max_length=10, choices=BarrierKind.choices,
                               default=BarrierKind.CAMERA_RELAY)
    barrier_url = models.URLField(_("barrier controller address"), blank=True,
                                  help_text=_("Hikvision: http://<camera>/ISAPI/Parking/channels/1/barrierGate"))
    barrier_username = models.CharField(_("barrier user name"), max_length=60, blank=True)
    barrier_secret_env = models.CharField(
        _("barrier password variable"), max_length=60, blank=True,
        help_text=_("Name of the environment variable holding the password; passwords are never stored"))
    has_display = models.BooleanField(_("LED/voice display"), default=True)

    class Meta:
        ordering = ["gate", "code"]
        constraints = [models.UniqueConstraint(fields=["gate", "code"], name="gate_lane_gate_code")]
        verbose_name = _("lane")
        verbose_name_plural = _("lanes")

    def __str__(self):
        return f"{self.gate.name} {self.name}"


class CameraProtocol(models.TextChoices):
    ZHENSHI = "zhenshi", _("Zhenshi / Vzenith IVS JSON push")
    HIKVISION = "hikvision", _("Hikvision ISAPI ANPR push")
    GENERIC = "generic", _("GreenLedger generic JSON")


class Camera(models.Model):
    """A plate-recognition camera on a lane; it pushes to /api/gate/cameras/<code>/events."""

    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="cameras", verbose_name=_("lane"))
    code = models.SlugField(_("code"), max_length=60, unique=True)
    protocol = models.CharField(_("protocol"), max_length=10, choices=CameraProtocol.choices)
    serial_no = models.CharField(_("serial number"), max_length=60, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last push"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")

    def __str__(self):
        return self.code

    @property
    def site(self):
        return self.lane.gate.site


# ---------------------------------------------------------------- ledger records (sealed)


class AlertSource(models.TextChoices):
    MANUAL = "manual", _("Set by the environmental manager")
    REGULATOR = "regulator", _("Instruction from the regulator")


class AlertPeriod(SealedModel):
    """A heavy-pollution-weather alert level in force at a site from ``starts_at`` to ``ends_at``.

    The level at a moment is that of the latest-starting period covering it; ending an alert early is
    a new period with level "none". Never edited: the history of switches is the ledger.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    level = models.CharField(_("alert level"), max_length=8, choices=AlertLevel.choices)
    starts_at = models.DateTimeField(_("from"), db_index=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Empty: until further notice"))
    source = models.CharField(_("source"), max_length=10, choices=AlertSource.choices, default=AlertSource.MANUAL)
    reason = models.CharField(_("reason"), max_length=300)
    measures_text = models.TextField(_("control measures"), blank=True,
                                     help_text=_("e.g. 禁止国四及以下柴油重型货车进出"))
    regulator_ref = models.CharField(_("regulator reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("set by"))
    occurred_at = models.DateTimeField(_("decided at"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-recorded_at"]
        verbose_name = _("alert period")
        verbose_name_plural = _("alert periods")

    def __str__(self):
        return f"{self.get_level_display()} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"


class ParseState(models.TextChoices):
    PARSED = "parsed", _("Parsed")
    FAILED = "failed", _("Could not be parsed")
    HEARTBEAT = "heartbeat", _("Heartbeat")


class CameraEvent(SealedModel):
    """A camera push exactly as received; the same event pushed again is stored once (``event_key``)."""

    evidence_derived_fields = ("passage_id",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, null=True, blank=True, related_name="events",
                               verbose_name=_("camera"))
    camera_code = models.CharField(_("camera code"), max_length=60, help_text=_("As in the URL, even if unknown"))
    protocol = models.CharField(_("protocol"), max_length=10, choices=CameraProtocol.choices)
    event_key = models.CharField(_("event key"), max_length=120,
                                 help_text=_("Camera serial + plate id (Zhenshi), camera + time + plate otherwise"))
    content_type = models.CharField(_("content type"), max_length=120, blank=True)
    body = models.BinaryField(_("raw body"))
    body_sha256 = models.CharField(max_length=64)
    state = models.CharField(_("state"), max_length=10, choices=ParseState.choices)
    error = models.TextField(_("parse error"), blank=True)
    offline_replay = models.BooleanField(_("replayed after an outage"), default=False)
    occurred_at = models.DateTimeField(_("captured at"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    passage_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [models.UniqueConstraint(fields=["camera_code", "event_key"], name="gate_event_once")]
        verbose_name = _("camera event")
        verbose_name_plural = _("camera events")


class VehicleKind(models.TextChoices):
    ROAD = "road", _("Road vehicle")
    IN_PLANT = "in_plant", _("In-plant vehicle")
    NRMM = "nrmm", _("Non-road machine")
    UNKNOWN = "unknown", _("Unregistered")


class Passage(SealedModel):
    """进出厂记录: one entry or exit through a lane, with the ledger fields as they were at that moment.

    The registry fields (VIN, engine, fuel, stage…) are copied, not linked only, so a later registry
    edit never changes what the ledger says about this passage. ``final_decision``, pairing and
    cargo are derived from later sealed rows (manual actions, the matching exit).
    """

    evidence_derived_fields = ("final_decision", "handled_by_id", "paired_id", "dwell_seconds", "cargo_name",
                               "cargo_weight_t", "barrier_opened")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="+", verbose_name=_("gate"))
    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="+", verbose_name=_("lane"))
    camera = models.ForeignKey(Camera, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("camera"))
    event = models.ForeignKey(CameraEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("camera event"))
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    occurred_at = models.DateTimeField(_("passed at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    plate = models.CharField(_("plate number"), max_length=12)
    plate_color = models.CharField(_("plate colour"), max_length=12, choices=PlateColor.choices)
    confidence = models.PositiveSmallIntegerField(_("recognition confidence"), null=True, blank=True)
    # registry snapshot
    vehicle_kind = models.CharField(_("registry"), max_length=10, choices=VehicleKind.choices)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, null=True, blank=True, related_name="passages")
    in_plant_vehicle = models.ForeignKey(InPlantVehicle, on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="passages")
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, null=True, blank=True, related_name="passages")
    vehicle_class = models.CharField(_("policy class"), max_length=12, choices=VehicleClass.choices)
    ledger = models.JSONField(_("ledger fields"), default=dict, blank=True,
                              help_text=_("VIN, type, engine, fuel, stage, carrier… as registered at that moment"))
    fuel = models.CharField(_("fuel"), max_length=10, choices=Fuel.choices, blank=True)
    stage = models.CharField(_("emission stage"), max_length=8, choices=EmissionStage.choices,
                             default=EmissionStage.UNKNOWN)
    carrier_name = models.CharField(_("carrier / fleet"), max_length=200, blank=True)
    # decision
    alert_level = models.CharField(_("alert level in force"), max_length=8, choices=AlertLevel.choices,
                                   default=AlertLevel.NONE)
    grade = models.CharField(_("performance grade"), max_length=8, choices=PerformanceGrade.choices, blank=True)
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    reason = models.CharField(_("reason"), max_length=300)
    rule_ref = models.CharField(_("rule applied"), max_length=200, blank=True)
    display_text = models.CharField(_("display text"), max_length=200, blank=True)
    # derived (not sealed): see the class docstring
    final_decision = models.CharField(_("final decision"), max_length=8, choices=Decision.choices)
    handled_by_id = models.IntegerField(null=True, blank=True)
    paired_id = models.UUIDField(_("paired entry/exit"), null=True, blank=True)
    dwell_seconds = models.PositiveIntegerField(_("dwell time (s)"), null=True, blank=True)
    cargo_name = models.CharField(_("cargo"), max_length=100, blank=True)
    cargo_weight_t = models.DecimalField(_("cargo weight (t)"), max_digits=10, decimal_places=3, null=True,
                                         blank=True)
    barrier_opened = models.BooleanField(_("barrier opened"), null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["site", "occurred_at"], name="gate_passage_site_time"),
            models.Index(fields=["plate", "occurred_at"], name="gate_passage_plate_time"),
            models.Index(fields=["lane", "occurred_at"], name="gate_passage_lane_time"),
        ]
        permissions = [
            ("operate_gate", _("Operate the gate console")),
            ("release_manually", _("Release or block a vehicle by hand")),
            ("view_gate_statistics", _("View gate statistics and reports")),
        ]
        verbose_name = _("passage")
        verbose_name_plural = _("passages")

    def __str__(self):
        return f"{self.plate} {self.get_direction_display()} {timezone.localtime(self.occurred_at):%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self._state.adding and not self.final_decision:
            self.final_decision = self.decision
        super().save(*args, **kwargs)


class ActionKind(models.TextChoices):
    RELEASE = "release", _("Manual release")
    BLOCK = "block", _("Manual block")
    CARGO = "cargo", _("Cargo entered")
    NOTE = "note", _("Note")


class PassageAction(SealedModel):
    """A guard's action on a passage: manual release or block (an exception, reason required), cargo."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    passage = models.ForeignKey(Passage, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(_("action"), max_length=8, choices=ActionKind.choices)
    reason = models.TextField(_("reason"), blank=True)
    cargo_name = models.CharField(_("cargo"), max_length=100, blank=True)
    cargo_weight_t = models.DecimalField(_("cargo weight (t)"), max_digits=10, decimal_places=3, null=True,
                                         blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("by"))
    occurred_at = models.DateTimeField(_("at"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name = _("passage action")
        verbose_name_plural = _("passage actions")


class UsageRecord(SealedModel):
    """使用记录: an in-plant vehicle or a machine used from–to, where, by whom."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    in_plant_vehicle = models.ForeignKey(InPlantVehicle, on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="usage", verbose_name=_("in-plant vehicle"))
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, null=True, blank=True, related_name="usage",
                                verbose_name=_("non-road machine"))
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("where"))
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)
    operator_name = models.CharField(_("operator"), max_length=100, blank=True)
    hours = models.DecimalField(_("hours"), max_digits=7, decimal_places=2, null=True, blank=True)
    fuel_litres = models.DecimalField(_("fuel (L)"), max_digits=9, decimal_places=2, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")


class TransportMode(models.TextChoices):
    RAIL = "rail", _("Rail")
    WATER = "water", _("Waterway")
    PIPELINE = "pipeline", _("Pipeline")
    BELT = "belt", _("Belt conveyor")
    ROAD_NEV = "road_nev", _("Road, new-energy vehicles")
    ROAD = "road", _("Road, other vehicles")


CLEAN_MODES = {TransportMode.RAIL, TransportMode.WATER, TransportMode.PIPELINE, TransportMode.BELT,
               TransportMode.ROAD_NEV}


class TransportRecord(SealedModel):
    """Tonnes of bulk material moved in or out by one transport mode in a period (清洁运输比例)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until"))
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    mode = models.CharField(_("transport mode"), max_length=10, choices=TransportMode.choices)
    cargo_name = models.CharField(_("cargo"), max_length=100)
    tonnes = models.DecimalField(_("tonnes"), max_digits=12, decimal_places=3)
    source_doc = models.CharField(_("source document"), max_length=200, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("transport record")
        verbose_name_plural = _("transport records")


class BarrierCommand(models.Model):
    """A command sent to a barrier controller (Hikvision ISAPI) and its result: the operational log."""

    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="+")
    passage = models.ForeignKey(Passage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    command = models.CharField(_("command"), max_length=20)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    ok = models.BooleanField(_("succeeded"), default=False)
    detail = models.TextField(_("reply / error"), blank=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("barrier command")
        verbose_name_plural = _("barrier commands")
