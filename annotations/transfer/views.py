"""Taking notes away and bringing them in: exports (Markdown, CSV, JSON-LD), the JSON-LD import
with its report, and attaching an imported note that found no place (an orphan)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import policy
from annotations.anchoring import Target
from annotations.errors import AnnotationError, Refused
from annotations.models import Annotation, Group
from annotations.notes.forms import AnnotationCreateForm
from annotations.transfer import exporting, importing
from reader.models import Document

EXTENSIONS = {"md": "md", "csv": "csv", "jsonld": "jsonld"}


async def _in_a_thread(chunks: Iterator[str]) -> AsyncIterator[str]:
    """An ASGI server needs an async stream, or Django reads the whole export into memory
    first. Each batch's queries run in the sync thread, one batch at a time."""
    done = object()
    while True:
        chunk = await sync_to_async(next, thread_sensitive=True)(chunks, done)
        if chunk is done:
            return
        yield chunk


def _export(request: HttpRequest, scope: exporting.Scope, fmt: str) -> StreamingHttpResponse:
    if fmt not in exporting.FORMATS:
        raise Http404("Unknown export format.")
    chunks = exporting.stream(
        user=request.user, scope=scope, fmt=fmt, base_url=request.build_absolute_uri("/")
    )
    content = _in_a_thread(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=exporting.FORMATS[fmt])
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = (
        f'attachment; filename="{scope.filename()}-{stamp}.{EXTENSIONS[fmt]}"'
    )
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def export_mine(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    return _export(request, exporting.Scope("mine"), fmt)


@require_GET
def export_document(request: HttpRequest, slug: str, fmt: str) -> StreamingHttpResponse:
    document = get_object_or_404(
        Document.objects.only("slug", "title", "author", "source"), slug=slug
    )
    return _export(request, exporting.Scope("document", document=document), fmt)


@login_required
@require_GET
def export_group(request: HttpRequest, slug: str, fmt: str) -> StreamingHttpResponse:
    group = get_object_or_404(Group, slug=slug)
    if not policy.is_member(request.user, group):
        raise Http404("No such group.")
    return _export(request, exporting.Scope("group", group=group), fmt)


# Import --------------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(
        label="W3C Web Annotation JSON-LD file (or a Hypothesis export)",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.jsonld,application/json"}),
    )
    visibility = forms.ChoiceField(
        label="Who may see the imported notes", choices=Annotation.Visibility.choices
    )
    group = forms.ModelChoiceField(queryset=Group.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = Group.objects.filter(memberships__user=user)


@login_required
@require_http_methods(["GET", "POST"])
def import_annotations(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_object_or_404(
        Document.objects.only("slug", "title", "current_revision", "language"), slug=slug
    )
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    report = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                report = importing.annotations_import(
                    importer=request.user,
                    document=document,
                    raw=form.cleaned_data["file"].read(),
                    visibility=form.cleaned_data["visibility"],
                    group=form.cleaned_data["group"],
                )
            except Refused as error:  # shown in the form, with the refusal's status
                form.add_error(None, str(error))
                status = error.status
        else:
            status = 400
    return render(
        request,
        "annotations/transfer/import.html",
        {"document": document, "form": form, "report": report},
        status=status,
    )


@login_required
@require_GET
def orphans(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_object_or_404(Document.objects.only("slug", "title"), slug=slug)
    return render(
        request,
        "annotations/transfer/orphans.html",
        {"document": document, "orphans": importing.orphans_of(request.user, document)},
    )


@login_required
@require_POST
def orphan_attach(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = (
        importing.Annotation.objects.filter(pk=pk, author=request.user)
        .exclude(status=Annotation.Status.DELETED)
        .select_related("document")
        .first()
    )
    if annotation is None:
        raise Http404("No such note.")
    form = AnnotationCreateForm(request.POST, user=request.user, audience_optional=True)
    target_fields = ("start_key", "start_offset", "end_key", "end_offset", "exact")
    form.is_valid()
    errors = [name for name in target_fields if name in form.errors]
    if errors:
        messages.error(request, "Select the words to attach the note to, then try again.")
        return redirect("orphans", slug=annotation.document.slug)
    data = form.cleaned_data
    try:
        attached = importing.orphan_attach(
            annotation_id=pk,
            by=request.user,
            target=Target(**{name: data[name] for name in target_fields}),
        )
    except AnnotationError as error:
        messages.error(request, str(error))
        return redirect("orphans", slug=annotation.document.slug)
    messages.success(request, "The note is attached to the words you selected.")
    return redirect(f"{attached.document.get_absolute_url()}#p-{attached.start_key}")
