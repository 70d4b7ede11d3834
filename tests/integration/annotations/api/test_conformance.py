"""Every kind of annotation the API emits passes the W3C Web Annotation test suite's MUSTs.

The suite's JSON Schema files live outside the repository (see /work/shared/conformance/
web-annotation/SOURCE.md): WEB_ANNOTATION_TESTS_DIR points at them, or they sit in
../shared/conformance/web-annotation next to the repository. Without them the tests skip with
the reason, except under CI=true, where their absence fails.

Each kind is read three ways: on its own at its IRI (GET /api/annotations/<id> or
/api/replies/<id>), as an item of a collection page (the document's container for notes, the
thread for replies), and as an item of the document's JSON-LD export. An embedded item takes
its enclosing document's @context, as JSON-LD does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client, override_settings

from annotations.discussions import services as discussion_services
from annotations.models import Annotation
from annotations.transfer import importing
from tests.factories import UserFactory, make_annotation, make_document

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]


def _suite_dir() -> Path:
    configured = os.environ.get("WEB_ANNOTATION_TESTS_DIR")
    if configured:
        return Path(configured)
    return REPO.parent / "shared" / "conformance" / "web-annotation"


SUITE = _suite_dir()
PRESENT = (SUITE / "annotations" / "annotationMusts.test").is_file()
MISSING = (
    f"The W3C Web Annotation test suite is not at {SUITE}: set WEB_ANNOTATION_TESTS_DIR to its "
    "folder (the one holding definitions/, annotations/ and collections/)."
)


def _assertions(test_file: str) -> list[str]:
    if not PRESENT:
        return []
    return json.loads((SUITE / test_file).read_text())["assertions"]


ANNOTATION_MUSTS = _assertions("annotations/annotationMusts.test")
COLLECTION_MUSTS = _assertions("collections/collectionMusts.test")
PAGE_MUSTS = _assertions("collections/pages/pageMusts.test")


def _params(assertions: list[str]) -> list:
    """One parameter per assertion, or one that reports the suite missing."""
    if not assertions:
        return [pytest.param(None, id="suite-missing")]
    return [pytest.param(path, id=Path(path).stem) for path in assertions]


def _require_suite() -> None:
    if PRESENT:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(MISSING)
    pytest.skip(MISSING)


# The validator --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assertion:
    path: str
    schema: dict
    assertion_type: str
    expected: str  # "valid" or "invalid"


@pytest.fixture(scope="module")
def validate():
    """validate(assertion path, document) -> list of error messages (empty: as expected)."""
    _require_suite()
    from jsonschema import Draft4Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    definitions = [json.loads(p.read_text()) for p in (SUITE / "definitions").glob("*.json")]
    registry = Registry().with_resources(
        (d["id"], Resource.from_contents(d, default_specification=DRAFT4)) for d in definitions
    )
    checker = FormatChecker()
    loaded: dict[str, Assertion] = {}

    def run(path: str, document: dict) -> list[str]:
        if path not in loaded:
            schema = json.loads((SUITE / path).read_text())
            loaded[path] = Assertion(
                path,
                schema,
                schema.get("assertionType", "must"),
                schema.get("expectedResult", "valid"),
            )
        assertion = loaded[path]
        validator = Draft4Validator(assertion.schema, registry=registry, format_checker=checker)
        errors = [error.message for error in validator.iter_errors(document)]
        valid = not errors
        if valid == (assertion.expected == "valid"):
            return []
        reason = assertion.schema.get("errorMessage", assertion.schema.get("title", path))
        return [f"{assertion.assertion_type.upper()} {path}: {reason} {errors[:3]}"]

    return run


def test_the_suite_holds_all_54_musts():
    _require_suite()
    assert len(ANNOTATION_MUSTS) == 54
    for path in ANNOTATION_MUSTS:
        schema = json.loads((SUITE / path).read_text())
        assert schema.get("assertionType", "must") == "must", path


def test_formats_are_really_checked():
    """Without rfc3987 and rfc3339-validator, 'uri' and 'date-time' would pass anything."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    assert not checker.conforms("not a uri at all", "uri")
    assert checker.conforms("http://testserver/api/annotations/1", "uri")
    assert not checker.conforms("yesterday", "date-time")
    assert checker.conforms("2024-05-01T10:00:00Z", "date-time")


def test_the_validator_refuses_what_breaks_a_must(validate):
    good = {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": "http://testserver/api/annotations/1",
        "type": "Annotation",
        "target": "http://testserver/documents/a/",
    }
    assert validate("annotations/3.1-annotationContextValidated.json", good) == []
    assert validate("annotations/3.1-annotationContextValidated.json", {**good, "@context": "x"})
    assert validate("annotations/3.1-annotationIdValidated.json", {**good, "id": "not a uri"})
    assert validate(
        "annotations/3.2.5-notBodyBodyValue.json", {**good, "body": {}, "bodyValue": ""}
    )
    assert validate(
        "annotations/3.3.1-annotationCreatedValidated.json", {**good, "created": "yesterday"}
    )


# The annotations ------------------------------------------------------------------------------

NOTE_KINDS = [
    "highlight",
    "note",
    "span_note",
    "paragraph_discussion",
    "document_discussion",
    "question",
    "orphan",
]
REPLY_KINDS = ["reply", "nested_reply"]
KINDS = NOTE_KINDS + REPLY_KINDS


@dataclass
class Emitted:
    own: dict  # GET of its IRI
    in_collection: dict  # as an item of a collection page, with that page's @context
    in_export: dict  # as an item of the JSON-LD export, with the export's @context
    collection: dict  # the container (notes) or the thread (replies) it was found in
    export: dict


def _item(collection: dict, iri: str) -> dict:
    page = collection if collection.get("type") == "AnnotationPage" else collection["first"]
    found = [item for item in page["items"] if item["id"] == iri]
    assert len(found) == 1, f"{iri} is not (once) in {collection['id']}"
    return {"@context": collection["@context"], **found[0]}


def _json(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    return json.loads(response.content)


def _build() -> dict[str, Emitted]:
    author = UserFactory(username="conformance-author")
    reader = UserFactory(username="conformance-reader")
    document = make_document(paragraphs=6, title="Conformance text")
    paragraphs = list(document.current_revision.paragraphs.order_by("position"))
    notes: dict[str, Annotation] = {
        "highlight": make_annotation(author=author, document=document, position=1, end=9),
        "note": make_annotation(
            author=author,
            document=document,
            position=2,
            start=0,
            end=12,
            body="A *Markdown* note with a [link](https://example.org) and `code`.",
            tags="metaphor, key idea",
            colour="green",
            visibility="public",
        ),
        "span_note": make_annotation(
            author=author,
            document=document,
            position=3,
            start=5,
            end_position=4,
            end=10,
            body="Runs over two paragraphs.",
        ),
        "paragraph_discussion": discussion_services.discussion_create(
            author=author,
            document=document,
            paragraph_key=paragraphs[4].key,
            body="What is this paragraph for?",
            visibility="public",
        ),
        "document_discussion": discussion_services.discussion_create(
            author=author, document=document, paragraph_key=None, body="On the whole text."
        ),
        "question": discussion_services.discussion_create(
            author=author,
            document=document,
            paragraph_key=paragraphs[5].key,
            body="Why here?",
            is_question=True,
            visibility="public",
        ),
    }
    orphan_file = {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": "https://elsewhere.example/anno/1",
        "type": "Annotation",
        "body": {"type": "TextualBody", "value": "Lost its words."},
        "target": {
            "source": "https://elsewhere.example/text",
            "selector": {"type": "TextQuoteSelector", "exact": "words that are nowhere here"},
        },
    }
    report = importing.annotations_import(
        importer=author, document=document, raw=json.dumps(orphan_file).encode()
    )
    assert len(report.orphans) == 1
    notes["orphan"] = report.orphans[0]
    reply = discussion_services.reply_create(
        author=reader, annotation_id=notes["note"].pk, body="I agree, **strongly**."
    )
    nested = discussion_services.reply_create(
        author=author, annotation_id=notes["note"].pk, body="Thanks.", parent_id=reply.pk
    )

    client = Client()
    client.force_login(author)
    base = "http://testserver"
    container = _json(client.get(f"/api/documents/{document.slug}/annotations/"))
    thread = _json(client.get(f"/api/annotations/{notes['note'].pk}/replies/"))
    response = client.get(f"/documents/{document.slug}/export.jsonld")
    assert response.status_code == 200
    export = json.loads(b"".join(response.streaming_content))

    emitted = {}
    for kind, note in notes.items():
        iri = f"{base}/api/annotations/{note.pk}"
        emitted[kind] = Emitted(
            own=_json(client.get(f"/api/annotations/{note.pk}")),
            in_collection=_item(container, iri),
            in_export=_item(export, iri),
            collection=container,
            export=export,
        )
    for kind, answer in (("reply", reply), ("nested_reply", nested)):
        iri = f"{base}/api/replies/{answer.pk}"
        emitted[kind] = Emitted(
            own=_json(client.get(f"/api/replies/{answer.pk}")),
            in_collection=_item(thread, iri),
            in_export=_item(export, iri),
            collection=thread,
            export=export,
        )
    return emitted


@pytest.fixture(scope="module")
def emitted(django_db_setup, django_db_blocker):
    """Built once, in a transaction rolled back after the module's last test."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        yield _build()
        transaction.set_rollback(True)


def test_each_kind_is_what_it_claims(emitted):
    """The kinds really differ where the model says they do: a test of a highlight that was
    really a note would prove nothing about highlights."""
    own = {kind: emitted[kind].own for kind in KINDS}
    assert "body" not in own["highlight"]
    assert own["highlight"]["motivation"] == "highlighting"
    assert own["note"]["motivation"] == "commenting"
    assert {b.get("purpose") for b in own["note"]["body"]} == {"commenting", "tagging"}
    assert own["note"]["body"][0]["format"] == "text/markdown"
    selectors = own["span_note"]["target"]["selector"]
    assert [s["type"] for s in selectors] == [
        "TextQuoteSelector",
        "TextPositionSelector",
        "RangeSelector",
    ]
    assert own["paragraph_discussion"]["target"]["selector"]["type"] == "FragmentSelector"
    assert isinstance(own["document_discussion"]["target"], str)
    assert own["question"]["motivation"] == "questioning"
    assert own["orphan"]["target"]["selector"]["type"] == "TextQuoteSelector"
    note_iri = own["note"]["id"]
    assert own["reply"]["target"] == note_iri
    assert own["nested_reply"]["target"] == own["reply"]["id"]
    assert {own[k]["motivation"] for k in REPLY_KINDS} == {"replying"}


@pytest.mark.parametrize("assertion", _params(ANNOTATION_MUSTS))
@pytest.mark.parametrize("kind", KINDS)
def test_annotation_must(validate, emitted, kind, assertion):
    _require_suite()
    found = emitted[kind]
    failures = []
    for where, document in (
        ("GET of its IRI", found.own),
        ("item of its collection", found.in_collection),
        ("item of the JSON-LD export", found.in_export),
    ):
        failures += [f"{where}: {message}" for message in validate(assertion, document)]
    assert not failures, "\n".join(failures)


def _collections(emitted) -> dict[str, dict]:
    return {
        "container": emitted["note"].collection,
        "thread": emitted["reply"].collection,
        "export": emitted["note"].export,
    }


@pytest.mark.parametrize("assertion", _params(COLLECTION_MUSTS + PAGE_MUSTS))
@pytest.mark.parametrize("which", ["container", "thread", "export"])
def test_collection_must(validate, emitted, which, assertion):
    """A collection with its first page embedded answers both the collection's and the page's
    MUSTs (the page tests accept 'an Annotation Collection with an embedded Page')."""
    _require_suite()
    assert validate(assertion, _collections(emitted)[which]) == []


@pytest.fixture
def paged(emitted, client, settings):
    """A middle page of the container: next, prev, partOf and startIndex all present."""
    settings.API_PAGE_SIZE = 2
    slug = emitted["note"].own["target"]["source"].rstrip("/").rsplit("/", 1)[-1]
    client.force_login(UserFactory(username="conformance-author"))
    page = _json(client.get(f"/api/documents/{slug}/annotations/", {"page": 1}))
    assert {"next", "prev", "partOf", "startIndex"} <= page.keys()
    return page


@pytest.mark.parametrize("assertion", _params(PAGE_MUSTS))
def test_page_must(validate, paged, assertion):
    _require_suite()
    assert validate(assertion, paged) == []
