"""Server-Sent Events for a document's readers, and the fragments a live page fetches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import aget_object_or_404, get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from annotations import policy
from annotations.live import events as live
from annotations.live import hub as live_hub
from annotations.live.presence import presence_leave, presence_tick
from annotations.models import LiveEvent
from annotations.reading.page import page_paragraphs, paragraph_swaps
from reader.models import Document

# Open streams per person in this process (a tab or two each is plenty; a script is not).
_open_per_user: Counter = Counter()


async def stream(request: HttpRequest, slug: str) -> HttpResponse:
    """text/event-stream of the changes to a document that this viewer may know about."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if not isinstance(request, ASGIRequest):
        # Streams need ASGI (uvicorn). Under WSGI, 204 tells the browser not to retry.
        return HttpResponse(status=204)
    document = await aget_object_or_404(Document.objects.only("id", "slug"), slug=slug)
    user = await request.auser()
    owner = user.pk if user.is_authenticated else f"anon:{request.META.get('REMOTE_ADDR')}"
    if _open_per_user[owner] >= settings.LIVE_MAX_STREAMS_PER_PERSON:
        return HttpResponse(
            "Too many open live connections: close a tab or two.",
            status=429,
            headers={"Retry-After": "30"},
        )
    # In the request's own thread, so that the connection the lookups above took goes back too.
    viewer = await sync_to_async(_released(live.Viewer.load))(user)
    layer = policy.clean_layer(request.GET.get("layer", ""))
    stream_id = uuid.uuid4()
    last_id = _last_event_id(request)
    hub = live_hub.hub()
    queue = hub.subscribe(document.pk)
    _open_per_user[owner] += 1

    async def events():
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        try:
            yield f"retry: {settings.LIVE_RETRY_MS}\n\n"
            if last_id is not None:
                for chunk in await _db(_catch_up)(document.pk, last_id, viewer):
                    yield chunk
            else:
                # Where the page starts from: after a drop it asks for what came after this.
                newest = await _db(_newest_event_id)()
                if newest:
                    yield f"id: {newest}\nevent: hello\ndata: {{}}\n\n"
            presence = None
            while True:
                if presence is None or loop.time() >= next_tick:
                    summary = await _db(presence_tick)(stream_id, document.pk, viewer, layer)
                    next_tick = loop.time() + settings.LIVE_HEARTBEAT_SECONDS
                    if summary != presence:
                        presence = summary
                        yield f"event: presence\ndata: {json.dumps(summary)}\n\n"
                try:
                    event = await asyncio.wait_for(
                        queue.get(), timeout=max(0.1, next_tick - loop.time())
                    )
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                change = event.get("change")
                if change == "membership":
                    if event.get("user") == viewer.user_id:
                        await _db(viewer.refresh)()
                    continue
                if change == "resync":
                    # The LISTEN connection came back: events may have been missed meanwhile.
                    yield "event: resync\ndata: {}\n\n"
                    continue
                if viewer.may_know(event):
                    yield _message(event)
        finally:
            hub.unsubscribe(document.pk, queue)
            _open_per_user[owner] -= 1
            with contextlib.suppress(Exception):  # the page is gone; its row expires anyway
                await _db(presence_leave)(stream_id)

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx and friends: do not buffer the stream
    return response


def _released(function):
    """Run `function`, then give its database connection back to the pool. A stream lives for
    hours: holding a connection all that time would exhaust the pool after a few readers."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return run


def _db(function):
    """A stream's database step, in a worker thread (not one thread per stream)."""
    return sync_to_async(_released(function), thread_sensitive=False)


def _message(event: dict) -> str:
    data = json.dumps(live.for_viewer(event), separators=(",", ":"))
    return f"id: {event['id']}\nevent: change\ndata: {data}\n\n"


def _last_event_id(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _newest_event_id() -> int | None:
    return LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first()


def _catch_up(document_id: int, last_id: int, viewer: live.Viewer) -> list[str]:
    """What a reconnecting page missed, or a request to reload when the gap is too old (the
    events it would need are no longer kept)."""
    keep = timezone.now() - timedelta(seconds=settings.LIVE_CATCH_UP_SECONDS)
    seen = LiveEvent.objects.filter(pk=last_id).values_list("created_at", flat=True).first()
    if seen is None or seen < keep:
        newer = LiveEvent.objects.filter(document_id=document_id, pk__gt=last_id).exists()
        return ["event: reload\ndata: {}\n\n"] if newer or seen is None else []
    out = []
    missed = LiveEvent.objects.filter(document_id=document_id, pk__gt=last_id).order_by("pk")
    for pk, payload in missed.values_list("pk", "payload")[:500]:
        event = {"id": pk, **payload}
        if viewer.may_know(event):
            out.append(_message(event))
    return out


@require_GET
def paragraphs(request: HttpRequest, slug: str) -> HttpResponse:
    """Fresh marks and counts of some paragraphs, for this viewer: what a live page swaps in
    when an event says they changed."""
    document = get_object_or_404(
        Document.objects.only("id", "slug", "title", "current_revision"), slug=slug
    )
    keys = [k for k in request.GET.get("keys", "").split(",") if k][:200]
    layer = policy.clean_layer(request.GET.get("layer", ""))
    rows = list(page_paragraphs(document.current_revision_id).filter(key__in=keys))
    parts = paragraph_swaps(request.user, document, rows, layer)
    return render(request, "annotations/live/_live_paragraphs.html", {"parts": parts})
