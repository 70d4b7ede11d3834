from django.urls import path

from annotations import search_views

urlpatterns = [
    path("search/", search_views.search_page, name="search"),
    path("api/search", search_views.search_api, name="api_search"),
]
