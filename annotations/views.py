"""Highlights, notes and study groups. Views parse, ask the policy, call a service, render.

Fragments for htmx: creating, editing or deleting a note answers with the side panel plus
out-of-band swaps of the paragraphs it touches (their marks and counts, drawn by the server)
and a message for the live region. Without htmx the same URLs answer with whole pages or
redirects, so links and forms work without JavaScript.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Func
from django.db.models.functions import Length
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import moderation, policy, services
from annotations.anchoring import Target
from annotations.forms import (
    AnnotationCreateForm,
    AnnotationEditForm,
    GroupForm,
    InviteForm,
    MyNotesFilter,
)
from annotations.models import Annotation, Group, Membership
from annotations.ratelimit import RateLimited
from annotations.reading import paragraph_swaps
from annotations.rendering import render_markdown
from annotations.services import AnnotationError, EditConflict, GroupError
from annotations.threads import MAX_VISIBLE_DEPTH, flatten, thread_for
from reader.models import Document, Paragraph

Visibility = Annotation.Visibility
MY_NOTES_PAGE_SIZE = 50


# Helpers -------------------------------------------------------------------------------------


def _visible_annotation(request: HttpRequest, pk: int) -> Annotation:
    """The annotation if the viewer may see it; 404 otherwise (never 403: no confirmation that
    a private note exists)."""
    return get_object_or_404(
        Annotation.objects.visible_to(request.user).select_related("author", "group", "document"),
        pk=pk,
    )


def _layer(request: HttpRequest) -> str:
    return policy.clean_layer(request.POST.get("layer") or request.GET.get("layer") or "")


def _last_audience(user) -> dict:
    """The visibility (and group) of the reader's latest note: the editor's default."""
    last = (
        Annotation.objects.filter(author=user)
        .exclude(status=Annotation.Status.DELETED)
        .order_by("-created_at")
        .values("visibility", "group_id")
        .first()
    )
    if not last:
        return {"visibility": Visibility.PRIVATE}
    if last["group_id"] is not None and last["group_id"] not in policy.member_group_ids(user):
        return {"visibility": Visibility.PRIVATE}  # they have left that group since
    return {"visibility": last["visibility"], "group": last["group_id"]}


def _paragraphs_touched(annotation: Annotation):
    return (
        Paragraph.objects.filter(
            revision_id=annotation.revision_id,
            position__gte=annotation.start_position,
            position__lte=annotation.end_position,
        )
        .only("position", "key", "kind", "level", "ordered", "html")
        .annotate(length=Length("text"))
        .order_by("position")
    )


def _oob_paragraphs(request: HttpRequest, annotation: Annotation, layer: str) -> list[str]:
    """Fresh marks and counts for the paragraphs an annotation touches, as htmx OOB swaps."""
    paragraphs = list(_paragraphs_touched(annotation))
    return paragraph_swaps(request.user, annotation.document, paragraphs, layer)


def _panel_for_paragraph(request: HttpRequest, document: Document, key: str, layer: str):
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


def _too_fast(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    """Over a rate limit: 429 with Retry-After, and the message where the reader looks."""
    response = _error(request, str(limited), status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


def _error(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    """A refused write: the message in the page's alert region (htmx) or a plain page."""
    if request.htmx:
        return render(request, "annotations/_error.html", {"message": message}, status=status)
    return render(request, "annotations/error.html", {"message": message}, status=status)


# Reading-page fragments ----------------------------------------------------------------------


@require_GET
def paragraph_notes(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    """The notes and highlights on one paragraph that the viewer may see, in the layer."""
    document = get_object_or_404(
        Document.objects.only("slug", "title", "current_revision"), slug=slug
    )
    layer = _layer(request)
    paragraph, annotations = _panel_for_paragraph(request, document, key, layer)
    context = {
        "document": document,
        "paragraph": paragraph,
        "annotations": annotations,
        "layer": layer,
    }
    template = "annotations/_panel.html" if request.htmx else "annotations/paragraph_notes.html"
    return render(request, template, context)


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
        return render(request, "annotations/_panel_one.html", context, status=status)
    if message and status < 400:
        messages.success(request, message)
    return render(request, "annotations/annotation_detail.html", context, status=status)


@require_GET
def annotation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A note with its whole discussion thread (constant queries, whatever its length)."""
    return note_panel(request, pk)


@require_GET
def annotation_editor(request: HttpRequest, slug: str) -> HttpResponse:
    """The note editor for a selection (from the toolbar's Note button)."""
    document = get_object_or_404(Document.objects.only("slug", "current_revision"), slug=slug)
    if not policy.can_annotate(request.user):
        return _error(request, "Log in to write notes.", status=403)
    form = AnnotationCreateForm(
        initial={**request.GET.dict(), **_last_audience(request.user)}, user=request.user
    )
    return render(
        request,
        "annotations/_editor.html",
        {
            "form": form,
            "document": document,
            "exact": request.GET.get("exact", "")[:2000],
            "layer": _layer(request),
            "action": reverse("annotation_create", kwargs={"slug": slug}),
        },
    )


# Writes --------------------------------------------------------------------------------------


@require_POST
def annotation_create(request: HttpRequest, slug: str) -> HttpResponse:
    document = get_object_or_404(Document.objects.only("slug", "current_revision"), slug=slug)
    if not policy.can_annotate(request.user):
        if request.htmx:
            return _error(request, "Log in to annotate.", status=403)
        return redirect(f"{reverse('login')}?next={document.get_absolute_url()}")
    form = AnnotationCreateForm(request.POST, user=request.user, audience_optional=True)
    layer = _layer(request)
    if not form.is_valid():
        return _editor_error(request, form, document, layer)
    data = form.cleaned_data
    if not data["visibility"]:
        last = _last_audience(request.user)
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
    except RateLimited as limited:
        return _too_fast(request, limited)
    except AnnotationError as error:
        form.add_error(None, str(error))
        return _editor_error(request, form, document, layer)
    noun = "Note" if annotation.is_note else "Highlight"
    if not request.htmx:
        messages.success(request, f"{noun} saved.")
        return redirect(f"{document.get_absolute_url()}#p-{annotation.start_key}")
    return _changed(request, annotation, layer, f"{noun} saved on “{_short(annotation.exact)}”.")


def _editor_error(request, form, document, layer) -> HttpResponse:
    message = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if not request.htmx:
        return _error(request, message)
    if request.POST.get("body") is None:
        # The toolbar's Highlight button has no editor to show errors in: say it in the alert.
        return _error(request, message)
    return render(
        request,
        "annotations/_editor.html",
        {
            "form": form,
            "document": document,
            "exact": request.POST.get("exact", "")[:2000],
            "layer": layer,
            "action": reverse("annotation_create", kwargs={"slug": document.slug}),
            "alert": message,
        },
        status=400,
    )


@login_required
@require_http_methods(["GET", "POST"])
def annotation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = _visible_annotation(request, pk)
    if not policy.can_edit_annotation(request.user, annotation):
        raise PermissionDenied("Only its author can edit this note.")
    layer = _layer(request)
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
        status = 409 if isinstance(error, EditConflict) else 400
        return _render_edit(request, annotation, form, layer, status=status)
    if not request.htmx:
        messages.success(request, "Note updated.")
        return redirect(annotation)
    annotation = _visible_annotation(request, annotation.pk)
    return _changed(request, annotation, layer, "Note updated.")


def _render_edit(request, annotation, form, layer, status=200) -> HttpResponse:
    message = " ".join(str(e) for e in form.non_field_errors()) if form.errors else ""
    template = "annotations/_editor.html" if request.htmx else "annotations/annotation_edit.html"
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
    return _changed(request, annotation, _layer(request), f"{noun} deleted.")


def _changed(request, annotation: Annotation, layer: str, message: str) -> HttpResponse:
    """After a write: the panel for the paragraph, fresh paragraphs, and the announcement."""
    document = annotation.document
    paragraph, annotations = _panel_for_paragraph(request, document, annotation.start_key, layer)
    return render(
        request,
        "annotations/_changed.html",
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


# My notes ------------------------------------------------------------------------------------


@login_required
@require_GET
def my_notes(request: HttpRequest) -> HttpResponse:
    form = MyNotesFilter(request.GET or None)
    notes = (
        Annotation.objects.filter(author=request.user)
        .exclude(status=Annotation.Status.DELETED)
        .select_related("document", "group")
        .order_by("-created_at", "-id")
    )
    if form.is_valid():
        if form.cleaned_data["document"]:
            notes = notes.filter(document__slug=form.cleaned_data["document"])
        if form.cleaned_data["tag"]:
            try:
                wanted = services.parse_tags(form.cleaned_data["tag"])
            except AnnotationError:
                wanted = [form.cleaned_data["tag"]]
            notes = notes.filter(tags__contains=wanted[:1])
        if form.cleaned_data["visibility"]:
            notes = notes.filter(visibility=form.cleaned_data["visibility"])
    page = Paginator(notes, MY_NOTES_PAGE_SIZE).get_page(request.GET.get("page"))
    live = Annotation.objects.filter(author=request.user).exclude(status=Annotation.Status.DELETED)
    documents = (
        Document.objects.filter(pk__in=live.values("document_id"))
        .only("slug", "title")
        .order_by("title")
    )
    # Every tag the reader uses, unnested and deduplicated by PostgreSQL.
    tags = list(
        live.annotate(tag=Func(F("tags"), function="unnest"))
        .values_list("tag", flat=True)
        .order_by("tag")
        .distinct()
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "annotations/my_notes.html",
        {
            "form": form,
            "page": page,
            "documents": documents,
            "tags": tags,
            "query": query.urlencode(),
        },
    )


# Groups --------------------------------------------------------------------------------------


@login_required
@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("group")
    return render(request, "annotations/group_list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def group_new(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except GroupError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Created “{group.name}”. Share its invite link below.")
            return redirect(group)
    return render(
        request, "annotations/group_new.html", {"form": form}, status=400 if form.errors else 200
    )


def _group_for_member(request: HttpRequest, slug: str) -> tuple[Group, Membership]:
    """The group and the viewer's membership; 404 for anyone not in it."""
    group = get_object_or_404(Group, slug=slug)
    member = policy.membership(request.user, group)
    if member is None or not policy.can_view_group(request.user, group):
        raise Http404("No such group.")
    return group, member


@login_required
@require_GET
def group_detail(request: HttpRequest, slug: str) -> HttpResponse:
    group, member = _group_for_member(request, slug)
    members = group.memberships.select_related("user").order_by("joined_at")
    group_notes = Annotation.objects.visible_to(request.user).filter(
        group=group, visibility=Visibility.GROUP
    )
    recent = group_notes.select_related("author", "document").order_by("-created_at")[:20]
    documents = (
        Document.objects.filter(annotations__in=group_notes)
        .distinct()
        .only("slug", "title", "author")
        .order_by("title")
    )
    invite_url = request.build_absolute_uri(
        reverse("group_join", kwargs={"token": group.invite_token})
    )
    return render(
        request,
        "annotations/group_detail.html",
        {
            "group": group,
            "member": member,
            "members": members,
            "recent": recent,
            "documents": documents,
            "can_manage": policy.can_manage_members(request.user, group),
            "can_moderate_group": policy.moderates_group(request.user, group),
            "bans": group.bans.select_related("user")
            if policy.moderates_group(request.user, group)
            else [],
            "can_leave": policy.can_leave_group(member),
            "invite_url": invite_url,
            "invite_valid": services.invite_is_valid(group),
            "invite_form": InviteForm(),
            "roles": Membership.Role,
            "layer": f"{policy.GROUP_LAYER_PREFIX}{group.slug}",
        },
    )


@login_required
@require_POST
def group_invite_renew(request: HttpRequest, slug: str) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    if not policy.can_manage_members(request.user, group):
        raise PermissionDenied("Only the owner can renew the invite link.")
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how long the new link works.")
        return redirect(group)
    services.group_renew_invite(
        group=group, by=request.user, expires_in_days=form.cleaned_data["expires_in_days"]
    )
    messages.success(request, "A new invite link is ready; the old one no longer works.")
    return redirect(group)


@require_http_methods(["GET", "POST"])
def group_join(request: HttpRequest, token: str) -> HttpResponse:
    """An invite link. Logged in: one button joins. Not logged in: log in or sign up first,
    then come back here. Joining needs the POST: a link preview or prefetch never joins."""
    group = Group.objects.filter(invite_token=token).first()
    valid = group is not None and services.invite_is_valid(group)
    if not valid:
        return render(request, "annotations/group_join.html", {"valid": False}, status=404)
    if request.user.is_authenticated and policy.is_member(request.user, group):
        return redirect(group)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={request.path}")
        try:
            services.group_join(user=request.user, token=token)
        except GroupError as error:
            messages.error(request, str(error))
            return redirect("library")
        messages.success(request, f"You joined “{group.name}”.")
        return redirect(group)
    members = group.memberships.count()
    return render(
        request, "annotations/group_join.html", {"valid": True, "group": group, "members": members}
    )


@login_required
@require_POST
def group_member_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    try:
        target = services.membership_set_role(
            actor=request.user, group=group, user_id=user_id, role=request.POST.get("role", "")
        )
    except GroupError as error:
        raise PermissionDenied(str(error)) from error
    messages.success(
        request, f"{target.user.username} is now a {target.get_role_display().lower()}."
    )
    return redirect(group)


@login_required
@require_POST
def group_member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    try:
        moderation.remove_member(moderator=request.user, group=group, user_id=user_id)
    except moderation.ModerationError as error:
        raise PermissionDenied(str(error)) from error
    messages.success(request, "Removed from the group.")
    return redirect(group)


@login_required
@require_POST
def group_leave(request: HttpRequest, slug: str) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    try:
        services.group_leave(user=request.user, group=group)
    except GroupError as error:
        messages.error(request, str(error))
        return redirect(group)
    messages.success(request, f"You left “{group.name}”.")
    return redirect("group_list")
