"""The gate e-ledger's panel on the site dashboard: today's passages in and out, blocked, handled by hand,
and the alert level in force now."""

import datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import alerts
from .codes import AlertLevel, Decision, Direction
from .models import Passage
from .statistics import zone_of


def panel(request, site):
    if not request.user.has_perm("gate.view_passage"):
        return None
    zone = zone_of(site)
    today = timezone.now().astimezone(zone).date()
    since = datetime.datetime.combine(today, datetime.time.min, tzinfo=zone)
    counts = Passage.objects.filter(site=site, occurred_at__gte=since).aggregate(
        entries=Count("pk", filter=Q(direction=Direction.IN)), exits=Count("pk", filter=Q(direction=Direction.OUT)),
        blocked=Count("pk", filter=Q(final_decision=Decision.BLOCK)),
        manual=Count("pk", filter=Q(handled_by_id__isnull=False)))
    level = alerts.level_at(site)
    ledger = reverse("gate:passage_list") + f"?start={today:%Y-%m-%d}T00:00"
    link = reverse("gate:console") + f"?site={site.code}" if request.user.has_perm("gate.operate_gate") else ledger
    return {
        "title": _("Gate e-ledger"),
        "link": link,
        "figures": [
            (_("Alert level now"), AlertLevel(level).label, link),
            (_("Entries today"), counts["entries"], ledger + "&direction=in"),
            (_("Exits today"), counts["exits"], ledger + "&direction=out"),
            (_("Blocked today"), counts["blocked"], ledger + "&final_decision=block"),
            (_("Handled by hand today"), counts["manual"], ledger + "&manual=true"),
        ],
    }
