"""annotations.http.safe_next: a return address taken from a request leads back into this site
or is replaced by the view's own."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from annotations.http import safe_next

DEFAULT = "/annotations/7/"


@pytest.mark.parametrize(
    "address",
    [
        "/\\evil.com",
        "\\\\evil.com",
        "//evil.com",
        "https://evil.com",
        "https://evil.com/moderation/",
        "http://testserver.evil.com/",
        "javascript:alert(1)",
        " javascript:alert(1)",
        "",
    ],
)
def test_an_address_off_the_site_falls_back_to_the_default(address):
    assert safe_next(RequestFactory().post("/moderation/act/", {"next": address}), DEFAULT) == (
        DEFAULT
    )
    assert safe_next(RequestFactory().get("/", {"next": address}), DEFAULT) == DEFAULT


@pytest.mark.parametrize(
    "address", ["/moderation/?page=2", "/groups/book-club/moderation/", "http://testserver/notes/"]
)
def test_an_address_on_this_site_is_kept(address):
    request = RequestFactory().post("/moderation/act/", {"next": address})
    assert safe_next(request, DEFAULT) == address


def test_over_https_an_address_that_drops_to_http_falls_back():
    request = RequestFactory().post("/moderation/act/", {"next": "http://testserver/notes/"})
    request.is_secure = lambda: True
    assert safe_next(request, DEFAULT) == DEFAULT


def test_no_address_at_all_is_the_default():
    assert safe_next(RequestFactory().post("/moderation/act/"), DEFAULT) == DEFAULT
