"""The Web Annotation Protocol API as a client meets it: creating, paging, headers, conditional
writes, refusals that store nothing, rate limits and authentication; and its description."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings as django_settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import Resolver404, resolve

from annotations import jsonld
from annotations.api.tokens import token_create, token_revoke
from annotations.discussions import services as discussion_services
from annotations.models import Annotation, Reply
from annotations.transfer import importing
from tests.factories import GroupFactory, make_annotation, make_document

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
LD = jsonld.MEDIA_TYPE


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def document():
    return make_document(paragraphs=6, title="Protocol text")


@pytest.fixture
def paragraphs(document):
    """[(key, text)] in reading order."""
    return list(
        document.current_revision.paragraphs.order_by("position").values_list("key", "text")
    )


@pytest.fixture
def token(author):
    return token_create(user=author, name="script")[1]


@pytest.fixture
def api(token):
    """A client that sends the author's token on every request."""
    return Client(headers={"Authorization": f"Bearer {token}"})


def container_url(document) -> str:
    return f"/api/documents/{document.slug}/annotations/"


def path_of(iri: str) -> str:
    assert iri.startswith(BASE), iri
    return iri.removeprefix(BASE)


def note_json(document, selectors, *, body="", tags=(), **extra) -> dict:
    bodies = [{"type": "TextualBody", "value": body, "format": "text/markdown"}] if body else []
    bodies += [{"type": "TextualBody", "value": tag, "purpose": "tagging"} for tag in tags]
    data = {
        "@context": jsonld.CONTEXT,
        "type": "Annotation",
        "target": {"source": f"{BASE}/documents/{document.slug}/", "selector": selectors},
        **extra,
    }
    if bodies:
        data["body"] = bodies
    return data


def quote(exact: str) -> dict:
    return {"type": "TextQuoteSelector", "exact": exact}


def in_paragraph(key: str, start: int, end: int) -> dict:
    return {
        "type": "FragmentSelector",
        "value": f"p-{key}",
        "refinedBy": {"type": "TextPositionSelector", "start": start, "end": end},
    }


def post(client, document, data, **kwargs):
    payload = data if isinstance(data, str | bytes) else json.dumps(data)
    kwargs.setdefault("content_type", LD)
    return client.post(container_url(document), payload, **kwargs)


def put(client, path, data, **kwargs):
    kwargs.setdefault("content_type", LD)
    return client.put(path, json.dumps(data), **kwargs)


def stored() -> list[tuple]:
    return list(Annotation.objects.values_list("pk", "body", "status", "version"))


# Creating -------------------------------------------------------------------------------------


def test_post_creates_201_with_location_etag_and_the_body_a_get_gives(api, document, paragraphs):
    key, text = paragraphs[1]
    words = text[:9]
    data = note_json(
        document, [quote(words), in_paragraph(key, 0, 9)], body="*Good* point.", tags=["Key idea"]
    )
    response = post(api, document, data)
    assert response.status_code == 201, response.content
    note = Annotation.objects.get()
    assert response["Location"] == f"{BASE}/api/annotations/{note.pk}"
    assert response["ETag"].startswith('"')
    assert response["Content-Type"] == LD
    created = json.loads(response.content)
    assert created["id"] == response["Location"]
    again = api.get(path_of(response["Location"]))
    assert again.status_code == 200
    assert json.loads(again.content) == created
    assert again["ETag"] == response["ETag"]
    assert (note.exact, note.body, note.tags, note.start_key) == (
        words,
        "*Good* point.",
        ["key-idea"],
        key,
    )


def test_post_with_a_paragraph_refined_selector_stores_those_words(api, document, paragraphs):
    key, text = paragraphs[3]
    start, end = 13, 30
    response = post(
        api, document, note_json(document, [quote(text[start:end]), in_paragraph(key, start, end)])
    )
    assert response.status_code == 201, response.content
    note = Annotation.objects.get()
    assert (note.start_key, note.start_offset, note.end_key, note.end_offset, note.exact) == (
        key,
        start,
        key,
        end,
        text[start:end],
    )
    assert json.loads(response.content)["motivation"] == "highlighting"


def test_post_with_quote_and_position_only_takes_the_occurrence_at_that_position(
    api, document, paragraphs
):
    full = "\n".join(text for _, text in paragraphs)
    word = "lantern"
    occurrences = [m.start() for m in re.finditer(word, full)]
    assert len(occurrences) > 2
    start = occurrences[2]  # not the first: the position must decide
    position = {"type": "TextPositionSelector", "start": start, "end": start + len(word)}
    response = post(api, document, note_json(document, [quote(word), position], body="Here."))
    assert response.status_code == 201, response.content
    note = Annotation.objects.get()
    paragraph = next(i for i, (key, _) in enumerate(paragraphs) if key == note.start_key)
    offset_in_full = len("\n".join(t for _, t in paragraphs[:paragraph])) + (paragraph > 0)
    assert offset_in_full + note.start_offset == start
    assert note.exact == word
    # The position given back counts in the same whole text.
    selectors = json.loads(response.content)["target"]["selector"]
    assert {"type": "TextPositionSelector", "start": start, "end": start + len(word)} in selectors


def test_post_with_a_quote_only_finds_the_words(api, document, paragraphs):
    key, text = paragraphs[4]
    words = text[:25]  # "Paragraph 4: ..." appears once
    response = post(api, document, note_json(document, [quote(words)], body="Found it."))
    assert response.status_code == 201, response.content
    note = Annotation.objects.get()
    assert (note.start_key, note.start_offset, note.end_offset, note.exact) == (key, 0, 25, words)


def test_a_reply_and_a_reply_to_it(api, author, document, paragraphs):
    note = make_annotation(author=author, document=document, body="Start.", visibility="public")
    note_iri = f"{BASE}/api/annotations/{note.pk}"
    reply = {
        "@context": jsonld.CONTEXT,
        "type": "Annotation",
        "motivation": "replying",
        "body": {"type": "TextualBody", "value": "First answer."},
        "target": note_iri,
    }
    response = post(api, document, reply)
    assert response.status_code == 201, response.content
    first = Reply.objects.get()
    assert response["Location"] == f"{BASE}/api/replies/{first.pk}"
    assert (first.annotation_id, first.parent_id, first.body) == (note.pk, None, "First answer.")
    assert json.loads(response.content)["target"] == note_iri

    nested = {**reply, "body": {"type": "TextualBody", "value": "Second."}}
    nested["target"] = response["Location"]
    response = post(api, document, nested)
    assert response.status_code == 201, response.content
    second = Reply.objects.get(body="Second.")
    assert (second.annotation_id, second.parent_id) == (note.pk, first.pk)
    assert json.loads(api.get(path_of(response["Location"])).content)["target"] == (
        f"{BASE}/api/replies/{first.pk}"
    )
    thread = json.loads(api.get(f"/api/annotations/{note.pk}/replies/").content)
    assert thread["total"] == 2
    assert [item["body"]["value"] for item in thread["first"]["items"]] == [
        "First answer.",
        "Second.",
    ]


def test_a_reply_to_a_note_on_another_document_is_refused(api, author, document):
    elsewhere = make_document(paragraphs=3, title="Elsewhere")
    note = make_annotation(author=author, document=elsewhere, body="There.")
    reply = {
        "type": "Annotation",
        "motivation": "replying",
        "body": {"type": "TextualBody", "value": "Hi."},
        "target": f"{BASE}/api/annotations/{note.pk}",
    }
    response = post(api, document, reply)
    assert response.status_code == 400
    assert "another document" in json.loads(response.content)["error"]
    assert not Reply.objects.exists()


# Paging ---------------------------------------------------------------------------------------


@pytest.fixture
def five_notes(author, document, settings):
    settings.API_PAGE_SIZE = 2
    return [
        make_annotation(author=author, document=document, position=1, start=i * 3, end=i * 3 + 2)
        for i in range(5)
    ]


def test_container_paging(api, document, five_notes):
    base = f"{BASE}{container_url(document)}"
    collection = json.loads(api.get(container_url(document)).content)
    assert collection["id"] == base
    assert "AnnotationCollection" in collection["type"]
    assert collection["total"] == 5
    assert collection["last"] == f"{base}?page=2"
    first = collection["first"]
    assert first["id"] == f"{base}?page=0"
    assert first["startIndex"] == 0
    assert first["next"] == f"{base}?page=1"
    assert "prev" not in first
    ids = [item["id"] for item in first["items"]]

    middle = json.loads(api.get(container_url(document), {"page": 1}).content)
    assert middle["type"] == "AnnotationPage"
    assert middle["partOf"] == {"id": base, "total": 5}
    assert middle["startIndex"] == 2
    assert (middle["prev"], middle["next"]) == (f"{base}?page=0", f"{base}?page=2")
    ids += [item["id"] for item in middle["items"]]

    last = json.loads(api.get(path_of(middle["next"])).content)
    assert last["startIndex"] == 4
    assert "next" not in last
    assert last["prev"] == f"{base}?page=1"
    ids += [item["id"] for item in last["items"]]
    # Every note exactly once, in order.
    assert ids == [f"{BASE}/api/annotations/{note.pk}" for note in five_notes]


def test_a_page_beyond_the_last_is_404_and_a_bad_page_400(api, document, five_notes):
    beyond = api.get(container_url(document), {"page": 3})
    assert beyond.status_code == 404
    assert "last is 2" in json.loads(beyond.content)["error"]
    for bad in ("abc", "-1", "1.5", ""):
        response = api.get(container_url(document), {"page": bad})
        assert response.status_code == 400, bad
        assert "page" in json.loads(response.content)["error"]


def test_an_empty_container_has_total_zero_and_an_empty_first_page(api, document):
    collection = json.loads(api.get(container_url(document)).content)
    assert collection["total"] == 0
    assert collection["first"]["items"] == []
    assert api.get(container_url(document), {"page": 0}).status_code == 200
    assert api.get(container_url(document), {"page": 1}).status_code == 404


def test_an_unknown_document_is_404(api):
    assert api.get("/api/documents/no-such-text/annotations/").status_code == 404


# Headers --------------------------------------------------------------------------------------


@pytest.fixture
def note(author, document):
    return make_annotation(author=author, document=document, body="A note.", visibility="public")


@pytest.fixture
def reply(member, note):
    return discussion_services.reply_create(author=member, annotation_id=note.pk, body="A reply.")


@pytest.fixture
def resources(document, note, reply):
    """(path, Allow, is a container) of every resource the API serves."""
    return [
        (container_url(document), "GET, HEAD, OPTIONS, POST", True),
        (f"/api/annotations/{note.pk}", "GET, HEAD, OPTIONS, PUT, DELETE", False),
        (f"/api/annotations/{note.pk}/replies/", "GET, HEAD, OPTIONS", False),
        (f"/api/replies/{reply.pk}", "GET, HEAD, OPTIONS, PUT, DELETE", False),
    ]


def test_every_resource_has_its_headers(api, resources):
    for path, allow, container in resources:
        response = api.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"] == (
            'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
        ), path
        assert re.fullmatch(r'"[0-9a-f]+"', response["ETag"]), path
        assert response["Allow"] == allow, path
        assert "Accept" in [v.strip() for v in response["Vary"].split(",")], path
        link = response["Link"]
        assert '<http://www.w3.org/ns/ldp#Resource>; rel="type"' in link, path
        assert ('<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"' in link) is container
        if container:
            assert response["Accept-Post"] == LD


def test_plain_json_when_asked(api, resources):
    for path, _, _ in resources:
        plain = api.get(path, headers={"Accept": "application/json"})
        assert plain["Content-Type"] == "application/json", path
        ld = api.get(path, headers={"Accept": "application/ld+json"})
        assert ld["Content-Type"] == LD, path
        assert json.loads(plain.content) == json.loads(ld.content)


def test_options_answers_204_with_allow(api, resources):
    for path, allow, container in resources:
        response = api.options(path)
        assert response.status_code == 204, path
        assert response["Allow"] == allow
        assert response.has_header("Accept-Post") is container


def test_a_method_not_allowed_is_405_with_allow(api, document, note):
    response = api.patch(f"/api/annotations/{note.pk}", "{}", content_type=LD)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS, PUT, DELETE"
    assert api.delete(container_url(document)).status_code == 405


# Conditional writes ---------------------------------------------------------------------------


def read(api, path):
    response = api.get(path)
    assert response.status_code == 200
    return json.loads(response.content), response["ETag"]


def test_put_and_delete_need_if_match(api, note):
    path = f"/api/annotations/{note.pk}"
    data, _ = read(api, path)
    data["body"] = {"type": "TextualBody", "value": "Changed."}
    response = put(api, path, data)
    assert response.status_code == 428
    assert "If-Match" in json.loads(response.content)["error"]
    assert api.delete(path).status_code == 428
    note.refresh_from_db()
    assert (note.body, note.version, note.status) == ("A note.", 1, "active")


def test_a_stale_if_match_is_412_and_changes_nothing(api, note):
    path = f"/api/annotations/{note.pk}"
    data, current = read(api, path)
    stale = '"0123456789abcdef0123456789abcdef"'
    assert stale != current
    data["body"] = {"type": "TextualBody", "value": "Changed."}
    assert put(api, path, data, headers={"If-Match": stale}).status_code == 412
    assert api.delete(path, headers={"If-Match": stale}).status_code == 412
    note.refresh_from_db()
    assert (note.body, note.version, note.status) == ("A note.", 1, "active")


def test_put_with_the_current_etag_changes_it_and_makes_that_etag_stale(api, note):
    path = f"/api/annotations/{note.pk}"
    data, etag = read(api, path)
    data["body"] = [
        {"type": "TextualBody", "value": "Changed.", "format": "text/markdown"},
        {"type": "TextualBody", "value": "new-tag", "purpose": "tagging"},
    ]
    data["target"]["styleClass"] = "c-blue"
    response = put(api, path, data, headers={"If-Match": etag})
    assert response.status_code == 200, response.content
    note.refresh_from_db()
    assert (note.body, note.tags, note.colour, note.version) == ("Changed.", ["new-tag"], "blue", 2)
    changed, new_etag = read(api, path)
    assert new_etag == response["ETag"] != etag
    assert json.loads(response.content) == changed

    # Someone still holding the old ETag cannot overwrite the change.
    data["body"] = {"type": "TextualBody", "value": "Lost update."}
    assert put(api, path, data, headers={"If-Match": etag}).status_code == 412
    assert api.delete(path, headers={"If-Match": etag}).status_code == 412
    note.refresh_from_db()
    assert (note.body, note.version, note.status) == ("Changed.", 2, "active")


def test_delete_with_the_current_etag(api, note):
    path = f"/api/annotations/{note.pk}"
    _, etag = read(api, path)
    response = api.delete(path, headers={"If-Match": etag})
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(path).status_code == 404
    note.refresh_from_db()
    assert note.status == Annotation.Status.DELETED


def test_put_cannot_change_the_target(api, note, paragraphs):
    path = f"/api/annotations/{note.pk}"
    data, etag = read(api, path)
    other = paragraphs[2][1][:12]
    data["target"]["selector"] = [quote(other)]
    response = put(api, path, data, headers={"If-Match": etag})
    assert response.status_code == 400
    assert "target cannot change" in json.loads(response.content)["error"]
    note.refresh_from_db()
    assert (note.exact, note.version) == (paragraphs[1][1][:20], 1)


def test_a_reply_is_changed_and_deleted_only_with_its_etag(member, reply):
    client = Client()
    client.force_login(member)
    path = f"/api/replies/{reply.pk}"
    data, etag = read(client, path)
    data["body"] = {"type": "TextualBody", "value": "Edited reply."}
    assert put(client, path, data).status_code == 428
    response = put(client, path, data, headers={"If-Match": etag})
    assert response.status_code == 200, response.content
    reply.refresh_from_db()
    assert (reply.body, reply.version) == ("Edited reply.", 2)
    assert client.delete(path, headers={"If-Match": etag}).status_code == 412
    response = client.delete(path, headers={"If-Match": read(client, path)[1]})
    assert response.status_code == 204
    reply.refresh_from_db()
    assert reply.status == Annotation.Status.DELETED


def test_only_the_author_changes_it_others_who_see_it_get_403(member, note):
    client = Client()
    client.force_login(member)
    path = f"/api/annotations/{note.pk}"
    data, etag = read(client, path)
    data["body"] = {"type": "TextualBody", "value": "Not mine."}
    assert put(client, path, data, headers={"If-Match": etag}).status_code == 403
    assert client.delete(path, headers={"If-Match": etag}).status_code == 403
    note.refresh_from_db()
    assert (note.body, note.version, note.status) == ("A note.", 1, "active")


# Refusals: 400 with a message, nothing stored -------------------------------------------------


@pytest.fixture
def bad_inputs(document, paragraphs, outsider):
    key, text = paragraphs[1]
    other_group = GroupFactory(name="Not yours", owner=outsider)
    good = [quote(text[:9]), in_paragraph(key, 0, 9)]
    return {
        "wrong quote": (
            note_json(document, [quote("not these words"), in_paragraph(key, 0, 15)]),
            "do not match",
        ),
        "quote not in the text": (
            note_json(document, [quote("words that appear nowhere")]),
            "not found",
        ),
        "offsets out of range": (
            note_json(document, [quote("x"), in_paragraph(key, len(text) + 5, len(text) + 6)]),
            "past the end",
        ),
        "negative offset": (
            note_json(document, [quote(text[:9]), in_paragraph(key, -1, 9)]),
            "whole number",
        ),
        "unknown paragraph": (
            note_json(document, [quote(text[:9]), in_paragraph("nosuchkey", 0, 9)]),
            "not in this document",
        ),
        "unknown colour": (
            {
                **note_json(document, good),
                "target": {**note_json(document, good)["target"], "styleClass": "c-xxx"},
            },
            "Unknown colour 'xxx'",
        ),
        "body over the limit": (note_json(document, good, body="x" * 51), "the limit is 50"),
        "a group you are not in": (
            note_json(document, good, **{"mrg:visibility": "group", "mrg:group": other_group.slug}),
            "not in a group",
        ),
        "a group that does not exist": (
            note_json(document, good, **{"mrg:visibility": "group", "mrg:group": "nope"}),
            "not in a group",
        ),
        "unknown visibility": (
            note_json(document, good, **{"mrg:visibility": "everyone"}),
            "Unknown visibility",
        ),
        "not an annotation": ({"type": "Note", "target": "x"}, "'type' must be 'Annotation'"),
        "no target": ({"type": "Annotation"}, "needs a target"),
        "a reply to nothing here": (
            {
                "type": "Annotation",
                "motivation": "replying",
                "body": {"type": "TextualBody", "value": "Hi"},
                "target": "https://elsewhere.example/1",
            },
            "IRI of an annotation or reply here",
        ),
        "an empty reply": (
            {
                "type": "Annotation",
                "motivation": "replying",
                "target": "NOTE",
            },
            "a reply has no text",
        ),
        "invalid JSON": ('{"type": "Annotation", ', "not valid JSON"),
        "JSON nested too deeply": ("[" * 100_000, "nests its JSON too deeply"),
        "a NUL character": (
            note_json(document, good, body="Hidden\u0000byte"),
            "must not contain the NUL character",
        ),
        "a NUL character in a group's name": (
            note_json(document, good, **{"mrg:visibility": "group", "mrg:group": "a\u0000b"}),
            "annotation.mrg:group must not contain the NUL character",
        ),
        "a JSON list": ("[1, 2]", "a JSON object"),
        "a JSON string": ('"Annotation"', "a JSON object"),
    }


CASES = [
    "wrong quote",
    "quote not in the text",
    "offsets out of range",
    "negative offset",
    "unknown paragraph",
    "unknown colour",
    "body over the limit",
    "a group you are not in",
    "a group that does not exist",
    "unknown visibility",
    "not an annotation",
    "no target",
    "a reply to nothing here",
    "an empty reply",
    "invalid JSON",
    "JSON nested too deeply",
    "a NUL character",
    "a NUL character in a group's name",
    "a JSON list",
    "a JSON string",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_400_with_a_message_and_nothing_is_stored(
    api, author, document, bad_inputs, settings, case
):
    """An unknown colour is refused, not quietly made yellow: the client asked for something
    the site cannot show (an import, by contrast, falls back to yellow: see test_transfer)."""
    settings.ANNOTATION_BODY_MAX_CHARS = 50
    note = make_annotation(author=author, document=document, position=5, body="Existing.")
    before = (stored(), list(Reply.objects.values_list("pk")))
    data, message = bad_inputs[case]
    if isinstance(data, dict) and data.get("target") == "NOTE":
        data = {**data, "target": f"{BASE}/api/annotations/{note.pk}"}
    response = post(api, document, data)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert message in error
    assert (stored(), list(Reply.objects.values_list("pk"))) == before


def test_a_wrong_content_type_is_415(api, document, paragraphs):
    key, text = paragraphs[1]
    data = note_json(document, [quote(text[:9]), in_paragraph(key, 0, 9)])
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = api.post(container_url(document), json.dumps(data), content_type=content_type)
        assert response.status_code == 415, content_type
        assert "application/ld+json" in json.loads(response.content)["error"]
    assert not Annotation.objects.exists()
    # Plain JSON is accepted.
    assert post(api, document, data, content_type="application/json").status_code == 201


def test_a_body_too_large_is_413(api, document):
    response = post(api, document, '{"x": "' + "a" * (1024 * 1024) + '"}')
    assert response.status_code == 413
    assert not Annotation.objects.exists()


def test_an_unknown_colour_in_an_import_falls_back_to_yellow(author, document, paragraphs):
    """The other half of the colour decision above."""

    key, text = paragraphs[1]
    data = note_json(document, [quote(text[:9]), in_paragraph(key, 0, 9)], id="urn:x:1")
    data["target"]["styleClass"] = "c-xxx"
    importing.annotations_import(importer=author, document=document, raw=json.dumps(data).encode())
    assert Annotation.objects.get().colour == "yellow"


# Rate limit -----------------------------------------------------------------------------------


def test_over_the_rate_limit_is_429_with_retry_after(api, document, paragraphs, settings):
    settings.RATE_LIMITS = {"post": [(86400, 2)]}  # a day: no window edge mid-test
    key, text = paragraphs[1]
    for start in (0, 10):
        data = note_json(
            document, [quote(text[start : start + 5]), in_paragraph(key, start, start + 5)]
        )
        assert post(api, document, data).status_code == 201
    data = note_json(document, [quote(text[20:25]), in_paragraph(key, 20, 25)])
    response = post(api, document, data)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 86400
    assert "too often" in json.loads(response.content)["error"]
    assert Annotation.objects.count() == 2


# Authentication -------------------------------------------------------------------------------


@pytest.fixture
def simple_note(document, paragraphs):
    key, text = paragraphs[1]
    return note_json(document, [quote(text[:9]), in_paragraph(key, 0, 9)], body="Hello.")


def test_a_bearer_token_writes_without_csrf(token, document, simple_note, author):
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})
    response = post(client, document, simple_note)
    assert response.status_code == 201, response.content
    assert Annotation.objects.get().author == author


def test_a_session_write_needs_csrf(author, document, simple_note):
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    response = post(client, document, simple_note)
    assert response.status_code == 403
    assert "CSRF" in json.loads(response.content)["error"]
    assert not Annotation.objects.exists()

    secret = _get_new_csrf_string()
    client.cookies[django_settings.CSRF_COOKIE_NAME] = secret
    response = post(client, document, simple_note, headers={"X-CSRFToken": secret})
    assert response.status_code == 201, response.content
    assert Annotation.objects.get().author == author


def test_anonymous_writes_are_401_with_a_challenge(document, simple_note, note):
    client = Client()
    response = post(client, document, simple_note)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "token" in json.loads(response.content)["error"]
    path = f"/api/annotations/{note.pk}"
    etag = client.get(path)["ETag"]  # public: anonymous may read it
    assert client.delete(path, headers={"If-Match": etag}).status_code == 401
    assert Annotation.objects.count() == 1
    assert Annotation.objects.get().status == "active"


def test_a_revoked_token_is_401(author, document, simple_note, note):
    api_token, raw = token_create(user=author, name="old")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get(f"/api/annotations/{note.pk}").status_code == 200
    token_revoke(user=author, token_id=api_token.pk)
    for response in (
        client.get(f"/api/annotations/{note.pk}"),
        post(client, document, simple_note),
    ):
        assert response.status_code == 401
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert Annotation.objects.count() == 1


def test_a_token_sees_what_its_owner_sees(author, outsider, document):
    private = make_annotation(author=author, document=document, body="Mine only.")
    mine = token_create(user=author, name="a")[1]
    theirs = token_create(user=outsider, name="b")[1]
    path = f"/api/annotations/{private.pk}"
    assert Client(headers={"Authorization": f"Bearer {mine}"}).get(path).status_code == 200
    assert Client(headers={"Authorization": f"Bearer {theirs}"}).get(path).status_code == 404


# The description --------------------------------------------------------------------------------

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def spec(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _follow(spec: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_the_schema_is_a_valid_openapi_3_1_description(spec):
    try:
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate is not None:
        validate(spec)
    assert spec["openapi"].startswith("3.1.")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["servers"] == [{"url": BASE}]
    for ref in _refs(spec):
        _follow(spec, ref)
    schemes = spec["components"]["securitySchemes"]
    operation_ids = []
    for path, item in spec["paths"].items():
        assert path.startswith("/")
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert method in METHODS, (path, method)
            operation_ids.append(operation["operationId"])
            params = declared | {
                p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
            }
            assert params == set(re.findall(r"{(\w+)}", path)), (path, method)
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes), (path, method)
            assert operation["responses"], (path, method)
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d|default", status), (path, method, status)
                assert response["description"], (path, method, status)
    assert len(operation_ids) == len(set(operation_ids))


def test_every_described_path_is_served(spec):
    for path in spec["paths"]:
        concrete = path.replace("{slug}", "a-text").replace("{id}", "1")
        try:
            match = resolve(concrete)
        except Resolver404:
            pytest.fail(f"{path} is described but not served")
        assert match.url_name.startswith("api_"), path


def test_the_api_page_renders(client, document):
    response = client.get("/api/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The Marginalia API" in html
    assert 'href="/api/schema/"' in html
    assert f"http://testserver/api/documents/{document.slug}/annotations/" in html
    assert "/api/annotations/{id}" in html
