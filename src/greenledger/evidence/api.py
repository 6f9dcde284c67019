"""JSON API of the evidence log (mounted at ``/api/evidence/``): proofs, lookups, checkpoints.

Reading needs the permission ``evidence.view_leaf``; taking a checkpoint needs
``evidence.add_checkpoint`` (superusers have both). Hashes and signatures are lowercase hex,
times UTC ISO 8601. Errors use the project's format
``{"errors": [{"field": ..., "rule": ..., "message": ...}]}``.
"""

import json

from django.http import JsonResponse
from ninja import Query, Router, Schema

from greenledger.evidence import canonical, services, tree
from greenledger.evidence.models import Leaf

router = Router(tags=["evidence"])

READ_PERMISSION = "evidence.view_leaf"
CHECKPOINT_PERMISSION = "evidence.add_checkpoint"


class ErrorItem(Schema):
    field: str
    rule: str
    message: str


class ErrorOut(Schema):
    errors: list[ErrorItem]


class CheckpointOut(Schema):
    tree_size: int
    root_hash: str
    created_at: str
    signature: str
    key_id: str
    message: str
    public_key_pem: str | None


class LeafOut(Schema):
    leaf_index: int
    table: str
    id: str
    sealed_at: str
    leaf_hash: str


class ProofOut(LeafOut):
    record_json: str | None
    record: dict | None
    record_hash: str | None
    matches: bool
    audit_path: list[str]
    tree_size: int
    root_hash: str
    checkpoint: CheckpointOut | None


class ConsistencyOut(Schema):
    from_size: int
    to_size: int
    from_root: str
    to_root: str
    proof: list[str]
    from_checkpoint: CheckpointOut | None
    to_checkpoint: CheckpointOut | None


def error(status, field, rule, message):
    return JsonResponse({"errors": [{"field": field, "rule": rule, "message": message}]}, status=status)


def denied(request, permission):
    """An error response when the user lacks ``permission``, else None."""
    if not request.user.is_authenticated:
        return error(401, "user", "authenticated", "Log in to read the evidence log.")
    if not request.user.has_perm(permission):
        return error(403, "user", "permission", f"The permission {permission} is required.")
    return None


def leaf_out(leaf: Leaf) -> dict:
    return {
        "leaf_index": leaf.index,
        "table": leaf.table,
        "id": leaf.record_id,
        "sealed_at": canonical.format_datetime(leaf.sealed_at),
        "leaf_hash": leaf.leaf_hash_hex,
    }


def checkpoint_out(checkpoint):
    return None if checkpoint is None else services.checkpoint_dict(checkpoint)


@router.get(
    "/records/{index}/proof",
    response={200: ProofOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
)
def record_proof(request, index: int, tree_size: int | None = None):
    """Inclusion proof of leaf ``index`` with the record as it reads now (default size: latest checkpoint)."""
    if refusal := denied(request, READ_PERMISSION):
        return refusal
    try:
        proof = services.record_proof(index, tree_size)
    except Leaf.DoesNotExist:
        return error(404, "index", "exists", f"The evidence log has no leaf {index}.")
    except ValueError as problem:
        return error(422, "tree_size", "range", str(problem))
    return {
        **leaf_out(proof.leaf),
        "record_json": None if proof.record is None else proof.record.decode("utf-8"),
        "record": None if proof.record is None else json.loads(proof.record),
        "record_hash": None if proof.record_hash is None else proof.record_hash.hex(),
        "matches": proof.matches,
        "audit_path": [digest.hex() for digest in proof.audit_path],
        "tree_size": proof.tree_size,
        "root_hash": proof.root.hex(),
        "checkpoint": checkpoint_out(proof.checkpoint),
    }


@router.get("/records", response={200: LeafOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut})
def find_record(request, table: str, id: str):
    """The leaf of record ``id`` of ``table`` (``app_label.model_name``)."""
    if refusal := denied(request, READ_PERMISSION):
        return refusal
    leaf = services.find_leaf(table.lower(), id)
    if leaf is None:
        return error(404, "id", "sealed", f"No sealed record {table} {id}.")
    return leaf_out(leaf)


@router.get("/checkpoints/latest", response={200: CheckpointOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut})
def latest_checkpoint(request):
    if refusal := denied(request, READ_PERMISSION):
        return refusal
    checkpoint = services.latest_checkpoint()
    if checkpoint is None:
        return error(404, "checkpoint", "exists", "No checkpoint has been signed yet.")
    return checkpoint_out(checkpoint)


@router.get("/consistency", response={200: ConsistencyOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut})
def consistency(request, from_size: int = Query(..., alias="from"), to_size: int = Query(..., alias="to")):
    """RFC 6962 consistency proof that the tree of size ``from`` is a prefix of the tree of size ``to``."""
    if refusal := denied(request, READ_PERMISSION):
        return refusal
    if not 0 <= from_size <= to_size:
        return error(422, "from", "range", "Need 0 <= from <= to.")
    try:
        proof, from_root, to_root = tree.consistency_proof(from_size, to_size)
    except ValueError as problem:
        return error(422, "to", "range", str(problem))
    return {
        "from_size": from_size,
        "to_size": to_size,
        "from_root": from_root.hex(),
        "to_root": to_root.hex(),
        "proof": [digest.hex() for digest in proof],
        "from_checkpoint": checkpoint_out(services.checkpoint_at(from_size)),
        "to_checkpoint": checkpoint_out(services.checkpoint_at(to_size)),
    }


@router.post("/checkpoints", response={200: CheckpointOut, 201: CheckpointOut, 401: ErrorOut, 403: ErrorOut})
def take_checkpoint(request):
    """Sign the current tree head; 201 when a new checkpoint was signed, 200 when the tree had not grown."""
    if refusal := denied(request, CHECKPOINT_PERMISSION):
        return refusal
    checkpoint, created = services.take_checkpoint()
    return (201 if created else 200), checkpoint_out(checkpoint)
