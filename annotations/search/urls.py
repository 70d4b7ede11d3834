from django.urls import path

from annotations.search import views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("api/search", views.search_api, name="api_search"),
    path("tags/", views.tag_list, name="tag_list"),
    # Before the tag page: "suggest" is not a tag's page.
    path("tags/suggest/", views.tag_suggest, name="tag_suggest"),
    path("tags/<str:tag>/", views.tag_page, name="tag"),
]
