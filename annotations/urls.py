from django.urls import path

from annotations import views

urlpatterns = [
    path("documents/<slug:slug>/annotations/", views.annotation_create, name="annotation_create"),
    path(
        "documents/<slug:slug>/annotations/new/",
        views.annotation_editor,
        name="annotation_editor",
    ),
    path(
        "documents/<slug:slug>/p/<slug:key>/notes/",
        views.paragraph_notes,
        name="paragraph_notes",
    ),
    path("annotations/<int:pk>/", views.annotation_detail, name="annotation"),
    path("annotations/<int:pk>/edit/", views.annotation_edit, name="annotation_edit"),
    path("annotations/<int:pk>/delete/", views.annotation_delete, name="annotation_delete"),
    path("notes/", views.my_notes, name="my_notes"),
    path("markdownx/markdownify/", views.markdown_preview, name="markdown_preview"),
    path("groups/", views.group_list, name="group_list"),
    path("groups/new/", views.group_new, name="group_new"),
    path("groups/join/<str:token>/", views.group_join, name="group_join"),
    path("groups/<slug:slug>/", views.group_detail, name="group"),
    path("groups/<slug:slug>/invite/", views.group_invite_renew, name="group_invite_renew"),
    path("groups/<slug:slug>/leave/", views.group_leave, name="group_leave"),
    path(
        "groups/<slug:slug>/members/<int:user_id>/role/",
        views.group_member_role,
        name="group_member_role",
    ),
    path(
        "groups/<slug:slug>/members/<int:user_id>/remove/",
        views.group_member_remove,
        name="group_member_remove",
    ),
]
