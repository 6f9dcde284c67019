"""Export the evidence log to a directory that ``python -m greenledger.evidence.verify`` can check.

Layout (format ``greenledger-evidence-export/v1``)::

    manifest.json        format, tree size, export time, key id, signed-message format
    leaves.jsonl         one leaf per line, in index order:
                         {"index", "table", "id", "sealed_at", "leaf_hash", "record"}
                         where "record" is the record's canonical JSON *as a string* (the exact
                         bytes that were hashed), or null when the row is gone
    checkpoints.jsonl    {"tree_size", "root_hash", "created_at", "signature", "key_id"}
    public-key.pem       the Ed25519 public key (SubjectPublicKeyInfo PEM)

The export stops at the tree size read when it starts, so appends during the export do not
produce a half-written tail.
"""

import json
from collections import defaultdict
from pathlib import Path

from django.utils import timezone

from greenledger.evidence import canonical, keys, registry, tree
from greenledger.evidence.models import Checkpoint, Leaf

EXPORT_FORMAT = "greenledger-evidence-export/v1"
CHUNK = 2000


def export_log(directory, using=None, chunk=CHUNK) -> dict:
    """Write the export into ``directory`` (created if needed); return the manifest."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    size = tree.current_size(using)
    with open(directory / "leaves.jsonl", "w", encoding="utf-8", newline="\n") as out:
        out.writelines(line + "\n" for line in leaf_lines(size, using, chunk))
    checkpoints = (
        Checkpoint.objects.using(using).filter(tree_size__lte=size).order_by("tree_size", "created_at")
    )
    with open(directory / "checkpoints.jsonl", "w", encoding="utf-8", newline="\n") as out:
        out.writelines(
            json.dumps(checkpoint_row(checkpoint), sort_keys=True) + "\n" for checkpoint in checkpoints
        )
    (directory / "public-key.pem").write_text(keys.public_key_pem(), encoding="ascii")
    manifest = {
        "format": EXPORT_FORMAT,
        "tree_size": size,
        "exported_at": canonical.format_datetime(timezone.now()),
        "key_id": keys.key_id(),
        "checkpoint_message": keys.MESSAGE_FORMAT,
    }
    (directory / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def checkpoint_row(checkpoint) -> dict:
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "created_at": canonical.format_datetime(checkpoint.created_at),
        "signature": checkpoint.signature,
        "key_id": checkpoint.key_id,
    }


def leaf_lines(size, using, chunk):
    leaves = Leaf.objects.using(using).filter(index__lt=size).order_by("index")
    batch = []
    for leaf in leaves.iterator(chunk_size=chunk):
        batch.append(leaf)
        if len(batch) >= chunk:
            yield from batch_lines(batch, using)
            batch = []
    yield from batch_lines(batch, using)


def batch_lines(batch, using):
    records = current_records(batch, using)
    for leaf in batch:
        record = records.get((leaf.table, leaf.record_id))
        yield json.dumps(
            {
                "index": leaf.index,
                "table": leaf.table,
                "id": leaf.record_id,
                "sealed_at": canonical.format_datetime(leaf.sealed_at),
                "leaf_hash": leaf.leaf_hash_hex,
                "record": None if record is None else record.decode("utf-8"),
            },
            ensure_ascii=False,
            sort_keys=True,
        )


def current_records(batch, using) -> dict:
    """(table, record id) -> canonical bytes of the rows behind a batch of leaves, one query per table."""
    by_table = defaultdict(list)
    for leaf in batch:
        by_table[leaf.table].append(leaf.record_id)
    records = {}
    for label, ids in by_table.items():
        model = registry.model_for(label)
        if model is None:
            continue
        pk_field = model._meta.pk
        for row in canonical.rows(model, using, pks=[pk_field.to_python(i) for i in ids]):
            records[(label, str(row[pk_field.attname]))] = canonical.record_bytes(model, row)
    return records
