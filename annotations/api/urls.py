from django.urls import path

from annotations.api import account, views

urlpatterns = [
    path("api/", views.docs, name="api_docs"),
    path("api/schema/", views.schema, name="api_schema"),
    path("api/documents/<slug:slug>/annotations/", views.container, name="api_container"),
    path("api/annotations/<int:pk>", views.annotation, name="api_annotation"),
    path("api/annotations/<int:pk>/replies/", views.replies, name="api_replies"),
    path("api/replies/<int:pk>", views.reply, name="api_reply"),
    path("account/", account.account, name="account"),
    path("account/tokens/", account.token_create, name="account_token_create"),
    path(
        "account/tokens/<int:pk>/revoke/",
        account.token_revoke,
        name="account_token_revoke",
    ),
]
