"""Carbon accounting's panel on the site dashboard (core collects one panel per app)."""

import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import engine
from .reports import t


def panel(request, site):
    if not request.user.has_perm("carbon.view_emissions"):
        return None
    last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    start, end = engine.month_bounds(last.year, last.month)
    content = engine.to_dict(engine.compute(site, start, end))
    report = reverse("carbon:report") + f"?site={site.code}&month={start:%Y-%m}"
    figures = [
        (_("t CO2 last month (location-based)"), t(content["totals"]["total"]), report),
        (_("t CO2 last month (market-based)"), t(content["totals"]["total_market"]), report),
    ]
    for row in content["intensity"][:1]:
        figures.append((_("kg CO2 per %(unit)s") % row, row["kg_per_unit"], report))
    return {"title": _("Carbon accounting"), "link": reverse("carbon:dashboard") + f"?site={site.code}",
            "figures": figures}
