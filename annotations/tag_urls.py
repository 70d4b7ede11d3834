from django.urls import path

from annotations import tag_views

urlpatterns = [
    path("tags/", tag_views.tag_list, name="tag_list"),
    # Before the tag page: "suggest" is not a tag's page.
    path("tags/suggest/", tag_views.tag_suggest, name="tag_suggest"),
    path("tags/<str:tag>/", tag_views.tag_page, name="tag"),
]
