"""The JSON-LD serializer and parser: the shapes they read and write, the places their errors
name, and a property: what we write, we read back and place at the very same words. Pure: model
instances are built in memory, never saved."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from annotations import jsonld
from annotations.anchoring import (
    PARAGRAPH_SEPARATOR,
    AnchorError,
    ParagraphText,
    Target,
    Text,
    anchor,
    place,
)
from annotations.jsonld import JsonLdError, parse_annotation, parse_document
from annotations.models import Annotation, Group, Reply
from reader.models import Document

LINKS = jsonld.Links("http://example.test")
DOC = "http://example.test/documents/a-text/"
WHEN = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)


def quote(exact, **context) -> dict:
    return {"type": "TextQuoteSelector", "exact": exact, **context}


def fragment(key, start=None, end=None) -> dict:
    selector = {"type": "FragmentSelector", "value": f"p-{key}"}
    if start is not None:
        selector["refinedBy"] = {"type": "TextPositionSelector", "start": start, "end": end}
    return selector


def annotation(target, **extra) -> dict:
    return {"type": "Annotation", "target": target, **extra}


def on(*selectors, **extra) -> dict:
    return annotation({"source": DOC, "selector": list(selectors)}, **extra)


def refused(data, where="annotation") -> str:
    with pytest.raises(JsonLdError) as error:
        parse_annotation(data, where)
    return str(error.value)


# Reading: shapes --------------------------------------------------------------------------------


def test_words_in_one_paragraph():
    parsed = parse_annotation(
        on(quote("quiet river", prefix="a ", suffix=" runs"), fragment("abc1234", 10, 21))
    )
    selector = parsed.selector
    assert (selector.exact, selector.prefix, selector.suffix) == ("quiet river", "a ", " runs")
    assert (selector.start_key, selector.start_offset, selector.end_key, selector.end_offset) == (
        "abc1234",
        10,
        "abc1234",
        21,
    )
    assert parsed.motivation == "highlighting"
    assert not parsed.is_reply


def test_words_over_paragraphs_as_a_range():
    parsed = parse_annotation(
        on(
            quote("end of one\nstart of two"),
            {"type": "TextPositionSelector", "start": 40, "end": 63},
            {
                "type": "RangeSelector",
                "startSelector": fragment("first", 30, 30),
                "endSelector": fragment("second", 12, 12),
            },
        )
    )
    selector = parsed.selector
    assert (selector.start_key, selector.start_offset, selector.end_key, selector.end_offset) == (
        "first",
        30,
        "second",
        12,
    )
    assert (selector.start, selector.end) == (40, 63)


def test_another_tools_range_leaves_the_quote_to_place_it():
    xpath_range = {
        "type": "RangeSelector",
        "startSelector": {"type": "XPathSelector", "value": "/p[2]"},
        "endSelector": {"type": "XPathSelector", "value": "/p[3]"},
    }
    parsed = parse_annotation(on(xpath_range, {"type": "CssSelector", "value": "p"}, quote("w")))
    assert parsed.selector.exact == "w"
    assert parsed.selector.start_key == ""


def test_a_whole_paragraph_and_the_whole_document():
    paragraph = parse_annotation(on(fragment("abc1234"), body={"value": "Why?"}))
    assert paragraph.selector.paragraph_key == "abc1234"
    assert paragraph.selector.exact == ""
    document = parse_annotation(annotation(DOC, bodyValue="On all of it."))
    assert document.selector is None
    assert document.body == "On all of it."
    assert document.motivation == "commenting"


def test_bodies_tags_colour_and_motivation():
    parsed = parse_annotation(
        on(
            quote("w"),
            motivation=["bookmarking", "questioning"],
            body=[
                "http://example.test/an-image.png",  # a body by reference: nothing to show
                {"type": "TextualBody", "value": " metaphor ", "purpose": "tagging"},
                {"type": "TextualBody", "value": "The *note*.", "format": "text/markdown"},
                {"type": "TextualBody", "value": "A second text body."},
                {"type": "TextualBody", "value": "  ", "purpose": "tagging"},
            ],
        )
    )
    assert parsed.body == "The *note*."
    assert parsed.tags == ["metaphor"]
    assert parsed.motivation == "questioning"
    assert parsed.is_question
    coloured = {**on(quote("w")), "target": {"source": DOC, "selector": quote("w")}}
    coloured["target"]["styleClass"] = "c-green"
    assert parse_annotation(coloured).colour == "green"


def test_odd_values_where_objects_or_names_are_expected_are_left_out():
    broken_range = {
        "type": "RangeSelector",
        "startSelector": {**fragment("k"), "refinedBy": "not an object"},
        "endSelector": {**fragment("k"), "refinedBy": ["nor this"]},
    }
    parsed = parse_annotation(on(quote("w"), broken_range, creator={"name": "A\x00nn"}))
    assert (parsed.selector.exact, parsed.selector.start_key) == ("w", "")
    assert parsed.creator == "Ann"
    reply = parse_annotation(
        annotation({"id": 5, "@id": "urn:x:7"}, motivation="replying", bodyValue="Hi")
    )
    assert reply.reply_to == "urn:x:7"


def test_old_style_keys_are_read():
    parsed = parse_annotation(
        {
            "@type": "oa:Annotation",
            "@id": "urn:x:1",
            "body": {"chars": "Old Open Annotation body."},
            "target": {"source": DOC, "selector": quote("w")},
        }
    )
    assert (parsed.source_id, parsed.body) == ("urn:x:1", "Old Open Annotation body.")


@pytest.mark.parametrize(
    ("creator", "name"),
    [
        ({"type": "Person", "name": "Ann", "nickname": "ann"}, "Ann"),
        ({"type": "Person", "nickname": "ann"}, "ann"),
        ([{"id": "http://x/ann"}, {"name": "Bob"}], "http://x/ann"),
        ("http://x/people/ann", "http://x/people/ann"),
        (None, ""),
    ],
)
def test_the_creators_name(creator, name):
    assert parse_annotation(on(quote("w"), creator=creator)).creator == name


def test_dates_and_ids():
    parsed = parse_annotation(on(quote("w"), id="urn:a", created="2024-05-01T10:30:00Z"))
    assert parsed.created == WHEN
    assert parse_annotation(on(quote("w"), created="last spring")).created is None
    # Without an id, the same content gives the same id (importing twice adds nothing twice).
    first = parse_annotation(on(quote("w"), bodyValue="x")).source_id
    assert first == parse_annotation(on(quote("w"), bodyValue="x")).source_id
    assert first != parse_annotation(on(quote("w"), bodyValue="y")).source_id
    assert first.startswith("urn:sha256:")


def test_a_reply():
    parsed = parse_annotation(
        annotation(
            "http://example.test/api/annotations/7",
            motivation="replying",
            body={"type": "TextualBody", "value": "Indeed."},
        )
    )
    assert parsed.is_reply
    assert (parsed.reply_to, parsed.body, parsed.selector) == (
        "http://example.test/api/annotations/7",
        "Indeed.",
        None,
    )


# Reading: errors name their place ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "annotation must be a JSON object."),
        ({"target": DOC}, "annotation: 'type' must be 'Annotation'."),
        ({"type": "Annotation"}, "annotation.target: an annotation needs a target."),
        (annotation(42), "annotation.target must be an IRI or an object."),
        (on(quote("w"), "p-1"), "annotation.target.selector[1] must be an object."),
        (on(quote("")), "annotation.target.selector[0]: a TextQuoteSelector needs its 'exact'"),
        (on(quote(["w"])), "annotation.target.selector[0].exact must be a string."),
        (on(quote("w", prefix=3)), "annotation.target.selector[0].prefix must be a string."),
        (
            on(quote("w"), {"type": "TextPositionSelector", "start": -1, "end": 3}),
            "annotation.target.selector[1].start must be a whole number, zero or more.",
        ),
        (
            on(quote("w"), {"type": "TextPositionSelector", "start": 1.5, "end": 3}),
            "annotation.target.selector[1].start must be a whole number",
        ),
        (
            on(quote("w"), {"type": "TextPositionSelector", "start": True, "end": 3}),
            "annotation.target.selector[1].start must be a whole number",
        ),
        (
            on(quote("w"), fragment("k", 0, -2)),
            "annotation.target.selector[1].refinedBy.end must be a whole number",
        ),
        (
            on({"type": "FragmentSelector", "value": "page=3"}),
            "annotation.target.selector[0]: a FragmentSelector here names a paragraph",
        ),
        (
            on({"type": "TextPositionSelector", "start": 0, "end": 3}),
            "annotation.target: the target has no TextQuoteSelector",
        ),
        (
            on(quote("w"), motivation="replying", bodyValue="Hi"),
            "annotation: a reply's target is the IRI of what it answers.",
        ),
        (annotation(DOC, motivation="replying"), "annotation: a reply has no text."),
        (annotation(DOC, body=7), "annotation.body[0] must be an object."),
        (annotation(DOC, body=[{}, {"value": 7}]), "annotation.body[1].value must be a string."),
        (annotation(DOC, bodyValue=["x"]), "annotation.bodyValue must be a string."),
        (annotation(DOC, **{"mrg:visibility": 1}), "annotation.mrg:visibility must be a string."),
        (annotation(DOC, id=5), "annotation.id must be a string."),
        (
            on(quote("a\x00b")),
            "annotation.target.selector[0].exact must not contain the NUL character",
        ),
        (
            annotation({"id": 5, "source": ["x"]}, motivation="replying", bodyValue="Hi"),
            "annotation: a reply's target is the IRI of what it answers.",
        ),
    ],
)
def test_errors_say_where(data, message):
    assert refused(data).startswith(message)


# Reading whole files ----------------------------------------------------------------------------


def _note(n: int) -> dict:
    return on(quote(f"words {n}"), id=f"urn:n:{n}")


@pytest.mark.parametrize(
    "shape",
    [
        [_note(1), _note(2), _note(3)],
        {"type": "AnnotationPage", "items": [_note(1), _note(2), _note(3)]},
        {
            "type": ["BasicContainer", "AnnotationCollection"],
            "first": {
                "type": "AnnotationPage",
                "items": [_note(1), _note(2)],
                "next": {"type": "AnnotationPage", "items": [_note(3)]},
            },
        },
        [[_note(1)], {"type": "AnnotationPage", "items": [_note(2)]}, _note(3)],
    ],
    ids=["list", "page", "collection with pages", "nested"],
)
def test_every_shape_of_file(shape):
    parsed = parse_document(json.dumps(shape), limit=10)
    assert [p.source_id for p in parsed] == ["urn:n:1", "urn:n:2", "urn:n:3"]


def test_one_annotation_alone():
    assert [p.source_id for p in parse_document(json.dumps(_note(1)), limit=1)] == ["urn:n:1"]


def test_an_error_deep_in_a_collection_names_its_path():
    collection = {
        "type": "AnnotationCollection",
        "first": {
            "type": "AnnotationPage",
            "items": [_note(1)],
            "next": {"type": "AnnotationPage", "items": [_note(2), {"type": "Annotation"}]},
        },
    }
    with pytest.raises(JsonLdError) as error:
        parse_document(json.dumps(collection), limit=10)
    assert str(error.value) == ("file.first.next.items[1].target: an annotation needs a target.")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "The file is not valid JSON"),
        (b"\xff\xfe\x00garbage", "The file is not valid JSON"),
        (b"[]", "The file holds no annotations."),
        (b'"a string"', "file: expected a JSON object or list of annotations."),
        (b'{"type": "Book"}', "file: not a Web Annotation"),
        (
            b'{"type": "AnnotationCollection", "first": "http://x/?page=0"}',
            "file: the collection's pages are not embedded",
        ),
        (json.dumps([_note(n) for n in range(3)]).encode(), "The file holds more than 2"),
    ],
)
def test_file_errors(raw, message):
    with pytest.raises(JsonLdError) as error:
        parse_document(raw, limit=2)
    assert str(error.value).startswith(message)


HYPOTHESIS_ROW = {
    "id": "Zx1",
    "created": "2024-05-01T10:30:00.000000+00:00",
    "user": "acct:reader@hypothes.is",
    "uri": "https://example.org/page",
    "text": "A note.",
    "tags": ["One", " ", 3],
    "target": [
        {
            "source": "https://example.org/page",
            "selector": [
                {"type": "RangeSelector", "startContainer": "/p[1]", "startOffset": 0},
                {"type": "TextPositionSelector", "start": 5, "end": 15},
                {"type": "TextQuoteSelector", "exact": "the words", "prefix": "in ", "suffix": "."},
            ],
        }
    ],
}


def test_hypothesis_export_and_search_result():
    reply = {"id": "Zx2", "text": "Yes.", "references": ["Zx1"], "user": "acct:b@hypothes.is"}
    page_note = {"id": "Zx3", "text": "On the page.", "target": [{"source": "https://x"}]}
    for wrapper in ("annotations", "rows"):
        parsed = parse_document(json.dumps({wrapper: [HYPOTHESIS_ROW, reply, page_note]}), limit=10)
        note, answer, whole = parsed
        assert (note.source_id, note.body, note.tags, note.creator) == (
            "Zx1",
            "A note.",
            ["One"],
            "reader@hypothes.is",
        )
        assert (note.selector.exact, note.selector.prefix, note.selector.start) == (
            "the words",
            "in ",
            5,
        )
        assert note.created == WHEN
        assert (answer.reply_to, answer.motivation) == ("Zx1", "replying")
        assert whole.selector is None and whole.motivation == "commenting"
    named = {**HYPOTHESIS_ROW, "user_info": {"display_name": "Reader Name"}}
    assert parse_document(json.dumps({"rows": [named]}), limit=1)[0].creator == "Reader Name"
    highlight = {**HYPOTHESIS_ROW, "text": "", "tags": []}
    assert parse_document(json.dumps({"rows": [highlight]}), limit=1)[0].motivation == (
        "highlighting"
    )


@pytest.mark.parametrize(
    ("user_info", "creator"),
    [
        ("Reader", "reader@hypothes.is"),
        ({"display_name": 7}, "reader@hypothes.is"),
        ({"display_name": "  "}, "reader@hypothes.is"),
        ({"display_name": "R\x00ita"}, "Rita"),
    ],
)
def test_a_hypothesis_creator_from_odd_user_info(user_info, creator):
    row = {**HYPOTHESIS_ROW, "user_info": user_info}
    assert parse_document(json.dumps({"rows": [row]}), limit=1)[0].creator == creator


def test_json_nested_too_deeply_is_refused_not_crashed_on():
    with pytest.raises(JsonLdError) as error:
        parse_document("[" * 100_000, limit=5)
    assert "too deeply" in str(error.value)
    # Lists in lists are read, as deep as is reasonable.
    assert len(parse_document(json.dumps(_nested(_note(1), 50)), limit=5)) == 1


def _nested(value, depth: int):
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "r", "text": " ", "references": ["a"]}, "file.rows[0]: a reply has no text."),
        ({"id": "p", "text": ""}, "file.rows[0]: a page note has no text."),
        (
            {
                "id": "q",
                "text": "x",
                "target": [{"selector": [{"type": "TextPositionSelector", "start": 1, "end": 2}]}],
            },
            "file.rows[0]: the target has no quote",
        ),
        ({"id": 5}, "file.rows[0].id must be a string."),
        ("not an object", "file.rows[0] must be a JSON object."),
    ],
)
def test_hypothesis_errors(row, message):
    with pytest.raises(JsonLdError) as error:
        parse_document(json.dumps({"rows": [row]}), limit=5)
    assert str(error.value).startswith(message)


# Writing ----------------------------------------------------------------------------------------


class InMemoryText(jsonld.DocumentText):
    """A DocumentText over paragraphs in memory (the real one reads them from the database)."""

    def __init__(self, texts: list[str]) -> None:
        self.starts = {}
        offset = 0
        for position, text in enumerate(texts):
            self.starts[position] = offset
            offset += len(text) + len(PARAGRAPH_SEPARATOR)


def unsaved_note(**fields) -> Annotation:
    values = {
        "pk": 7,
        "document": Document(slug="a-text", title="A text"),
        "author": User(username="ann"),
        "revision_id": 1,
        "kind": Annotation.Kind.SPAN,
        "start_key": "k0",
        "start_offset": 0,
        "start_position": 0,
        "end_key": "k0",
        "end_offset": 5,
        "end_position": 0,
        "exact": "Quiet",
        "colour": "blue",
        "created_at": WHEN,
        "updated_at": WHEN,
        **fields,
    }
    return Annotation(**values)


def serialized(note: Annotation, texts: list[str] | None = None) -> dict:
    store = jsonld.Texts()
    store[note.revision_id] = InMemoryText(texts or ["Quiet river."])
    return jsonld.annotation_to_jsonld(note, links=LINKS, texts=store)


def test_a_highlight_and_a_note():
    highlight = serialized(unsaved_note())
    assert highlight["@context"] == ["http://www.w3.org/ns/anno.jsonld", {"mrg": "urn:marginalia:"}]
    assert highlight["id"] == "http://example.test/api/annotations/7"
    assert highlight["motivation"] == "highlighting"
    assert "body" not in highlight
    assert highlight["created"] == "2024-05-01T10:30:00Z"
    assert highlight["creator"] == {"type": "Person", "nickname": "ann"}
    assert highlight["target"]["styleClass"] == "c-blue"
    assert ".c-blue" in highlight["stylesheet"]["value"]
    assert highlight["mrg:visibility"] == "private"
    assert "mrg:group" not in highlight and "mrg:status" not in highlight

    tagged = serialized(unsaved_note(tags=["a", "b"]))
    assert tagged["motivation"] == "tagging"
    assert [b["value"] for b in tagged["body"]] == ["a", "b"]

    note = serialized(
        unsaved_note(
            body="Hi *there*.",
            group=Group(pk=3, slug="club"),
            visibility="group",
            status="hidden",
            source_creator="Original Author",
        )
    )
    assert note["body"] == {
        "type": "TextualBody",
        "value": "Hi *there*.",
        "format": "text/markdown",
        "purpose": "commenting",
    }
    assert (note["mrg:group"], note["mrg:status"]) == ("club", "hidden")
    assert note["creator"] == {"type": "Person", "nickname": "ann", "name": "Original Author"}
    assert serialized(unsaved_note(body="?", is_question=True))["motivation"] == "questioning"


def test_discussions_and_orphans_target_what_they_are_on():
    document = serialized(
        unsaved_note(kind="document", start_key="", end_key="", exact="", body="x")
    )
    assert document["target"] == DOC
    assert "stylesheet" not in document
    paragraph = serialized(unsaved_note(kind="paragraph", exact="", end_offset=0, body="x"))
    assert paragraph["target"]["selector"] == {
        "type": "FragmentSelector",
        "conformsTo": "http://tools.ietf.org/rfc/rfc3986",
        "value": "p-k0",
    }
    orphan = serialized(unsaved_note(kind="orphan", start_key="", exact="lost", prefix="p"))
    assert orphan["target"]["selector"] == {
        "type": "TextQuoteSelector",
        "exact": "lost",
        "prefix": "p",
    }


def test_a_reply_targets_what_it_answers():
    note = unsaved_note()
    first = Reply(pk=11, annotation=note, author=User(username="bob"), body="Yes.", created_at=WHEN)
    nested = Reply(
        pk=12,
        annotation=note,
        parent=first,
        author=User(username="ann"),
        body="No.",
        created_at=WHEN,
        edited_at=datetime(2024, 6, 1, tzinfo=UTC),
    )
    data = jsonld.reply_to_jsonld(first, links=LINKS, context=False)
    assert "@context" not in data
    assert (data["id"], data["target"], data["motivation"]) == (
        "http://example.test/api/replies/11",
        "http://example.test/api/annotations/7",
        "replying",
    )
    later = jsonld.reply_to_jsonld(nested, links=LINKS)
    assert later["target"] == "http://example.test/api/replies/11"
    assert later["modified"] == "2024-06-01T00:00:00Z"
    assert parse_annotation(later).reply_to == later["target"]


# The property: written, read, placed -- the same words ------------------------------------------

PARAGRAPH_TEXT = st.text(
    alphabet=st.sampled_from(list("ab cdé Ω,.-*\u00a0\U0001f600")), min_size=1, max_size=25
)


@st.composite
def spans(draw):
    texts = draw(st.lists(PARAGRAPH_TEXT, min_size=1, max_size=5))
    first = draw(st.integers(0, len(texts) - 1))
    last = draw(st.integers(first, min(first + 2, len(texts) - 1)))
    start = draw(st.integers(0, len(texts[first])))
    end = draw(st.integers(0, len(texts[last])))
    assume((first, start) < (last, end))
    return texts, first, start, last, end


def _stored(texts, first, start, last, end) -> Annotation:
    """What annotation_create would store for that span (or nothing: assume() skips it)."""
    keys = [f"k{n}" for n in range(len(texts))]
    paragraphs = {
        key: ParagraphText(n, text) for n, (key, text) in enumerate(zip(keys, texts, strict=True))
    }
    if first == last:
        words = texts[first][start:end]
    else:
        pieces = [texts[first][start:], *texts[first + 1 : last], texts[last][:end]]
        words = PARAGRAPH_SEPARATOR.join(pieces)
    try:
        anchored = anchor(Target(keys[first], start, keys[last], end, words), paragraphs, keys)
    except AnchorError:
        assume(False)
    return unsaved_note(
        start_key=anchored.start_key,
        start_offset=anchored.start_offset,
        start_position=anchored.start_position,
        end_key=anchored.end_key,
        end_offset=anchored.end_offset,
        end_position=anchored.end_position,
        exact=anchored.exact,
        prefix=anchored.prefix,
        suffix=anchored.suffix,
    )


@settings(max_examples=300, deadline=None)
@given(spans(), st.booleans())
def test_written_read_and_placed_at_the_same_words(span, paragraph_selectors):
    """With our paragraph selectors, or -- as another tool that kept only the standard ones
    would send it back -- with the quote and the position in the whole text alone."""
    texts = span[0]
    note = _stored(*span)
    data = json.loads(json.dumps(serialized(note, texts)))
    if not paragraph_selectors:
        selectors = data["target"]["selector"]
        data["target"]["selector"] = [
            s for s in selectors if s["type"] in ("TextQuoteSelector", "TextPositionSelector")
        ]
    parsed = parse_annotation(data)
    placed = place(parsed.selector, Text([(f"k{n}", t) for n, t in enumerate(texts)]))
    assert placed == Target(
        note.start_key, note.start_offset, note.end_key, note.end_offset, note.exact
    )


# The property: whatever a file holds, the parser answers or says what is wrong -----------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**12) | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
# Odd values, and the words the parser looks for, in the places it looks for them.
WORDS = st.sampled_from(
    [
        "Annotation",
        "TextQuoteSelector",
        "TextPositionSelector",
        "FragmentSelector",
        "RangeSelector",
        "TextualBody",
        "tagging",
        "replying",
        "questioning",
        "p-abc",
        "c-green",
        "acct:x@hypothes.is",
        "urn:x:1",
        "a\x00b",
    ]
)
VALUE = (
    st.none()
    | st.booleans()
    | st.integers(-2, 40)
    | st.text(max_size=5)
    | WORDS
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers())
)
SELECTOR = st.deferred(
    lambda: st.fixed_dictionaries(
        {"type": WORDS | VALUE},
        optional=dict.fromkeys(
            (
                "exact",
                "prefix",
                "start",
                "end",
                "value",
                "refinedBy",
                "startSelector",
                "endSelector",
            ),
            VALUE | SELECTOR,
        ),
    )
)
TARGET = VALUE | st.fixed_dictionaries(
    {},
    optional={
        "source": VALUE,
        "id": VALUE,
        "styleClass": VALUE,
        "selector": SELECTOR | st.lists(SELECTOR | VALUE, max_size=3) | VALUE,
    },
)
BODY = VALUE | st.fixed_dictionaries(
    {}, optional={"type": VALUE, "value": VALUE, "purpose": VALUE, "chars": VALUE}
)
ANNOTATION = st.fixed_dictionaries(
    {"type": st.just("Annotation") | VALUE},
    optional={
        "id": VALUE,
        "motivation": VALUE | st.lists(VALUE, max_size=2),
        "target": TARGET,
        "body": BODY | st.lists(BODY, max_size=3),
        "bodyValue": VALUE,
        "creator": VALUE | st.lists(VALUE, max_size=2),
        "created": VALUE,
        "mrg:visibility": VALUE,
        "mrg:group": VALUE,
    },
)
HYPOTHESIS = st.fixed_dictionaries(
    {},
    optional={
        "id": VALUE,
        "text": VALUE,
        "tags": VALUE | st.lists(VALUE, max_size=3),
        "references": VALUE | st.lists(VALUE, max_size=2),
        "user": VALUE,
        "user_info": VALUE,
        "created": VALUE,
        "target": st.lists(TARGET, max_size=2) | VALUE,
    },
)
FILES = st.one_of(
    ANNOTATION,
    st.lists(ANNOTATION | VALUE, max_size=3),
    st.fixed_dictionaries({"type": st.just("AnnotationPage"), "items": st.lists(ANNOTATION)}),
    st.fixed_dictionaries(
        {"type": st.just("AnnotationCollection")},
        optional={
            "first": VALUE
            | st.fixed_dictionaries(
                {"type": st.just("AnnotationPage")},
                optional={"items": st.lists(ANNOTATION | VALUE, max_size=3), "next": VALUE},
            )
        },
    ),
    st.fixed_dictionaries({"annotations": st.lists(HYPOTHESIS | VALUE, max_size=3)}),
    st.fixed_dictionaries({"rows": st.lists(HYPOTHESIS, max_size=3)}),
    JSON,
)


@settings(max_examples=500, deadline=None)
@given(FILES)
def test_any_json_is_read_or_refused_with_a_message(value):
    """Never a crash: a file is read, or refused with a message (an import's 400), whatever it
    holds."""
    try:
        parse_document(json.dumps(value), limit=50)
    except JsonLdError as error:
        assert str(error)
