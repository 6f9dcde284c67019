"""Telemetry (能源与遥测): measuring points (测点), raw readings, rollups, gaps and intake errors.

- :class:`MeasuringPoint` is master data (audited): what is measured, where, in which unit, how
  often a value is expected, the valid range and where the values come from.
- :class:`Reading` is the raw time series, one row per (point, device timestamp): the composite
  primary key makes intake idempotent. ``ts`` is the device's time (occurred), ``received_at``
  the server's (recorded). On PostgreSQL the table is partitioned by month (migration 0002 and
  :mod:`greenledger.telemetry.partitions`); on SQLite it is a plain table.
- :class:`Rollup15m`, :class:`RollupHour`, :class:`RollupDay` share one shape (:class:`Rollup`)
  and are kept current by :func:`greenledger.telemetry.rollups.refresh` whenever readings
  arrive, late ones included. Only readings without quality flags enter the rollups.
- :class:`Gap` records missing expected readings of a point and when backfill filled them.
- :class:`IntakeError` keeps every reading or payload that could not be stored as a reading,
  raw, with the rule it broke: nothing sent to GreenLedger is silently dropped.
"""

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Equipment, Site, Workshop


class Quantity(models.TextChoices):
    ELECTRICITY = "electricity", _("Electricity (kWh)")
    POWER = "power", _("Power (kW)")
    NATURAL_GAS = "natural_gas", _("Natural gas (m³)")
    STEAM = "steam", _("Steam (t)")
    WATER = "water", _("Water (m³)")
    TEMPERATURE = "temperature", _("Temperature (°C)")
    PRESSURE = "pressure", _("Pressure")
    FLOW = "flow", _("Flow")
    CONCENTRATION = "concentration", _("Concentration")
    FREQUENCY = "frequency", _("Frequency (Hz)")
    RUNNING = "running", _("Running (0/1)")
    OTHER = "other", _("Other")


DEFAULT_UNITS = {
    Quantity.ELECTRICITY: "kWh", Quantity.POWER: "kW", Quantity.NATURAL_GAS: "m³", Quantity.STEAM: "t",
    Quantity.WATER: "m³", Quantity.TEMPERATURE: "°C", Quantity.FREQUENCY: "Hz", Quantity.RUNNING: "",
}


class Source(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    OPCUA = "opcua", _("OPC UA")
    HTTP = "http", _("HTTP API")
    CSV = "csv", _("CSV / Excel upload")
    MANUAL = "manual", _("Read by hand")
    DEMO = "demo", _("Demo data")


class Quality:
    """Bit flags on a reading; 0 is a good reading. Flagged readings are kept but not rolled up."""

    GOOD = 0
    OUT_OF_RANGE = 1

    LABELS = {OUT_OF_RANGE: _("out of range")}

    @classmethod
    def describe(cls, flags):
        return ", ".join(str(label) for bit, label in cls.LABELS.items() if flags & bit)


class MeasuringPoint(models.Model):
    """测点: one measured quantity of a site, optionally on a piece of equipment."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="measuring_points", verbose_name=_("site"))
    code = models.CharField(_("code"), max_length=100, help_text=_("Unique within the site, e.g. FAN-01.freq"))
    name = models.CharField(_("name"), max_length=200)
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("workshop / stage"))
    equipment = models.ForeignKey(Equipment, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="measuring_points", verbose_name=_("equipment"))
    quantity = models.CharField(_("quantity"), max_length=20, choices=Quantity.choices, default=Quantity.OTHER)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    cumulative = models.BooleanField(
        _("cumulative counter"), default=False,
        help_text=_("A meter counter (e.g. kWh reading); consumption is the increase between readings"))
    generation = models.BooleanField(
        _("own generation"), default=False, help_text=_("An electricity point that measures own PV/wind generation"))
    expected_interval_seconds = models.PositiveIntegerField(_("expected interval (s)"), default=900)
    valid_min = models.FloatField(_("valid minimum"), null=True, blank=True)
    valid_max = models.FloatField(_("valid maximum"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MQTT)
    opcua_node_id = models.CharField(_("OPC UA node id"), max_length=200, blank=True,
                                     help_text=_("e.g. ns=2;s=FAN-01.Frequency"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["site", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="telemetry_point_unique_code")]
        verbose_name = _("measuring point")
        verbose_name_plural = _("measuring points")
        permissions = [("upload_readings", _("Can upload readings"))]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self):
        return reverse("telemetry:point_detail", args=[self.pk])

    def save(self, *args, **kwargs):
        if self.equipment_id and not self.workshop_id:
            self.workshop_id = self.equipment.workshop_id
        if not self.unit:
            self.unit = DEFAULT_UNITS.get(self.quantity, "")
        super().save(*args, **kwargs)

    def is_out_of_range(self, value):
        return (self.valid_min is not None and value < self.valid_min) or (
            self.valid_max is not None and value > self.valid_max)


class Reading(models.Model):
    """A raw reading. Primary key (point, ts): the same reading sent twice is stored once."""

    pk = models.CompositePrimaryKey("point", "ts")
    # No database FK: PostgreSQL partitions are created on demand, and points are never deleted
    # while they have readings (MeasuringPoint is PROTECTed by the rollups).
    point = models.ForeignKey(MeasuringPoint, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="+")
    ts = models.DateTimeField(_("device time"))
    value = models.FloatField(_("value"))
    received_at = models.DateTimeField(_("received at"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    quality = models.PositiveSmallIntegerField(_("quality flags"), default=Quality.GOOD)

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")

    @property
    def quality_display(self):
        return Quality.describe(self.quality)


class Rollup(models.Model):
    """One bucket of a point's good readings. ``delta`` is the counter increase since the last
    reading before the bucket (cumulative meters), so deltas of consecutive buckets add up."""

    pk = models.CompositePrimaryKey("point", "bucket")
    point = models.ForeignKey(MeasuringPoint, on_delete=models.PROTECT, db_index=False, related_name="+")
    bucket = models.DateTimeField(_("bucket start"))
    count = models.PositiveIntegerField(_("readings"))
    sum = models.FloatField(_("sum"))
    min = models.FloatField(_("minimum"))
    max = models.FloatField(_("maximum"))
    first_ts = models.DateTimeField()
    first_value = models.FloatField(_("first value"))
    last_ts = models.DateTimeField()
    last_value = models.FloatField(_("last value"))
    delta = models.FloatField(_("increase"), null=True)

    class Meta:
        abstract = True

    @property
    def mean(self):
        return self.sum / self.count if self.count else None


class Rollup15m(Rollup):
    class Meta:
        verbose_name = _("15-minute rollup")
        verbose_name_plural = _("15-minute rollups")


class RollupHour(Rollup):
    class Meta:
        verbose_name = _("hourly rollup")
        verbose_name_plural = _("hourly rollups")


class RollupDay(Rollup):
    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")


class PointStatus(models.Model):
    """Running figures of a point, kept by intake: last value, when seen, duplicates, out-of-range."""

    point = models.OneToOneField(MeasuringPoint, on_delete=models.CASCADE, primary_key=True, related_name="status")
    last_ts = models.DateTimeField(_("last reading at"), null=True)
    last_value = models.FloatField(_("last value"), null=True)
    last_received_at = models.DateTimeField(_("last received at"), null=True)
    readings = models.PositiveBigIntegerField(_("readings stored"), default=0)
    duplicates = models.PositiveBigIntegerField(_("duplicates"), default=0)
    out_of_range = models.PositiveBigIntegerField(_("out of range"), default=0)

    class Meta:
        verbose_name = _("point status")
        verbose_name_plural = _("point status")


class Gap(models.Model):
    """缺数: expected readings missing between two readings of a point; ``filled_at`` is set when
    a backfill (e.g. from the PLC's cache) brought the missing readings in."""

    point = models.ForeignKey(MeasuringPoint, on_delete=models.CASCADE, related_name="gaps", verbose_name=_("point"))
    start = models.DateTimeField(_("last reading before the gap"))
    end = models.DateTimeField(_("first reading after the gap"))
    missing = models.PositiveIntegerField(_("missing readings"))
    detected_at = models.DateTimeField(_("detected at"), default=timezone.now)
    filled_at = models.DateTimeField(_("filled at"), null=True, blank=True)
    filled_readings = models.PositiveIntegerField(_("readings filled in"), default=0)

    class Meta:
        ordering = ["-start"]
        constraints = [models.UniqueConstraint(fields=["point", "start", "end"], name="telemetry_gap_unique_span")]
        verbose_name = _("gap")
        verbose_name_plural = _("gaps")

    @property
    def duration(self):
        return self.end - self.start


class IntakeError(models.Model):
    """A reading or payload that could not be stored as a reading, kept raw with the broken rule."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                             verbose_name=_("site"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    point_code = models.CharField(_("point code"), max_length=200, blank=True)
    rule = models.CharField(_("rule"), max_length=40)
    message = models.CharField(_("problem"), max_length=500)
    payload = models.TextField(_("raw payload"))
    topic = models.CharField(_("topic / file"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("intake error")
        verbose_name_plural = _("intake errors")
