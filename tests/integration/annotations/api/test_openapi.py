"""A bounded schemathesis run against the API's OpenAPI description finds no server error.

Cases are generated from annotations.api.openapi.description() (valid and invalid ones) and sent to
the Django app through WSGI. Half of them carry a real person's token, name a real document,
annotation or reply, and (for PUT) its current ETag, so that they reach past the 404s into
parsing, placing and the services; the others keep what schemathesis made up.

Everything runs in the test's transaction: Django's handler would otherwise close the database
connection at the end of each request (the test client avoids that the same way).
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from werkzeug.test import Client as WsgiClient

from annotations.api.openapi import description
from annotations.api.tokens import token_create
from annotations.discussions import services as discussion_services
from tests.factories import GroupFactory, UserFactory, make_annotation, make_document

pytestmark = pytest.mark.django_db

SPEC = description("http://testserver")
SCHEMA = schemathesis.openapi.from_dict(SPEC)
OPERATIONS = [
    (path, method.upper())
    for path, item in SPEC["paths"].items()
    for method in item
    if method != "parameters"
]
# Small enough that the whole file runs well under a minute on a busy machine; FUZZ_EXAMPLES
# runs a longer search by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
APP = WSGIHandler()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """A reader with a token, in a group; a document with notes and replies. Built once, rolled
    back after the module's last test."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        reader = UserFactory(username="fuzzer")
        other = UserFactory(username="fuzzed")
        group = GroupFactory(name="Fuzz club", owner=reader)
        document = make_document(paragraphs=5, title="Fuzzed text")
        notes = [
            make_annotation(author=reader, document=document, position=1, body="Mine."),
            make_annotation(
                author=reader, document=document, position=2, visibility="group", group=group
            ),
            make_annotation(author=other, document=document, position=3, visibility="public"),
            discussion_services.discussion_create(
                author=reader, document=document, paragraph_key=None, body="All of it."
            ),
        ]
        replies = [
            discussion_services.reply_create(
                author=other, annotation_id=notes[2].pk, body="Hello."
            ),
            discussion_services.reply_create(author=reader, annotation_id=notes[2].pk, body="Hi."),
        ]
        token = token_create(user=reader, name="fuzz")[1]
        yield {
            "token": token,
            "slug": document.slug,
            "annotation ids": [note.pk for note in notes],
            "reply ids": [reply.pk for reply in replies],
        }
        transaction.set_rollback(True)


@pytest.fixture
def connection_kept_open():
    """Django's handler closes old connections around each request; inside a test's
    transaction that would throw the transaction away."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _real(case, world, path: str, draw) -> None:
    if "slug" in case.path_parameters:
        case.path_parameters["slug"] = world["slug"]
    if "id" in case.path_parameters:
        ids = world["reply ids"] if path.startswith("/api/replies/") else world["annotation ids"]
        case.path_parameters["id"] = draw(st.sampled_from(ids))


def _current_etag(world, path: str, pk: int) -> str:
    # Through the same WSGI door: Django's test client would put back the connection closing.
    response = WsgiClient(APP).get(
        path.replace("{id}", str(pk)),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {world['token']}"},
    )
    return response.headers.get("ETag", '"gone"')


def test_the_description_covers_the_api():
    assert {("/api/documents/{slug}/annotations/", "POST"), ("/api/annotations/{id}", "PUT")} <= (
        set(OPERATIONS)
    )


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_no_server_error(world, connection_kept_open, path, method):
    operation = SCHEMA[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    seen: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, real=st.booleans(), data=st.data())
    def run(case, real, data):
        if real:
            _real(case, world, path, data.draw)
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {world['token']}"}
            if method == "PUT" and data.draw(st.booleans(), label="current ETag"):
                etag = _current_etag(world, path, case.path_parameters["id"])
                case.headers["If-Match"] = etag
        response = case.call(app=APP)
        seen.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])

    run()
    # The run reached the app and got answers, not only refusals of its own making.
    assert seen and all(status < 500 for status in seen)


def test_a_valid_note_through_the_same_door_is_created(world, connection_kept_open):
    """The harness can see a success too: the same WSGI path, a valid POST."""
    operation = SCHEMA["/api/documents/{slug}/annotations/"]["POST"]
    case = operation.Case(
        path_parameters={"slug": world["slug"]},
        headers={"Authorization": f"Bearer {world['token']}"},
        body={
            "type": "Annotation",
            "body": {"type": "TextualBody", "value": "From the fuzz harness."},
            "target": f"http://testserver/documents/{world['slug']}/",
        },
        media_type="application/ld+json",
    )
    response = case.call(app=APP)
    assert response.status_code == 201, response.text
    assert json.loads(response.text)["body"]["value"] == "From the fuzz harness."
