"""Who is calling the API: a personal token, or the browser's session.

How an API view uses this module:

    @csrf_exempt                      # the check happens in api_user, see below
    @require_http_methods(["GET", "POST"])
    def container(request, slug):
        try:
            user = api_user(request)
        except ApiAuthError as error:
            return auth_error_response(error)
        if request.method == "POST" and not user.is_authenticated:
            return auth_error_response(ApiAuthError(401, "Log in or send an API token."))
        ...

- `Authorization: Bearer <token>`: the token must be valid (else 401 with a `WWW-Authenticate:
  Bearer` header, even when the request also carries a session cookie). A token is not sent
  by a browser on its own, so a token-authenticated request needs no CSRF check.
- Otherwise the session's user (anonymous if none). An unsafe method (POST, PUT, PATCH,
  DELETE) from a logged-in session must pass Django's CSRF check, exactly as the middleware
  would have done had the view not been exempt (Django REST framework's SessionAuthentication
  does the same); failing it is a 403. API views are exempt only so that token requests pass:
  this function puts the check back for sessions.

What the user may see or change is then annotations.policy's decision, as on the pages.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware

from annotations.api.tokens import token_user

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class ApiAuthError(Exception):
    """The request's credentials are refused: `status` is 401 (who are you?) or 403 (the
    session's request failed its CSRF check); `message` is for the caller. `invalid_token`
    says a token was presented and refused (RFC 6750's error code in the challenge)."""

    def __init__(self, status: int, message: str, *, invalid_token: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.invalid_token = invalid_token


class _CsrfCheck(CsrfViewMiddleware):
    # The middleware answers a failure with a 403 page; here the reason is what we want.
    def _reject(self, request, reason):
        return reason


def _enforce_csrf(request: HttpRequest) -> None:
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise ApiAuthError(403, f"CSRF check failed: {reason}")


def api_user(request: HttpRequest):
    """The person making an API request (an AnonymousUser if nobody), or ApiAuthError."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        user = token_user(credentials.strip())
        if user is None:
            raise ApiAuthError(
                401, "The API token is not valid: it is unknown or revoked.", invalid_token=True
            )
        return user
    user = request.user
    if user.is_authenticated and request.method not in SAFE_METHODS:
        _enforce_csrf(request)
    return user


def auth_error_response(error: ApiAuthError) -> JsonResponse:
    """The JSON answer to a refused request. A 401 carries `WWW-Authenticate: Bearer` (RFC 6750),
    with `error="invalid_token"` when a token was presented and refused."""
    response = JsonResponse({"error": error.message}, status=error.status)
    if error.status == 401:
        challenge = 'Bearer realm="marginalia"'
        if error.invalid_token:
            challenge += ', error="invalid_token"'
        response["WWW-Authenticate"] = challenge
    return response
