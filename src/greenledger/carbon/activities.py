"""Activity types (活动数据类型) and units: what can be consumed or emitted, in which scope, and how
quantities convert between the units people type (kWh/MWh, m³/万m³, t/kg, GJ/MJ/TJ).

An activity type is code, not data: the engine needs to know for each one its scope, its
emission category and its canonical unit. Factors (data, versioned) are looked up by activity code.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

# unit -> (dimension, size in the dimension's base unit)
UNITS = {
    "kWh": ("energy", Decimal(1)), "MWh": ("energy", Decimal(1000)), "GWh": ("energy", Decimal(1000000)),
    "GJ": ("heat", Decimal(1)), "MJ": ("heat", Decimal("0.001")), "TJ": ("heat", Decimal(1000)),
    "m3": ("volume", Decimal(1)), "10^4m3": ("volume", Decimal(10000)), "L": ("volume", Decimal("0.001")),
    "kg": ("mass", Decimal(1)), "t": ("mass", Decimal(1000)), "g": ("mass", Decimal("0.001")),
    "unit": ("count", Decimal(1)),
}

ALIASES = {
    "kwh": "kWh", "千瓦时": "kWh", "度": "kWh", "mwh": "MWh", "兆瓦时": "MWh", "gwh": "GWh",
    "gj": "GJ", "mj": "MJ", "tj": "TJ", "吉焦": "GJ",
    "m³": "m3", "nm3": "m3", "nm³": "m3", "立方米": "m3", "方": "m3",
    "万m3": "10^4m3", "万m³": "10^4m3", "万nm3": "10^4m3", "万nm³": "10^4m3", "10^4nm3": "10^4m3",
    "10⁴m³": "10^4m3", "10⁴nm³": "10^4m3", "10^4 m3": "10^4m3",
    "l": "L", "升": "L", "吨": "t", "公斤": "kg", "千克": "kg", "克": "g", "个": "unit", "pcs": "unit",
}


class UnitError(ValueError):
    pass


def normalise_unit(unit: str) -> str:
    text = str(unit or "").strip()
    if text in UNITS:
        return text
    key = text.lower().replace(" ", "")
    if key in ALIASES:
        return ALIASES[key]
    for name in UNITS:
        if name.lower() == key:
            return name
    raise UnitError(_("Unknown unit %(unit)s") % {"unit": unit})


def convert(quantity, from_unit: str, to_unit: str) -> Decimal:
    """``quantity`` in ``from_unit`` expressed in ``to_unit`` (same dimension only)."""
    source, target = normalise_unit(from_unit), normalise_unit(to_unit)
    (dim_a, size_a), (dim_b, size_b) = UNITS[source], UNITS[target]
    if dim_a != dim_b:
        raise UnitError(_("%(a)s cannot be converted to %(b)s") % {"a": from_unit, "b": to_unit})
    return Decimal(quantity) * size_a / size_b


class Scope:
    ONE = 1
    TWO = 2


@dataclass(frozen=True)
class Activity:
    code: str
    label: str
    scope: int
    category: str  # combustion | process | electricity | heat | material
    unit: str  # canonical unit of the activity quantity (the factor is kg CO2(e) per this unit)
    counted: bool = True  # False: tracked (e.g. cutting fluid) but with no emission factor of its own


ACTIVITIES = {a.code: a for a in [
    Activity("electricity", _("Purchased electricity"), Scope.TWO, "electricity", "kWh"),
    Activity("heat", _("Purchased steam / heat"), Scope.TWO, "heat", "GJ"),
    Activity("steam", _("Purchased steam (tonnes)"), Scope.TWO, "heat", "t"),
    Activity("natural_gas", _("Natural gas"), Scope.ONE, "combustion", "m3"),
    Activity("diesel", _("Diesel"), Scope.ONE, "combustion", "t"),
    Activity("gasoline", _("Gasoline"), Scope.ONE, "combustion", "t"),
    Activity("lpg", _("LPG"), Scope.ONE, "combustion", "t"),
    Activity("kerosene", _("Kerosene"), Scope.ONE, "combustion", "t"),
    Activity("fuel_oil", _("Fuel oil"), Scope.ONE, "combustion", "t"),
    Activity("anthracite", _("Anthracite"), Scope.ONE, "combustion", "t"),
    Activity("bituminous_coal", _("Bituminous coal"), Scope.ONE, "combustion", "t"),
    Activity("lignite", _("Lignite"), Scope.ONE, "combustion", "t"),
    Activity("coke", _("Coke"), Scope.ONE, "combustion", "t"),
    Activity("limestone", _("Limestone decomposition"), Scope.ONE, "process", "t"),
    Activity("sf6", _("SF6 leakage"), Scope.ONE, "process", "kg"),
    Activity("ch4", _("CH4 released"), Scope.ONE, "process", "kg"),
    Activity("n2o", _("N2O released"), Scope.ONE, "process", "kg"),
    Activity("cutting_fluid", _("Cutting fluid (new)"), Scope.ONE, "material", "L", counted=False),
]}

ACTIVITY_CHOICES = [(a.code, a.label) for a in ACTIVITIES.values()]

# words people put in anomaly reports and sheets -> activity code
ACTIVITY_WORDS = {
    "电": "electricity", "电力": "electricity", "电量": "electricity", "electricity": "electricity",
    "power": "electricity", "外购电力": "electricity",
    "天然气": "natural_gas", "natural gas": "natural_gas", "ng": "natural_gas", "燃气": "natural_gas",
    "柴油": "diesel", "diesel": "diesel", "汽油": "gasoline", "gasoline": "gasoline",
    "液化石油气": "lpg", "lpg": "lpg", "煤油": "kerosene", "燃料油": "fuel_oil",
    "无烟煤": "anthracite", "烟煤": "bituminous_coal", "褐煤": "lignite", "焦炭": "coke",
    "蒸汽": "steam", "热力": "heat", "steam": "steam", "heat": "heat", "热量": "heat",
    "石灰石": "limestone", "六氟化硫": "sf6", "sf6": "sf6", "甲烷": "ch4", "ch4": "ch4", "氧化亚氮": "n2o",
    "n2o": "n2o", "切削液": "cutting_fluid", "切割液": "cutting_fluid",
}


def activity_of(text: str, unit: str | None = None) -> Activity | None:
    """The activity meant by a code or a word (天然气, electricity, natural_gas …), or None.

    With ``unit``, purchased heat follows the unit: 蒸汽 in t is steam by mass, 蒸汽 in GJ is heat.
    """
    key = str(text or "").strip()
    spec = ACTIVITIES.get(key)
    if spec is None:
        code = ACTIVITY_WORDS.get(key.lower())
        spec = ACTIVITIES.get(code) if code else None
    if spec is not None and spec.category == "heat" and unit:
        try:
            dimension = UNITS[normalise_unit(unit)][0]
        except UnitError:
            return spec
        same = [a for a in ACTIVITIES.values() if a.category == "heat" and UNITS[a.unit][0] == dimension]
        if same and spec not in same:
            return same[0]
    return spec


# telemetry quantities -> activity codes (telemetry MeasuringPoint.quantity)
TELEMETRY_QUANTITIES = {"electricity": "electricity", "natural_gas": "natural_gas", "steam": "steam",
                        "diesel": "diesel"}
