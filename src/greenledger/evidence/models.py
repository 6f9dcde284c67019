"""Evidence log (证据日志): an append-only RFC 6962 Merkle log over every ledger record.

Tables:

- ``Leaf``: one row per sealed record, in log order (``index`` is the 0-based leaf index).
- ``Node``: hashes of the perfect, aligned subtrees of level >= 1 (level 0 is the leaf hash),
  written when a leaf completes them, so the root of any size and every proof need only
  O(log n) stored hashes.
- ``LogHead``: the single row holding the tree size and the frontier (the hashes of the
  rightmost perfect subtrees); appenders lock it, which serialises concurrent writers.
- ``Checkpoint``: a signed (tree size, root hash, time) statement.

``SealedModel`` is the base of every ledger record: inserted once and sealed in the same
transaction, never updated or deleted in place.
"""

from django.db import connections, models, transaction
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """A ledger record was about to be changed or deleted in place."""


def _derived_only(model, names):
    """Raise AppendOnlyError unless every field in ``names`` is one of the model's derived columns."""
    derived = set(model.evidence_derived_fields)
    for name in names:
        field = model._meta.get_field(name)
        if field.name not in derived and field.attname not in derived:
            raise AppendOnlyError(f"{model._meta.label}.{name} is sealed; write a correction record instead")


class SealedQuerySet(models.QuerySet):
    """The ORM's bulk paths on ledger records, held to the same rule as ``save``: no row is changed
    except in its derived columns, none is deleted, and rows are created one by one so that each is
    sealed (``bulk_create`` would store them unsealed)."""

    def update(self, **kwargs):
        _derived_only(self.model, kwargs)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        _derived_only(self.model, fields)
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.label} is append-only; records are never deleted")

    def bulk_create(self, objs, *args, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.label} records are sealed one by one: save() each of them")


class SealedModel(models.Model):
    """Base for every ledger record: inserted once, sealed in the same transaction, never changed.

    ``evidence_derived_fields`` names columns that hold state derived from later sealed rows (an
    approval, a superseding correction, search text). They are left out of the seal and are the
    only columns an update may touch: ``save(update_fields=[...derived...])`` or
    ``objects.filter(...).update(derived=...)``. The default manager's other bulk paths refuse
    (:class:`SealedQuerySet`).
    """

    evidence_derived_fields: tuple[str, ...] = ()

    objects = SealedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if not update_fields:
                raise AppendOnlyError(f"{self._meta.label} is append-only; write a correction record instead")
            _derived_only(type(self), update_fields)  # the rule the queryset's update() follows too
            return super().save(*args, **kwargs)
        from greenledger.evidence.services import seal

        # no savepoint inside a caller's transaction: a failed insert or seal fails that transaction
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            super().save(*args, **kwargs)
            seal(self, using=kwargs.get("using"))

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        """Insert the row and get every sealed column back from the INSERT itself (``RETURNING``,
        through the same converters a ``SELECT`` applies): ``seal`` hashes the row as the database
        stored it without reading it again."""
        from greenledger.evidence.canonical import record_fields

        meta = type(self)._meta
        if meta.parents or not connections[using].features.can_return_columns_from_insert:
            return super()._do_insert(manager, using, fields, returning_fields, raw)
        sealed = record_fields(type(self))
        wanted = sealed + [field for field in returning_fields if field not in sealed]
        [row] = super()._do_insert(manager, using, fields, wanted, raw)
        self._evidence_row = {field.attname: value for field, value in zip(wanted, row)}
        position = {field: index for index, field in enumerate(wanted)}
        return [[row[position[field]] for field in returning_fields]] if returning_fields else []

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.label} is append-only; records are never deleted")


class AppendOnlyRow(models.Model):
    """The log's own tables: rows are written once by the log and never changed through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.label} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.label} is append-only")


class Leaf(AppendOnlyRow):
    """One sealed record: leaf ``index`` of the log holds SHA-256(0x00 || canonical JSON)."""

    index = models.BigIntegerField(_("leaf index"), primary_key=True)
    table = models.CharField(_("table"), max_length=100, help_text=_("app_label.model_name"))
    record_id = models.CharField(_("record id"), max_length=255)
    leaf_hash = models.BinaryField(_("leaf hash"), max_length=32)
    sealed_at = models.DateTimeField(_("sealed at"), db_index=True)

    class Meta:
        verbose_name = _("evidence leaf")
        verbose_name_plural = _("evidence leaves")
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["table", "record_id"], name="evidence_leaf_once_per_record"),
        ]

    def __str__(self):
        return f"#{self.index} {self.table}:{self.record_id}"

    @property
    def leaf_hash_hex(self):
        return bytes(self.leaf_hash).hex()


NODE_INDEX_BITS = 40


def node_key(level, index):
    """Primary key of the aligned subtree (level, index): one integer so a proof is one IN query."""
    return (level << NODE_INDEX_BITS) | index


class Node(AppendOnlyRow):
    """Hash of the perfect subtree over leaves [index * 2**level, (index + 1) * 2**level)."""

    id = models.BigIntegerField(primary_key=True, help_text=_("level << 40 | index"))
    level = models.PositiveSmallIntegerField(_("level"))
    index = models.BigIntegerField(_("index at level"))
    hash = models.BinaryField(_("hash"), max_length=32)

    class Meta:
        verbose_name = _("evidence tree node")
        verbose_name_plural = _("evidence tree nodes")


class LogHead(models.Model):
    """The single row (pk=1) holding the tree size; locked by every append."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    size = models.BigIntegerField(_("tree size"), default=0)
    frontier = models.BinaryField(
        _("frontier"), default=b"", help_text=_("hashes of the rightmost perfect subtrees, largest first")
    )

    class Meta:
        verbose_name = _("evidence log head")

    def __str__(self):
        return f"evidence log of size {self.size}"


class Checkpoint(AppendOnlyRow):
    """A signed statement that the log had ``tree_size`` leaves with root ``root_hash`` at ``created_at``."""

    tree_size = models.BigIntegerField(_("tree size"))
    root_hash = models.CharField(_("root hash"), max_length=64)
    created_at = models.DateTimeField(_("created at"))
    signature = models.CharField(_("Ed25519 signature"), max_length=128)
    key_id = models.CharField(_("key id"), max_length=16)

    class Meta:
        verbose_name = _("evidence checkpoint")
        verbose_name_plural = _("evidence checkpoints")
        ordering = ["-tree_size", "-created_at"]
        get_latest_by = ["tree_size", "created_at"]
        indexes = [models.Index(fields=["tree_size", "created_at"], name="evidence_ckpt_size_time")]

    def __str__(self):
        return f"checkpoint {self.tree_size} {self.root_hash[:16]}"
