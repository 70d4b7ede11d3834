from django.urls import path

from annotations.groups import views

urlpatterns = [
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
