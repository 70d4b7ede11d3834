from django.contrib import admin
from django.urls import include, path

from reader import views

urlpatterns = [
    path("", views.library, name="library"),
    # Before annotations' "documents/<slug>/": "new" is not a document.
    path("documents/new/", views.document_new, name="document_new"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("annotations.urls")),
    path("admin/", admin.site.urls),
]
