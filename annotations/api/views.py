"""The Web Annotation API: W3C Web Annotation Protocol over the same services and policy as the
pages.

- `/api/documents/<slug>/annotations/`: the document's annotation container. GET gives an
  `AnnotationCollection` (its first page embedded) or, with `?page=N`, an `AnnotationPage`;
  POST creates an annotation (or a reply, when its motivation is `replying` and its target is
  the IRI of what it answers) and answers 201 with `Location`.
- `/api/annotations/<id>` and `/api/replies/<id>`: one annotation. GET, PUT (the whole
  annotation; its target cannot change) and DELETE, the last two only with an `If-Match`
  naming the current `ETag` (428 without one, 412 when it is stale), so no update is lost.
- `/api/annotations/<id>/replies/`: the thread, as a collection.

Every read goes through `Annotation.objects.visible_to` / `Reply.objects.visible_to`, and every
write through annotations.services, which asks annotations.policy: the API shows and allows
exactly what the pages do. What a caller may not see answers 404.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from annotations import anchoring, jsonld, policy
from annotations.anchoring import Target
from annotations.api.auth import ApiAuthError, api_user, auth_error_response
from annotations.discussions import services as discussion_services
from annotations.errors import Refused
from annotations.http import json_error, mark_api_request
from annotations.jsonld import JsonLdError, ParsedAnnotation
from annotations.models import Annotation, Group, Reply
from annotations.notes import services as note_services
from reader.models import Document, Paragraph

PROTOCOL = "http://www.w3.org/TR/annotation-protocol/"
LDP = "http://www.w3.org/ns/ldp#"
CONTAINER_ALLOW = "GET, HEAD, OPTIONS, POST"
ITEM_ALLOW = "GET, HEAD, OPTIONS, PUT, DELETE"
READ_ALLOW = "GET, HEAD, OPTIONS"
MAX_BODY_BYTES = 1024 * 1024


class ApiError(Refused):
    """A request the API refuses, with its status (and headers, `Retry_After` for
    Retry-After): answered in JSON by annotations.http, like every refusal."""

    def __init__(self, status: int, message: str, **headers: str) -> None:
        names = {name.replace("_", "-"): value for name, value in headers.items()}
        super().__init__(message, status=status, headers=names)


def api_view(allow: str) -> Callable:
    """Authenticates the caller (a token or the session, with CSRF for the session), answers
    OPTIONS and wrong methods. Refusals (ApiError, rate limits, a service's) are answered in
    JSON by annotations.http."""
    methods = {method.strip() for method in allow.split(",")}

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                return json_error(405, f"Allowed: {allow}.", {"Allow": allow})
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Allow"] = allow
                if "POST" in methods:
                    response["Accept-Post"] = jsonld.MEDIA_TYPE
                return response
            mark_api_request(request)
            try:
                user = api_user(request)
            except ApiAuthError as error:
                return auth_error_response(error)
            return view(request, user, *args, **kwargs)

        return wrapper

    return decorate


def _wants_plain_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "application/ld+json" not in accept


def _etag(payload: bytes) -> str:
    return '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'


def _respond(
    request: HttpRequest, data: dict, *, allow: str, status: int = 200, container: bool = False
) -> HttpResponse:
    payload = json.dumps(data, ensure_ascii=False).encode()
    content_type = "application/json" if _wants_plain_json(request) else jsonld.MEDIA_TYPE
    response = HttpResponse(payload, status=status, content_type=content_type)
    response["ETag"] = _etag(payload)
    response["Allow"] = allow
    response["Vary"] = "Accept, Authorization, Cookie"
    types = [f'<{LDP}Resource>; rel="type"']
    if container:
        types.insert(0, f'<{LDP}BasicContainer>; rel="type"')
        types.append(f'<{PROTOCOL}>; rel="{LDP}constrainedBy"')
        response["Accept-Post"] = jsonld.MEDIA_TYPE
    response["Link"] = ", ".join(types)
    return response


def _base(request: HttpRequest) -> jsonld.Links:
    return jsonld.Links(request.build_absolute_uri("/"))


def _require_login(user) -> None:
    if not user.is_authenticated:
        raise ApiError(
            401,
            "Log in, or send a personal API token as 'Authorization: Bearer <token>'.",
            WWW_Authenticate='Bearer realm="marginalia"',
        )


def _read_json(request: HttpRequest) -> dict:
    content_type = request.content_type or ""
    if content_type not in ("application/ld+json", "application/json"):
        raise ApiError(415, "Send the annotation as application/ld+json (or application/json).")
    if len(request.body) > MAX_BODY_BYTES:
        raise ApiError(413, "The request body is too large.")
    try:
        data = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, f"The body is not valid JSON: {error}.") from error
    except RecursionError as error:
        raise ApiError(400, "The body nests its JSON too deeply to be read.") from error
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be one annotation, a JSON object.")
    return data


def _parse(data: dict) -> ParsedAnnotation:
    try:
        return jsonld.parse_annotation(data, where="annotation")
    except JsonLdError as error:
        raise ApiError(400, str(error)) from error


# Reading -------------------------------------------------------------------------------------


def _document(slug: str) -> Document:
    document = Document.objects.filter(slug=slug).only("slug", "title", "current_revision").first()
    if document is None:
        raise ApiError(404, "No such document.")
    return document


def _notes(user):
    return (
        Annotation.objects.visible_to(user)
        .select_related("document", "author", "group")
        .defer("search", "body_html")
    )


def _visible_note(user, pk: int) -> Annotation:
    annotation = _notes(user).filter(pk=pk).first()
    if annotation is None:
        raise ApiError(404, "No such annotation.")
    return annotation


def _visible_reply(user, pk: int) -> Reply:
    reply = (
        Reply.objects.visible_to(user)
        .select_related("author", "annotation__group", "annotation__document")
        .filter(pk=pk)
        .first()
    )
    if reply is None or not policy.can_view_reply(user, reply, reply.annotation):
        raise ApiError(404, "No such reply.")
    return reply


def _page_number(request: HttpRequest) -> int | None:
    raw = request.GET.get("page")
    if raw is None:
        return None
    if not re.fullmatch(r"\d{1,9}", raw):
        raise ApiError(400, "'page' is a page number, counting from 0.")
    return int(raw)


def _page(request: HttpRequest, queryset, *, number: int, total: int, base: str, to_jsonld) -> dict:
    size = settings.API_PAGE_SIZE
    last = max(0, math.ceil(total / size) - 1)
    if number > last:
        raise ApiError(404, f"There is no page {number}: the last is {last}.")
    items = [to_jsonld(item) for item in queryset[number * size : (number + 1) * size]]
    page = {
        "id": f"{base}?page={number}",
        "type": "AnnotationPage",
        "partOf": {"id": base, "total": total},
        "startIndex": number * size,
        "items": items,
    }
    if number < last:
        page["next"] = f"{base}?page={number + 1}"
    if number > 0:
        page["prev"] = f"{base}?page={number - 1}"
    return page


def _collection(request: HttpRequest, queryset, *, base: str, label: str, to_jsonld) -> dict:
    number = _page_number(request)
    total = queryset.count()
    size = settings.API_PAGE_SIZE
    last = max(0, math.ceil(total / size) - 1)
    if number is not None:
        page = _page(request, queryset, number=number, total=total, base=base, to_jsonld=to_jsonld)
        return {"@context": jsonld.CONTEXTS, **page}
    first = _page(request, queryset, number=0, total=total, base=base, to_jsonld=to_jsonld)
    first.pop("partOf")
    return {
        "@context": jsonld.CONTEXTS,
        "id": base,
        "type": ["BasicContainer", "AnnotationCollection"],
        "label": label,
        "total": total,
        "first": first,
        "last": f"{base}?page={last}",
    }


@api_view(CONTAINER_ALLOW)
def container(request: HttpRequest, user, slug: str) -> HttpResponse:
    document = _document(slug)
    links = _base(request)
    if request.method == "POST":
        return _create(request, user, document, links)
    texts = jsonld.Texts()
    notes = _notes(user).filter(document=document).order_by("id")
    data = _collection(
        request,
        notes,
        base=links.container(slug),
        label=f"Annotations on {document.title}",
        to_jsonld=lambda note: jsonld.annotation_to_jsonld(
            note, links=links, texts=texts, context=False
        ),
    )
    return _respond(request, data, allow=CONTAINER_ALLOW, container=True)


@api_view(READ_ALLOW)
def replies(request: HttpRequest, user, pk: int) -> HttpResponse:
    note = _visible_note(user, pk)
    links = _base(request)
    thread = (
        Reply.objects.visible_to(user)
        .filter(annotation=note)
        .select_related("author")
        .defer("search", "body_html")
        .order_by("created_at", "id")
    )
    data = _collection(
        request,
        thread,
        base=f"{links.annotation(pk)}/replies/",
        label="Replies",
        to_jsonld=lambda reply: jsonld.reply_to_jsonld(reply, links=links, context=False),
    )
    return _respond(request, data, allow=READ_ALLOW)


# Writing -------------------------------------------------------------------------------------


def _group(user, parsed: ParsedAnnotation) -> Group | None:
    if not parsed.group:
        return None
    group = Group.objects.filter(slug=parsed.group).first()
    if group is None or not policy.can_view_group(user, group):
        raise ApiError(400, f"You are not in a group {parsed.group!r}.")
    return group


def _target(document: Document, parsed: ParsedAnnotation) -> Target:
    """The server is the judge: paragraph offsets are checked against the text by the service;
    a quote and position alone must find the exact words (no approximate match on create)."""
    selector = parsed.selector
    if selector.start_key and selector.start_offset is not None:
        return Target(
            start_key=selector.start_key,
            start_offset=selector.start_offset,
            end_key=selector.end_key,
            end_offset=selector.end_offset or 0,
            exact=selector.exact,
        )
    rows = (
        Paragraph.objects.filter(revision_id=document.current_revision_id)
        .order_by("position")
        .values_list("key", "text")
    )
    target = anchoring.place(selector, anchoring.Text(list(rows)), fuzzy=False)
    if target is None:
        raise ApiError(400, "The quoted words were not found in the document.")
    if target.exact != selector.exact:
        # Found with white space forgiven: the caller must quote the text as it is.
        raise ApiError(
            400, "The quote does not match the document's text exactly at the place found."
        )
    return target


def _answered(user, iri: str, links: jsonld.Links) -> tuple[int, int | None]:
    """(annotation id, parent reply id) for a reply's target IRI."""
    for prefix, is_reply in ((f"{links.base}/api/replies/", True), (links.annotation(""), False)):
        if iri.startswith(prefix) and iri[len(prefix) :].isdigit():
            pk = int(iri[len(prefix) :])
            if is_reply:
                reply = _visible_reply(user, pk)
                return reply.annotation_id, reply.pk
            return _visible_note(user, pk).pk, None
    raise ApiError(400, "A reply's target must be the IRI of an annotation or reply here.")


def _create(request: HttpRequest, user, document: Document, links: jsonld.Links) -> HttpResponse:
    _require_login(user)
    parsed = _parse(_read_json(request))
    if parsed.is_reply:
        annotation_id, parent_id = _answered(user, parsed.reply_to, links)
        note = Annotation.objects.only("document_id").get(pk=annotation_id)
        if note.document_id != document.pk:
            raise ApiError(400, "That annotation is on another document.")
        reply = discussion_services.reply_create(
            author=user, annotation_id=annotation_id, body=parsed.body, parent_id=parent_id
        )
        reply = _visible_reply(user, reply.pk)
        data = jsonld.reply_to_jsonld(reply, links=links)
        location = links.reply(reply.pk)
    else:
        visibility = parsed.visibility or Annotation.Visibility.PRIVATE
        group = _group(user, parsed)
        selector = parsed.selector
        if selector is None or (selector.paragraph_key and not selector.exact):
            annotation = discussion_services.discussion_create(
                author=user,
                document=document,
                paragraph_key=selector.paragraph_key if selector else None,
                body=parsed.body,
                tags=parsed.tags,
                visibility=visibility,
                group=group,
                is_question=parsed.is_question,
            )
        else:
            annotation = note_services.annotation_create(
                author=user,
                document=document,
                target=_target(document, parsed),
                colour=parsed.colour or Annotation.Colour.YELLOW,
                body=parsed.body,
                tags=parsed.tags,
                visibility=visibility,
                group=group,
            )
            if parsed.is_question:
                annotation = discussion_services.question_set(
                    annotation_id=annotation.pk, by=user, is_question=True
                )
        data = jsonld.annotation_to_jsonld(_visible_note(user, annotation.pk), links=links)
        location = links.annotation(annotation.pk)
    response = _respond(request, data, allow=ITEM_ALLOW, status=201)
    response["Location"] = location
    return response


def _check_precondition(request: HttpRequest, current: str) -> None:
    wanted = request.headers.get("If-Match")
    if not wanted:
        raise ApiError(
            428, "Send 'If-Match' with the ETag you last read: it keeps two edits apart."
        )
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    if "*" not in tags and current not in tags:
        raise ApiError(
            412, "The annotation changed since you read it: GET it again and redo your change."
        )


def _current_etag(request: HttpRequest, data: dict) -> str:
    return _etag(json.dumps(data, ensure_ascii=False).encode())


@api_view(ITEM_ALLOW)
def annotation(request: HttpRequest, user, pk: int) -> HttpResponse:
    links = _base(request)
    if request.method in ("GET", "HEAD"):
        data = jsonld.annotation_to_jsonld(_visible_note(user, pk), links=links)
        return _respond(request, data, allow=ITEM_ALLOW)
    _require_login(user)
    with transaction.atomic():
        note = _notes(user).select_for_update(of=("self",)).filter(pk=pk).first()
        if note is None:
            raise ApiError(404, "No such annotation.")
        if not policy.can_edit_annotation(user, note):
            raise ApiError(403, "Only its author can change this annotation.")
        _check_precondition(
            request, _current_etag(request, jsonld.annotation_to_jsonld(note, links=links))
        )
        if request.method == "DELETE":
            note_services.annotation_delete(annotation_id=pk, by=user)
            return HttpResponse(status=204)
        parsed = _parse(_read_json(request))
        if parsed.is_reply or (parsed.selector and parsed.selector.exact != note.exact):
            raise ApiError(
                400, "An annotation's target cannot change: delete it and create another."
            )
        note_services.annotation_update(
            annotation_id=pk,
            editor=user,
            version=note.version,
            body=parsed.body,
            tags=parsed.tags,
            colour=parsed.colour or note.colour,
            visibility=parsed.visibility or note.visibility,
            group=_group(user, parsed) if parsed.visibility else note.group,
        )
        if parsed.is_question != note.is_question and note.kind != Annotation.Kind.SPAN:
            discussion_services.question_set(
                annotation_id=pk, by=user, is_question=parsed.is_question
            )
    data = jsonld.annotation_to_jsonld(_visible_note(user, pk), links=links)
    return _respond(request, data, allow=ITEM_ALLOW)


@api_view(ITEM_ALLOW)
def reply(request: HttpRequest, user, pk: int) -> HttpResponse:
    links = _base(request)
    if request.method in ("GET", "HEAD"):
        return _respond(
            request, jsonld.reply_to_jsonld(_visible_reply(user, pk), links=links), allow=ITEM_ALLOW
        )
    _require_login(user)
    with transaction.atomic():
        # Locked first, then read: nobody changes it between our check and our write.
        Reply.objects.select_for_update().filter(pk=pk).exists()
        current = _visible_reply(user, pk)
        if not policy.can_edit_reply(user, current):
            raise ApiError(403, "Only its author can change this reply.")
        _check_precondition(
            request, _current_etag(request, jsonld.reply_to_jsonld(current, links=links))
        )
        if request.method == "DELETE":
            discussion_services.reply_delete(reply_id=pk, by=user)
            return HttpResponse(status=204)
        parsed = _parse(_read_json(request))
        discussion_services.reply_update(
            reply_id=pk, editor=user, version=current.version, body=parsed.body
        )
    return _respond(
        request, jsonld.reply_to_jsonld(_visible_reply(user, pk), links=links), allow=ITEM_ALLOW
    )


# The description ----------------------------------------------------------------------------


@require_GET
def schema(request: HttpRequest) -> JsonResponse:
    from annotations.api.openapi import description

    return JsonResponse(description(request.build_absolute_uri("/").rstrip("/")))


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    from annotations.api.openapi import description

    base = request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "annotations/api/docs.html",
        {
            "spec": description(base),
            "base": base,
            "schema_url": reverse("api_schema"),
            "example_document": Document.objects.only("slug").first(),
        },
    )
