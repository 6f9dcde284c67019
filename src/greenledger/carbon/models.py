"""Carbon accounting (碳核算): emission factors, activity data, production output, green power,
issued emission reports, measure effects and emission anomalies.

Factor library (master data, versioned): an ``EmissionFactor`` row is one *version* of a factor.
Its figures are never edited: a change is a new row with the same ``code``, ``version + 1`` and
``supersedes`` pointing at the old one, so a report that names (code, version) can always be
recomputed with exactly the figures it used.

Ledger (append-only, sealed in the evidence log): ActivityRecord, GreenCertificate,
ProductionOutput, EmissionReport (the frozen figures of an issued report), AnomalyEmission.
A correction is a new row with ``corrects`` set; the old row's derived ``superseded`` flag is set.

Configuration / workflow (mutable): SiteCarbonProfile, MeasureEffect, EmissionAnomaly.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenledger.core.models import Equipment, Site, Workshop
from greenledger.evidence.models import SealedModel

from .activities import ACTIVITY_CHOICES


class FactorCategory(models.TextChoices):
    GRID = "grid", _("Grid electricity")
    FUEL = "fuel", _("Fuel combustion")
    HEAT = "heat", _("Steam / heat")
    PROCESS = "process", _("Process")
    GWP = "gwp", _("Global warming potential")
    OTHER = "other", _("Other")


class FactorKind(models.TextChoices):
    EMISSION = "emission", _("Emission factor (combustion / generation)")
    FOOTPRINT = "footprint", _("Carbon-footprint factor (life cycle)")


class Gas(models.TextChoices):
    CO2 = "CO2", "CO2"
    CH4 = "CH4", "CH4"
    N2O = "N2O", "N2O"
    SF6 = "SF6", "SF6"
    NF3 = "NF3", "NF3"
    HFC134A = "HFC-134a", "HFC-134a"
    HFC32 = "HFC-32", "HFC-32"
    HFC23 = "HFC-23", "HFC-23"
    CF4 = "CF4", "CF4"
    C2F6 = "C2F6", "C2F6"
    CO2E = "CO2e", "CO2e"


class Confidence(models.TextChoices):
    HIGH = "H", _("High: read in the source or 2+ sources")
    MEDIUM = "M", _("Medium: one secondary source")
    LOW = "L", _("Low: check against the standard before use")


class GridBasis(models.TextChoices):
    AVERAGE = "average", _("Grid average (location-based)")
    RESIDUAL = "residual", _("Excluding market-traded non-fossil power (market-based residual)")
    FOSSIL = "fossil", _("Fossil power")


class FactorImmutableError(Exception):
    """A factor version's figures were about to be edited in place."""


class EmissionFactor(models.Model):
    """排放因子 (one version): kg CO2(e) per unit of an activity, with its source."""

    # only these may change on an existing version; everything else is frozen
    MUTABLE_FIELDS = {"superseded_at", "superseded_by_id"}

    code = models.SlugField(_("code"), max_length=80, help_text=_("Stable across versions, e.g. grid-cn-east"))
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=10, choices=FactorCategory.choices)
    kind = models.CharField(_("factor kind"), max_length=10, choices=FactorKind.choices, default=FactorKind.EMISSION)
    activity = models.CharField(_("activity"), max_length=30, blank=True,
                                help_text=_("Activity code this factor applies to (empty for GWP)"))
    region = models.CharField(_("grid region"), max_length=30, blank=True,
                              help_text=_("national, north, northeast, east, central, northwest, south, southwest, "
                                          "or a province code"))
    grid_basis = models.CharField(_("grid factor basis"), max_length=10, choices=GridBasis.choices, blank=True)
    gas = models.CharField(_("gas"), max_length=12, choices=Gas.choices, default=Gas.CO2)
    gwp_set = models.CharField(_("GWP set"), max_length=5, blank=True, help_text=_("AR5 or AR6 (GWP rows)"))
    value = models.DecimalField(_("value as published"), max_digits=20, decimal_places=8)
    unit = models.CharField(_("unit as published"), max_length=30, help_text=_("e.g. tCO2/MWh, kgCO2/m3, tCO2/t"))
    activity_unit = models.CharField(_("activity unit"), max_length=20, blank=True)
    kg_per_unit = models.DecimalField(_("kg CO2(e) per activity unit"), max_digits=24, decimal_places=12)
    ncv = models.DecimalField(_("net calorific value (GJ per activity unit)"), max_digits=16, decimal_places=8,
                              null=True, blank=True)
    carbon_content = models.DecimalField(_("carbon content (tC/TJ)"), max_digits=10, decimal_places=4, null=True,
                                         blank=True)
    oxidation_rate = models.DecimalField(_("oxidation rate"), max_digits=6, decimal_places=4, null=True,
                                         blank=True, help_text=_("0.99 = 99 %"))
    data_year = models.PositiveSmallIntegerField(_("data year"), null=True, blank=True)
    source = models.TextField(_("source"))
    source_year = models.PositiveSmallIntegerField(_("year published"), null=True, blank=True)
    confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices, default=Confidence.HIGH)
    note = models.TextField(_("note"), blank=True)
    user_defined = models.BooleanField(_("user factor"), default=False)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by_version", verbose_name=_("supersedes"))
    change_reason = models.TextField(_("reason for the new version"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True)
    superseded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")

    class Meta:
        ordering = ["category", "code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="carbon_factor_code_version")]
        indexes = [models.Index(fields=["activity", "region"], name="carbon_factor_activity_region")]
        verbose_name = _("emission factor")
        verbose_name_plural = _("emission factors")
        permissions = [
            ("view_emissions", _("Can view emission reports, dashboards and measure effects")),
            ("issue_report", _("Can issue (freeze) an emission report")),
        ]

    def __str__(self):
        return f"{self.code} v{self.version}"

    @property
    def label(self):
        return f"{self.code} v{self.version} ({self.value} {self.unit})"

    def get_absolute_url(self):
        return reverse("carbon:factor_detail", args=[self.pk])

    def save(self, *args, **kwargs):
        if not self._state.adding and self.pk:
            old = type(self).objects.filter(pk=self.pk).values().first()
            if old is not None:
                changed = {f.attname for f in self._meta.concrete_fields
                           if old.get(f.attname) != getattr(self, f.attname)}
                if changed - self.MUTABLE_FIELDS:
                    raise FactorImmutableError(
                        f"factor {self} is frozen; write a new version (changed: {sorted(changed)})")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise FactorImmutableError("factor versions are never deleted; supersede them instead")


class SiteCarbonProfile(models.Model):
    """How a site is accounted: which grid region's factor applies and which GWP set."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="carbon_profile")
    grid_region = models.CharField(_("grid region"), max_length=30, default="national")
    gwp_set = models.CharField(_("GWP set"), max_length=5, default="AR6", choices=[("AR5", "AR5"), ("AR6", "AR6")])

    class Meta:
        verbose_name = _("site carbon profile")

    def __str__(self):
        return f"{self.site} · {self.grid_region}"


class Origin(models.TextChoices):
    MANUAL = "manual", _("Manual entry")
    IMPORT = "import", _("Excel import")
    TELEMETRY = "telemetry", _("Telemetry rollups")
    API = "api", _("API")


class ActivityRecord(SealedModel):
    """活动数据: a quantity consumed over a period at a site, workshop or piece of equipment."""

    evidence_derived_fields = ("superseded",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("workshop"))
    equipment = models.ForeignKey(Equipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("equipment"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("inclusive"))
    activity = models.CharField(_("activity"), max_length=30, choices=ACTIVITY_CHOICES)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=20)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    point_code = models.CharField(_("telemetry point"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections",
                                 verbose_name=_("corrects"))
    correction_reason = models.TextField(_("correction reason"), blank=True)
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-period_start", "activity"]
        indexes = [models.Index(fields=["site", "period_start", "period_end"], name="carbon_activity_site_period")]
        verbose_name = _("activity record")
        verbose_name_plural = _("activity records")

    def __str__(self):
        return f"{self.get_activity_display()} {self.quantity} {self.unit} {self.period_start}–{self.period_end}"


class CertificateKind(models.TextChoices):
    GEC = "gec", _("Green electricity certificate (绿证, 1 = 1 MWh)")
    CONTRACT = "contract", _("Green power contract (绿电交易)")


class GreenCertificate(SealedModel):
    """Retired green certificates or green-power contract volume claimed for a site and period."""

    evidence_derived_fields = ("superseded",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    kind = models.CharField(_("kind"), max_length=10, choices=CertificateKind.choices, default=CertificateKind.GEC)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    mwh = models.DecimalField(_("MWh"), max_digits=14, decimal_places=3)
    reference = models.CharField(_("certificate / contract number"), max_length=200, blank=True)
    source = models.CharField(_("issuer / platform"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections")
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("green certificate / contract")
        verbose_name_plural = _("green certificates / contracts")

    def __str__(self):
        return f"{self.get_kind_display()} {self.mwh} MWh {self.period_start}–{self.period_end}"


class ProductionOutput(SealedModel):
    """产量: output of a stage (or the site) in a period, optionally per batch, with its defect rate."""

    evidence_derived_fields = ("superseded",)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 verbose_name=_("stage / workshop"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    product = models.CharField(_("product"), max_length=100)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=20)
    batch_no = models.CharField(_("batch"), max_length=60, blank=True, db_index=True)
    defect_rate = models.DecimalField(_("defect rate (%)"), max_digits=6, decimal_places=3, null=True, blank=True)
    final = models.BooleanField(_("final product of the site"), default=True,
                                help_text=_("Counts for the site's emission intensity"))
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections")
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-period_start", "product"]
        indexes = [models.Index(fields=["site", "period_start"], name="carbon_output_site_period")]
        verbose_name = _("production output")
        verbose_name_plural = _("production output")

    def __str__(self):
        return f"{self.product} {self.quantity} {self.unit} {self.period_start}–{self.period_end}"


class EmissionReport(SealedModel):
    """An issued emission report: the figures frozen as computed, with factor versions and checkpoint."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    as_of = models.DateTimeField(_("data and factors as of"))
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    content = models.JSONField(_("figures"))
    checkpoint_size = models.BigIntegerField(_("evidence checkpoint: tree size"), null=True)
    checkpoint_root = models.CharField(_("evidence checkpoint: root hash"), max_length=64, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("emission report")
        verbose_name_plural = _("emission reports")

    def __str__(self):
        return f"{self.site} {self.period_start}–{self.period_end}"


class AnomalyEmission(SealedModel):
    """The extra emissions of a measure-ledger anomaly, computed from the factor library afterwards
    (the anomaly itself is sealed, so its own extra_co2 columns are filled only at reporting)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    anomaly = models.OneToOneField("measures.Anomaly", on_delete=models.PROTECT, related_name="carbon_emission")
    kg_co2 = models.DecimalField(_("extra emissions (kg CO2)"), max_digits=16, decimal_places=3)
    factor = models.ForeignKey(EmissionFactor, on_delete=models.PROTECT, related_name="+")
    basis = models.CharField(_("basis"), max_length=200)
    computed_at = models.DateTimeField(default=timezone.now)


class EffectMethod(models.TextChoices):
    FREQUENCY_BASELINE = "frequency_baseline", _("Variable frequency vs a baseline frequency (P ∝ f³)")
    MATERIAL_SUBSTITUTION = "material_substitution", _("Material substitution (quantity × content difference)")
    RECOVERY_OUTPUT = "recovery_output", _("Recovered energy → fuel avoided")
    FIXED_PER_EXECUTION = "fixed_per_execution", _("Fixed reduction per execution")


class MeasureEffect(models.Model):
    """How a measure's emission reduction is computed (措施减排量核算方法)."""

    measure = models.OneToOneField("measures.Measure", on_delete=models.CASCADE, related_name="carbon_effect",
                                   verbose_name=_("measure"))
    method = models.CharField(_("method"), max_length=30, choices=EffectMethod.choices)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    points = models.JSONField(_("telemetry points used"), default=list, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("measure effect")
        verbose_name_plural = _("measure effects")

    def __str__(self):
        return f"{self.measure.code}: {self.get_method_display()}"


class EmissionAnomaly(models.Model):
    """碳排放异常: a period whose emissions left the expected hour-of-week band, with what explains it."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    point_code = models.CharField(_("telemetry point"), max_length=100, blank=True)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("to"))
    actual_kg = models.DecimalField(_("actual kg CO2"), max_digits=16, decimal_places=3)
    expected_kg = models.DecimalField(_("expected kg CO2"), max_digits=16, decimal_places=3)
    band_high_kg = models.DecimalField(_("upper band kg CO2"), max_digits=16, decimal_places=3)
    excess_kg = models.DecimalField(_("excess kg CO2"), max_digits=16, decimal_places=3)
    explanation = models.TextField(_("explanation"), blank=True)
    records = models.ManyToManyField("measures.ExecutionRecord", blank=True, related_name="+")
    anomalies = models.ManyToManyField("measures.Anomaly", blank=True, related_name="+")
    hourly = models.ManyToManyField("measures.HourlyStatus", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start"]
        constraints = [models.UniqueConstraint(fields=["site", "point_code", "start"], name="carbon_anomaly_once")]
        verbose_name = _("emission anomaly")
        verbose_name_plural = _("emission anomalies")

    def __str__(self):
        return f"{self.point_code or self.workshop} {self.start:%Y-%m-%d %H:%M} +{self.excess_kg} kg"

    @property
    def hourly_by_measure(self):
        """[(measure, hours)] of the linked hourly status rows (prefetch ``hourly__measure``)."""
        counts = {}
        for row in self.hourly.all():
            counts[row.measure] = counts.get(row.measure, 0) + 1
        return sorted(counts.items(), key=lambda item: item[0].code)


ZERO = Decimal(0)
