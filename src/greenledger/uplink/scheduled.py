"""The uplink's step in ``greenledger measures-scheduler``: upload-rate and backlog alarms.

The worker checks them too, but a stopped worker is exactly when the backlog grows: the scheduler
checks every platform at most every five minutes, whether or not a worker runs.
"""

from . import rates
from .models import Platform

_last = {"at": None}


def run(now):
    if _last["at"] is not None and _last["at"] <= now < _last["at"] + rates.ALARM_CHECK_EVERY:
        return {}
    _last["at"] = now
    alarms = 0
    for platform in Platform.objects.filter(enabled=True).select_related("site"):
        alarms += len(rates.check_alarms(platform, now=now))
    return {"uplink_alarms": alarms}
