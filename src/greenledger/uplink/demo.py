"""Demo regulator uplink: the demo plant reports to a simulated municipal platform at 127.0.0.1:8765.

Makes (once) our RSA key and the app secret as files under ``<data dir>/keys/`` and the simulator's
configuration ``<data dir>/regulator-sim/config.json`` (its own keys, our app id, secret and public
key), sets up the platform, and queues today's demo passages so the dashboard has something to
show as soon as the simulator and a worker run. Safe to repeat.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from greenledger.core.demo import SITE_CODE
from greenledger.core.models import Site

from . import signing
from .models import OutboxItem, Platform, Profile
from .outbox import enqueue_bulk
from .simulator import new_keys, write_config

APP_ID = "GL-DEMO-CZ"
PORT = 8765
CODE = "demo-city"


def _file(path, make):
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8")


def ensure_keys(data_dir):
    keys_dir = data_dir / "keys"
    pair = {}

    def make_private():
        pair["private"], pair["public"] = signing.new_rsa_keypair()
        return pair["private"]

    private = _file(keys_dir / "uplink-demo-rsa.pem", make_private)
    public = signing.RsaSigner(private).private_key.public_key()
    from cryptography.hazmat.primitives import serialization

    public_pem = public.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    secret = _file(keys_dir / "uplink-demo-secret", lambda: secrets.token_urlsafe(24))
    return public_pem, secret.strip()


def ensure_simulator_config(data_dir, our_public, secret):
    path = data_dir / "regulator-sim" / "config.json"
    import json

    keys = json.loads(path.read_text(encoding="utf-8"))["keys"] if path.exists() else new_keys()
    write_config(path, {APP_ID: {"secret": secret, "public_key": our_public, "sign_type": signing.RSA2}}, keys)
    return keys[signing.RSA2]["public"]


def load(stdout=None):
    site = Site.objects.filter(code=SITE_CODE).first()
    if site is None:
        return
    data_dir = Path(settings.DATA_DIR)
    our_public, secret = ensure_keys(data_dir)
    platform_public = ensure_simulator_config(data_dir, our_public, secret)
    platform, created = Platform.objects.update_or_create(code=CODE, defaults={
        "site": site, "name": "常州市重点用车单位门禁监管平台（模拟）", "profile": Profile.GENERIC_RSA2,
        "base_url": f"http://127.0.0.1:{PORT}", "app_id": APP_ID, "enterprise_code": "91320412MA1DEMO01X",
        "app_secret_ref": "file:keys/uplink-demo-secret", "private_key_ref": "file:keys/uplink-demo-rsa.pem",
        "platform_public_key": platform_public, "heartbeat_seconds": 60, "pull_seconds": 60})
    queued = 0
    if not OutboxItem.objects.filter(platform=platform).exists():
        from greenledger.gate.models import Passage

        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        queued = len(enqueue_bulk(platform, Passage.objects.filter(site=site, occurred_at__gte=today)
                                  .order_by("occurred_at").only("id", "occurred_at", "recorded_at")))
    if stdout is not None:
        stdout.write(f"demo uplink: platform {platform.code} → {platform.base_url}, {queued} passages queued")
        stdout.write(f"  greenledger regulator-sim --port {PORT}     # the simulated regulator")
        stdout.write("  greenledger uplink-worker                    # sends the outbox; dashboard at /uplink/")
        stdout.write(f"  outage: curl -X POST http://127.0.0.1:{PORT}/_admin/switches -d '{{\"outage\": true}}' "
                     "(false to recover)")
