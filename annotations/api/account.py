"""The account page: who you are, your password, and your personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from annotations.api import tokens
from annotations.errors import TokenError
from annotations.models import ApiToken
from reader.models import Document


def _render(request: HttpRequest, status: int = 200, **context) -> HttpResponse:
    context.setdefault("name", "")
    context["tokens"] = ApiToken.objects.filter(user=request.user)
    context["max_tokens"] = tokens.MAX_LIVE_TOKENS
    return render(request, "annotations/api/account.html", context, status=status)


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return _render(request)


@never_cache  # the answer holds a secret: no cache, no back-button copy from a shared proxy
@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Make a token and show it, in this answer only: it is never put in a URL or the session,
    and only its hash is kept."""
    name = request.POST.get("name", "")
    try:
        token, raw = tokens.token_create(user=request.user, name=name)
    except TokenError as error:
        return _render(request, status=400, error=str(error), name=name)
    slug = Document.objects.order_by("-id").values_list("slug", flat=True).first()
    container = reverse("api_container", kwargs={"slug": slug or "DOCUMENT-SLUG"})
    example = request.build_absolute_uri(container)
    return _render(request, new_token=token, plaintext=raw, example_url=example)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token = tokens.token_revoke(user=request.user, token_id=pk)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    messages.success(request, f"The token “{token.name}” is revoked: it no longer works.")
    return redirect("account")
