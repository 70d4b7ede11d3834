from django.urls import path

from annotations import transfer_views

urlpatterns = [
    path("notes/export.<str:fmt>", transfer_views.export_mine, name="export_mine"),
    path(
        "documents/<slug:slug>/export.<str:fmt>",
        transfer_views.export_document,
        name="export_document",
    ),
    path("groups/<slug:slug>/export.<str:fmt>", transfer_views.export_group, name="export_group"),
    path(
        "documents/<slug:slug>/import-annotations/",
        transfer_views.import_annotations,
        name="import_annotations",
    ),
    path("documents/<slug:slug>/orphans/", transfer_views.orphans, name="orphans"),
    path("annotations/<int:pk>/attach/", transfer_views.orphan_attach, name="orphan_attach"),
]
