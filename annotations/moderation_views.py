"""The moderation queue, moderators' acts, the moderation log, and notifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import moderation, policy
from annotations.models import Group, ModerationAction, Notification, ReaderSettings
from annotations.moderation import ModerationError
from annotations.notifications import reader_settings

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
    page = Paginator(moderation.open_flags(group), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = moderation.attach_items(list(page.object_list))
    pending_notes, pending_replies = moderation.pending(group)
    return render(
        request,
        "annotations/moderation_queue.html",
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
    return render(request, "annotations/moderation_log.html", {"group": group, "page": page})


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
    target = moderation.item(annotation_id=annotation_id, reply_id=reply_id)
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
            moderation.hide(moderator=request.user, target=target, reason=reason)
        elif name == "reject":
            moderation.reject(moderator=request.user, target=target, reason=reason)

        elif name == "unhide":
            moderation.unhide(moderator=request.user, target=target, reason=reason)
        elif name == "dismiss":
            moderation.dismiss_flags(moderator=request.user, target=target, reason=reason)
        elif name == "approve":
            moderation.approve(moderator=request.user, target=target)
        else:
            moderation.set_locked(
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
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(target.annotation)


@login_required
@require_POST
def member_act(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """Remove or ban a member, or lift a ban (moderators and the owner)."""
    group = get_object_or_404(Group, slug=slug)
    if not policy.is_member(request.user, group):
        raise Http404("No such group.")
    name, reason = request.POST.get("act", ""), request.POST.get("reason", "").strip()
    try:
        if name == "remove":
            moderation.remove_member(
                moderator=request.user, group=group, user_id=user_id, reason=reason
            )
            messages.success(request, "Removed from the group.")
        elif name == "ban":
            moderation.ban(moderator=request.user, group=group, user_id=user_id, reason=reason)
            messages.success(request, "Banned: they cannot rejoin with an invite link.")
        elif name == "unban":
            moderation.unban(moderator=request.user, group=group, user_id=user_id)
            messages.success(request, "The ban is lifted.")
        else:
            return render(
                request, "annotations/error.html", {"message": "Unknown act."}, status=400
            )
    except ModerationError as error:
        raise PermissionDenied(str(error)) from error
    return redirect(group)


@login_required
@require_POST
def pre_moderation(request: HttpRequest, slug: str) -> HttpResponse:
    group = get_object_or_404(Group, slug=slug)
    if not policy.is_member(request.user, group):
        raise Http404("No such group.")
    on = request.POST.get("on") == "1"
    try:
        moderation.set_pre_moderation(moderator=request.user, group=group, on=on)
    except ModerationError as error:
        raise PermissionDenied(str(error)) from error
    messages.success(request, "Pre-moderation is " + ("on." if on else "off."))
    return redirect(group)


# Notifications -------------------------------------------------------------------------------


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = Notification.objects.filter(recipient=request.user).select_related("actor")
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "annotations/notifications.html",
        {"page": page, "settings": reader_settings(request.user)},
    )


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk).update(read_at=timezone.now())
    if notification.reply_id:
        return redirect(notification.reply)
    if notification.annotation_id:
        return redirect("annotation", pk=notification.annotation_id)
    return redirect("notifications")


@login_required
@require_POST
def notifications_read(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    unread.update(read_at=timezone.now())
    return redirect("notifications")


@login_required
@require_POST
def notification_settings(request: HttpRequest) -> HttpResponse:
    prefs = reader_settings(request.user)
    prefs.email_notifications = request.POST.get("email") == "1"
    prefs.save(update_fields=["email_notifications"])
    if prefs.email_notifications and not request.user.email:
        messages.warning(request, "Add an email address to your account to receive emails.")
    else:
        messages.success(
            request, "Email notifications " + ("on." if prefs.email_notifications else "off.")
        )
    return redirect("notifications")


@csrf_exempt  # RFC 8058: mail clients POST here with no session; the secret token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link in every email: no login needed, the secret in the link is enough."""
    prefs = ReaderSettings.objects.filter(unsubscribe_token=token).first()
    if prefs is None:
        return render(request, "annotations/unsubscribed.html", {"valid": False}, status=404)
    if prefs.email_notifications:
        prefs.email_notifications = False
        prefs.save(update_fields=["email_notifications"])
    return render(request, "annotations/unsubscribed.html", {"valid": True})
