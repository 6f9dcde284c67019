"""Evidence log services: seal a record, take a signed checkpoint, prove, summarise.

``seal(instance)`` is the one way to seal a ledger record (``SealedModel.save`` calls it). It
takes the row as the database stored it — returned by the INSERT itself for a ``SealedModel``,
else re-read inside the inserting transaction —, hashes its canonical JSON as an RFC 6962 leaf,
and appends the leaf to the log; if anything fails the insert rolls back with it.
"""

import contextlib
import datetime
import threading
from dataclasses import dataclass

from django.db import router, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from greenledger.evidence import canonical, keys, merkle, registry, tree
from greenledger.evidence.models import Checkpoint, Leaf


class SealError(Exception):
    """A record could not be sealed."""


def seal(instance, using=None) -> Leaf:
    """Seal a saved row into the evidence log, in the caller's transaction; return its leaf.

    Works for any model instance (ledger records, third-party rows such as auditlog entries).
    Without a surrounding transaction it opens its own, so the row is then already committed:
    callers that need "saved ⇔ sealed" wrap the insert and the seal in one ``atomic()``.
    """
    model = instance._meta.concrete_model
    using = using or instance._state.db or router.db_for_write(model)
    if instance.pk is None:
        raise SealError(f"{model._meta.label} must be saved before it is sealed")
    stored = instance.__dict__.pop("_evidence_row", None)  # the row its INSERT returned (SealedModel)
    waiting = getattr(_together, "rows", None)
    if waiting is not None and _together.using == using:
        waiting.append((model, instance.pk, stored))  # sealing_together() appends it when its block ends
        return None
    with transaction.atomic(using=using, savepoint=False):
        table, record_id, leaf_hash = _leaf_entry(model, instance.pk, using, stored)
        leaf = Leaf(table=table, record_id=record_id, leaf_hash=leaf_hash, sealed_at=timezone.now())
        [leaf.index] = tree.append_leaves([(table, record_id, leaf_hash)], using, leaf.sealed_at)
    leaf._state.adding, leaf._state.db = False, using
    return leaf


def _leaf_entry(model, pk, using, stored=None):
    """(table, record id, leaf hash) of the row as stored: ``stored`` is the row its INSERT returned
    (every sealed column, ``SealedModel``), else it is read with ``canonical.read_record``'s query
    (compiled once per model)."""
    record = canonical.record_bytes(model, stored) if stored is not None else canonical.read_record(model, pk, using)
    if record is None:
        raise SealError(f"{model._meta.label} {pk} is not in the database")
    return canonical.table_label(model), str(pk), merkle.leaf_hash(record)


_together = threading.local()


@contextlib.contextmanager
def sealing_together(using=None):
    """Seal the ledger rows saved inside the block with one append to the log, when the block ends.

    Each ``SealedModel.save`` in the block inserts its row at once; the leaves are appended at the
    end of the block, in the order the rows were saved, inside the same transaction (rows and leaves
    still commit or roll back together) and under one lock of the log head instead of one per row:
    a camera push writes four sealed rows. ``seal()`` returns None inside the block. A nested block
    belongs to the outer one. Use it inside the caller's ``transaction.atomic()`` (it adds no
    savepoint of its own): an error in the block rolls back that transaction.
    """
    using = using or router.db_for_write(Leaf)
    if getattr(_together, "rows", None) is not None:
        yield
        return
    _together.rows, _together.using = [], using
    try:
        with transaction.atomic(using=using, savepoint=False):
            yield
            rows, _together.rows = _together.rows, None
            _append_rows(rows, using)
    finally:
        _together.rows = None


def _append_rows(rows, using):
    """Append the leaves of saved rows ``[(model, pk, row its INSERT returned or None), …]`` in order,
    with one append (a block holds a few rows — a camera push four —, each taken as ``seal`` takes it)."""
    if rows:
        tree.append_leaves([_leaf_entry(model, pk, using, stored) for model, pk, stored in rows], using)


def insert_sealed(objects, using=None) -> list:
    """Insert many new ledger rows of one model and seal each, in one transaction.

    The same leaves ``SealedModel.save`` would write (canonical JSON re-read from the database),
    appended to the evidence log in one batch instead of one locked append per row: how a monthly
    import of a thousand meters or a group of uplink receipts stays fast.
    """
    if not objects:
        return []
    model = type(objects[0])._meta.concrete_model
    using = using or router.db_for_write(model)
    with transaction.atomic(using=using, savepoint=False):
        model._base_manager.using(using).bulk_create(objects)
        pks = [obj.pk for obj in objects]
        if any(pk is None for pk in pks):
            raise SealError(f"{model._meta.label}: the database did not return the new primary keys")
        pk_name = model._meta.pk.attname
        rows = {row[pk_name]: row for row in canonical.rows(model, using, pks=pks)}
        table = canonical.table_label(model)
        tree.append_leaves([(table, str(pk), merkle.leaf_hash(canonical.record_bytes(model, rows[pk])))
                            for pk in pks], using)
    for obj in objects:
        obj._state.adding, obj._state.db = False, using
    return objects


def tree_size(using=None) -> int:
    return tree.current_size(using)


# Checkpoints -------------------------------------------------------------------------------


def latest_checkpoint(using=None) -> Checkpoint | None:
    return Checkpoint.objects.using(using).order_by("-tree_size", "-created_at").first()


def checkpoint_at(size: int, using=None) -> Checkpoint | None:
    return Checkpoint.objects.using(using).filter(tree_size=size).order_by("-created_at").first()


def take_checkpoint(force=False, using=None) -> tuple[Checkpoint, bool]:
    """Sign the current tree head; return (checkpoint, created).

    Only signs when the tree grew since the latest checkpoint or none exists, unless ``force``.
    """
    with transaction.atomic(using=using):
        # The head lock keeps the size and root consistent with concurrent appends.
        size = tree.locked_head(using).size
        latest = latest_checkpoint(using)
        if latest is not None and latest.tree_size >= size and not force:
            return latest, False
        root_hex = tree.root_hash(size, using).hex()
        created_at = timezone.now()
        message = keys.checkpoint_message(size, root_hex, canonical.format_datetime(created_at))
        checkpoint = Checkpoint(
            tree_size=size,
            root_hash=root_hex,
            created_at=created_at,
            signature=keys.sign(message),
            key_id=keys.key_id(),
        )
        checkpoint.save(using=using, force_insert=True)
    return checkpoint, True


def checkpoint_message(checkpoint: Checkpoint) -> bytes:
    return keys.checkpoint_message(
        checkpoint.tree_size, checkpoint.root_hash, canonical.format_datetime(checkpoint.created_at)
    )


def checkpoint_signature_valid(checkpoint: Checkpoint) -> bool:
    return checkpoint.key_id == keys.key_id() and keys.signature_valid(
        checkpoint_message(checkpoint), checkpoint.signature
    )


def checkpoint_dict(checkpoint: Checkpoint) -> dict:
    """A checkpoint with everything needed to check it offline."""
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "created_at": canonical.format_datetime(checkpoint.created_at),
        "signature": checkpoint.signature,
        "key_id": checkpoint.key_id,
        "message": checkpoint_message(checkpoint).decode(),
        "public_key_pem": keys.public_key_pem() if checkpoint.key_id == keys.key_id() else None,
    }


# Lookups and proofs ------------------------------------------------------------------------


def find_leaf(table: str, record_id: str, using=None) -> Leaf | None:
    return Leaf.objects.using(using).filter(table=table, record_id=record_id).first()


def leaf_of(instance) -> Leaf | None:
    return find_leaf(canonical.table_label(instance), str(instance.pk), instance._state.db)


@dataclass
class RecordProof:
    """An inclusion proof of one leaf, with the record as it reads now."""

    leaf: Leaf
    record: bytes | None
    audit_path: list[bytes]
    tree_size: int
    root: bytes
    checkpoint: Checkpoint | None

    @property
    def record_hash(self) -> bytes | None:
        return None if self.record is None else merkle.leaf_hash(self.record)

    @property
    def matches(self) -> bool:
        return self.record_hash == bytes(self.leaf.leaf_hash)


def record_proof(index: int, size: int | None = None, using=None) -> RecordProof:
    """Inclusion proof of leaf ``index`` in the tree of ``size`` leaves (default: latest checkpoint).

    Raises Leaf.DoesNotExist for an unknown leaf and ValueError for a size that does not hold it.
    """
    leaf = Leaf.objects.using(using).get(index=index)
    if size is None:
        latest = latest_checkpoint(using)
        size = (
            latest.tree_size if latest is not None and latest.tree_size > index else tree.current_size(using)
        )
    if index >= size:
        raise ValueError(f"leaf {index} is not in the tree of size {size}")
    path, root = tree.inclusion_proof(index, size, using)
    model = registry.model_for(leaf.table)
    record = (
        None
        if model is None
        else canonical.read_record(model, model._meta.pk.to_python(leaf.record_id), using)
    )
    return RecordProof(leaf, record, path, size, root, checkpoint_at(size, using))


# Summary for pages -------------------------------------------------------------------------


def log_summary(days=30, using=None) -> dict:
    """What a page shows about the log.

    ``tree_size``; ``latest_checkpoint`` (a Checkpoint or None); ``per_table`` as
    (table label, leaves) pairs; ``per_day`` as (date, leaves) pairs for the last ``days`` days in
    the current time zone, oldest first, with zero for quiet days.
    """
    per_table = (
        Leaf.objects.using(using).values_list("table").annotate(count=Count("index")).order_by("table")
    )
    today = timezone.localdate()
    first_day = today - datetime.timedelta(days=days - 1)
    since = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
    counts = dict(
        Leaf.objects.using(using)
        .filter(sealed_at__gte=since)
        .annotate(day=TruncDate("sealed_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(count=Count("index"))
        .order_by()
    )
    return {
        "tree_size": tree.current_size(using),
        "latest_checkpoint": latest_checkpoint(using),
        "per_table": list(per_table),
        "per_day": [
            (day, counts.get(day, 0)) for day in (first_day + datetime.timedelta(days=n) for n in range(days))
        ],
    }
