"""Full check of the evidence log against the database (``greenledger verify-evidence``).

1. Records: every row of every sealed table is re-read and re-hashed; a row whose hash differs
   from its leaf was changed, a row without a leaf was inserted behind the application's back,
   a leaf without a row was deleted.
2. Tree: the leaves are streamed in order and the tree is rebuilt; the root at every checkpoint
   size must equal the signed root, and every signature must verify with the key.
3. Stored nodes: each stored subtree hash must equal the hash of its two children, level by
   level, so the proofs the API serves come from the same tree.

Everything is streamed in chunks, so memory stays flat at a few hundred thousand leaves.
"""

from dataclasses import dataclass, field

from greenledger.evidence import canonical, keys, merkle, registry
from greenledger.evidence.models import Checkpoint, Leaf, LogHead, Node, node_key
from greenledger.evidence.services import checkpoint_message

CHUNK = 2000


@dataclass
class Problem:
    kind: str  # changed, deleted, unsealed, unknown-table, tree, checkpoint, node, head
    message: str
    table: str = ""
    record_id: str = ""

    def __str__(self):
        where = f" {self.table} id={self.record_id}" if self.table else ""
        return f"{self.kind.upper()}{where}: {self.message}"


@dataclass
class Report:
    tree_size: int = 0
    records_checked: int = 0
    checkpoints_checked: int = 0
    nodes_checked: int = 0
    tables: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    latest_checkpoint: Checkpoint | None = None

    @property
    def ok(self):
        return not self.problems


def verify_log(using=None, chunk=CHUNK, on_problem=None) -> Report:
    report = Report()

    def problem(*args, **kwargs):
        found = Problem(*args, **kwargs)
        report.problems.append(found)
        if on_problem:
            on_problem(found)

    check_tree(report, problem, using, chunk)
    check_nodes(report, problem, using, chunk)
    check_records(report, problem, using, chunk)
    return report


# Tree and checkpoints ----------------------------------------------------------------------


def check_tree(report, problem, using, chunk):
    checkpoints = list(Checkpoint.objects.using(using).order_by("tree_size", "created_at"))
    report.latest_checkpoint = checkpoints[-1] if checkpoints else None
    wanted = {c.tree_size for c in checkpoints}
    roots = {0: merkle.EMPTY_ROOT}
    frontier = merkle.Frontier()
    leaves = Leaf.objects.using(using).order_by("index").values_list("index", "leaf_hash")
    for index, digest in leaves.iterator(chunk_size=chunk):
        if index != frontier.size:
            problem("tree", f"leaf {frontier.size} is missing (next leaf is {index})")
            return
        frontier.append(bytes(digest))
        if frontier.size in wanted:
            roots[frontier.size] = frontier.root()
    report.tree_size = frontier.size
    check_head(frontier, problem, using)
    public = keys.public_key()
    for checkpoint in checkpoints:
        check_checkpoint(checkpoint, roots, public, problem)
        report.checkpoints_checked += 1


def check_head(frontier, problem, using):
    head = LogHead.objects.using(using).filter(pk=LogHead.SINGLETON).first()
    if head is None:
        if frontier.size:
            problem("head", "the log head row is missing")
        return
    if head.size != frontier.size:
        problem("head", f"the log head says {head.size} leaves, the leaf table has {frontier.size}")
    elif bytes(head.frontier) != frontier.to_bytes():
        problem("head", "the log head's frontier does not match the leaves")


def check_checkpoint(checkpoint, roots, public, problem):
    label = f"checkpoint of size {checkpoint.tree_size} at {canonical.format_datetime(checkpoint.created_at)}"
    if checkpoint.tree_size not in roots:
        problem("checkpoint", f"{label} is larger than the log: leaves were removed")
        return
    if roots[checkpoint.tree_size].hex() != checkpoint.root_hash:
        problem(
            "checkpoint",
            f"{label}: the leaves give root {roots[checkpoint.tree_size].hex()}, "
            f"signed root is {checkpoint.root_hash}",
        )
    if checkpoint.key_id != keys.key_id(public):
        problem(
            "checkpoint",
            f"{label} was signed by key {checkpoint.key_id}, not by this log's key {keys.key_id(public)}",
        )
    elif not keys.signature_valid(checkpoint_message(checkpoint), checkpoint.signature, public):
        problem("checkpoint", f"{label}: the signature does not verify")


# Stored nodes ------------------------------------------------------------------------------


def check_nodes(report, problem, using, chunk):
    size, level = report.tree_size, 1
    while size >> level:
        count = size >> level
        for start in range(0, count, chunk):
            stop = min(count, start + chunk)
            children = level_hashes(level - 1, 2 * start, 2 * stop, using)
            stored = level_hashes(level, start, stop, using)
            for offset in range(stop - start):
                at = start + offset
                left, right = children.get(2 * at), children.get(2 * at + 1)
                if left is None or right is None:
                    continue  # a missing child is reported at its own level or as a missing leaf
                expected = merkle.node_hash(left, right)
                if stored.get(at) != expected:
                    state = "missing" if at not in stored else "wrong"
                    problem("node", f"stored subtree (level {level}, index {at}) is {state}")
                report.nodes_checked += 1
        level += 1
    # Key ranges, not level/index filters: the primary key is the only index on the node table.
    nodes = Node.objects.using(using)
    extra = nodes.filter(id__gte=node_key(level, 0)).count() + sum(
        nodes.filter(id__gte=node_key(lvl, size >> lvl), id__lt=node_key(lvl + 1, 0)).count()
        for lvl in range(1, level)
    )
    if extra:
        problem("node", f"{extra} stored subtree(s) lie beyond the tree of size {size}")


def level_hashes(level, start, stop, using) -> dict[int, bytes]:
    if level == 0:
        rows = (
            Leaf.objects.using(using)
            .filter(index__gte=start, index__lt=stop)
            .values_list("index", "leaf_hash")
        )
    else:
        rows = (
            Node.objects.using(using)
            .filter(id__gte=node_key(level, start), id__lt=node_key(level, stop))
            .values_list("index", "hash")
        )
    return {index: bytes(digest) for index, digest in rows.order_by()}


# Records -----------------------------------------------------------------------------------


def check_records(report, problem, using, chunk):
    leaf_tables = set(Leaf.objects.using(using).order_by().values_list("table", flat=True).distinct())
    for label in sorted(leaf_tables | set(registry.sealed_models())):
        model = registry.model_for(label)
        if model is None:
            problem("unknown-table", "leaves point at a table no installed app has", table=label)
            continue
        report.tables[label] = check_table(model, label, problem, using, chunk)
        report.records_checked += report.tables[label]


def check_table(model, label, problem, using, chunk) -> int:
    """Re-hash every row of one table against its leaf; return the number of rows seen."""
    pk_name = model._meta.pk.attname
    seen = matched = 0
    batch = []
    for row in canonical.rows(model, using).iterator(chunk_size=chunk):
        batch.append(row)
        if len(batch) >= chunk:
            matched += check_rows(model, label, batch, problem, using)
            seen += len(batch)
            batch = []
    if batch:
        matched += check_rows(model, label, batch, problem, using)
        seen += len(batch)
    if Leaf.objects.using(using).filter(table=label).count() != matched:
        report_deleted(model, label, pk_name, problem, using, chunk)
    return seen


def check_rows(model, label, batch, problem, using) -> int:
    pk_name = model._meta.pk.attname
    ids = [str(row[pk_name]) for row in batch]
    leaves = dict(
        Leaf.objects.using(using).filter(table=label, record_id__in=ids).values_list("record_id", "leaf_hash")
    )
    matched = 0
    for record_id, row in zip(ids, batch):
        digest = leaves.get(record_id)
        if digest is None:
            problem("unsealed", "row has no leaf: inserted behind the application's back", label, record_id)
            continue
        matched += 1
        if merkle.leaf_hash(canonical.record_bytes(model, row)) != bytes(digest):
            problem("changed", "row no longer matches its sealed hash", label, record_id)
    return matched


def report_deleted(model, label, pk_name, problem, using, chunk):
    leaves = Leaf.objects.using(using).filter(table=label).order_by("index").values_list("index", "record_id")
    batch = []
    for entry in leaves.iterator(chunk_size=chunk):
        batch.append(entry)
        if len(batch) >= chunk:
            report_missing_rows(model, label, batch, problem, using)
            batch = []
    if batch:
        report_missing_rows(model, label, batch, problem, using)


def report_missing_rows(model, label, batch, problem, using):
    pk_field = model._meta.pk
    wanted = {str(pk_field.to_python(record_id)): (index, record_id) for index, record_id in batch}
    present = {
        str(pk)
        for pk in model._base_manager.using(using)
        .filter(pk__in=[pk_field.to_python(r) for _, r in batch])
        .values_list("pk", flat=True)
    }
    for key, (index, record_id) in wanted.items():
        if key not in present:
            problem("deleted", f"sealed row (leaf {index}) is gone", label, record_id)
