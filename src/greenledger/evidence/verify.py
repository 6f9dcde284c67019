"""Stand-alone verifier of an evidence log export; needs only Python and ``cryptography``.

Usage::

    python -m greenledger.evidence.verify EXPORT_DIR
    python -m greenledger.evidence.verify --proof proof.json   # a saved GET /records/{i}/proof answer

This file deliberately imports nothing from Django or the rest of GreenLedger, so an auditor can
copy it alone and check an export produced by ``greenledger export-evidence`` (format
``greenledger-evidence-export/v1``, see ``greenledger/evidence/export.py``):

1. each record's canonical JSON hashes (RFC 6962 leaf: SHA-256(0x00 || bytes)) to its leaf hash,
   names the leaf's table and id, and is in canonical form;
2. the leaves are numbered 0..n-1 without gaps;
3. the tree rebuilt from the leaves (nodes SHA-256(0x01 || left || right)) has, at every
   checkpoint's size, the checkpoint's root;
4. every checkpoint's Ed25519 signature over
   ``greenledger-evidence/v1\\n<size>\\n<root hex>\\n<time>\\n`` verifies with public-key.pem.

Exit status 0 and a one-line summary when all holds; 1 and one line per problem otherwise.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

EXPORT_FORMAT = "greenledger-evidence-export/v1"
MESSAGE_FORMAT = "greenledger-evidence/v1"
MAX_PROBLEMS_SHOWN = 50


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """Rebuilds MTH over leaves appended in order, keeping only the rightmost perfect subtrees."""

    def __init__(self):
        self.size = 0
        self.stack = []  # (level, hash), largest subtree first

    def append(self, digest: bytes):
        level = 0
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            digest = node_hash(left, digest)
            level += 1
        self.stack.append((level, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        result = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            result = node_hash(left, result)
        return result


def canonical(obj) -> bytes:
    return json.dumps(
        obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


def checkpoint_message(size: int, root_hex: str, time_iso: str) -> bytes:
    return f"{MESSAGE_FORMAT}\n{size}\n{root_hex}\n{time_iso}\n".encode()


def key_id(public_key) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signature_ok(public_key, checkpoint: dict) -> bool:
    message = checkpoint_message(checkpoint["tree_size"], checkpoint["root_hash"], checkpoint["created_at"])
    try:
        public_key.verify(bytes.fromhex(checkpoint["signature"]), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def check_leaf(entry: dict, expected_index: int) -> list[str]:
    """Problems with one leaves.jsonl line (empty when it is sound)."""
    where = f"leaf {entry.get('index')} ({entry.get('table')} id={entry.get('id')})"
    if entry.get("index") != expected_index:
        return [f"leaf {expected_index} is missing (found index {entry.get('index')})"]
    record = entry.get("record")
    if record is None:
        return [f"{where}: the record is missing from the export (row deleted)"]
    problems = []
    data = record.encode("utf-8")
    if leaf_hash(data).hex() != entry.get("leaf_hash"):
        problems.append(f"{where}: the record does not hash to the leaf hash (row changed)")
    parsed = json.loads(record)
    if parsed.get("table") != entry.get("table") or parsed.get("id") != entry.get("id"):
        problems.append(f"{where}: the record names {parsed.get('table')} id={parsed.get('id')}")
    if canonical(parsed) != data:
        problems.append(f"{where}: the record is not canonical JSON")
    return problems


def read_jsonl(path: Path):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{path.name} line {number}: not JSON ({error})") from None


def verify_export(directory: Path) -> tuple[list[str], str]:
    """(problems, summary) for an export directory."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != EXPORT_FORMAT:
        return [f"unknown export format {manifest.get('format')!r}"], ""
    public_key = serialization.load_pem_public_key((directory / "public-key.pem").read_bytes())
    checkpoints = sorted(read_jsonl(directory / "checkpoints.jsonl"), key=lambda c: c["tree_size"])
    wanted = {c["tree_size"] for c in checkpoints}
    roots = {0: TreeBuilder().root()}
    problems, builder = [], TreeBuilder()
    for entry in read_jsonl(directory / "leaves.jsonl"):
        found = check_leaf(entry, builder.size)
        problems.extend(found)
        if found and found[0].startswith(f"leaf {builder.size} is missing"):
            break
        builder.append(bytes.fromhex(entry["leaf_hash"]))
        if builder.size in wanted:
            roots[builder.size] = builder.root()
    if builder.size != manifest.get("tree_size"):
        problems.append(
            f"the manifest says {manifest.get('tree_size')} leaves, leaves.jsonl has {builder.size}"
        )
    for checkpoint in checkpoints:
        problems.extend(check_checkpoint(checkpoint, roots, public_key))
    summary = (
        f"OK: {builder.size} leaves, {len(checkpoints)} checkpoint(s) verified"
        + (
            f", latest at size {checkpoints[-1]['tree_size']} root {checkpoints[-1]['root_hash']}"
            if checkpoints
            else ""
        )
        + f", key {key_id(public_key)}"
    )
    return problems, summary


def check_checkpoint(checkpoint: dict, roots: dict, public_key) -> list[str]:
    label = f"checkpoint of size {checkpoint['tree_size']} at {checkpoint['created_at']}"
    if checkpoint["tree_size"] not in roots:
        return [f"{label}: the export has fewer leaves than the checkpoint"]
    problems = []
    if roots[checkpoint["tree_size"]].hex() != checkpoint["root_hash"]:
        problems.append(
            f"{label}: the leaves give root {roots[checkpoint['tree_size']].hex()}, "
            f"signed root is {checkpoint['root_hash']}"
        )
    if checkpoint.get("key_id") != key_id(public_key):
        problems.append(
            f"{label}: signed by key {checkpoint.get('key_id')}, public-key.pem is {key_id(public_key)}"
        )
    elif not signature_ok(public_key, checkpoint):
        problems.append(f"{label}: the signature does not verify")
    return problems


def root_from_audit_path(digest: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an audit path leads to, or None when the path has the wrong shape."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    return digest if sn == 0 else None


def verify_proof(proof: dict) -> tuple[list[str], str]:
    """(problems, summary) for a saved answer of GET /api/evidence/records/{index}/proof."""
    problems = []
    record = proof.get("record_json")
    if record is None or leaf_hash(record.encode("utf-8")).hex() != proof["leaf_hash"]:
        problems.append(f"{proof['table']} id={proof['id']}: the record does not hash to its leaf hash")
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    root = root_from_audit_path(
        bytes.fromhex(proof["leaf_hash"]), proof["leaf_index"], proof["tree_size"], path
    )
    if root is None or root.hex() != proof["root_hash"]:
        problems.append(
            f"leaf {proof['leaf_index']}: the audit path does not lead to root {proof['root_hash']}"
        )
    checkpoint = proof.get("checkpoint")
    if checkpoint:
        public_key = serialization.load_pem_public_key(checkpoint["public_key_pem"].encode())
        if checkpoint["root_hash"] != proof["root_hash"] or checkpoint["tree_size"] != proof["tree_size"]:
            problems.append("the checkpoint is for another tree")
        if not signature_ok(public_key, checkpoint):
            problems.append("the checkpoint signature does not verify")
    signed = f", signed by key {checkpoint['key_id']}" if checkpoint else " (no checkpoint at this size)"
    return problems, f"OK: leaf {proof['leaf_index']} is in the tree of size {proof['tree_size']}{signed}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m greenledger.evidence.verify", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "directory", nargs="?", type=Path, help="directory written by greenledger export-evidence"
    )
    parser.add_argument("--proof", type=Path, help="a saved inclusion proof (JSON) to check instead")
    args = parser.parse_args(argv)
    if args.proof:
        problems, summary = verify_proof(json.loads(args.proof.read_text(encoding="utf-8")))
    elif args.directory:
        problems, summary = verify_export(args.directory)
    else:
        parser.error("give an export directory or --proof FILE")
    for line in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"FAIL {line}", file=sys.stderr)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"FAIL ... and {len(problems) - MAX_PROBLEMS_SHOWN} more problem(s)", file=sys.stderr)
    if problems:
        print(f"evidence export does NOT verify: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
