"""Notifications (通知): in-app list, e-mail, and pluggable SMS/webhook adapters.

``notify(users, title, ...)`` writes one in-app notification per user and hands it to the
outside channels asked for. An adapter is any class with ``send(notification, address)``
returning ``(ok, detail)``; settings.GREENLEDGER_NOTIFICATION_ADAPTERS maps channel names to
adapter classes. The default adapter only logs, so nothing leaves the machine until a real
SMS gateway or webhook is configured.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from .models import Notification, NotificationDelivery, NotificationLevel

logger = logging.getLogger("greenledger.notifications")


class NotificationAdapter:
    """Interface of an outside channel."""

    channel = "custom"

    def address_for(self, user):
        person = getattr(user, "person", None)
        return getattr(person, "phone", "") or ""

    def send(self, notification, address):  # pragma: no cover - interface
        raise NotImplementedError


class LoggingAdapter(NotificationAdapter):
    """Writes the message to the log instead of sending it (the default for SMS and webhooks)."""

    def send(self, notification, address):
        logger.info("notify via %s to %s: %s — %s", self.channel, address or "-", notification.title, notification.body)
        return True, "logged"


class EmailAdapter(NotificationAdapter):
    channel = "email"

    def address_for(self, user):
        return user.email

    def send(self, notification, address):
        if not address:
            return False, "no e-mail address"
        send_mail(notification.title, notification.body or notification.title, None, [address])
        return True, "sent"


def adapter_for(channel):
    if channel == "email":
        return EmailAdapter()
    path = settings.GREENLEDGER_NOTIFICATION_ADAPTERS.get(channel)
    if not path:
        raise ValueError(f"no adapter configured for channel {channel!r}")
    adapter = import_string(path)()
    adapter.channel = channel
    return adapter


def notify(users, title, body="", *, link="", level=NotificationLevel.INFO, channels=("email",)):
    """Notify each user in-app and over ``channels``; returns the in-app notifications."""
    created = []
    for user in users:
        notification = Notification.objects.create(recipient=user, title=title, body=body, link=link, level=level)
        created.append(notification)
        for channel in channels:
            adapter = adapter_for(channel)
            address = adapter.address_for(user)
            try:
                ok, detail = adapter.send(notification, address)
            except Exception as exc:  # a broken gateway must not lose the in-app notification
                logger.exception("notification channel %s failed", channel)
                ok, detail = False, str(exc)[:300]
            NotificationDelivery.objects.create(
                notification=notification, channel=channel, address=address, ok=ok, detail=detail[:300]
            )
    return created
