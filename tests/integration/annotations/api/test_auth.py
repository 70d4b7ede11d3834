"""Who calls the API: a Bearer token (no CSRF needed), or the session (CSRF enforced)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.middleware.csrf import _get_new_csrf_string
from django.test import RequestFactory

from annotations.api.auth import ApiAuthError, api_user, auth_error_response
from annotations.api.tokens import token_create, token_revoke

pytestmark = pytest.mark.django_db

UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]


def make_request(method: str, *, user=None, bearer: str | None = None, csrf=None, **extra):
    """A request as it reaches an API view: `user` is the session's (or anonymous); `csrf` is
    (cookie, header) for the CSRF check."""
    factory = RequestFactory()
    if bearer is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
    if csrf is not None:
        cookie, header = csrf
        factory.cookies[settings.CSRF_COOKIE_NAME] = cookie
        if header is not None:
            extra["HTTP_X_CSRFTOKEN"] = header
    request = factory.generic(method, "/api/documents/x/annotations/", **extra)
    request.user = user if user is not None else AnonymousUser()
    return request


@pytest.mark.parametrize("method", ["GET", *UNSAFE])
def test_a_bearer_token_needs_no_csrf(owner, method):
    raw = token_create(user=owner, name="script")[1]
    assert api_user(make_request(method, bearer=raw)) == owner


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_token_wins_over_a_session(owner, outsider, method):
    raw = token_create(user=owner, name="script")[1]
    assert api_user(make_request(method, user=outsider, bearer=raw)) == owner


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", ["unknown", "revoked", "empty", "garbled"])
def test_a_bad_bearer_token_is_401_even_with_a_session(owner, method, kind):
    token, raw = token_create(user=owner, name="script")
    if kind == "revoked":
        token_revoke(user=owner, token_id=token.pk)
    bearer = {"unknown": "mga_" + "a" * 43, "revoked": raw, "empty": "", "garbled": "%%%"}[kind]
    with pytest.raises(ApiAuthError) as refused:
        api_user(make_request(method, user=owner, bearer=bearer))
    assert refused.value.status == 401
    response = auth_error_response(refused.value)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert json.loads(response.content) == {"error": refused.value.message}


def test_a_401_for_no_credentials_carries_a_plain_bearer_challenge():
    response = auth_error_response(ApiAuthError(401, "Log in or send an API token."))
    assert response["WWW-Authenticate"] == 'Bearer realm="marginalia"'


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_session_reads_without_csrf(owner, method):
    assert api_user(make_request(method, user=owner)) == owner


@pytest.mark.parametrize("method", UNSAFE)
def test_a_session_write_without_a_csrf_token_is_403(owner, method):
    with pytest.raises(ApiAuthError) as refused:
        api_user(make_request(method, user=owner))
    assert refused.value.status == 403
    assert refused.value.message.startswith("CSRF check failed: ")
    response = auth_error_response(refused.value)
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("method", UNSAFE)
def test_a_session_write_with_a_wrong_csrf_token_is_403(owner, method):
    with pytest.raises(ApiAuthError) as refused:
        api_user(make_request(method, user=owner, csrf=(_get_new_csrf_string(), "x" * 32)))
    assert refused.value.status == 403


@pytest.mark.parametrize("method", UNSAFE)
def test_a_session_write_with_its_csrf_token_passes(owner, method):
    secret = _get_new_csrf_string()
    assert api_user(make_request(method, user=owner, csrf=(secret, secret))) == owner


def test_a_session_write_from_another_origin_is_403(owner):
    secret = _get_new_csrf_string()
    request = make_request(
        "POST", user=owner, csrf=(secret, secret), HTTP_ORIGIN="https://evil.example"
    )
    with pytest.raises(ApiAuthError, match="CSRF check failed"):
        api_user(request)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_nobody_is_anonymous(method):
    """An anonymous write has no session to protect: the view refuses it (401) for want of a
    person, not for CSRF."""
    assert not api_user(make_request(method)).is_authenticated


def test_another_scheme_falls_back_to_the_session(owner):
    request = make_request("GET", user=owner, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert api_user(request) == owner
