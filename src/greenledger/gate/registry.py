"""Looking a plate up in the three registries and copying the HJ 1321 ledger fields into a passage.

``find_registered`` is what the decision engine asks first: road vehicles (by plate and, when the
camera read one, colour), then in-plant vehicles, then machines carrying a plate. ``ledger_fields``
is the snapshot a ``Passage`` keeps, so a later registry edit never changes the ledger.
``review`` approves or rejects a registration (used by the pages, the API and the import).
"""

from django.utils import timezone

from greenledger.core.prepared import Prepared

from .codes import RegistrationState
from .models import InPlantVehicle, Machine, Vehicle, VehicleKind
from .validation import normalize_plate

# Colours a camera reports that cannot tell registrations apart
_VAGUE_COLORS = {"", None, "unknown"}


def find_registered(site, plate, plate_color=None):
    """(kind, registry object or None) for a plate at a site; kind is a ``VehicleKind`` value.

    A road vehicle with the same plate and colour wins; without a (usable) colour, or when no
    vehicle has that colour, the plate alone decides (approved before pending before rejected,
    then the most recently changed).
    """
    plate = normalize_plate(plate)
    if not plate:
        return VehicleKind.UNKNOWN, None
    vehicle = _find_vehicle(site, plate, plate_color)
    if vehicle is not None:
        return VehicleKind.ROAD, vehicle
    in_plant = _preferred(_in_plant_by_plate.all(site_id=site.pk, plate=plate))
    if in_plant is not None:
        return VehicleKind.IN_PLANT, in_plant
    machine = _preferred(_machines_by_plate.all(site_id=site.pk, plate=plate))
    if machine is not None:
        return VehicleKind.NRMM, machine
    return VehicleKind.UNKNOWN, None


# asked for every camera push: compiled once (core.prepared)
_vehicles_by_plate = Prepared(lambda site_id, plate: Vehicle.objects.filter(site_id=site_id, plate=plate)
                              .select_related("carrier"))
_in_plant_by_plate = Prepared(lambda site_id, plate: InPlantVehicle.objects.filter(site_id=site_id, plate=plate))
_machines_by_plate = Prepared(lambda site_id, plate: Machine.objects.filter(site_id=site_id, plate=plate))


def _find_vehicle(site, plate, plate_color):
    vehicles = _vehicles_by_plate.all(site_id=site.pk, plate=plate)
    if plate_color not in _VAGUE_COLORS:
        exact = [vehicle for vehicle in vehicles if vehicle.plate_color == plate_color]
        if exact:
            return exact[0]  # (site, plate, colour) is unique
    return _preferred(vehicles)


_STATE_ORDER = {RegistrationState.APPROVED: 0, RegistrationState.PENDING: 1, RegistrationState.REJECTED: 2}


def _preferred(queryset):
    rows = sorted(queryset, key=lambda row: row.updated_at, reverse=True)
    rows.sort(key=lambda row: _STATE_ORDER.get(row.state, 3))
    return rows[0] if rows else None


def _date(value):
    return value.isoformat() if value else ""


def ledger_fields(obj):
    """The HJ 1321 ledger fields of a registry object as a JSON-ready dict (``{}`` for ``None``).

    Values are codes, not labels. Every kind gives ``kind``, ``plate``, ``plate_color``,
    ``engine_model``, ``engine_maker``, ``engine_no``, ``fuel``, ``stage``, ``owner``,
    ``network_status``, ``registration_state``, ``registration_id``. Road vehicles add ``vin``,
    ``vehicle_type``, ``category``, ``vehicle_class``, ``brand_model``, ``registration_date``,
    ``use_nature``, ``carrier`` (name), ``carrier_id``, ``trailer_plate``, ``gross_mass_kg``,
    ``special_purpose``, ``hazmat``; in-plant vehicles ``registration_code``, ``vin``, ``brand_model``,
    ``production_date``, ``registration_date``; machines ``registration_code``, ``machine_code``,
    ``machine_type``, ``model``, ``maker``, ``rated_power_kw``, ``production_date``, ``disclosure_no``.
    """
    if obj is None:
        return {}
    if isinstance(obj, Vehicle):
        specific = _vehicle_fields(obj)
    elif isinstance(obj, InPlantVehicle):
        specific = _in_plant_fields(obj)
    elif isinstance(obj, Machine):
        specific = _machine_fields(obj)
    else:
        raise TypeError(f"not a gate registry object: {obj!r}")
    return {**_common(obj), **specific}


def _common(obj):
    return {
        "plate": obj.plate or "",
        "plate_color": getattr(obj, "plate_color", "") or "",
        "engine_model": obj.engine_model,
        "engine_maker": obj.engine_maker,
        "engine_no": obj.engine_no,
        "fuel": obj.fuel,
        "stage": obj.stage,
        "owner": obj.owner,
        "network_status": obj.network_status,
        "registration_state": obj.state,
        "registration_id": obj.pk,
    }


def _vehicle_fields(vehicle):
    carrier = vehicle.carrier
    return {
        "kind": VehicleKind.ROAD.value,
        "trailer_plate": vehicle.trailer_plate,
        "vin": vehicle.vin,
        "vehicle_type": vehicle.vehicle_type,
        "category": vehicle.category,
        "vehicle_class": vehicle.vehicle_class,
        "brand_model": vehicle.brand_model,
        "registration_date": _date(vehicle.registration_date),
        "use_nature": vehicle.use_nature,
        "carrier": carrier.name if carrier else "",
        "carrier_id": carrier.pk if carrier else None,
        "gross_mass_kg": vehicle.gross_mass_kg,
        "special_purpose": vehicle.special_purpose,
        "hazmat": vehicle.hazmat,
    }


def _in_plant_fields(vehicle):
    return {
        "kind": VehicleKind.IN_PLANT.value,
        "registration_code": vehicle.registration_code,
        "vin": vehicle.vin,
        "brand_model": vehicle.brand_model,
        "production_date": _date(vehicle.production_date),
        "registration_date": _date(vehicle.registration_date),
    }


def _machine_fields(machine):
    return {
        "kind": VehicleKind.NRMM.value,
        "registration_code": machine.registration_code,
        "machine_code": machine.machine_code,
        "machine_type": machine.machine_type,
        "model": machine.model,
        "maker": machine.maker,
        "rated_power_kw": str(machine.rated_power_kw) if machine.rated_power_kw is not None else "",
        "production_date": _date(machine.production_date),
        "disclosure_no": machine.disclosure_no,
    }


def review(entry, approve, user, note=""):
    """Approve or reject a registration; records who decided and when (the audit log keeps the history)."""
    entry.state = RegistrationState.APPROVED if approve else RegistrationState.REJECTED
    entry.reviewed_by = user
    entry.reviewed_at = timezone.now()
    entry.review_note = (note or "").strip()[:300]
    entry.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note", "updated_at"])
    return entry
