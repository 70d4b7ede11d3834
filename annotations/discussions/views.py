"""Discussion threads: replies, paragraph and document discussions, reactions, questions and
answers, flags. Views parse, ask the policy, call a service, and answer with the note's panel
(htmx) or a redirect to its page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import policy
from annotations.discussions import services
from annotations.discussions.forms import DiscussionForm, FlagForm, ReplyEditForm, ReplyForm
from annotations.errors import AnnotationError
from annotations.http import refused
from annotations.models import Annotation, Reaction, Reply
from annotations.reading.panels import note_panel, note_with_thread, thread_context
from reader.models import Document, Paragraph


def _annotation(request: HttpRequest, pk: int) -> Annotation:
    """The note if the viewer may see it, else 404 (never 403)."""
    return get_object_or_404(
        Annotation.objects.visible_to(request.user).select_related("author", "group", "document"),
        pk=pk,
    )


def _reply(request: HttpRequest, pk: int) -> Reply:
    reply = get_object_or_404(
        Reply.objects.select_related("annotation__group", "annotation__document", "author"), pk=pk
    )
    if not policy.can_view_reply(request.user, reply, reply.annotation):
        raise Http404("No such reply.")
    return reply


@login_required
@require_POST
def reply_create(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = _annotation(request, pk)
    open_thread = annotation.status == Annotation.Status.ACTIVE and not annotation.locked
    if open_thread and not policy.can_reply(request.user, annotation):
        return refused(request, "You cannot reply in this thread.", 403)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return refused(request, "Write something before posting.")
    reply = services.reply_create(
        author=request.user,
        annotation_id=annotation.pk,
        parent_id=form.cleaned_data["parent"],
        body=form.cleaned_data["body"],
    )
    message = (
        "Your reply waits for a moderator's approval."
        if reply.status == Annotation.Status.PENDING
        else "Reply posted."
    )
    if not request.htmx:
        messages.success(request, message)
        return redirect(reply)
    return note_panel(request, annotation.pk, message, focus_reply=reply.pk)


@login_required
@require_http_methods(["GET", "POST"])
def reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply(request, pk)
    if not policy.can_edit_reply(request.user, reply):
        raise PermissionDenied("Only its author can edit this reply.")
    if request.method == "GET":
        form = ReplyEditForm(initial={"body": reply.body, "version": reply.version})
        context = {"form": form, "reply": reply}
        return render(request, "annotations/discussions/reply_edit.html", context)
    form = ReplyEditForm(request.POST)
    if not form.is_valid():
        return refused(request, "Write something before saving.")
    services.reply_update(
        reply_id=reply.pk,
        editor=request.user,
        version=form.cleaned_data["version"],
        body=form.cleaned_data["body"],
    )
    if not request.htmx:
        messages.success(request, "Reply updated.")
        return redirect(reply)
    return note_panel(request, reply.annotation_id, "Reply updated.", focus_reply=reply.pk)


@login_required
@require_POST
def reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    reply = _reply(request, pk)
    if not policy.can_delete_reply(request.user, reply):
        raise PermissionDenied("Only its author can delete this reply.")
    services.reply_delete(reply_id=reply.pk, by=request.user)
    if not request.htmx:
        messages.success(request, "Reply deleted.")
        return redirect(reply.annotation)
    return note_panel(request, reply.annotation_id, "Reply deleted.")


@login_required
@require_GET
def reply_form(request: HttpRequest, pk: int) -> HttpResponse:
    """The reply editor under one reply, loaded when its Reply button is pressed (a thread of
    500 replies carries one editor, not 500)."""
    annotation = _annotation(request, pk)
    if not policy.can_reply(request.user, annotation):
        raise PermissionDenied("You cannot reply here.")
    raw_parent = request.GET.get("parent", "")
    if raw_parent and not (raw_parent.isascii() and raw_parent.isdigit()):
        return refused(request, "The reply to answer is named by its number.")
    parent = _reply(request, int(raw_parent)) if raw_parent else None
    if parent is not None and parent.annotation_id != annotation.pk:
        raise Http404("No such reply in this thread.")
    return render(
        request,
        "annotations/discussions/_reply_form.html",
        {"annotation": annotation, "parent": parent.pk if parent else ""},
    )


@require_GET
def reply_thread(request: HttpRequest, pk: int) -> HttpResponse:
    """Continue a deep thread from one reply."""
    reply = _reply(request, pk)
    annotation = note_with_thread(request, reply.annotation_id)
    context = {
        "annotation": annotation,
        "document": annotation.document,
        "single": True,
        "subthread_of": reply,
        # Without JavaScript, a reply's Reply link comes here with the editor open under it.
        "reply_to": reply.pk if request.GET.get("reply") else None,
        **thread_context(request, annotation, root=reply),
    }
    return render(request, "annotations/notes/annotation_detail.html", context)


@login_required
@require_POST
def react(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = _annotation(request, pk)
    kind = request.POST.get("kind", "")
    on = services.reaction_toggle(user=request.user, annotation_id=annotation.pk, kind=kind)
    label = dict(Reaction.Kind.choices).get(kind, kind)
    message = f"{label}: {'added' if on else 'taken back'}."
    if not request.htmx:
        return redirect(annotation)
    return note_panel(request, annotation.pk, message)


@login_required
@require_POST
def question(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = _annotation(request, pk)
    if not policy.can_mark_question(request.user, annotation):
        raise PermissionDenied("Only its author can mark a note as a question.")
    on = request.POST.get("is_question") == "1"
    services.question_set(annotation_id=annotation.pk, by=request.user, is_question=on)
    message = "Marked as a question." if on else "No longer a question."
    if not request.htmx:
        return redirect(annotation)
    return note_panel(request, annotation.pk, message)


@login_required
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = _annotation(request, pk)
    if not policy.can_mark_answer(request.user, annotation):
        raise PermissionDenied("Only the asker or a moderator can choose the answer.")
    raw = request.POST.get("reply", "")
    if raw and not raw.isdigit():
        return refused(request, "Choose a reply.")
    reply_id = int(raw) if raw else None
    services.answer_mark(annotation_id=annotation.pk, reply_id=reply_id, by=request.user)
    if not request.htmx:
        return redirect(annotation)
    return note_panel(request, annotation.pk, "Answer chosen." if reply_id else "Answer cleared.")


@login_required
@require_http_methods(["GET", "POST"])
def flag(request: HttpRequest, pk: int, target: str = "annotation") -> HttpResponse:
    if target == "reply":
        reply = _reply(request, pk)
        annotation, what = reply.annotation, reply
    else:
        annotation = _annotation(request, pk)
        reply, what = None, annotation
    if not policy.can_flag(request.user, annotation, reply):
        raise PermissionDenied("You cannot flag this.")
    form = FlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.flag_create(
                flagger=request.user,
                annotation_id=None if reply else annotation.pk,
                reply_id=reply.pk if reply else None,
                reason=form.cleaned_data["reason"],
                comment=form.cleaned_data["comment"],
            )
        except AnnotationError as error:
            form.add_error(None, str(error))
        else:
            message = "Thank you: the moderators will look at it."
            if not request.htmx:
                messages.success(request, message)
                return redirect(annotation)
            return note_panel(request, annotation.pk, message)
    status = 400 if form.errors else 200
    template = (
        "annotations/discussions/_flag.html"
        if request.htmx
        else "annotations/discussions/flag.html"
    )
    return render(
        request,
        template,
        {"form": form, "annotation": annotation, "reply": reply, "what": what},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def discussion_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Open a discussion on a whole paragraph (?paragraph=<key>) or the whole document."""
    document = get_object_or_404(
        Document.objects.only("slug", "title", "current_revision"), slug=slug
    )
    if not policy.can_annotate(request.user):
        return redirect_to_login(request.get_full_path())
    key = (request.POST.get("paragraph") or request.GET.get("paragraph") or "").strip() or None
    paragraph = None
    if key:
        paragraph = get_object_or_404(
            Paragraph.objects.only("position", "key", "text"),
            revision_id=document.current_revision_id,
            key=key,
        )
    form = DiscussionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            annotation = services.discussion_create(
                author=request.user,
                document=document,
                paragraph_key=key,
                body=data["body"],
                tags=data["tags"],
                visibility=data["visibility"],
                group=data["group"],
                is_question=data["is_question"],
            )
        except AnnotationError as error:
            form.add_error(None, str(error))
        else:
            if request.htmx:
                return note_panel(request, annotation.pk, "Discussion started.")
            messages.success(request, "Discussion started.")
            return redirect(annotation)
    template = (
        "annotations/discussions/_discussion_form.html"
        if request.htmx
        else "annotations/discussions/discussion_new.html"
    )
    return render(
        request,
        template,
        {"form": form, "document": document, "paragraph": paragraph},
        status=400 if form.errors else 200,
    )


@require_GET
def document_discussions(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_object_or_404(
        Document.objects.only("slug", "title", "current_revision"), slug=slug
    )
    discussions = (
        Annotation.objects.visible_to(request.user)
        .filter(document=document, kind=Annotation.Kind.DOCUMENT)
        .select_related("author", "group")
        .with_discussion(request.user)
        .order_by("-reaction_total" if request.GET.get("sort") == "reactions" else "-created_at")
    )
    return render(
        request,
        "annotations/discussions/document_discussions.html",
        {"document": document, "annotations": discussions, "sort": request.GET.get("sort", "")},
    )
