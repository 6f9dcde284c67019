"""An export verifies with the stand-alone verifier (no Django), and a tampered export does not."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from greenledger.evidence import services, verify

SRC = Path(__file__).resolve().parents[3]


@pytest.fixture
def export_dir(make_attachment, tmp_path):
    for _ in range(5):
        make_attachment()
    services.take_checkpoint()
    for _ in range(4):
        make_attachment()
    services.take_checkpoint()
    make_attachment()  # one leaf after the latest checkpoint
    directory = tmp_path / "export"
    call_command("export_evidence", str(directory))
    return directory


def run_standalone(directory):
    """Run the verifier in a fresh interpreter and prove it never imported Django."""
    code = (
        "import sys; from greenledger.evidence import verify; rc = verify.main([sys.argv[1]]); "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'; sys.exit(rc)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(directory)],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC)},
    )


def rewrite_lines(path, change):
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    change(lines)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")


def test_export_has_the_documented_files(export_dir):
    manifest = json.loads((export_dir / "manifest.json").read_text())
    assert manifest["format"] == "greenledger-evidence-export/v1"
    assert manifest["tree_size"] == 10
    leaves = (export_dir / "leaves.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(leaves) == 10
    first = json.loads(leaves[0])
    assert json.loads(first["record"])["table"] == first["table"] == "core.attachment"
    assert len((export_dir / "checkpoints.jsonl").read_text().splitlines()) == 2
    assert (export_dir / "public-key.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_standalone_verifier_accepts_the_export(export_dir):
    result = run_standalone(export_dir)
    assert result.returncode == 0, result.stderr
    assert "OK: 10 leaves, 2 checkpoint(s) verified" in result.stdout


def test_standalone_verifier_rejects_a_changed_record(export_dir):
    def change(lines):
        record = json.loads(lines[3]["record"])
        record["data"]["caption"] = "edited afterwards"
        lines[3]["record"] = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    rewrite_lines(export_dir / "leaves.jsonl", change)
    result = run_standalone(export_dir)
    assert result.returncode == 1
    assert "leaf 3" in result.stderr and "does not hash to the leaf hash" in result.stderr


def test_standalone_verifier_rejects_a_rehashed_leaf(export_dir):
    def change(lines):
        record = json.loads(lines[2]["record"])
        record["data"]["size"] = 1
        lines[2]["record"] = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        lines[2]["leaf_hash"] = verify.leaf_hash(lines[2]["record"].encode()).hex()

    rewrite_lines(export_dir / "leaves.jsonl", change)
    result = run_standalone(export_dir)
    assert result.returncode == 1
    assert "signed root is" in result.stderr


def test_standalone_verifier_rejects_a_forged_signature(export_dir):
    def change(lines):
        lines[0]["tree_size"] = 4

    rewrite_lines(export_dir / "checkpoints.jsonl", change)
    result = run_standalone(export_dir)
    assert result.returncode == 1
    assert "signature does not verify" in result.stderr


def test_standalone_verifier_rejects_a_dropped_leaf(export_dir):
    rewrite_lines(export_dir / "leaves.jsonl", lambda lines: lines.pop(6))
    assert run_standalone(export_dir).returncode == 1


def test_export_of_a_tampered_database_does_not_verify(export_dir, make_attachment, tmp_path):
    from greenledger.core.models import Attachment

    Attachment._base_manager.filter(pk=Attachment.objects.order_by("recorded_at").first().pk).update(  # behind its back
        caption="quietly"
    )
    directory = tmp_path / "second"
    call_command("export_evidence", str(directory))
    assert verify.main([str(directory)]) == 1


def test_module_runs_as_a_script(export_dir):
    result = subprocess.run(
        [sys.executable, "-m", "greenledger.evidence.verify", str(export_dir)],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC)},
    )
    assert result.returncode == 0, result.stderr
