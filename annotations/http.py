"""What every view on the annotation side answers alike: the layer a request asks for, a safe
return address, and a refused request — as a page, an htmx fragment, or the API's JSON.

Services raise `annotations.errors.Refused` (and its kinds); `RefusalMiddleware` turns any that
a view lets through into the one answer, so no view maps an error to a status by hand. A view
catches a refusal only to show it inside its own form.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import url_has_allowed_host_and_scheme

from annotations import policy
from annotations.errors import Refused


def request_layer(request: HttpRequest) -> str:
    return policy.clean_layer(request.POST.get("layer") or request.GET.get("layer") or "")


def safe_next(request: HttpRequest, default: str) -> str:
    """The return address the request names in `next`, if it leads back into this site;
    otherwise `default`. Django's own check, as the login view uses: it refuses other hosts,
    `//host`, `/\\host` (browsers read the backslash as a slash), and any scheme but http(s)."""
    address = request.POST.get("next") or request.GET.get("next") or ""
    # And a path or a URL, never a bare word: redirect() would take "0" or "annotation" for the
    # name of a view, and fail to reverse it.
    if "/" in address and url_has_allowed_host_and_scheme(
        address, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return address
    return default


def refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    """A refused request: the message in the page's alert region (htmx) or a plain page."""
    if request.htmx:
        return render(request, "annotations/_error.html", {"message": message}, status=status)
    return render(request, "annotations/error.html", {"message": message}, status=status)


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    """The API's error: `{"error": message}`, never cached across callers."""
    response = JsonResponse({"error": message}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Vary"] = "Accept, Authorization, Cookie"
    return response


def mark_api_request(request: HttpRequest) -> None:
    """Refusals of this request are answered in the API's JSON."""
    request.api_client = True


def refusal(request: HttpRequest, error: Refused) -> HttpResponse:
    """The one HTTP answer to a refusal: its status and headers, its message where the caller
    reads it."""
    if getattr(request, "api_client", False):
        status = getattr(error, "api_status", error.status)
        return json_error(status, str(error), error.headers)
    response = refused(request, str(error), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


class RefusalMiddleware(MiddlewareMixin):
    """Answers a `Refused` that a view let through (sync and async views alike)."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Refused):
            return refusal(request, exception)
        return None


# Form bodies whose values land in request.POST (an uploaded file's bytes do not).
_FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_nul(data) -> bool:
    """Whether a QueryDict has a NUL character in any name or any value."""
    return any(
        "\x00" in name or any("\x00" in value for value in values) for name, values in data.lists()
    )


class NulRefusalMiddleware(MiddlewareMixin):
    """Refuses a NUL character anywhere in the address or in a form value, before any view:
    PostgreSQL cannot store or compare one (psycopg raises DataError), and no address, token,
    slug, tag or field of this site holds one. A NUL in the path names nothing (404); in a
    query or form parameter, its name or its value, it is a bad request (400). Addresses under
    /api/ are answered in the API's JSON.

    Uploaded files are not looked at: they are bytes, and their parsers judge them."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        api = request.path_info.startswith("/api/")
        if "\x00" in request.path_info:
            if api:
                return json_error(404, "No such resource.")
            raise Http404("No such page.")
        # The API reads JSON bodies, never forms: its body is left to it (a form-typed body is
        # its 415, not a parse error here).
        form = not api and request.method == "POST" and request.content_type in _FORM_CONTENT_TYPES
        if _holds_nul(request.GET) or (form and _holds_nul(request.POST)):
            message = "A parameter holds a NUL character, which no value here can hold."
            return json_error(400, message) if api else refused(request, message, status=400)
        return None
