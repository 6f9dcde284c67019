"""Canonical JSON of a database row: the exact bytes a leaf of the evidence log hashes.

A record is ``{"table": "<app_label.model_name>", "id": "<pk>", "data": {attname: value}}`` over
every concrete field, serialised with sorted keys, UTF-8 (no ASCII escaping) and no whitespace.
Values are normalised so that SQLite and PostgreSQL give the same bytes:

| Python value | JSON |
| --- | --- |
| datetime | ``"2026-11-30T03:27:06.123456Z"`` (UTC, always microseconds) |
| date / time | ISO 8601 (time with microseconds) |
| Decimal | string with the field's ``decimal_places`` (``"12.500"``) |
| float | number; NaN and infinities as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` |
| UUID, IP address | string |
| timedelta | integer microseconds |
| bytes / memoryview | lowercase hex string |
| file field | the stored name |
| JSON field | as stored |
| foreign key | the raw id (attname ``x_id``) |

The record is always built from the row *as the database returns it*: when sealing, the columns
the INSERT itself returned (``RETURNING``, ``SealedModel``) or the row re-read inside the inserting
transaction; when verifying, the row re-read with ``values()``. Both pass through the same field
converters, so what is hashed is what is stored.
"""

import datetime
import decimal
import ipaddress
import json
import math
import uuid

from django.db import models, router

from greenledger.core.prepared import Prepared

UTC = datetime.UTC
PLAIN_TYPES = frozenset({str, int, bool})


def table_label(model) -> str:
    return model._meta.concrete_model._meta.label_lower


def record_fields(model) -> list:
    """The sealed columns: every concrete field except the model's derived ones."""
    model = model._meta.concrete_model
    derived = set(getattr(model, "evidence_derived_fields", ()))
    return [f for f in model._meta.concrete_fields if f.name not in derived and f.attname not in derived]


def format_datetime(value: datetime.datetime) -> str:
    # Naive datetimes only occur with USE_TZ = False, where Django stores them as given: read as UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise(field, value):
    """One field value as a JSON-ready value, independent of the database backend."""
    # Most values are text and numbers; answer them before the chain of isinstance checks.
    if value is None or type(value) in PLAIN_TYPES:
        return value
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, datetime.timedelta):
        return (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, decimal.Decimal):
        return format_decimal(field, value)
    if isinstance(value, float):
        return (
            value
            if math.isfinite(value)
            else ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
        )
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (uuid.UUID, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(field, models.JSONField):
        return value
    if hasattr(value, "name") and isinstance(field, models.FileField):
        return value.name
    if isinstance(value, (dict, list)):
        return value
    return str(value)


def format_decimal(field, value: decimal.Decimal) -> str:
    places = getattr(field, "decimal_places", None)
    if places is None or not value.is_finite():
        return str(value)
    return f"{value:.{places}f}"


def record_dict(model, values: dict) -> dict:
    """The canonical record from a ``values()`` row of ``model`` (keys are attnames)."""
    fields = record_fields(model)
    pk_name = model._meta.concrete_model._meta.pk.attname
    return {
        "table": table_label(model),
        "id": str(values[pk_name]),
        "data": {field.attname: normalise(field, values[field.attname]) for field in fields},
    }


def dumps(record: dict) -> bytes:
    return json.dumps(
        record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def record_bytes(model, values: dict) -> bytes:
    return dumps(record_dict(model, values))


def rows(model, using=None, pks=None):
    """``values()`` rows of ``model`` with every concrete field, ordered by primary key."""
    model = model._meta.concrete_model
    queryset = model._base_manager.using(using).all()
    if pks is not None:
        queryset = queryset.filter(pk__in=pks)
    return queryset.order_by("pk").values(*[field.attname for field in record_fields(model)])


def read_record(model, pk, using=None) -> bytes | None:
    """Canonical bytes of the row ``pk`` as stored now, or None when the row is gone.

    Every seal calls this, so the ``values()`` query is compiled once per model and database
    (:mod:`greenledger.core.prepared`) and then run again for each primary key: the same row, the
    same converters, the same bytes, without compiling the query for every record.
    """
    model = model._meta.concrete_model
    using = using or router.db_for_read(model)
    found = _reader(model, using).first(pk=pk)
    return record_bytes(model, found) if found is not None else None


_READERS = {}  # (model, alias) -> Prepared one-row values() query


def _reader(model, using):
    reader = _READERS.get((model, using))
    if reader is None:
        names = [field.attname for field in record_fields(model)]
        reader = _READERS[(model, using)] = Prepared(
            lambda pk: model._base_manager.using(using).filter(pk=pk).values(*names))
    return reader
