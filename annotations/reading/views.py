"""The annotated reading page, its paragraph permalinks, and a paragraph's notes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from annotations.http import request_layer
from annotations.models import Annotation
from annotations.reading.page import cached_page, decor_for, layer_choices, page_paragraphs
from annotations.reading.panels import paragraph_panel
from reader.layout import heading_repeats_title, render_paragraphs
from reader.models import Document, Paragraph


@require_GET
def paragraph_notes(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    """The notes and highlights on one paragraph that the viewer may see, in the layer."""
    document = get_object_or_404(
        Document.objects.only("slug", "title", "current_revision"), slug=slug
    )
    layer = request_layer(request)
    paragraph, annotations = paragraph_panel(request, document, key, layer)
    context = {
        "document": document,
        "paragraph": paragraph,
        "annotations": annotations,
        "layer": layer,
    }
    template = (
        "annotations/reading/_panel.html"
        if request.htmx
        else "annotations/reading/paragraph_notes.html"
    )
    return render(request, template, context)


@require_GET
def document(request: HttpRequest, slug: str) -> HttpResponse:
    doc = get_object_or_404(
        Document.objects.select_related("current_revision").defer("current_revision__source_text"),
        slug=slug,
    )
    layer = request_layer(request)
    page = cached_page(request.user, doc, layer, build=lambda: _page(request.user, doc, layer))
    return render(
        request,
        "annotations/reading/document.html",
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


@require_GET
def paragraph(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    """A paragraph's permalink: lands on the paragraph in its document."""
    doc = get_object_or_404(Document.objects.only("slug", "current_revision"), slug=slug)
    get_object_or_404(Paragraph.objects.only("id"), revision_id=doc.current_revision_id, key=key)
    return redirect(f"{doc.get_absolute_url()}#p-{key}")
