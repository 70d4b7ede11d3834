from django.urls import path

from annotations.transfer import views

urlpatterns = [
    path("notes/export.<str:fmt>", views.export_mine, name="export_mine"),
    path(
        "documents/<slug:slug>/export.<str:fmt>",
        views.export_document,
        name="export_document",
    ),
    path("groups/<slug:slug>/export.<str:fmt>", views.export_group, name="export_group"),
    path(
        "documents/<slug:slug>/import-annotations/",
        views.import_annotations,
        name="import_annotations",
    ),
    path("documents/<slug:slug>/orphans/", views.orphans, name="orphans"),
    path("annotations/<int:pk>/attach/", views.orphan_attach, name="orphan_attach"),
]
