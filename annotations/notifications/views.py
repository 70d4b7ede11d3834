"""Notifications: the list, opening and marking read, email settings, one-click unsubscribe."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations.models import Notification, ReaderSettings
from annotations.notifications.services import reader_settings


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = Notification.objects.filter(recipient=request.user).select_related("actor")
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "annotations/notifications/list.html",
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
        return render(
            request, "annotations/notifications/unsubscribed.html", {"valid": False}, status=404
        )
    if prefs.email_notifications:
        prefs.email_notifications = False
        prefs.save(update_fields=["email_notifications"])
    return render(request, "annotations/notifications/unsubscribed.html", {"valid": True})
