from django.urls import path

from annotations.reading import views

urlpatterns = [
    path("documents/<slug:slug>/", views.document, name="document"),
    path("documents/<slug:slug>/p/<slug:key>/", views.paragraph, name="paragraph"),
    path(
        "documents/<slug:slug>/p/<slug:key>/notes/",
        views.paragraph_notes,
        name="paragraph_notes",
    ),
]
