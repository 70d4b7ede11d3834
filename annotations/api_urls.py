from django.urls import path

from annotations import api

urlpatterns = [
    path("api/", api.docs, name="api_docs"),
    path("api/schema/", api.schema, name="api_schema"),
    path("api/documents/<slug:slug>/annotations/", api.container, name="api_container"),
    path("api/annotations/<int:pk>", api.annotation, name="api_annotation"),
    path("api/annotations/<int:pk>/replies/", api.replies, name="api_replies"),
    path("api/replies/<int:pk>", api.reply, name="api_reply"),
]
