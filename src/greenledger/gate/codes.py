"""Code tables of the gate e-ledger (门禁台账): plate colours, emission stages, fuels, vehicle classes.

GreenLedger's own codes are stable strings; cameras and regulator platforms use their own numbers,
so each vendor table maps to these codes here and nowhere else (see ``../shared/domain/gate.md`` §4).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlateColor(models.TextChoices):
    BLUE = "blue", _("Blue")
    YELLOW = "yellow", _("Yellow")
    WHITE = "white", _("White")
    BLACK = "black", _("Black")
    GREEN = "green", _("Green (small new-energy)")
    YELLOW_GREEN = "yellow_green", _("Yellow-green (large new-energy)")
    UNKNOWN = "unknown", _("Unknown")


class EmissionStage(models.TextChoices):
    """Road vehicles: 国0–国6 (GB 17691 / GB 18352); machinery: 国一–国四 (GB 20891); electric for both."""

    CN0 = "0", _("China 0")
    CN1 = "1", _("China I")
    CN2 = "2", _("China II")
    CN3 = "3", _("China III")
    CN4 = "4", _("China IV")
    CN5 = "5", _("China V")
    CN6 = "6", _("China VI")
    NR1 = "nr1", _("Non-road China I")
    NR2 = "nr2", _("Non-road China II")
    NR3 = "nr3", _("Non-road China III")
    NR4 = "nr4", _("Non-road China IV")
    ELECTRIC = "ev", _("Electric (zero tailpipe)")
    UNKNOWN = "unknown", _("Unknown")


ROAD_STAGES = [EmissionStage.CN0, EmissionStage.CN1, EmissionStage.CN2, EmissionStage.CN3, EmissionStage.CN4,
               EmissionStage.CN5, EmissionStage.CN6, EmissionStage.ELECTRIC]
NRMM_STAGES = [EmissionStage.NR1, EmissionStage.NR2, EmissionStage.NR3, EmissionStage.NR4, EmissionStage.ELECTRIC]

# Order used by "stage X or below" rules; electric ranks above every combustion stage.
STAGE_RANK = {
    EmissionStage.CN0: 0, EmissionStage.CN1: 1, EmissionStage.CN2: 2, EmissionStage.CN3: 3, EmissionStage.CN4: 4,
    EmissionStage.CN5: 5, EmissionStage.CN6: 6,
    EmissionStage.NR1: 1, EmissionStage.NR2: 2, EmissionStage.NR3: 3, EmissionStage.NR4: 4,
    EmissionStage.ELECTRIC: 99,
}


class Fuel(models.TextChoices):
    DIESEL = "diesel", _("Diesel")
    GASOLINE = "gasoline", _("Gasoline")
    NATURAL_GAS = "gas", _("Natural gas (CNG/LNG)")
    ELECTRIC = "electric", _("Battery electric")
    HYBRID = "hybrid", _("Hybrid")
    HYDROGEN = "hydrogen", _("Hydrogen fuel cell")
    METHANOL = "methanol", _("Methanol")
    OTHER = "other", _("Other")


NEW_ENERGY_FUELS = {Fuel.ELECTRIC, Fuel.HYBRID, Fuel.HYDROGEN}


class VehicleCategory(models.TextChoices):
    """GB/T 15089 categories."""

    M1 = "M1", "M1"
    M2 = "M2", "M2"
    M3 = "M3", "M3"
    N1 = "N1", "N1"
    N2 = "N2", "N2"
    N3 = "N3", "N3"
    O = "O", _("O (trailer)")
    OTHER = "other", _("Other")


class VehicleClass(models.TextChoices):
    """The class policies are written for (derived from the category, editable per vehicle)."""

    HEAVY_TRUCK = "heavy_truck", _("Heavy goods vehicle")
    LIGHT_TRUCK = "light_truck", _("Light goods vehicle")
    BUS = "bus", _("Bus / coach")
    CAR = "car", _("Passenger car")
    SPECIAL = "special", _("Special-purpose vehicle")
    IN_PLANT = "in_plant", _("In-plant vehicle")
    NRMM = "nrmm", _("Non-road machinery")
    UNKNOWN = "unknown", _("Unknown / unregistered")


CATEGORY_CLASS = {
    VehicleCategory.N2: VehicleClass.HEAVY_TRUCK, VehicleCategory.N3: VehicleClass.HEAVY_TRUCK,
    VehicleCategory.N1: VehicleClass.LIGHT_TRUCK, VehicleCategory.M2: VehicleClass.BUS,
    VehicleCategory.M3: VehicleClass.BUS, VehicleCategory.M1: VehicleClass.CAR,
    VehicleCategory.O: VehicleClass.HEAVY_TRUCK,
}


class NetworkStatus(models.TextChoices):
    """联网状态: whether the vehicle's OBD / remote terminal reports to the regulator."""

    ONLINE = "online", _("Networked")
    OFFLINE = "offline", _("Not networked")
    UNKNOWN = "unknown", _("Unknown")


class PerformanceGrade(models.TextChoices):
    """Enterprise performance grade (绩效分级) under the heavy-pollution-weather guide."""

    LEADING = "leading", _("Performance-leading (绩效引领性)")
    A = "A", "A"
    B = "B", "B"
    B_MINUS = "B-", "B-"
    C = "C", "C"
    D = "D", "D"


class AlertLevel(models.TextChoices):
    """Heavy-pollution-weather alert: 黄色→III级, 橙色→II级, 红色→I级."""

    NONE = "none", _("No alert")
    YELLOW = "yellow", _("Yellow (level III)")
    ORANGE = "orange", _("Orange (level II)")
    RED = "red", _("Red (level I)")


class Direction(models.TextChoices):
    IN = "in", _("Entry")
    OUT = "out", _("Exit")


class Decision(models.TextChoices):
    PASS = "pass", _("Pass")
    BLOCK = "block", _("Block")
    MANUAL = "manual", _("Manual check")


class RegistrationState(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class RegistrationSource(models.TextChoices):
    OFFICE = "office", _("Entered by staff")
    IMPORT = "import", _("Excel import")
    CARRIER = "carrier", _("Registered by the carrier")
    GUARD = "guard", _("Registered at the gate")


# Vendor code tables -> GreenLedger codes (gate.md §4, §7)
ZHENSHI_PLATE_COLOR = {0: PlateColor.UNKNOWN, 1: PlateColor.BLUE, 2: PlateColor.YELLOW, 3: PlateColor.WHITE,
                       4: PlateColor.BLACK, 5: PlateColor.GREEN, 6: PlateColor.YELLOW_GREEN}
# Platform stage codes seen in published gate APIs: 0–6 = 国0–国VI, D = electric
PLATFORM_STAGE = {"0": EmissionStage.CN0, "1": EmissionStage.CN1, "2": EmissionStage.CN2, "3": EmissionStage.CN3,
                  "4": EmissionStage.CN4, "5": EmissionStage.CN5, "6": EmissionStage.CN6, "D": EmissionStage.ELECTRIC}
