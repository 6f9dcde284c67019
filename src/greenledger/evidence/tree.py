"""The evidence log's Merkle tree as stored in the database: append, roots and proofs.

Appending takes the ``LogHead`` row with ``SELECT ... FOR UPDATE`` (on SQLite the IMMEDIATE
transaction already holds the write lock), writes the leaf, writes every aligned subtree the leaf
completes, and moves the head: a handful of statements whatever the size. Roots and proofs are
computed from aligned subtree hashes fetched in one query.
"""

from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone

from greenledger.evidence import merkle
from greenledger.evidence.models import Leaf, LogHead, Node, node_key

BULK_BATCH = 2000
MULTI_ROW = 500  # rows per multi-row INSERT on PostgreSQL


def locked_head(using=None) -> LogHead:
    """The log head, locked until the surrounding transaction ends."""
    head = LogHead.objects.using(using).select_for_update().filter(pk=LogHead.SINGLETON).first()
    if head is not None:
        return head
    # Only after a flush (tests) or a hand-made database: the migration creates the row.
    try:
        with transaction.atomic(using=using):
            LogHead.objects.using(using).create(pk=LogHead.SINGLETON)
    except IntegrityError:
        pass
    return LogHead.objects.using(using).select_for_update().get(pk=LogHead.SINGLETON)


def current_size(using=None) -> int:
    head = LogHead.objects.using(using).filter(pk=LogHead.SINGLETON).values_list("size", flat=True).first()
    return head or 0


def append_leaves(entries, using=None, sealed_at=None) -> list[int]:
    """Append (table, record_id, leaf_hash) entries in order; return their leaf indexes.

    Used for one record by ``services.seal`` and for many by bulk loaders (imports, benchmarks):
    the same frontier algorithm either way, so the stored nodes do not depend on the batch size.
    Every ledger write passes here, so it runs fixed SQL rather than compiling ORM queries.
    """
    using = using or router.db_for_write(Leaf)
    connection = connections[using]
    sealed_at = connection.ops.adapt_datetimefield_value(sealed_at or timezone.now())
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        frontier = _lock_frontier(cursor, connection, using)
        leaves, nodes, indexes = [], [], []
        for table, record_id, leaf in entries:
            indexes.append(frontier.size)
            leaves.append((frontier.size, table, record_id, leaf, sealed_at))
            nodes.extend(
                (node_key(level, at), level, at, digest) for level, at, digest in frontier.append(leaf)
            )
            if len(leaves) >= BULK_BATCH:
                _write(cursor, connection, leaves, nodes)
                leaves, nodes = [], []
        _write(cursor, connection, leaves, nodes)
        cursor.execute(_sql(connection, "move_head"), [frontier.size, frontier.to_bytes(), LogHead.SINGLETON])
    return indexes


def _lock_frontier(cursor, connection, using) -> merkle.Frontier:
    cursor.execute(_sql(connection, "lock_head"), [LogHead.SINGLETON])
    row = cursor.fetchone()
    if row is None:
        head = locked_head(using)  # creates the row (only missing after a flush)
        return merkle.Frontier.from_bytes(head.size, head.frontier)
    return merkle.Frontier.from_bytes(*row)


def _write(cursor, connection, leaves, nodes):
    for kind, rows in (("insert_leaf", leaves), ("insert_node", nodes)):
        sql = _sql(connection, kind)
        if len(rows) == 1:
            cursor.execute(sql, rows[0])
        elif rows and connection.vendor == "postgresql":
            # one multi-row INSERT rather than a statement per row for the server to parse and plan
            head, _values, one_row = sql.rpartition(" VALUES ")
            for start in range(0, len(rows), MULTI_ROW):
                part = rows[start:start + MULTI_ROW]
                cursor.execute(f"{head} VALUES {', '.join([one_row] * len(part))}", [v for row in part for v in row])
        elif rows:  # SQLite: the driver reuses one prepared statement, and there is no round trip to save
            cursor.executemany(sql, rows)


def _sql(connection, kind) -> str:
    """The append statements for one backend, built once from the models' table and column names."""
    cache = _SQL_CACHE.setdefault(connection.vendor, {})
    if kind not in cache:
        cache[kind] = _build_sql(connection, kind)
    return cache[kind]


_SQL_CACHE = {}


def _build_sql(connection, kind) -> str:
    quote = connection.ops.quote_name

    def columns(model, names):
        return ", ".join(quote(model._meta.get_field(name).column) for name in names)

    def table(model):
        return quote(model._meta.db_table)

    if kind == "lock_head":
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        head = columns(LogHead, ["size", "frontier"])
        return f"SELECT {head} FROM {table(LogHead)} WHERE {quote('id')} = %s{lock}"
    if kind == "move_head":
        size, frontier = (quote(LogHead._meta.get_field(name).column) for name in ("size", "frontier"))
        return f"UPDATE {table(LogHead)} SET {size} = %s, {frontier} = %s WHERE {quote('id')} = %s"
    if kind == "insert_leaf":
        names = ["index", "table", "record_id", "leaf_hash", "sealed_at"]
        return f"INSERT INTO {table(Leaf)} ({columns(Leaf, names)}) VALUES (%s, %s, %s, %s, %s)"
    if kind == "insert_node":
        names = ["id", "level", "index", "hash"]
        return f"INSERT INTO {table(Node)} ({columns(Node, names)}) VALUES (%s, %s, %s, %s)"
    raise ValueError(kind)


def subtree_hashes(pieces, using=None) -> dict[tuple[int, int], bytes]:
    """Hashes of the aligned subtrees ``pieces`` in one query (leaves from the leaf table)."""
    pieces = set(pieces)
    leaf_indexes = [index for level, index in pieces if level == 0]
    node_keys = [node_key(level, index) for level, index in pieces if level > 0]
    leaf_rows = Leaf.objects.using(using).filter(index__in=leaf_indexes or [-1])
    leaf_rows = leaf_rows.annotate(level=models.Value(0, output_field=models.IntegerField()))
    query = leaf_rows.values_list("level", "index", "leaf_hash").order_by()
    if node_keys:
        query = query.union(
            Node.objects.using(using)
            .filter(id__in=node_keys)
            .values_list("level", "index", "hash")
            .order_by(),
            all=True,
        )
    found = {(level, index): bytes(digest) for level, index, digest in query}
    missing = pieces - found.keys()
    if missing:
        raise LookupError(f"evidence tree nodes missing: {sorted(missing)[:5]}")
    return found


def hashes_of_ranges(ranges, using=None) -> list[bytes]:
    found = subtree_hashes(merkle.subtrees_for(ranges), using)
    return merkle.range_hashes(ranges, found.__getitem__)


def hashes_for_size(ranges, size: int, using=None) -> list[bytes]:
    """Like ``hashes_of_ranges``, but a tree larger than the log is a ValueError.

    No size check up front: a range past the end needs a leaf that does not exist, so the one
    query already tells.
    """
    try:
        return hashes_of_ranges(ranges, using)
    except LookupError as error:
        if size > current_size(using):
            raise ValueError(f"the log has no tree of size {size}") from error
        raise


def root_hash(size: int, using=None) -> bytes:
    """MTH of the first ``size`` leaves."""
    if size < 0:
        raise ValueError(f"the log has no tree of size {size}")
    if size == 0:
        return merkle.EMPTY_ROOT
    return hashes_for_size([(0, size)], size, using)[0]


def inclusion_proof(index: int, size: int, using=None) -> tuple[list[bytes], bytes]:
    """(audit path, root) for leaf ``index`` in the tree of ``size`` leaves, in one query."""
    ranges = merkle.inclusion_ranges(index, size)
    hashes = hashes_for_size(ranges + [(0, size)], size, using)
    return hashes[:-1], hashes[-1]


def consistency_proof(old_size: int, new_size: int, using=None) -> tuple[list[bytes], bytes, bytes]:
    """(proof, old root, new root) between two tree sizes, in one query."""
    ranges = merkle.consistency_ranges(old_size, new_size)
    if old_size == 0:
        return [], merkle.EMPTY_ROOT, root_hash(new_size, using)
    hashes = hashes_for_size(ranges + [(0, old_size), (0, new_size)], new_size, using)
    return hashes[:-2], hashes[-2], hashes[-1]
