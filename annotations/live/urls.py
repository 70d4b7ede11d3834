from django.urls import path

from annotations.live import views

urlpatterns = [
    path("documents/<slug:slug>/live/", views.stream, name="live_stream"),
    path(
        "documents/<slug:slug>/live/paragraphs/",
        views.paragraphs,
        name="live_paragraphs",
    ),
]
