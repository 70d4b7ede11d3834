"""The bell in the header: how many unread notifications the viewer has (one query)."""

from annotations.models import Notification


def notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notifications": lambda: Notification.objects.filter(
            recipient=user, read_at__isnull=True
        ).count()
    }
