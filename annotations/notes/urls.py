from django.urls import path

from annotations.notes import views

urlpatterns = [
    path("documents/<slug:slug>/annotations/", views.annotation_create, name="annotation_create"),
    path(
        "documents/<slug:slug>/annotations/new/",
        views.annotation_editor,
        name="annotation_editor",
    ),
    path("annotations/<int:pk>/", views.annotation_detail, name="annotation"),
    path("annotations/<int:pk>/edit/", views.annotation_edit, name="annotation_edit"),
    path("annotations/<int:pk>/delete/", views.annotation_delete, name="annotation_delete"),
    path("notes/", views.my_notes, name="my_notes"),
    path("markdownx/markdownify/", views.markdown_preview, name="markdown_preview"),
]
