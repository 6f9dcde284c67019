"""The carbon app's step in the long-running scheduler (``greenledger measures-scheduler --every 60``).

Any app may ship a ``scheduled`` module with ``run(now) -> dict``; the scheduler calls it once per
round (see :mod:`greenledger.core.extensions`) and prints the counts. Here: emission-anomaly
detection over the last whole hours (:func:`greenledger.carbon.anomalies.detect_recent`), so the
*Emission anomalies* page stays current without anyone running ``carbon-telemetry --detect``.

Detection reads eight weeks of hourly rollups per meter, so it runs at most every
``DETECT_EVERY`` (15 minutes), not every minute; an hour that has just ended is examined within
a quarter of an hour, and again in later rounds while it is inside the look-back, which catches
readings that arrive late. The throttle lives in the process: detection is idempotent, so two
schedulers running it now and then still write each anomaly once.
"""

import datetime

from . import anomalies

DETECT_EVERY = datetime.timedelta(minutes=15)


class Every:
    """True at most once per ``interval`` (and again at once if the clock goes backwards)."""

    def __init__(self, interval):
        self.interval = interval
        self.last = None

    def due(self, now):
        if self.last is not None and self.last <= now < self.last + self.interval:
            return False
        self.last = now
        return True


detection = Every(DETECT_EVERY)


def run(now):
    if not detection.due(now):
        return {}
    return {"emission_anomalies": anomalies.detect_recent(now)}
