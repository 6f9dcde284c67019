"""Heavy-pollution-weather alert levels (重污染天气预警) of a site: the level in force and switching it.

The level at a moment is that of the latest-starting ``AlertPeriod`` covering it (ending an alert
early is a new period with level "none"). Every switch is a sealed record, so the history is the
ledger. Live decisions use the level read at most two seconds earlier by the same process
(``gate.rules``); the switching process forgets it at once, every other one within two seconds.

Regulators speak in colours (黄色/橙色/红色) or response levels (III/II/I级); :func:`parse_level`
maps both to GreenLedger's codes.
"""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from greenledger.core.models import NotificationLevel
from greenledger.core.notifications import notify

from .codes import AlertLevel
from .rules import forget_site
from .models import AlertPeriod, AlertSource

LEVEL_WORDS = {
    "none": AlertLevel.NONE, "无": AlertLevel.NONE, "解除": AlertLevel.NONE, "0": AlertLevel.NONE,
    "yellow": AlertLevel.YELLOW, "黄色": AlertLevel.YELLOW, "黄": AlertLevel.YELLOW, "iii": AlertLevel.YELLOW,
    "iii级": AlertLevel.YELLOW, "Ⅲ级": AlertLevel.YELLOW, "三级": AlertLevel.YELLOW, "3": AlertLevel.YELLOW,
    "orange": AlertLevel.ORANGE, "橙色": AlertLevel.ORANGE, "橙": AlertLevel.ORANGE, "ii": AlertLevel.ORANGE,
    "ii级": AlertLevel.ORANGE, "Ⅱ级": AlertLevel.ORANGE, "二级": AlertLevel.ORANGE, "2": AlertLevel.ORANGE,
    "red": AlertLevel.RED, "红色": AlertLevel.RED, "红": AlertLevel.RED, "i": AlertLevel.RED,
    "i级": AlertLevel.RED, "Ⅰ级": AlertLevel.RED, "一级": AlertLevel.RED, "1": AlertLevel.RED,
}
LEVEL_COLOURS = {AlertLevel.NONE: "#2f855a", AlertLevel.YELLOW: "#d69e2e", AlertLevel.ORANGE: "#dd6b20",
                 AlertLevel.RED: "#c53030"}


def parse_level(text):
    """An ``AlertLevel`` from a code, a colour or a response level (e.g. "橙色", "II级", "orange")."""
    key = str(text or "").strip().replace("预警", "").replace("响应", "").replace(" ", "")
    level = LEVEL_WORDS.get(key.lower()) or LEVEL_WORDS.get(key)
    if level is None:
        raise ValidationError({"level": _("Unknown alert level %(level)r: use 黄色/橙色/红色, III/II/I级 or none.")
                               % {"level": text}}, code="choice")
    return level


def period_at(site, when=None):
    """The ``AlertPeriod`` in force at ``when`` (now by default), or None."""
    when = when or timezone.now()
    return (AlertPeriod.objects.filter(site=site, starts_at__lte=when)
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=when))
            .order_by("-starts_at", "-recorded_at").first())


def level_at(site, when=None):
    """The alert level in force at ``when``: the latest-starting period covering it, else "none"."""
    period = period_at(site, when)
    return period.level if period is not None else AlertLevel.NONE


def switch_alert(site, level, *, starts_at=None, ends_at=None, reason, measures_text="",
                 source=AlertSource.MANUAL, user=None, regulator_ref=""):
    """Record a new alert period (sealed) and tell the site's environmental managers and guards."""
    level = parse_level(level)
    now = timezone.now()
    starts_at = starts_at or now
    problems = {}
    if not (reason or "").strip():
        problems["reason"] = _("Give the reason for the switch (e.g. the regulator's notice).")
    if ends_at is not None and ends_at <= starts_at:
        problems["ends_at"] = _("The end must be after the start.")
    if problems:
        raise ValidationError(problems, code="required")
    with transaction.atomic():
        period = AlertPeriod.objects.create(
            site=site, level=level, starts_at=starts_at, ends_at=ends_at, source=source, reason=reason.strip()[:300],
            measures_text=measures_text or "", regulator_ref=(regulator_ref or "")[:100],
            created_by=user if user is not None and user.is_authenticated else None, occurred_at=now,
        )
        transaction.on_commit(lambda: _announce(period))
    forget_site(site.pk)
    transaction.on_commit(lambda: forget_site(site.pk))
    return period


def _announce(period):
    title = _("Alert level at %(site)s: %(level)s") % {"site": period.site.name, "level": period.get_level_display()}
    body = _("From %(start)s. %(reason)s %(measures)s") % {
        "start": timezone.localtime(period.starts_at).strftime("%Y-%m-%d %H:%M"), "reason": period.reason,
        "measures": period.measures_text}
    level = NotificationLevel.INFO if period.level == AlertLevel.NONE else NotificationLevel.WARNING
    notify(people_to_tell(period.site), title, body, link="/gate/alerts/", level=level, channels=())


def people_to_tell(site, roles=("environmental_manager", "gate_guard")):
    users = []
    for group in Group.objects.filter(name__in=roles):
        users.extend(group.user_set.filter(person__sites=site, is_active=True).distinct())
    return list({user.pk: user for user in users}.values())


def history(site, limit=50):
    return AlertPeriod.objects.filter(site=site).select_related("created_by").order_by("-recorded_at")[:limit]
