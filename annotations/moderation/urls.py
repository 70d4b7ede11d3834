from django.urls import path

from annotations.moderation import views

urlpatterns = [
    path("moderation/", views.queue, name="site_moderation"),
    path("moderation/log/", views.log, name="site_moderation_log"),
    path("moderation/act/", views.act, name="moderation_act"),
    path("groups/<slug:slug>/moderation/", views.queue, name="group_moderation"),
    path("groups/<slug:slug>/moderation/log/", views.log, name="group_moderation_log"),
    path(
        "groups/<slug:slug>/pre-moderation/",
        views.pre_moderation,
        name="group_pre_moderation",
    ),
    path(
        "groups/<slug:slug>/members/<int:user_id>/moderate/",
        views.member_act,
        name="group_member_act",
    ),
]
