"""Highlights and notes: the editor, create, edit, delete, the preview and My notes.

Fragments for htmx: creating, editing or deleting a note answers with the side panel plus
out-of-band swaps of the paragraphs it touches (their marks and counts, drawn by the server)
and a message for the live region. Without htmx the same URLs answer with whole pages or
redirects, so links and forms work without JavaScript.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import policy
from annotations.anchoring import Target
from annotations.errors import AnnotationError
from annotations.http import refused, request_layer
from annotations.models import Annotation, Group
from annotations.notes import queries, services
from annotations.notes.forms import AnnotationCreateForm, AnnotationEditForm, MyNotesFilter
from annotations.reading.panels import changed, note_panel
from annotations.rendering import render_markdown
from reader.models import Document

Visibility = Annotation.Visibility
MY_NOTES_PAGE_SIZE = 50


def _visible_annotation(request: HttpRequest, pk: int) -> Annotation:
    """The annotation if the viewer may see it; 404 otherwise (never 403: no confirmation that
    a private note exists)."""
    return get_object_or_404(
        Annotation.objects.visible_to(request.user).select_related("author", "group", "document"),
        pk=pk,
    )


@require_GET
def annotation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A note with its whole discussion thread (constant queries, whatever its length)."""
    return note_panel(request, pk)


@require_GET
def annotation_editor(request: HttpRequest, slug: str) -> HttpResponse:
    """The note editor for a selection (from the toolbar's Note button)."""
    document = get_object_or_404(Document.objects.only("slug", "current_revision"), slug=slug)
    if not policy.can_annotate(request.user):
        return refused(request, "Log in to write notes.", status=403)
    form = AnnotationCreateForm(
        initial={**request.GET.dict(), **queries.last_audience(request.user)}, user=request.user
    )
    return render(
        request,
        "annotations/notes/_editor.html",
        {
            "form": form,
            "document": document,
            "exact": request.GET.get("exact", "")[:2000],
            "layer": request_layer(request),
            "action": reverse("annotation_create", kwargs={"slug": slug}),
        },
    )


@require_POST
def annotation_create(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_object_or_404(Document.objects.only("slug", "current_revision"), slug=slug)
    if not policy.can_annotate(request.user):
        if request.htmx:
            return refused(request, "Log in to annotate.", status=403)
        return redirect_to_login(document.get_absolute_url())
    form = AnnotationCreateForm(request.POST, user=request.user, audience_optional=True)
    layer = request_layer(request)
    if not form.is_valid():
        return _editor_error(request, form, document, layer)
    data = form.cleaned_data
    if not data["visibility"]:
        last = queries.last_audience(request.user)
        data["visibility"] = last["visibility"]
        data["group"] = Group.objects.filter(pk=last.get("group")).first()
    try:
        annotation = services.annotation_create(
            author=request.user,
            document=document,
            target=Target(
                start_key=data["start_key"],
                start_offset=data["start_offset"],
                end_key=data["end_key"],
                end_offset=data["end_offset"],
                exact=data["exact"],
            ),
            colour=data["colour"],
            body=data["body"],
            tags=data["tags"],
            visibility=data["visibility"],
            group=data["group"],
        )
    except AnnotationError as error:
        form.add_error(None, str(error))
        return _editor_error(request, form, document, layer, status=error.status)
    noun = "Note" if annotation.is_note else "Highlight"
    if not request.htmx:
        messages.success(request, f"{noun} saved.")
        return redirect(f"{document.get_absolute_url()}#p-{annotation.start_key}")
    return changed(request, annotation, layer, f"{noun} saved on “{_short(annotation.exact)}”.")


def _editor_error(request, form, document, layer, status: int = 400) -> HttpResponse:
    message = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if not request.htmx:
        return refused(request, message, status)
    if request.POST.get("body") is None:
        # The toolbar's Highlight button has no editor to show errors in: say it in the alert.
        return refused(request, message, status)
    return render(
        request,
        "annotations/notes/_editor.html",
        {
            "form": form,
            "document": document,
            "exact": request.POST.get("exact", "")[:2000],
            "layer": layer,
            "action": reverse("annotation_create", kwargs={"slug": document.slug}),
            "alert": message,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def annotation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = _visible_annotation(request, pk)
    if not policy.can_edit_annotation(request.user, annotation):
        raise PermissionDenied("Only its author can edit this note.")
    layer = request_layer(request)
    if request.method == "GET":
        form = AnnotationEditForm(
            initial={
                "colour": annotation.colour,
                "body": annotation.body,
                "tags": ", ".join(annotation.tags),
                "visibility": annotation.visibility,
                "group": annotation.group_id,
                "version": annotation.version,
            },
            user=request.user,
        )
        return _render_edit(request, annotation, form, layer)
    form = AnnotationEditForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_edit(request, annotation, form, layer, status=400)
    data = form.cleaned_data
    try:
        annotation = services.annotation_update(
            annotation_id=annotation.pk,
            editor=request.user,
            version=data["version"],
            body=data["body"],
            tags=data["tags"],
            colour=data["colour"],
            visibility=data["visibility"],
            group=data["group"],
        )
    except AnnotationError as error:
        form.add_error(None, str(error))
        return _render_edit(request, annotation, form, layer, status=error.status)
    if not request.htmx:
        messages.success(request, "Note updated.")
        return redirect(annotation)
    annotation = _visible_annotation(request, annotation.pk)
    return changed(request, annotation, layer, "Note updated.")


def _render_edit(request, annotation, form, layer, status=200) -> HttpResponse:
    message = " ".join(str(e) for e in form.non_field_errors()) if form.errors else ""
    template = (
        "annotations/notes/_editor.html"
        if request.htmx
        else "annotations/notes/annotation_edit.html"
    )
    return render(
        request,
        template,
        {
            "form": form,
            "document": annotation.document,
            "annotation": annotation,
            "exact": annotation.exact,
            "layer": layer,
            "action": reverse("annotation_edit", kwargs={"pk": annotation.pk}),
            "alert": message,
        },
        status=status,
    )


@login_required
@require_POST
def annotation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = _visible_annotation(request, pk)
    if not policy.can_delete_annotation(request.user, annotation):
        raise PermissionDenied("Only its author can delete this note.")
    annotation = services.annotation_delete(annotation_id=annotation.pk, by=request.user)
    noun = "Note" if annotation.is_note else "Highlight"
    if not request.htmx:
        messages.success(request, f"{noun} deleted.")
        return redirect(f"{annotation.document.get_absolute_url()}#p-{annotation.start_key}")
    return changed(request, annotation, request_layer(request), f"{noun} deleted.")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """django-markdownx's live preview, through the one renderer and sanitizer."""
    content = request.POST.get("content", "")
    if len(content) > settings.ANNOTATION_BODY_MAX_CHARS:
        return HttpResponse("The note is too long to preview.", status=400)
    return HttpResponse(render_markdown(content))


@login_required
@require_GET
def my_notes(request: HttpRequest) -> HttpResponse:
    form = MyNotesFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    notes = queries.my_notes(
        request.user,
        document=filters.get("document", ""),
        tag=filters.get("tag", ""),
        visibility=filters.get("visibility", ""),
    )
    page = Paginator(notes, MY_NOTES_PAGE_SIZE).get_page(request.GET.get("page"))
    documents = queries.documents_noted_by(request.user)
    tags = queries.tags_used_by(request.user)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "annotations/notes/my_notes.html",
        {
            "form": form,
            "page": page,
            "documents": documents,
            "tags": tags,
            "query": query.urlencode(),
        },
    )
