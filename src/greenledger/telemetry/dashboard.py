"""Telemetry's panel on the site dashboard: points, stale points, open gaps, intake errors."""

import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Gap, IntakeError, MeasuringPoint
from .quality import is_stale


def panel(request, site):
    if not request.user.has_perm("telemetry.view_measuringpoint"):
        return None
    points = list(MeasuringPoint.objects.filter(site=site, active=True).select_related("status"))
    if not points:
        return None
    stale = sum(1 for p in points if is_stale(p, getattr(p, "status", None)))
    day_ago = timezone.now() - datetime.timedelta(days=1)
    return {
        "title": _("Energy & telemetry"),
        "link": reverse("telemetry:energy") + f"?site={site.code}",
        "figures": [
            (_("Measuring points"), len(points), reverse("telemetry:point_list") + f"?site={site.pk}"),
            (_("Stale points"), stale, reverse("telemetry:quality") + f"?site={site.code}&problems=1"),
            (_("Open gaps"), Gap.objects.filter(point__site=site, filled_at__isnull=True).count(),
             reverse("telemetry:quality") + f"?site={site.code}&problems=1"),
            (_("Intake errors (24 h)"), IntakeError.objects.filter(site=site, received_at__gte=day_ago).count(),
             reverse("telemetry:error_list")),
        ],
    }
