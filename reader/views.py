"""The reading side: library, reading page, paragraph permalinks, importing, signing up."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from annotations import policy
from annotations.models import Annotation
from annotations.reading import cached_page, decor_for, layer_choices
from reader.forms import ImportForm, SignupForm
from reader.importing import ImportRefused
from reader.layout import heading_repeats_title, render_paragraphs
from reader.models import Document, Language, Paragraph
from reader.services import document_import

LIBRARY_PAGE_SIZE = 50


@require_GET
def library(request: HttpRequest) -> HttpResponse:
    documents = Document.objects.only(
        "slug", "title", "author", "created_at", "paragraph_count", "word_count"
    )
    page = Paginator(documents, LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reader/library.html", {"page": page})


@require_GET
def document(request: HttpRequest, slug: str) -> HttpResponse:
    doc = get_object_or_404(
        Document.objects.select_related("current_revision").defer("current_revision__source_text"),
        slug=slug,
    )
    layer = current_layer(request)
    page = cached_page(request.user, doc, layer, build=lambda: _page(request.user, doc, layer))
    return render(
        request,
        "reader/document.html",
        {
            "document": doc,
            **page,
            "layer": layer,
            "layers": layer_choices(request.user),
            "colours": Annotation.Colour.choices,
        },
    )


def _page(user, doc: Document, layer: str) -> dict:
    """The reading page's text as `user` sees it in `layer`: marks, counts, controls."""
    paragraphs = list(page_paragraphs(doc.current_revision_id))
    decor = decor_for(user, doc, paragraphs, layer)
    # A first heading that repeats the title is shown as the page's title (and stays paragraph
    # 1, annotatable like any other) instead of printing the title twice.
    title_paragraph = paragraphs.pop(0) if heading_repeats_title(paragraphs, doc.title) else None
    return {
        "title_key": title_paragraph.key if title_paragraph else "",
        "title_html": render_paragraphs([title_paragraph], title=doc.title, decor=decor)
        if title_paragraph
        else "",
        "body": render_paragraphs(paragraphs, decor=decor),
        "can_annotate": decor.can_annotate,
        "document_discussions": decor.document_discussions,
    }


def page_paragraphs(revision_id: int | None):
    """The paragraphs a reading page draws, with their text length for anchoring marks."""
    return (
        Paragraph.objects.filter(revision_id=revision_id)
        .only("position", "key", "kind", "level", "ordered", "html")
        .annotate(length=Length("text"))
    )


def current_layer(request: HttpRequest) -> str:
    return policy.clean_layer(request.GET.get("layer", ""))


@require_GET
def paragraph(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    """A paragraph's permalink: lands on the paragraph in its document."""
    doc = get_object_or_404(Document.objects.only("slug", "current_revision"), slug=slug)
    get_object_or_404(Paragraph.objects.only("id"), revision_id=doc.current_revision_id, key=key)
    return redirect(f"{doc.get_absolute_url()}#p-{key}")


@login_required
@require_http_methods(["GET", "POST"])
def document_new(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            doc = document_import(
                source=data["source_text"],
                fmt=data["resolved_format"],
                title=data["title"],
                author=data["author"],
                source_ref=data["source"],
                imported_by=request.user,
                language=data["language"] or Language.ENGLISH,
            )
        except ImportRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"Imported “{doc.title}”: {doc.paragraph_count} paragraphs.")
            return redirect(doc)
    status = 400 if form.errors else 200
    return render(
        request,
        "reader/document_new.html",
        {"form": form, "max_megabytes": f"{settings.IMPORT_MAX_BYTES / 1048576:g}"},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or reverse("library"))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}.")
        return redirect(next_url or reverse("library"))
    status = 400 if form.errors else 200
    return render(
        request, "registration/signup.html", {"form": form, "next": next_url}, status=status
    )
