"""In-app notifications, and email for those who asked for it.

A notification is only ever made for someone who may see what it points at (the policy is
asked), so a notification can never leak a note. Email goes out after the write commits, with a
one-click unsubscribe link that needs no login.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from annotations import policy
from annotations.models import Annotation, Notification, ReaderSettings, Reply

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Kind = Notification.Kind
MENTION = re.compile(r"(?<![\w@])@([\w.@+-]{1,150})")


def mentioned_usernames(body: str) -> list[str]:
    """'@ada and @bob.' -> ['ada', 'bob'] (trailing punctuation dropped, no repeats)."""
    names: list[str] = []
    for match in MENTION.finditer(body):
        name = match.group(1).rstrip(".")
        if name and name not in names:
            names.append(name)
    return names


def notification_create(
    *,
    recipient: User,
    kind: str,
    actor: User,
    annotation: Annotation,
    reply: Reply | None = None,
    message: str,
) -> Notification | None:
    """Tell `recipient`, unless they are the actor or may not see what it is about."""
    if recipient is None or (actor is not None and recipient.pk == actor.pk):
        return None
    visible = (
        policy.can_view_reply(recipient, reply, annotation)
        if reply is not None
        else policy.can_view_annotation(recipient, annotation)
    )
    if not visible:
        return None
    notification = Notification.objects.create(
        recipient=recipient,
        kind=kind,
        actor=actor,
        annotation=annotation,
        reply=reply,
        message=message[:300],
    )
    transaction.on_commit(lambda: _email(notification.pk))
    return notification


def mentions_notify(
    *,
    body: str,
    actor: User,
    annotation: Annotation,
    reply: Reply | None,
    skip: set[int] = frozenset(),
) -> None:
    """Notify each @name who may see the thread (except those in `skip`, already told)."""
    names = mentioned_usernames(body)
    if not names:
        return
    title = annotation.document.title
    for user in get_user_model().objects.filter(username__in=names[:20], is_active=True):
        if user.pk in skip:
            continue
        notification_create(
            recipient=user,
            kind=Kind.MENTION,
            actor=actor,
            annotation=annotation,
            reply=reply,
            message=f"{actor.username} mentioned you in a discussion on “{title}”.",
        )


def reader_settings(user: User) -> ReaderSettings:
    found, _ = ReaderSettings.objects.get_or_create(user=user)
    return found


def _email(notification_id: int) -> None:
    notification = (
        Notification.objects.select_related("recipient", "annotation")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or not notification.recipient.email:
        return
    prefs = ReaderSettings.objects.filter(user=notification.recipient).first()
    if prefs is None or not prefs.email_notifications:
        return
    base = settings.SITE_URL.rstrip("/")
    unsubscribe = base + reverse("unsubscribe", kwargs={"token": prefs.unsubscribe_token})
    link = base + reverse("notification_open", kwargs={"pk": notification.pk})
    EmailMessage(
        subject=f"Marginalia: {notification.message[:80]}",
        body=(
            f"{notification.message}\n\nOpen it: {link}\n\n"
            f"You get these emails because you asked for them. Stop them with one click:\n"
            f"{unsubscribe}\n"
        ),
        to=[notification.recipient.email],
        # RFC 8058: mail clients can offer their own one-click unsubscribe button.
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    ).send(fail_silently=True)


def reply_notify(*, reply: Reply, annotation: Annotation, parent: Reply | None) -> None:
    """Tell the note's author and the answered reply's author; then anyone @mentioned."""
    actor = reply.author
    title = annotation.document.title
    told = set()
    for recipient in (parent.author if parent else None, annotation.author):
        if recipient is None or recipient.pk in told:
            continue
        told.add(recipient.pk)
        what = "your reply" if parent and recipient.pk == parent.author_id else "your note"
        notification_create(
            recipient=recipient,
            kind=Kind.REPLY,
            actor=actor,
            annotation=annotation,
            reply=reply,
            message=f"{actor.username} replied to {what} on “{title}”.",
        )
    mentions_notify(body=reply.body, actor=actor, annotation=annotation, reply=reply, skip=told)
