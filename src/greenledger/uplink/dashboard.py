"""The uplink's panel on the site dashboard: upload rate of the last 24 hours, backlog, dead letters."""

from django.urls import reverse
from django.utils.translation import gettext as _

from . import rates
from .models import Platform


def panel(request, site):
    if not request.user.has_perm("uplink.view_uplink_dashboard"):
        return None
    platforms = list(Platform.objects.filter(site=site, enabled=True))
    if not platforms:
        return None
    figures = []
    for platform in platforms:
        link = reverse("uplink:dashboard") + f"?platform={platform.pk}"
        value, _figures = rates.last_day_rate(platform)
        queue = rates.backlog(platform)
        label = platform.name if len(platforms) > 1 else ""
        figures += [
            (f"{label} {_('Upload rate, last 24 h')}".strip(), "—" if value is None else f"{value} %", link),
            (f"{label} {_('Waiting to be sent')}".strip(), queue["count"], link),
            (f"{label} {_('Dead letters')}".strip(), queue["dead"], reverse("uplink:outbox")
             + f"?platform={platform.pk}&state=dead"),
        ]
    return {"title": _("Regulator uplink"), "link": reverse("uplink:dashboard"), "figures": figures}
