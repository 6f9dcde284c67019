"""Field mapping and code tables (字段映射与代码表): GreenLedger records → a platform's JSON body.

Each province names its fields and codes its own way, so both are data on the ``Platform``:

- ``field_map[kind]`` maps a platform field name to a GreenLedger source path, optionally with a code
  table after a bar: ``{"carColour": "plate_color|plate_color"}``. Paths are read from the record's
  source dict (see :func:`source_of`); dotted paths reach into ``ledger`` (``ledger.vin``). ``=text``
  is a constant; ``$enterprise_code`` is the platform's code for the site.
- ``code_tables[table]`` maps our code to the platform's (``{"plate_color": {"yellow": "2"}}``). A code
  missing from the table is sent as it is, and the platform's rejection names the field.

An empty ``field_map``/``code_tables`` on a platform means :data:`DEFAULT_FIELD_MAP` /
:data:`DEFAULT_CODE_TABLES`: the generic profile as the simulator implements it. Code values follow
GA/T 16 style tables where known (plate colour, fuel) and the "entranceControl" API for the stage
(0–6, D = electric); confirm them against the target province's 联网规范.
"""

import base64

from django.utils import timezone

from .models import Kind

DEFAULT_CODE_TABLES = {
    "plate_color": {"blue": "1", "yellow": "2", "white": "3", "black": "4", "green": "5", "yellow_green": "6",
                    "unknown": "0"},
    "stage": {"0": "0", "1": "1", "2": "2", "3": "3", "4": "4", "5": "5", "6": "6", "ev": "D",
              "nr1": "F1", "nr2": "F2", "nr3": "F3", "nr4": "F4", "unknown": "X"},
    "fuel": {"gasoline": "A", "diesel": "B", "electric": "C", "gas": "E", "hybrid": "O", "methanol": "L",
             "hydrogen": "H", "other": "Z", "": "Z"},
    "direction": {"in": "1", "out": "2"},
    "decision": {"pass": "1", "block": "0", "manual": "2"},
    "alert_level": {"none": "0", "yellow": "3", "orange": "2", "red": "1"},
    "yes_no": {"True": "1", "False": "0", "None": ""},
}

_REGISTRY_COMMON = {
    "entNo": "$enterprise_code", "carNo": "plate", "carColour": "plate_color|plate_color",
    "engineModel": "engine_model", "engineMaker": "engine_maker", "engineNo": "engine_no",
    "fuelType": "fuel|fuel", "stage": "stage|stage", "owner": "owner", "networkStatus": "network_status",
    "state": "registration_state",
}

DEFAULT_FIELD_MAP = {
    Kind.PASSAGE: {
        "entNo": "$enterprise_code", "gateNo": "gate_code", "gateName": "gate_name", "laneNo": "lane_code",
        "passType": "direction|direction", "passTime": "occurred_at", "carNo": "plate",
        "carColour": "plate_color|plate_color", "vin": "ledger.vin", "vehicleType": "ledger.vehicle_type",
        "engineNo": "ledger.engine_no", "engineModel": "ledger.engine_model", "fuelType": "fuel|fuel",
        "stage": "stage|stage", "registrationCode": "ledger.registration_code", "fleet": "carrier_name",
        "cargoName": "cargo_name", "cargoWeight": "cargo_weight_t", "alertLevel": "alert_level|alert_level",
        "result": "decision|decision", "reason": "reason", "recordTime": "recorded_at",
    },
    Kind.PASSAGE_IMAGE: {
        "entNo": "$enterprise_code", "passRecordId": "passage_id", "imageType": "caption", "fileName": "file_name",
        "mimeType": "mime_type", "sha256": "sha256", "takenTime": "occurred_at",
    },
    Kind.VEHICLE: {
        **_REGISTRY_COMMON, "vin": "vin", "vehicleType": "vehicle_type", "category": "category",
        "brandModel": "brand_model", "registerDate": "registration_date", "useNature": "use_nature",
        "fleet": "carrier", "trailerNo": "trailer_plate",
    },
    Kind.IN_PLANT_VEHICLE: {
        **_REGISTRY_COMMON, "registrationCode": "registration_code", "vin": "vin", "brandModel": "brand_model",
        "productionDate": "production_date", "registerDate": "registration_date",
    },
    Kind.MACHINE: {
        **_REGISTRY_COMMON, "registrationCode": "registration_code", "pin": "machine_code",
        "machineType": "machine_type", "model": "model", "maker": "maker", "ratedPower": "rated_power_kw",
        "productionDate": "production_date", "disclosureNo": "disclosure_no",
    },
    Kind.MEASURE_RECORD: {
        "entNo": "$enterprise_code", "recordNo": "id", "measureCode": "measure_code", "measureName": "measure_name",
        "measureType": "measure_type", "stageName": "stage_name", "equipmentCode": "equipment_code",
        "execTime": "occurred_at", "recordTime": "recorded_at", "executor": "executor_name", "params": "values",
        "compliant": "compliant|yes_no", "remarks": "remarks", "batchNo": "batch_no", "lateEntry": "is_late|yes_no",
        "outsourced": "outsourced|yes_no", "correctsRecordNo": "corrects_id", "correctionReason": "correction_reason",
    },
    Kind.EMISSION_REPORT: {
        "entNo": "$enterprise_code", "reportNo": "id", "periodStart": "period_start", "periodEnd": "period_end",
        "asOf": "as_of", "issuedTime": "issued_at", "totals": "content.totals", "factors": "content.factors",
        "checkpointSize": "checkpoint_size", "checkpointRoot": "checkpoint_root",
    },
}
# Fields the simulator (and, by default, the generic profile) requires per kind.
REQUIRED = {
    Kind.PASSAGE: ("carNo", "passTime", "passType", "carColour"),
    Kind.PASSAGE_IMAGE: ("passRecordId", "imageType"),
    Kind.VEHICLE: ("carNo", "carColour"),
    Kind.IN_PLANT_VEHICLE: ("registrationCode",),
    Kind.MACHINE: ("registrationCode",),
    Kind.MEASURE_RECORD: ("recordNo", "measureCode", "execTime"),
    Kind.EMISSION_REPORT: ("reportNo", "periodStart", "periodEnd"),
}


def field_map_of(platform, kind):
    return (platform.field_map or {}).get(kind) or DEFAULT_FIELD_MAP[kind]


def code_tables_of(platform):
    return {**DEFAULT_CODE_TABLES, **(platform.code_tables or {})}


def local_text(value):
    """Times go out as local wall-clock text, seconds precision (what Chinese platforms expect)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def _read(source, path):
    value = source
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def map_fields(platform, kind, source):
    """The platform body of one record: ``field_map`` applied to ``source`` with the code tables."""
    tables = code_tables_of(platform)
    body = {}
    for name, spec in field_map_of(platform, kind).items():
        path, _bar, table = str(spec).partition("|")
        if path.startswith("="):
            value = path[1:]
        elif path == "$enterprise_code":
            value = platform.enterprise_code
        else:
            value = _read(source, path)
        if table:
            value = tables.get(table, {}).get("" if value is None else str(value), value)
        if hasattr(value, "tzinfo"):
            value = local_text(value)
        elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = str(value)
        body[name] = "" if value is None else value
    return body


# ---------------------------------------------------------------- sources


def source_of(kind, record):
    """GreenLedger's fields of a record as a flat dict (passages: :func:`passage_sources`, ``ledger`` nested)."""
    if kind == Kind.PASSAGE_IMAGE:
        return _image_source(record)
    if kind == Kind.MEASURE_RECORD:
        return _measure_record_source(record)
    if kind == Kind.EMISSION_REPORT:
        return {f.attname: getattr(record, f.attname) for f in record._meta.concrete_fields} | {"id": str(record.pk)}
    from greenledger.gate.registry import ledger_fields

    return {**ledger_fields(record), "updated_at": record.updated_at}


def passage_sources(ids):
    """Source dicts of many passages in one ``values()`` query, by passage id text (no model instances:
    the worker maps a whole claimed batch at once)."""
    from greenledger.gate.models import Passage

    names = [f.attname for f in Passage._meta.concrete_fields]
    sources = {}
    for row in Passage.objects.filter(pk__in=ids).values(*names, "gate__code", "gate__name", "lane__code"):
        row["gate_code"], row["gate_name"], row["lane_code"] = (row.pop("gate__code"), row.pop("gate__name"),
                                                                row.pop("lane__code"))
        row["id"] = str(row["id"])
        sources[row["id"]] = row
    return sources


def _measure_record_source(record):
    fields = {f.attname: getattr(record, f.attname) for f in record._meta.concrete_fields}
    fields.update(id=str(record.pk), corrects_id=str(record.corrects_id or ""), measure_code=record.measure.code,
                  measure_name=record.measure.name, measure_type=record.measure.measure_type,
                  stage_name=record.stage.name, executor_name=record.executor.name,
                  equipment_code=record.equipment.code if record.equipment_id else "")
    return fields


def _image_source(attachment):
    return {"passage_id": attachment.object_id, "caption": attachment.caption, "file_name": attachment.original_name,
            "mime_type": attachment.mime_type, "sha256": attachment.sha256, "occurred_at": attachment.occurred_at}


def image_content(attachment):
    """The image bytes as base64, read at send time (the attachment is sealed, so they never change)."""
    with attachment.file.open("rb") as handle:
        return base64.b64encode(handle.read()).decode()
