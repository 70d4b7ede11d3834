"""Every address on the annotation side, one include per capability."""

from django.urls import include, path

urlpatterns = [
    path("", include("annotations.reading.urls")),
    path("", include("annotations.notes.urls")),
    path("", include("annotations.discussions.urls")),
    path("", include("annotations.groups.urls")),
    path("", include("annotations.moderation.urls")),
    path("", include("annotations.notifications.urls")),
    path("", include("annotations.live.urls")),
    path("", include("annotations.search.urls")),
    path("", include("annotations.api.urls")),
    path("", include("annotations.transfer.urls")),
]
