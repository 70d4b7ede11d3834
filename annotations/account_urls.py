from django.urls import path

from annotations import account_views

urlpatterns = [
    path("account/", account_views.account, name="account"),
    path("account/tokens/", account_views.token_create, name="account_token_create"),
    path(
        "account/tokens/<int:pk>/revoke/",
        account_views.token_revoke,
        name="account_token_revoke",
    ),
]
