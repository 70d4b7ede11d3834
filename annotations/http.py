"""What every view on the annotation side answers alike: the layer a request asks for,
and a refused request as a page or an htmx fragment.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotations import policy
from annotations.errors import RateLimited


def request_layer(request: HttpRequest) -> str:
    return policy.clean_layer(request.POST.get("layer") or request.GET.get("layer") or "")


def too_fast(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """Over a rate limit: 429 with Retry-After, and the message where the reader looks."""
    response = refused(request, str(limited), status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


def refused(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    """A refused write: the message in the page's alert region (htmx) or a plain page."""
    if request.htmx:
        return render(request, "annotations/_error.html", {"message": message}, status=status)
    return render(request, "annotations/error.html", {"message": message}, status=status)
