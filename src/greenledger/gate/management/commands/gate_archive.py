"""``greenledger gate-archive --before YYYY-MM``: export passages older than the 24-month retention.

Writes JSON lines, one passage per line: ``{"leaf": <evidence leaf index>, "record": <the canonical
record exactly as sealed>, "derived": {final decision, pairing, cargo…}, "actions": [...]}``.
SHA-256(0x00 || canonical JSON of "record") is the leaf hash, so the archive can be checked against
an exported evidence log without the database. Sealed rows are NOT deleted: the ledger is
append-only, and removing rows is a decision for the operator's retention policy, outside this tool.
"""

import datetime
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from greenledger.evidence import canonical
from greenledger.evidence.models import Leaf
from greenledger.gate.models import RETENTION_MONTHS, Passage, PassageAction

CHUNK = 2000


def month_start(text):
    try:
        year, month = (int(part) for part in text.split("-"))
        return datetime.date(year, month, 1)
    except ValueError:
        raise CommandError(f"--before must look like 2024-01, not {text!r}")


def months_back(day, months):
    index = day.year * 12 + day.month - 1 - months
    return datetime.date(index // 12, index % 12 + 1, 1)


def latest_allowed(today):
    """The youngest month whose start may be given: everything before it is older than 24 months."""
    return months_back(today.replace(day=1), RETENTION_MONTHS)


class Command(BaseCommand):
    help = (f"Export passages from before a month (YYYY-MM) that lies at least {RETENTION_MONTHS} months back, "
            "as JSON lines with their evidence leaf index and sealed record. Refuses a younger month. "
            "Sealed rows are NOT deleted: the passage ledger is append-only.")

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="export passages before the first day of this month")
        parser.add_argument("--output", help="file to write (default gate-passages-before-YYYY-MM.jsonl)")
        parser.add_argument("--site", help="only this site (code)")

    def handle(self, *args, before, output=None, site=None, **options):
        first = month_start(before)
        allowed = latest_allowed(timezone.localdate())
        if first > allowed:
            raise CommandError(f"{before} is younger than {RETENTION_MONTHS} months: the latest month you may give "
                               f"is {allowed:%Y-%m}. Passages are kept at least {RETENTION_MONTHS} months.")
        cutoff = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
        passages = Passage.objects.filter(occurred_at__lt=cutoff)
        if site:
            passages = passages.filter(site__code=site)
        path = output or f"gate-passages-before-{first:%Y-%m}.jsonl"
        written = write_archive(passages, path)
        self.stdout.write(f"gate-archive: {written} passages before {first:%Y-%m-%d} ({settings.TIME_ZONE}) "
                          f"written to {path}; nothing was deleted.")


def write_archive(passages, path):
    fields = [field.attname for field in canonical.record_fields(Passage)]
    derived = list(Passage.evidence_derived_fields)
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        ids = passages.order_by("occurred_at", "pk").values_list("pk", flat=True)
        batch = []
        for pk in ids.iterator(chunk_size=CHUNK):
            batch.append(pk)
            if len(batch) == CHUNK:
                written += write_batch(out, batch, fields, derived)
                batch = []
        if batch:
            written += write_batch(out, batch, fields, derived)
    return written


def write_batch(out, ids, fields, derived):
    rows = {row["id"]: row for row in Passage.objects.filter(pk__in=ids).values(*fields, *derived)}
    leaves = dict(Leaf.objects.filter(table=canonical.table_label(Passage), record_id__in=[str(i) for i in ids])
                  .values_list("record_id", "index"))
    acts = {}
    for action in PassageAction.objects.filter(passage_id__in=ids).order_by("occurred_at").values(
            "id", "passage_id", "kind", "reason", "cargo_name", "cargo_weight_t", "actor_id", "occurred_at"):
        acts.setdefault(action["passage_id"], []).append({
            "id": str(action["id"]), "kind": action["kind"], "reason": action["reason"],
            "cargo_name": action["cargo_name"], "cargo_weight_t": str(action["cargo_weight_t"] or ""),
            "actor_id": action["actor_id"], "occurred_at": canonical.format_datetime(action["occurred_at"]),
            "leaf": leaf_index(PassageAction, action["id"])})
    for pk in ids:
        row = rows[pk]
        line = {
            "leaf": leaves.get(str(pk)),
            "record": canonical.record_dict(Passage, {name: row[name] for name in fields}),
            "derived": {name: json_value(row[name]) for name in derived},
            "actions": acts.get(pk, []),
        }
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    return len(ids)


def leaf_index(model, pk):
    leaf = Leaf.objects.filter(table=canonical.table_label(model), record_id=str(pk)).values_list("index", flat=True)
    return leaf.first()


def json_value(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
