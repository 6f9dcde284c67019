"""Checks of plates (GA 36), VINs (GB 16735 / ISO 3779) and machine codes, with messages people understand.

Every check returns a :class:`Check` holding errors (the value cannot be right) and warnings (it is
unusual and worth a second look, but may be right: a VIN whose check digit does not match, a
small new-energy plate with a letter other than D/F). Messages name the field and say what is
expected. See ``../shared/domain/gate.md`` §4–§6 for the sources and their confidence.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .codes import PlateColor

_SEPARATORS = str.maketrans("", "", " ·.-_\u00b7\u2022")

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"  # no I, no O
SUFFIXES = "挂学警港澳"
NEV_PURE = "D"
NEV_OTHER = "F"
# Letters some cities issue on small new-energy plates once D/F serials run out (gate.md §4, low confidence)
NEV_EXTRA_LETTERS = "ABCEGHJK"


def normalize_plate(text):
    """The canonical form of a plate as typed or read by a camera: half-width, upper case, no separators."""
    text = unicodedata.normalize("NFKC", text or "").strip().upper()
    return text.translate(_SEPARATORS)


def normalize_code(text):
    """VINs and machine codes: half-width, upper case, no spaces or separators."""
    return normalize_plate(text)


@dataclass(frozen=True)
class Problem:
    field: str
    rule: str
    message: str


@dataclass
class Check:
    """The outcome of one or more checks: errors refuse the value, warnings ask for confirmation."""

    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors

    def error(self, field_name, rule, message):
        self.errors.append(Problem(field_name, rule, message))

    def warn(self, field_name, rule, message):
        self.warnings.append(Problem(field_name, rule, message))

    def extend(self, other):
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        return self


# ---------------------------------------------------------------- plates


class PlateKind:
    ORDINARY = "ordinary"
    TRAILER = "trailer"
    COACH = "coach"
    POLICE = "police"
    HONG_KONG = "hong_kong"
    MACAU = "macau"
    EMBASSY = "embassy"
    CONSULATE = "consulate"
    NEV_SMALL = "nev_small"
    NEV_LARGE = "nev_large"


EXPECTED_COLORS = {
    PlateKind.ORDINARY: {PlateColor.BLUE, PlateColor.YELLOW},
    PlateKind.TRAILER: {PlateColor.YELLOW},
    PlateKind.COACH: {PlateColor.YELLOW},
    PlateKind.POLICE: {PlateColor.WHITE},
    PlateKind.HONG_KONG: {PlateColor.BLACK},
    PlateKind.MACAU: {PlateColor.BLACK},
    PlateKind.EMBASSY: {PlateColor.BLACK},
    PlateKind.CONSULATE: {PlateColor.BLACK},
    PlateKind.NEV_SMALL: {PlateColor.GREEN},
    PlateKind.NEV_LARGE: {PlateColor.YELLOW_GREEN},
}
SUFFIX_KIND = {"挂": PlateKind.TRAILER, "学": PlateKind.COACH, "警": PlateKind.POLICE, "港": PlateKind.HONG_KONG,
               "澳": PlateKind.MACAU, "领": PlateKind.CONSULATE}

_S = f"[{SERIAL}]"
_ORDINARY = re.compile(rf"^[{PROVINCES}][A-Z]{_S}{{5}}$")
_SUFFIXED = re.compile(rf"^[{PROVINCES}][A-Z]{_S}{{4}}[{SUFFIXES}]$")
_CONSULATE = re.compile(rf"^[{PROVINCES}][A-Z][0-9]{{4}}领$")
_EMBASSY = re.compile(r"^(使[0-9]{6}|[0-9]{6}使)$")
_LEADING_DIPLOMATIC = re.compile(rf"^[使领][A-Z]{_S}{{5}}$")
_NEV_LARGE = re.compile(rf"^[{PROVINCES}][A-Z][0-9]{{5}}[{NEV_PURE}{NEV_OTHER}]$")
_NEV_SMALL = re.compile(rf"^[{PROVINCES}][A-Z]([A-HJ-NP-Z]){_S}[0-9]{{4}}$")


def plate_kind(plate):
    """The GA 36 plate type of a normalised plate, or ``None`` when it matches no known format."""
    if _EMBASSY.match(plate) or (_LEADING_DIPLOMATIC.match(plate) and plate[0] == "使"):
        return PlateKind.EMBASSY
    if _CONSULATE.match(plate) or _LEADING_DIPLOMATIC.match(plate):
        return PlateKind.CONSULATE
    if _ORDINARY.match(plate):
        return PlateKind.ORDINARY
    if _SUFFIXED.match(plate):
        return SUFFIX_KIND[plate[-1]]
    if _NEV_LARGE.match(plate):
        return PlateKind.NEV_LARGE
    if _NEV_SMALL.match(plate):
        return PlateKind.NEV_SMALL
    return None


def check_plate(plate, plate_color=None, *, field_name="plate", color_field="plate_color"):
    """Check a plate (already normalised or not) and, when given, that its colour fits its type."""
    check = Check()
    plate = normalize_plate(plate)
    label = _("Plate number")
    if not plate:
        check.error(field_name, "required", _("%(field)s: enter the plate number.") % {"field": label})
        return check
    kind = plate_kind(plate)
    if kind is None:
        check.error(field_name, "pattern", _explain_plate(plate, label))
        return check
    if kind == PlateKind.NEV_SMALL and plate[2] not in NEV_PURE + NEV_OTHER:
        if plate[2] in NEV_EXTRA_LETTERS:
            check.warn(field_name, "nev_letter", _(
                "%(field)s %(plate)s: small new-energy plates usually start their number with D (pure electric) "
                "or F (other new energy); %(letter)s is issued only in some cities. Please check the plate.")
                % {"field": label, "plate": plate, "letter": plate[2]})
        else:
            check.error(field_name, "pattern", _(
                "%(field)s %(plate)s: a new-energy plate has 8 characters and D or F as the first or the last "
                "letter of its number.") % {"field": label, "plate": plate})
            return check
    if plate_color:
        check.extend(check_plate_color(plate, plate_color, kind, field_name=color_field))
    return check


def _explain_plate(plate, label):
    """The most helpful single reason a plate matches no format."""
    values = {"field": label, "plate": plate, "count": len(plate)}
    if plate[0] not in PROVINCES + "使领" and not plate[0].isdigit():
        return _("%(field)s %(plate)s: the first character must be a province abbreviation such as 京, 苏 or 粤 "
                 "(or 使/领 for diplomatic plates).") % values
    if len(plate) not in (7, 8):
        return _("%(field)s %(plate)s has %(count)d characters: ordinary plates have 7, new-energy plates 8.") % values
    if len(plate) > 1 and not ("A" <= plate[1] <= "Z") and plate[0] in PROVINCES:
        return _("%(field)s %(plate)s: the second character must be the letter of the issuing authority "
                 "(A–Z).") % values
    if "I" in plate[2:] or "O" in plate[2:]:
        return _("%(field)s %(plate)s: the letters I and O are not used in plate numbers; did you mean 1 or 0?") \
            % values
    if len(plate) == 8:
        return _("%(field)s %(plate)s: a new-energy plate has 8 characters and D or F as the first or the last "
                 "letter of its number.") % values
    return _("%(field)s %(plate)s: not a valid plate; expected e.g. 苏A12345, 苏A1234挂 or 苏AD12345.") % values


def check_plate_color(plate, plate_color, kind=None, *, field_name="plate_color"):
    """Whether ``plate_color`` (a PlateColor code) is the colour of this type of plate."""
    check = Check()
    kind = kind or plate_kind(normalize_plate(plate))
    if kind is None or not plate_color:
        return check
    if plate_color == PlateColor.UNKNOWN:
        check.warn(field_name, "unknown_color", _("Plate colour: not known; please give the colour of the plate."))
        return check
    expected = EXPECTED_COLORS[kind]
    if plate_color not in expected:
        names = "、".join(str(PlateColor(c).label) for c in sorted(expected))
        check.error(field_name, "color", _(
            "Plate colour: %(plate)s is a %(kind)s plate, which is %(expected)s, not %(given)s.") % {
            "plate": normalize_plate(plate), "kind": plate_kind_label(kind), "expected": names,
            "given": PlateColor(plate_color).label if plate_color in PlateColor.values else plate_color})
    return check


def plate_kind_label(kind):
    return {
        PlateKind.ORDINARY: _("ordinary"), PlateKind.TRAILER: _("trailer (挂)"), PlateKind.COACH: _("driving-school (学)"),
        PlateKind.POLICE: _("police (警)"), PlateKind.HONG_KONG: _("Hong Kong cross-border (港)"),
        PlateKind.MACAU: _("Macau cross-border (澳)"), PlateKind.EMBASSY: _("embassy (使)"),
        PlateKind.CONSULATE: _("consulate (领)"), PlateKind.NEV_SMALL: _("small new-energy"),
        PlateKind.NEV_LARGE: _("large new-energy"),
    }[kind]


# ---------------------------------------------------------------- VIN


VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_VALUES = {**{str(d): d for d in range(10)},
              "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8, "J": 1, "K": 2, "L": 3, "M": 4,
              "N": 5, "P": 7, "R": 9, "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9}


def vin_check_digit(vin):
    """The ISO 3779 check character (position 9) of a 17-character VIN in the VIN alphabet."""
    total = sum(VIN_VALUES[char] * weight for char, weight in zip(vin, VIN_WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def check_vin(vin, *, field_name="vin", required=False):
    """Length 17 and alphabet are errors; a check digit that does not match is a warning."""
    check = Check()
    vin = normalize_code(vin)
    label = _("VIN")
    if not vin:
        if required:
            check.error(field_name, "required", _("%(field)s: enter the 17-character VIN.") % {"field": label})
        return check
    values = {"field": label, "vin": vin, "count": len(vin)}
    wrong = sorted({char for char in vin if char not in VIN_ALPHABET})
    if wrong:
        values["chars"] = "、".join(wrong)
        if set(wrong) <= set("IOQ"):
            check.error(field_name, "alphabet", _(
                "%(field)s %(vin)s contains %(chars)s: the letters I, O and Q are never used in a VIN "
                "(did you mean 1 or 0?).") % values)
        else:
            check.error(field_name, "alphabet", _(
                "%(field)s %(vin)s contains %(chars)s: only digits and the letters A–Z except I, O and Q are "
                "allowed.") % values)
    if len(vin) != 17:
        check.error(field_name, "length", _("%(field)s %(vin)s has %(count)d characters; a VIN has 17.") % values)
    if check.ok:
        expected = vin_check_digit(vin)
        if vin[8] != expected:
            values.update(given=vin[8], expected=expected)
            check.warn(field_name, "check_digit", _(
                "%(field)s %(vin)s: the check character (9th) is %(given)s but the other characters give "
                "%(expected)s. Please compare with the registration certificate; if it is written this way, "
                "confirm and save.") % values)
    return check


# ---------------------------------------------------------------- machines


MACHINE_CODE = re.compile(r"^[A-Z0-9]{17}$")


def check_machine_code(code, *, field_name="machine_code", required=False):
    """The 17-character machine environmental code (机械环保代码 / PIN) stamped on a machine."""
    check = Check()
    code = normalize_code(code)
    label = _("Machine environmental code")
    if not code:
        if required:
            check.error(field_name, "required", _("%(field)s: enter the 17-character code.") % {"field": label})
        return check
    values = {"field": label, "code": code, "count": len(code)}
    if not re.fullmatch(r"[A-Z0-9]*", code):
        check.error(field_name, "alphabet", _("%(field)s %(code)s: only digits and the letters A–Z are allowed.")
                    % values)
    elif len(code) != 17:
        check.error(field_name, "length", _("%(field)s %(code)s has %(count)d characters; the code has 17.")
                    % values)
    return check


def check_trailer_plate(plate, *, field_name="trailer_plate"):
    """A trailer plate, if given, must be a valid plate ending in 挂."""
    check = Check()
    plate = normalize_plate(plate)
    if not plate:
        return check
    if plate_kind(plate) != PlateKind.TRAILER:
        check.error(field_name, "pattern", _(
            "Trailer plate %(plate)s: a trailer plate ends with 挂, e.g. 苏A1234挂.") % {"plate": plate})
    return check


# ---------------------------------------------------------------- whole registry entries

LARGE_CATEGORIES = {"M2", "M3", "N2", "N3", "O"}


def check_vehicle(data):
    """All checks of a road vehicle (``data``: plate, plate_color, vin, trailer_plate, category, fuel)."""
    check = check_plate(data.get("plate"), data.get("plate_color"))
    check.extend(check_vin(data.get("vin")))
    check.extend(check_trailer_plate(data.get("trailer_plate")))
    if check.ok:
        check.extend(_fits_vehicle(normalize_plate(data.get("plate")), data))
    return check


def _fits_vehicle(plate, data):
    """Warnings when the plate type and the vehicle's category or fuel tell different stories."""
    check = Check()
    kind = plate_kind(plate)
    category, fuel, color = data.get("category"), data.get("fuel"), data.get("plate_color")
    if kind == PlateKind.ORDINARY and color == PlateColor.BLUE and category in LARGE_CATEGORIES:
        check.warn("plate_color", "large_blue", _(
            "Plate colour: large vehicles (category %(category)s) usually carry yellow plates, not blue.")
            % {"category": category})
    if kind in (PlateKind.NEV_SMALL, PlateKind.NEV_LARGE) and fuel:
        letter = plate[2] if kind == PlateKind.NEV_SMALL else plate[-1]
        if letter == NEV_PURE and fuel != "electric":
            check.warn("fuel", "nev_fuel", _(
                "Fuel: the D in %(plate)s means pure electric, but the fuel given is different.") % {"plate": plate})
        elif fuel in ("diesel", "gasoline", "gas", "methanol"):
            check.warn("fuel", "nev_fuel", _(
                "Fuel: %(plate)s is a new-energy plate but the fuel is not electric, hybrid or hydrogen.")
                % {"plate": plate})
    return check


def check_in_plant_vehicle(data):
    """An in-plant vehicle may have no plate; a plate or VIN given must be valid."""
    check = Check()
    if normalize_plate(data.get("plate")):
        check.extend(check_plate(data.get("plate"), data.get("plate_color")))
    check.extend(check_vin(data.get("vin")))
    return check


def check_machine(data):
    """A machine: its 17-character code when given, and its plate when it carries one."""
    check = check_machine_code(data.get("machine_code"))
    if normalize_plate(data.get("plate")):
        check.extend(check_plate(data.get("plate")))
    return check
