"""Search: the page (/search/) and the API (/api/search), and the tag pages (/tags/). Search
parses one form, calls annotations.search.query.search (which asks annotations.policy through
the querysets) and presents; tags read annotations.search.tags."""

from __future__ import annotations

import re
from html import escape

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from annotations import policy
from annotations.api.auth import ApiAuthError, api_user, auth_error_response
from annotations.http import mark_api_request
from annotations.search import tags
from annotations.search.forms import SearchForm
from annotations.search.query import COUNT_CAP, Result, SearchError, SearchPage, search
from reader.models import Document

# The document filter lists this many documents (by title) at most; any other is still
# searchable by its short name in the address.
DOCUMENT_CHOICES = 300


def _shortened(title: str, length: int = 60) -> str:
    return title if len(title) <= length else title[: length - 1].rstrip() + "…"


def _page_url(request: HttpRequest, page: int) -> str:
    """This search's address with another page number."""
    params = request.GET.copy()
    params["page"] = str(page)
    return f"{request.path}?{urlencode(sorted(params.lists()), doseq=True)}"


def _run(request: HttpRequest, user, form: SearchForm) -> tuple[SearchPage | None, str]:
    """The page of results, or the reason there is none."""
    if not form.is_valid():
        return None, ""
    try:
        return search(user, form.search_query(), page=form.page_number, per_page=form.page_size), ""
    except SearchError as error:
        return None, str(error)


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET) if request.GET else SearchForm()
    results, error = _run(request, request.user, form) if form.is_bound else (None, "")
    documents = Document.objects.order_by("title", "pk").values_list("slug", "title")
    chosen = form["document"].value() if form.is_bound else ""
    # Up to 300 options on every search: made here in one pass, not one template loop each
    # (nor one call of Django's Truncator and format_html each, which took 6 ms).
    document_options = mark_safe(  # noqa: S308 - every value is escaped here
        "".join(
            f'<option value="{escape(slug)}"{" selected" if slug == chosen else ""}>'
            f"{escape(_shortened(title))}</option>"
            for slug, title in documents[:DOCUMENT_CHOICES]
        )
    )
    context = {
        "form": form,
        "results": results,
        "error": error,
        "document_options": document_options,
        "groups": policy.groups_for_layers(request.user),
        "count_cap": COUNT_CAP,
        "prev_url": _page_url(request, results.page - 1)
        if results and results.has_previous
        else "",
        "next_url": _page_url(request, results.page + 1) if results and results.has_next else "",
    }
    status = 400 if form.is_bound and (form.errors or error) else 200
    return render(request, "annotations/search/search.html", context, status=status)


def _api_id(request: HttpRequest, result: Result) -> str:
    if result.kind == "note":
        path = reverse("api_annotation", kwargs={"pk": result.annotation_id})
    elif result.kind == "reply":
        path = reverse("api_reply", kwargs={"pk": result.reply_id})
    else:
        path = reverse(
            "paragraph", kwargs={"slug": result.document_slug, "key": result.paragraph_key}
        )
    return request.build_absolute_uri(path)


def _item(request: HttpRequest, result: Result) -> dict:
    return {
        "type": result.kind,
        "id": _api_id(request, result),
        "document": result.document_slug,
        "paragraph": result.paragraph_key,
        "url": request.build_absolute_uri(result.url),
        "snippet": str(result.snippet_html),
        "author": result.author or None,
        "created": result.created_at.isoformat() if result.created_at else None,
        "rank": result.rank,
    }


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    # The answer depends on who asks (a token or the session).
    response["Vary"] = "Accept, Authorization, Cookie"
    return response


@require_GET
def search_api(request: HttpRequest) -> HttpResponse:
    """GET /api/search?q=...: the search page's results as JSON, for the same person (a token
    or the session)."""
    mark_api_request(request)
    try:
        user = api_user(request)
    except ApiAuthError as refused:
        return auth_error_response(refused)
    form = SearchForm(request.GET)
    results, error = _run(request, user, form)
    if results is None:
        return _json({"error": error or form.error_text()}, status=400)
    query = form.search_query()
    absolute = request.build_absolute_uri
    return _json(
        {
            "query": {
                "q": query.q,
                "document": query.document,
                "group": query.group,
                "author": query.author,
                "tag": query.tag,
                "kind": query.kind,
                "since": query.since.isoformat() if query.since else None,
                "until": query.until.isoformat() if query.until else None,
                "per_page": results.per_page,
            },
            "total": results.total,
            # The counts stop at annotations.search.COUNT_CAP per kind: `total` is then a floor.
            "total_is_lower_bound": results.capped,
            "page": results.page,
            "next": absolute(_page_url(request, results.page + 1)) if results.has_next else None,
            "prev": absolute(_page_url(request, results.page - 1))
            if results.has_previous
            else None,
            "items": [_item(request, result) for result in results.results],
        }
    )


# Tags ---------------------------------------------------------------------------------------


@require_GET
def tag_page(request: HttpRequest, tag: str) -> HttpResponse:
    wanted = tags.normalize_tag(tag)
    notes = tags.notes_tagged(request.user, wanted)
    page = Paginator(notes, tags.TAG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "annotations/search/tag.html", {"tag": wanted or tag, "page": page})


@require_GET
def tag_list(request: HttpRequest) -> HttpResponse:
    counts = tags.visible_tag_counts(request.user, limit=tags.MAX_TAGS_LISTED + 1)
    return render(
        request,
        "annotations/search/tag_list.html",
        {
            "tags": counts[: tags.MAX_TAGS_LISTED],
            "more": len(counts) > tags.MAX_TAGS_LISTED,
            "max_tags": tags.MAX_TAGS_LISTED,
        },
    )


@require_GET
def tag_suggest(request: HttpRequest) -> HttpResponse:
    """<option>s for the editor's <datalist>: tags starting like the last comma-separated item of
    `q` (or of `tags`, the editor's field, which is what htmx sends from it). Tags already
    written earlier in the field are not offered again."""
    raw = request.GET.get("q", request.GET.get("tags", ""))[:600]
    *earlier, last = raw.split(",")
    prefix = re.sub(r"\s+", "-", last.strip().lower().lstrip("#"))
    if not prefix:
        return HttpResponse("")
    written = [tag for tag in (tags.normalize_tag(item) for item in earlier) if tag]
    suggested = tags.visible_tag_counts(
        request.user, prefix=prefix, exclude=written, limit=tags.MAX_SUGGESTIONS
    )
    return HttpResponse(
        format_html_join("", '<option value="{}"></option>', ((t,) for t, _ in suggested))
    )
