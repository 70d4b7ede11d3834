from django.urls import path

from annotations.discussions import views

urlpatterns = [
    path("annotations/<int:pk>/replies/", views.reply_create, name="reply_create"),
    path("annotations/<int:pk>/reply-form/", views.reply_form, name="reply_form"),
    path("annotations/<int:pk>/react/", views.react, name="react"),
    path("annotations/<int:pk>/question/", views.question, name="question"),
    path("annotations/<int:pk>/answer/", views.answer, name="answer"),
    path("annotations/<int:pk>/flag/", views.flag, name="flag_annotation"),
    path("replies/<int:pk>/", views.reply_thread, name="reply_thread"),
    path("replies/<int:pk>/edit/", views.reply_edit, name="reply_edit"),
    path("replies/<int:pk>/delete/", views.reply_delete, name="reply_delete"),
    path(
        "replies/<int:pk>/flag/",
        views.flag,
        {"target": "reply"},
        name="flag_reply",
    ),
    path(
        "documents/<slug:slug>/discussions/",
        views.document_discussions,
        name="document_discussions",
    ),
    path(
        "documents/<slug:slug>/discussions/new/",
        views.discussion_new,
        name="discussion_new",
    ),
]
