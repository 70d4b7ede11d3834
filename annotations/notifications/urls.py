from django.urls import path

from annotations.notifications import views

urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/<int:pk>/",
        views.notification_open,
        name="notification_open",
    ),
    path(
        "notifications/<int:pk>/read/",
        views.notifications_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        views.notifications_read,
        name="notifications_read_all",
    ),
    path(
        "notifications/settings/",
        views.notification_settings,
        name="notification_settings",
    ),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
