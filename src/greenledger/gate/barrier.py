"""Barrier commands for lanes whose barrier is not fired by the camera's reply (Hikvision ISAPI).

``PUT <lane.barrier_url>`` (e.g. ``http://<camera>/ISAPI/Parking/channels/1/barrierGate``) with
``<BarrierGate><ctrlMode>open</ctrlMode></BarrierGate>``, HTTP digest auth with the lane's user
name and the password held in the environment variable the lane names (passwords are never
stored). Every command is logged as a ``BarrierCommand``; a failure is logged, never raised, and
the call is made after the passage is committed with a short timeout, so a dead controller can
neither lose a passage nor hold a camera's request for long.
"""

import logging
import os
import urllib.error
import urllib.request

from django.utils import timezone

from .models import BarrierCommand

logger = logging.getLogger("greenledger.gate")

OPEN_BODY = b"<BarrierGate><ctrlMode>open</ctrlMode></BarrierGate>"
TIMEOUT_SECONDS = 3


def open_barrier(lane, *, passage=None, timeout=TIMEOUT_SECONDS):
    """Send the open command for ``lane``; returns the logged ``BarrierCommand``."""
    ok, detail = _put(lane, OPEN_BODY, timeout)
    if not ok:
        logger.warning("barrier of %s did not open: %s", lane, detail)
    command = BarrierCommand.objects.create(lane=lane, passage=passage, command="open", sent_at=timezone.now(),
                                            ok=ok, detail=detail[:2000])
    if passage is not None:
        passage.barrier_opened = ok
        passage.save(update_fields=["barrier_opened"])
    return command


def _put(lane, body, timeout):
    if not lane.barrier_url:
        return False, "lane has no barrier controller address"
    password = os.environ.get(lane.barrier_secret_env, "") if lane.barrier_secret_env else ""
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, lane.barrier_url, lane.barrier_username, password)
    opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(manager))
    request = urllib.request.Request(lane.barrier_url, data=body, method="PUT",
                                     headers={"Content-Type": "application/xml"})
    try:
        with opener.open(request, timeout=timeout) as response:
            text = response.read(2000).decode("utf-8", "replace")
            return 200 <= response.status < 300, f"HTTP {response.status} {text}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code} {exc.read(500).decode('utf-8', 'replace')}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
