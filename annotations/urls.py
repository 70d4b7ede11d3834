from django.urls import path

from annotations import discussion_views, moderation_views, views

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
    path("annotations/<int:pk>/replies/", discussion_views.reply_create, name="reply_create"),
    path("annotations/<int:pk>/react/", discussion_views.react, name="react"),
    path("annotations/<int:pk>/question/", discussion_views.question, name="question"),
    path("annotations/<int:pk>/answer/", discussion_views.answer, name="answer"),
    path("annotations/<int:pk>/flag/", discussion_views.flag, name="flag_annotation"),
    path("replies/<int:pk>/", discussion_views.reply_thread, name="reply_thread"),
    path("replies/<int:pk>/edit/", discussion_views.reply_edit, name="reply_edit"),
    path("replies/<int:pk>/delete/", discussion_views.reply_delete, name="reply_delete"),
    path(
        "replies/<int:pk>/flag/",
        discussion_views.flag,
        {"target": "reply"},
        name="flag_reply",
    ),
    path(
        "documents/<slug:slug>/discussions/",
        discussion_views.document_discussions,
        name="document_discussions",
    ),
    path(
        "documents/<slug:slug>/discussions/new/",
        discussion_views.discussion_new,
        name="discussion_new",
    ),
    path("moderation/", moderation_views.queue, name="site_moderation"),
    path("moderation/log/", moderation_views.log, name="site_moderation_log"),
    path("moderation/act/", moderation_views.act, name="moderation_act"),
    path("groups/<slug:slug>/moderation/", moderation_views.queue, name="group_moderation"),
    path("groups/<slug:slug>/moderation/log/", moderation_views.log, name="group_moderation_log"),
    path(
        "groups/<slug:slug>/pre-moderation/",
        moderation_views.pre_moderation,
        name="group_pre_moderation",
    ),
    path(
        "groups/<slug:slug>/members/<int:user_id>/moderate/",
        moderation_views.member_act,
        name="group_member_act",
    ),
    path("notifications/", moderation_views.notifications, name="notifications"),
    path(
        "notifications/<int:pk>/",
        moderation_views.notification_open,
        name="notification_open",
    ),
    path(
        "notifications/<int:pk>/read/",
        moderation_views.notifications_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        moderation_views.notifications_read,
        name="notifications_read_all",
    ),
    path(
        "notifications/settings/",
        moderation_views.notification_settings,
        name="notification_settings",
    ),
    path("unsubscribe/<str:token>/", moderation_views.unsubscribe, name="unsubscribe"),
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
