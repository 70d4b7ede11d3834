"""The moderation queue, moderators' acts and the moderation log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotations import policy
from annotations.errors import ModerationError
from annotations.http import refused, safe_next
from annotations.models import Group, ModerationAction
from annotations.moderation import queries, services

QUEUE_PAGE_SIZE = 25
LOG_PAGE_SIZE = 50


def _scope(request: HttpRequest, slug: str | None) -> Group | None:
    """The group whose queue or log this is (None: public content, for site staff). Anyone who
    may not moderate it gets 404: a group's moderation is not even confirmed to outsiders."""
    group = get_object_or_404(Group, slug=slug) if slug else None
    if not policy.can_moderate_scope(request.user, group):
        raise Http404("Nothing here.")
    return group


@login_required
@require_GET
def queue(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    group = _scope(request, slug)
    page = Paginator(queries.open_flags(group), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = queries.attach_items(list(page.object_list))
    pending_notes, pending_replies = queries.pending(group)
    return render(
        request,
        "annotations/moderation/queue.html",
        {
            "group": group,
            "page": page,
            "rows": rows,
            "pending_notes": pending_notes,
            "pending_replies": pending_replies,
        },
    )


@login_required
@require_GET
def log(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    group = _scope(request, slug)
    actions = ModerationAction.objects.filter(group=group).select_related(
        "moderator", "subject", "annotation__document", "reply"
    )
    page = Paginator(actions, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "annotations/moderation/log.html", {"group": group, "page": page})


ACTS = {"hide", "unhide", "dismiss", "approve", "reject", "lock", "unlock"}


@login_required
@require_POST
def act(request: HttpRequest) -> HttpResponse:
    """One moderator act on a note or reply: hide (with a reason), unhide, dismiss its flags,
    approve or reject a pending contribution, lock or unlock a thread."""
    name = request.POST.get("act", "")
    reason = request.POST.get("reason", "").strip()
    try:
        annotation_id = int(request.POST["annotation"]) if request.POST.get("annotation") else None
        reply_id = int(request.POST["reply"]) if request.POST.get("reply") else None
    except ValueError as error:
        raise Http404("No such item.") from error
    if name not in ACTS or (annotation_id is None) == (reply_id is None):
        return render(
            request,
            "annotations/error.html",
            {"message": "Choose an act and one item."},
            status=400,
        )
    target = services.item_find(annotation_id=annotation_id, reply_id=reply_id)
    # What the moderator may not see does not exist for them.
    if target is None or not policy.can_view_annotation(request.user, target.annotation):
        raise Http404("No such item.")
    if target.reply is not None and not policy.can_view_reply(
        request.user, target.reply, target.annotation
    ):
        raise Http404("No such item.")
    if not policy.can_moderate(request.user, target.annotation):
        raise PermissionDenied("Only this group's moderators (or site staff) can do that.")
    try:
        if name == "hide":
            services.item_hide(moderator=request.user, target=target, reason=reason)
        elif name == "reject":
            services.item_reject(moderator=request.user, target=target, reason=reason)

        elif name == "unhide":
            services.item_unhide(moderator=request.user, target=target, reason=reason)
        elif name == "dismiss":
            services.flags_dismiss(moderator=request.user, target=target, reason=reason)
        elif name == "approve":
            services.item_approve(moderator=request.user, target=target)
        else:
            services.thread_set_locked(
                moderator=request.user,
                annotation_id=target.annotation.pk,
                locked=name == "lock",
                reason=reason,
            )
    except ModerationError as error:
        messages.error(request, str(error))
        status_message = None
    else:
        status_message = {
            "hide": "Hidden.",
            "reject": "Rejected.",
            "unhide": "Restored.",
            "dismiss": "Flags dismissed.",
            "approve": "Approved.",
            "lock": "Thread locked.",
            "unlock": "Thread unlocked.",
        }[name]
        messages.success(request, status_message)
    return redirect(safe_next(request, target.annotation.get_absolute_url()))


@login_required
@require_POST
def member_act(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """Remove or ban a member, or lift a ban (moderators and the owner)."""
    group = get_object_or_404(Group, slug=slug)
    if not policy.is_member(request.user, group):
        raise Http404("No such group.")
    name, reason = request.POST.get("act", ""), request.POST.get("reason", "").strip()
    if name == "remove":
        services.member_remove(moderator=request.user, group=group, user_id=user_id, reason=reason)
        messages.success(request, "Removed from the group.")
    elif name == "ban":
        services.member_ban(moderator=request.user, group=group, user_id=user_id, reason=reason)
        messages.success(request, "Banned: they cannot rejoin with an invite link.")
    elif name == "unban":
        services.member_unban(moderator=request.user, group=group, user_id=user_id)
        messages.success(request, "The ban is lifted.")
    else:
        return refused(request, "Unknown act.")
    return redirect(group)


@login_required
@require_POST
def pre_moderation(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    if not policy.is_member(request.user, group):
        raise Http404("No such group.")
    on = request.POST.get("on") == "1"
    services.group_set_pre_moderation(moderator=request.user, group=group, on=on)
    messages.success(request, "Pre-moderation is " + ("on." if on else "off."))
    return redirect(group)
