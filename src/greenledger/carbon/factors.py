"""The factor library's rules: kg per activity unit, which factor applies, and new versions.

Which factor applies (``select_factor``) depends on the activity, the site's grid region, the
period's year and an ``as_of`` moment: only versions that existed and were current at ``as_of``
are candidates, so recomputing a report with its ``as_of`` uses exactly the factors it used
before, whatever was published since. Among candidates the newest data year not after the
period's year wins (the newest one overall when all are later); a user's own factor (实测值)
beats a published default of the same data year.
"""

import re
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .activities import ACTIVITIES, UnitError, convert
from .models import EmissionFactor, FactorCategory, FactorKind, GridBasis

C_TO_CO2 = Decimal(44) / Decimal(12)
KG_PER_UNIT_PLACES = Decimal("1e-12")
NATIONAL = "national"


class FactorNotFound(LookupError):
    pass


def kg_from_fuel_parameters(ncv, carbon_content, oxidation_rate) -> Decimal:
    """GB/T 32150: E = AD × NCV × CC × OF × 44/12; with NCV in GJ per unit and CC in tC/TJ the
    GJ→TJ and t→kg factors cancel, so kg CO2 per unit = NCV × CC × OF × 44/12."""
    return Decimal(ncv) * Decimal(carbon_content) * Decimal(oxidation_rate) * C_TO_CO2


UNIT_PATTERN = re.compile(r"^\s*(t|kg|g)\s*(CO2e?|CO₂e?)?\s*/\s*(.+?)\s*$", re.IGNORECASE)
MASS_KG = {"t": Decimal(1000), "kg": Decimal(1), "g": Decimal("0.001")}


def kg_from_published(value, unit: str, activity_unit: str) -> Decimal:
    """kg per ``activity_unit`` from a value published as e.g. tCO2/MWh, kgCO2/m3, tCO2/t, kgCO2e/kg."""
    match = UNIT_PATTERN.match(unit or "")
    if not match:
        raise UnitError(_("Factor unit %(unit)s is not of the form tCO2/… or kgCO2/…") % {"unit": unit})
    mass, _gas, per = match.groups()
    per_activity_unit = convert(1, per, activity_unit)  # how many activity units one "per" unit holds
    return Decimal(value) * MASS_KG[mass.lower()] / per_activity_unit


def compute_kg_per_unit(*, value, unit, activity_unit, ncv=None, carbon_content=None, oxidation_rate=None):
    if ncv is not None and carbon_content is not None and oxidation_rate is not None:
        result = kg_from_fuel_parameters(ncv, carbon_content, oxidation_rate)
    else:
        result = kg_from_published(value, unit, activity_unit)
    return result.quantize(KG_PER_UNIT_PLACES)


def current_at(queryset, as_of=None):
    """Versions that existed and had not been superseded at ``as_of`` (now by default)."""
    as_of = as_of or timezone.now()
    return queryset.filter(created_at__lte=as_of).filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=as_of))


def pick_by_year(candidates, year):
    candidates = list(candidates)
    if not candidates:
        return None
    earlier = [f for f in candidates if f.data_year is None or f.data_year <= year]
    if earlier:
        return max(earlier, key=lambda f: (f.data_year or 0, f.user_defined, f.created_at, f.pk))
    return min(candidates, key=lambda f: (f.data_year, not f.user_defined, -f.pk))


def select_factor(activity: str, *, year: int, region: str = NATIONAL, basis: str = GridBasis.AVERAGE,
                  gwp_set: str = "AR6", as_of=None) -> EmissionFactor:
    """The factor version that applies to ``activity`` in ``year`` (see module docstring)."""
    base = current_at(EmissionFactor.objects.filter(activity=activity, kind=FactorKind.EMISSION), as_of)
    spec = ACTIVITIES.get(activity)
    if spec is not None and spec.category == "electricity":
        chosen = None
        if region and region != NATIONAL:
            chosen = pick_by_year(base.filter(region=region, grid_basis=basis), year)
        chosen = chosen or pick_by_year(base.filter(region=NATIONAL, grid_basis=basis), year)
    elif activity in ("ch4", "n2o", "sf6"):
        chosen = pick_by_year(base.filter(category=FactorCategory.GWP, gwp_set=gwp_set), year)
    else:
        chosen = pick_by_year(base, year)
    if chosen is None:
        raise FactorNotFound(_("No emission factor for %(activity)s (%(region)s, %(year)s)") % {
            "activity": activity, "region": region, "year": year})
    return chosen


FROZEN_COPY = ["name", "category", "kind", "activity", "region", "grid_basis", "gas", "gwp_set", "value", "unit",
               "activity_unit", "ncv", "carbon_content", "oxidation_rate", "data_year", "source", "source_year",
               "confidence", "note", "user_defined", "valid_from"]


@transaction.atomic
def new_version(factor: EmissionFactor, *, reason: str, user=None, now=None, **changes) -> EmissionFactor:
    """Supersede ``factor`` by a new version with ``changes``; the old version stays as it was."""
    if not reason.strip():
        raise ValueError(_("Say why the factor changes."))
    factor = EmissionFactor.objects.select_for_update().get(pk=factor.pk)
    if factor.superseded_at is not None:
        raise ValueError(_("Only the current version of a factor can be superseded."))
    now = now or timezone.now()
    fields = {name: getattr(factor, name) for name in FROZEN_COPY}
    fields.update(changes)
    fields["kg_per_unit"] = compute_kg_per_unit(
        value=fields["value"], unit=fields["unit"], activity_unit=fields["activity_unit"], ncv=fields["ncv"],
        carbon_content=fields["carbon_content"], oxidation_rate=fields["oxidation_rate"])
    latest = EmissionFactor.objects.filter(code=factor.code).order_by("-version").first()
    created = EmissionFactor.objects.create(code=factor.code, version=latest.version + 1, supersedes=factor,
                                            change_reason=reason, created_at=now, created_by=user, **fields)
    factor.superseded_at, factor.superseded_by = now, user
    factor.save(update_fields=["superseded_at", "superseded_by"])
    return created


def create_factor(*, code, name, category, activity, value, unit, source, activity_unit=None, user=None,
                  user_defined=True, **extra) -> EmissionFactor:
    """A new factor (version 1), e.g. a user's measured value (实测值) or a provincial grid factor."""
    if not str(source).strip():
        raise ValueError(_("A factor needs its source."))
    if EmissionFactor.objects.filter(code=code).exists():
        raise ValueError(_("A factor with code %(code)s exists; publish a new version of it instead.") % {"code": code})
    activity_unit = activity_unit or (ACTIVITIES[activity].unit if activity in ACTIVITIES else "")
    kg = compute_kg_per_unit(value=value, unit=unit, activity_unit=activity_unit, ncv=extra.get("ncv"),
                             carbon_content=extra.get("carbon_content"), oxidation_rate=extra.get("oxidation_rate"))
    return EmissionFactor.objects.create(code=code, name=name, category=category, activity=activity, value=value,
                                         unit=unit, activity_unit=activity_unit, kg_per_unit=kg, source=source,
                                         created_by=user, user_defined=user_defined, **extra)


def factor_ref(factor: EmissionFactor) -> dict:
    """How a report names a factor version: enough to find it again and to check the figure."""
    return {"id": factor.pk, "code": factor.code, "version": factor.version, "name": factor.name,
            "value": str(factor.value), "unit": factor.unit, "kg_per_unit": str(factor.kg_per_unit.normalize()),
            "activity_unit": factor.activity_unit, "data_year": factor.data_year, "source": factor.source,
            "confidence": factor.confidence}
