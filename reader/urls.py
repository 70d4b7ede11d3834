from django.contrib import admin
from django.urls import include, path

from reader import views

urlpatterns = [
    path("", views.library, name="library"),
    path("documents/new/", views.document_new, name="document_new"),
    path("documents/<slug:slug>/", views.document, name="document"),
    path("documents/<slug:slug>/p/<slug:key>/", views.paragraph, name="paragraph"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("annotations.urls")),
    path("", include("annotations.api_urls")),
    path("", include("annotations.transfer_urls")),
    path("", include("annotations.account_urls")),
    path("", include("annotations.tag_urls")),
    path("", include("annotations.search_urls")),
    path("admin/", admin.site.urls),
]
