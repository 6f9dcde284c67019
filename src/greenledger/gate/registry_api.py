"""Gate API: registry part (mounted by gate/api.py at /api/gate/).

``GET/POST /vehicles``, ``/inplant-vehicles``, ``/machines``; ``GET /<registry>/{id}``;
``POST /<registry>/{id}/review``; ``GET /registry/lookup?plate=…&plate_color=…`` finds a plate in
the three registries (what the gate does) and returns the ledger fields.

POST runs the same form and checks as the pages: errors come back as 422 in the common error
format; warnings (e.g. a VIN check digit that does not match) as 409 with rule ``confirm`` until
the request is sent again with ``"confirm": true``. Choices accept codes or the usual words
(国五, 柴油, 黄色). New entries wait for review (source "office", or "import" for integrations).
Tokens: purpose "integration" may read and write, "camera" and "regulator" may read.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from greenledger.core import permissions

from . import registry, registry_excel
from .codes import CATEGORY_CLASS, RegistrationSource, RegistrationState
from .models import InPlantVehicle, Machine, Vehicle
from .registry_forms import InPlantVehicleForm, MachineForm, VehicleForm
from .validation import normalize_plate

router = Router(tags=["gate"])
READERS = ("integration", "camera", "regulator")
WRITERS = ("integration",)
REVIEW_PERM = "gate.review_registration"


class RegistryOut(Schema):
    id: int
    kind: str
    site: str
    state: str
    source: str
    reviewed_at: datetime.datetime | None
    review_note: str
    ledger: dict


class LookupOut(Schema):
    kind: str
    entry: RegistryOut | None


class EngineIn(Schema):
    site: str = ""
    engine_model: str = ""
    engine_maker: str = ""
    engine_no: str = ""
    fuel: str = "diesel"
    stage: str = "unknown"
    owner: str = ""
    network_status: str = "unknown"
    remarks: str = ""
    confirm: bool = False


class VehicleIn(EngineIn):
    plate: str
    plate_color: str = "yellow"
    trailer_plate: str = ""
    vin: str = ""
    vehicle_type: str = ""
    category: str = "N3"
    vehicle_class: str = ""
    brand_model: str = ""
    registration_date: datetime.date | None = None
    use_nature: str = ""
    carrier: int | None = None
    gross_mass_kg: int | None = None
    special_purpose: bool = False
    hazmat: bool = False


class InPlantIn(EngineIn):
    registration_code: str
    plate: str = ""
    plate_color: str = ""
    vin: str = ""
    brand_model: str = ""
    production_date: datetime.date | None = None
    registration_date: datetime.date | None = None


class MachineIn(EngineIn):
    registration_code: str
    machine_code: str = ""
    machine_type: str
    model: str = ""
    maker: str = ""
    rated_power_kw: Decimal | None = None
    production_date: datetime.date | None = None
    plate: str = ""
    disclosure_no: str = ""


class ReviewIn(Schema):
    approve: bool
    note: str = ""


KINDS = {
    "vehicles": ("vehicle", Vehicle, VehicleForm),
    "inplant-vehicles": ("inplant", InPlantVehicle, InPlantVehicleForm),
    "machines": ("machine", Machine, MachineForm),
}


def entry_out(entry):
    fields = registry.ledger_fields(entry)
    return RegistryOut(id=entry.pk, kind=fields["kind"], site=entry.site.code, state=entry.state,
                       source=entry.source, reviewed_at=entry.reviewed_at, review_note=entry.review_note,
                       ledger=fields)


def scoped(request, model):
    queryset = model.objects.select_related("site")
    if model is Vehicle:
        queryset = queryset.select_related("carrier")
    return permissions.scope_queryset(request, queryset)


def site_for(request, code):
    sites = permissions.scope_sites(request)
    if code:
        site = sites.filter(code=code).first()
        if site is None:
            raise ValidationError({"site": ValidationError("unknown site or outside your scope", code="scope")})
        return site
    if sites.count() != 1:
        raise ValidationError({"site": ValidationError("give the site code", code="required")})
    return sites.get()


def form_data(key, payload, site):
    """The form's POST data from a payload: words for choices become codes, the site its id."""
    data = {k: v for k, v in payload.model_dump(exclude={"site", "confirm"}).items() if v is not None}
    for field in ("plate_color", "fuel", "network_status", "category", "vehicle_class"):
        if data.get(field):
            try:
                data[field] = registry_excel.choice_value(field, data[field]) or data[field]
            except ValueError:
                pass  # the form reports it as an invalid choice
    if data.get("stage"):
        try:
            data["stage"] = registry_excel.stage_value(data["stage"], key)
        except ValueError:
            pass
    if key == "vehicle" and not data.get("vehicle_class"):
        data["vehicle_class"] = CATEGORY_CLASS.get(data.get("category"), "heavy_truck")
    for flag in ("special_purpose", "hazmat"):
        if data.get(flag) is False:
            data.pop(flag)
    data["site"] = site.pk
    data["confirm_warnings"] = "on" if payload.confirm else ""
    return data


def form_errors(form):
    """Form errors in the API's format; warnings waiting for confirmation come back separately."""
    errors = []
    for field, items in form.errors.as_data().items():
        if field == "confirm_warnings":
            continue
        for error in items:
            errors.append({"field": "" if field == "__all__" else field, "rule": error.code or "invalid",
                           "message": " ".join(error.messages)})
    warnings = [{"field": w.field, "rule": "confirm", "message": w.message} for w in getattr(form, "warnings", [])]
    return errors, warnings


def list_entries(request, path, plate="", state="", limit=100, offset=0):
    _key, model, _form = KINDS[path]
    permissions.require(request, f"gate.view_{model._meta.model_name}", purposes=READERS)
    queryset = scoped(request, model)
    if plate:
        queryset = queryset.filter(plate__contains=normalize_plate(plate))
    if state:
        queryset = queryset.filter(state=state)
    limit = max(1, min(limit, 1000))
    return [entry_out(e) for e in queryset.order_by("pk")[offset:offset + limit]]


def create_entry(request, path, payload):
    key, model, form_class = KINDS[path]
    permissions.require(request, f"gate.add_{model._meta.model_name}", purposes=WRITERS)
    site = site_for(request, payload.site)
    token = permissions.token_of(request)
    form = form_class(form_data(key, payload, site), sites=permissions.scope_sites(request))
    if not form.is_valid():
        errors, warnings = form_errors(form)
        if errors:
            return Status(422, {"errors": errors})
        return Status(409, {"errors": warnings})
    entry = form.save(commit=False)
    entry.source = RegistrationSource.IMPORT if token else RegistrationSource.OFFICE
    entry.state = RegistrationState.PENDING
    entry.save()
    return Status(201, entry_out(entry))


def get_entry(request, path, entry_id):
    _key, model, _form = KINDS[path]
    permissions.require(request, f"gate.view_{model._meta.model_name}", purposes=READERS)
    return entry_out(get_object_or_404(scoped(request, model), pk=entry_id))


def review_entry(request, path, entry_id, payload):
    _key, model, _form = KINDS[path]
    permissions.require(request, REVIEW_PERM)
    entry = get_object_or_404(scoped(request, model), pk=entry_id)
    if not payload.approve and not payload.note.strip():
        raise ValidationError({"note": ValidationError("give the reason for the rejection", code="required")})
    return entry_out(registry.review(entry, payload.approve, request.user, payload.note))


LIST_RESPONSE = list[RegistryOut]
CREATE_RESPONSE = {201: RegistryOut, 409: dict, 422: dict}


@router.get("/vehicles", response=LIST_RESPONSE)
def list_vehicles(request, plate: str = "", state: str = "", limit: int = 100, offset: int = 0):
    """Road vehicles in scope; ``plate`` matches part of the plate."""
    return list_entries(request, "vehicles", plate, state, limit, offset)


@router.post("/vehicles", response=CREATE_RESPONSE)
def create_vehicle(request, payload: VehicleIn):
    return create_entry(request, "vehicles", payload)


@router.get("/vehicles/{entry_id}", response=RegistryOut)
def get_vehicle(request, entry_id: int):
    return get_entry(request, "vehicles", entry_id)


@router.post("/vehicles/{entry_id}/review", response=RegistryOut)
def review_vehicle(request, entry_id: int, payload: ReviewIn):
    return review_entry(request, "vehicles", entry_id, payload)


@router.get("/inplant-vehicles", response=LIST_RESPONSE)
def list_in_plant(request, plate: str = "", state: str = "", limit: int = 100, offset: int = 0):
    return list_entries(request, "inplant-vehicles", plate, state, limit, offset)


@router.post("/inplant-vehicles", response=CREATE_RESPONSE)
def create_in_plant(request, payload: InPlantIn):
    return create_entry(request, "inplant-vehicles", payload)


@router.get("/inplant-vehicles/{entry_id}", response=RegistryOut)
def get_in_plant(request, entry_id: int):
    return get_entry(request, "inplant-vehicles", entry_id)


@router.post("/inplant-vehicles/{entry_id}/review", response=RegistryOut)
def review_in_plant(request, entry_id: int, payload: ReviewIn):
    return review_entry(request, "inplant-vehicles", entry_id, payload)


@router.get("/machines", response=LIST_RESPONSE)
def list_machines(request, plate: str = "", state: str = "", limit: int = 100, offset: int = 0):
    return list_entries(request, "machines", plate, state, limit, offset)


@router.post("/machines", response=CREATE_RESPONSE)
def create_machine(request, payload: MachineIn):
    return create_entry(request, "machines", payload)


@router.get("/machines/{entry_id}", response=RegistryOut)
def get_machine(request, entry_id: int):
    return get_entry(request, "machines", entry_id)


@router.post("/machines/{entry_id}/review", response=RegistryOut)
def review_machine(request, entry_id: int, payload: ReviewIn):
    return review_entry(request, "machines", entry_id, payload)


@router.get("/registry/lookup", response=LookupOut)
def lookup(request, plate: str, plate_color: str = "", site: str = ""):
    """Find a plate as the gate does: road vehicles (by colour when given), in-plant vehicles, machines."""
    permissions.require(request, "gate.view_vehicle", purposes=READERS)
    kind, entry = registry.find_registered(site_for(request, site), plate, plate_color or None)
    return LookupOut(kind=str(kind),
                     entry=entry_out(entry) if entry is not None else None)
