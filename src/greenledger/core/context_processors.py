"""Template context shared by every page: navigation, unread notifications, languages."""

from .navigation import visible_navigation


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_groups": visible_navigation(user),
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
        "current_person": getattr(user, "person", None),
    }
