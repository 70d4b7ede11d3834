"""The side panels of the reading page: a paragraph's notes, one note with its thread, and
what a page takes in after a write (the panel, the paragraphs it touches, the message).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from annotations import policy
from annotations.discussions.threads import MAX_VISIBLE_DEPTH, flatten, thread_for
from annotations.models import Annotation
from annotations.reading.page import page_paragraphs, paragraph_swaps
from reader.models import Document, Paragraph


def _paragraphs_touched(annotation: Annotation):
    return page_paragraphs(annotation.revision_id).filter(
        position__gte=annotation.start_position, position__lte=annotation.end_position
    )


def _oob_paragraphs(request: HttpRequest, annotation: Annotation, layer: str) -> list[str]:
    """Fresh marks and counts for the paragraphs an annotation touches, as htmx OOB swaps."""
    paragraphs = list(_paragraphs_touched(annotation))
    return paragraph_swaps(request.user, annotation.document, paragraphs, layer)


def paragraph_panel(request: HttpRequest, document: Document, key: str, layer: str):
    paragraph = get_object_or_404(
        Paragraph.objects.only("position", "key", "text"),
        revision_id=document.current_revision_id,
        key=key,
    )
    annotations = (
        Annotation.objects.in_layer(request.user, layer)
        .filter(
            revision_id=document.current_revision_id,
            start_position__lte=paragraph.position,
            end_position__gte=paragraph.position,
        )
        .exclude(kind__in=[Annotation.Kind.DOCUMENT, Annotation.Kind.ORPHAN])
        .select_related("author", "group", "document")
        .with_discussion(request.user)
        .order_by(_sort(request), "start_position", "start_offset", "created_at")
    )
    return paragraph, list(annotations)


def _sort(request: HttpRequest) -> str:
    """Lists can put the notes with the most reactions first."""
    if request.GET.get("sort") == "reactions":
        return "-reaction_total"
    return "created_at"


def note_with_thread(request: HttpRequest, pk: int) -> Annotation:
    """A note the viewer may see (else 404), with what its thread header shows."""
    return get_object_or_404(
        Annotation.objects.visible_to(request.user)
        .select_related("author", "group", "document", "answer__author")
        .with_discussion(request.user),
        pk=pk,
    )


def note_panel(
    request: HttpRequest, annotation_id: int, message: str = "", status: int = 200, **extra
) -> HttpResponse:
    """The note with its thread: the panel (htmx) or its page."""
    annotation = note_with_thread(request, annotation_id)
    context = {
        "annotation": annotation,
        "document": annotation.document,
        "single": True,
        "message": message,
        **thread_context(request, annotation),
        **extra,
    }
    if request.htmx:
        return render(request, "annotations/reading/_panel_one.html", context, status=status)
    if message and status < 400:
        messages.success(request, message)
    return render(request, "annotations/notes/annotation_detail.html", context, status=status)


def changed(request, annotation: Annotation, layer: str, message: str) -> HttpResponse:
    """After a write: the panel for the paragraph, fresh paragraphs, and the announcement."""
    document = annotation.document
    paragraph, annotations = paragraph_panel(request, document, annotation.start_key, layer)
    return render(
        request,
        "annotations/reading/_changed.html",
        {
            "document": document,
            "paragraph": paragraph,
            "annotations": annotations,
            "focus_id": annotation.pk if annotation.status != Annotation.Status.DELETED else None,
            "layer": layer,
            "oob": _oob_paragraphs(request, annotation, layer),
            "message": message,
        },
    )


def thread_context(request: HttpRequest, annotation: Annotation, root=None) -> dict:
    thread = thread_for(request.user, annotation)
    nodes = thread.nodes
    max_depth = MAX_VISIBLE_DEPTH
    if root is not None:
        nodes = _subtree(nodes, root.pk)
        # "Continue this thread" shows the next levels down from its reply.
        max_depth = nodes[0].depth + MAX_VISIBLE_DEPTH
    user = request.user
    answer = annotation.answer
    answer_visible = answer is not None and policy.can_view_reply(user, answer, annotation)
    return {
        "thread": flatten(nodes, max_depth=max_depth),
        "thread_count": thread.count,
        "can_reply": policy.can_reply(user, annotation),
        "can_react": policy.can_react(user, annotation),
        "can_flag": policy.can_flag_in_thread(user, annotation),
        "can_moderate": policy.can_moderate(user, annotation),
        "can_mark_answer": policy.can_mark_answer(user, annotation),
        "can_mark_question": policy.can_mark_question(user, annotation),
        "answer": answer if answer_visible else None,
    }


def _subtree(nodes, pk):
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.reply.pk == pk:
            return [node]
        stack.extend(node.children)
    raise Http404("No such reply.")
