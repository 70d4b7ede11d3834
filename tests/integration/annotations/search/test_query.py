"""Full-text search: annotations.search.search, the /search/ page and /api/search.

What a reader would notice: web-search syntax, ranking, highlighted and escaped snippets, each
filter, paging, stemming in the document's language, clear refusals of bad parameters, and a
constant number of queries. Who sees what is in test_search_permissions.py.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.discussions import services as discussion_services
from annotations.groups import services as group_services
from annotations.models import Annotation, Reply
from annotations.notes import services as note_services
from annotations.search import query as search_module
from annotations.search.query import SearchError, SearchQuery, search
from reader.models import Paragraph, Revision
from reader.services import document_import
from tests.factories import make_annotation, make_private

pytestmark = pytest.mark.django_db

TEXT = """# The harbour book

The quiet river runs past the lantern garden every morning.

The river was quiet, and the garden lantern was out.

A careful reader keeps a notebook of evidence.

Nothing in this paragraph is about anything in particular.
"""

FRENCH = """# Le livre

Les chevaux galopent dans la prairie.

Une phrase sans rapport avec le reste.
"""


@pytest.fixture
def book(author):
    return document_import(source=TEXT, fmt="markdown", title="Harbour book", imported_by=author)


def paragraph(document, position: int) -> Paragraph:
    return document.current_revision.paragraphs.get(position=position)


def note(author, document, body: str, *, position: int = 4, **fields) -> Annotation:
    """A note on the first words of a paragraph (by default the one about nothing)."""
    return make_annotation(
        author=author, document=document, position=position, start=0, end=7, body=body, **fields
    )


def found(page) -> list[tuple[str, int | str]]:
    """(kind, id or paragraph key) of each result, in order."""
    return [(r.kind, r.reply_id or r.annotation_id or r.paragraph_key) for r in page.results]


def kinds_and_keys(page) -> set[tuple[str, str]]:
    return {(r.kind, r.paragraph_key) for r in page.results}


# Web-search syntax ----------------------------------------------------------------------------


def test_phrase_in_quotes_matches_the_words_side_by_side_only(book, author):
    page = search(author, SearchQuery(q='"quiet river"', kind="text"))
    assert kinds_and_keys(page) == {("paragraph", paragraph(book, 1).key)}
    # Both words, in any order: both paragraphs.
    page = search(author, SearchQuery(q="quiet river", kind="text"))
    assert kinds_and_keys(page) == {
        ("paragraph", paragraph(book, 1).key),
        ("paragraph", paragraph(book, 2).key),
    }


def test_minus_word_leaves_out_what_contains_it(book, author):
    page = search(author, SearchQuery(q="river -morning", kind="text"))
    assert kinds_and_keys(page) == {("paragraph", paragraph(book, 2).key)}


def test_or_finds_either_word(book, author):
    page = search(author, SearchQuery(q="notebook or morning", kind="text"))
    assert kinds_and_keys(page) == {
        ("paragraph", paragraph(book, 1).key),
        ("paragraph", paragraph(book, 3).key),
    }


def test_stemming_finds_other_forms_of_a_word(book, author):
    page = search(author, SearchQuery(q="runs rivers", kind="text"))
    assert kinds_and_keys(page) == {("paragraph", paragraph(book, 1).key)}


# Ranking and snippets -------------------------------------------------------------------------


def test_results_are_ranked_best_first_across_kinds(book, author):
    once = note(author, book, "A zephyr, and then a long list of other words about other things.")
    often = note(author, book, "Zephyr zephyr zephyr.", visibility="public")
    reply = discussion_services.reply_create(
        author=author, annotation_id=often.pk, body="Zephyr again, zephyr twice."
    )
    page = search(author, SearchQuery(q="zephyr"))
    assert found(page) == [("note", often.pk), ("reply", reply.pk), ("note", once.pk)]
    ranks = [r.rank for r in page.results]
    assert ranks == sorted(ranks, reverse=True) and ranks[-1] > 0


def test_snippet_marks_the_matching_words(book, author):
    note(author, book, "The lantern keeper counts lanterns at dusk.")
    (result,) = search(author, SearchQuery(q="lantern", kind="notes")).results
    assert str(result.snippet_html) == (
        "The <mark>lantern</mark> keeper counts <mark>lanterns</mark> at dusk."
    )


def test_snippet_escapes_html_in_the_text(book, author):
    body = 'Quokka <script>alert("quokka")</script> & <b onclick="x()">bold</b> quokka'
    note(author, book, body)
    (result,) = search(author, SearchQuery(q="quokka", kind="notes")).results
    html = str(result.snippet_html)
    assert "<script" not in html and "<b " not in html
    assert "&lt;script&gt;" in html and "&amp;" in html and "&quot;" in html
    assert re.sub(r"</?mark>", "", html).count("<") == 0
    assert html.lower().count("<mark>quokka</mark>") == 2


def test_sentinel_characters_in_a_note_cannot_make_marks(book, author):
    note(author, book, "Quokka \ue000fake\ue001 words")
    (result,) = search(author, SearchQuery(q="quokka", kind="notes")).results
    assert str(result.snippet_html) == "<mark>Quokka</mark> fake words"


def test_snippet_of_a_long_paragraph_is_cut_around_the_match(author):
    words = " ".join(f"filler{n}" for n in range(200))
    document_import(
        source=f"{words} albatross {words}", fmt="text", title="Long", imported_by=author
    )
    (result,) = search(author, SearchQuery(q="albatross", kind="text")).results
    assert "<mark>albatross</mark>" in result.snippet_html
    assert len(result.snippet_html.split()) < 80


# What each kind of result says, and where it links --------------------------------------------


def test_result_fields_and_links(book, author):
    body_note = note(author, book, "A heron stands still.", visibility="public")
    reply = discussion_services.reply_create(
        author=author, annotation_id=body_note.pk, body="The heron left."
    )
    results = {r.kind: r for r in search(author, SearchQuery(q="heron")).results}
    key = paragraph(book, 4).key
    n, r = results["note"], results["reply"]
    assert (n.document_slug, n.document_title, n.paragraph_key) == (book.slug, "Harbour book", key)
    assert (n.annotation_id, n.reply_id, n.author) == (body_note.pk, None, "author")
    assert n.paragraph_number == r.paragraph_number == 5
    # Placed notes and their replies link to the reading page, the note's mark focused.
    assert n.url == f"/documents/{book.slug}/?note={body_note.pk}#p-{key}"
    assert n.created_at == body_note.created_at
    assert (r.annotation_id, r.reply_id, r.paragraph_key) == (body_note.pk, reply.pk, key)
    assert r.url == f"/documents/{book.slug}/?note={body_note.pk}#p-{key}"

    (p,) = search(author, SearchQuery(q="notebook")).results
    assert (p.kind, p.paragraph_key, p.paragraph_number, p.author, p.created_at) == (
        "paragraph",
        paragraph(book, 3).key,
        4,
        "",
        None,
    )
    assert p.url == f"/documents/{book.slug}/#p-{paragraph(book, 3).key}"


def test_document_discussions_and_orphans_are_found_with_no_paragraph(book, author):
    discussion = discussion_services.discussion_create(
        author=author, document=book, paragraph_key=None, body="A puffin question."
    )
    orphan = note(author, book, "A puffin that lost its words.")
    Annotation.objects.filter(pk=orphan.pk).update(kind=Annotation.Kind.ORPHAN)
    results = search(author, SearchQuery(q="puffin")).results
    assert {(r.annotation_id, r.paragraph_key, r.paragraph_number) for r in results} == {
        (discussion.pk, "", None),
        (orphan.pk, "", None),
    }
    assert {r.url for r in results} == {
        f"/annotations/{discussion.pk}/",
        f"/annotations/{orphan.pk}/",
    }


def test_only_the_current_revision_text_is_found(book, author):
    old = book.current_revision
    new = Revision.objects.create(document=book, number=2, source_format="text", source_text="x")
    Paragraph.objects.create(
        revision=new,
        position=0,
        key="k0",
        text="A brand new cormorant.",
        html="A brand new cormorant.",
    )
    Paragraph.objects.create(
        revision=old, position=99, key="old", text="An old cormorant.", html="An old cormorant."
    )
    book.current_revision = new
    book.save(update_fields=["current_revision"])
    assert kinds_and_keys(search(author, SearchQuery(q="cormorant"))) == {("paragraph", "k0")}


def test_the_page_asks_the_policy_again_for_its_rows(book, author, outsider):
    """A note made private between finding it and showing it is not shown."""
    private = note(author, book, "A secret sandpiper.")
    hits = [search_module._Hit("note", private.pk, 1.0)]
    assert search_module._details(outsider, hits, "sandpiper", recheck=True) == {}
    found = search_module._details(author, hits, "sandpiper", recheck=True)
    assert set(found) == {("note", private.pk)}


def test_deleted_notes_are_never_found(book, author):
    gone = note(author, book, "A kestrel.")
    note_services.annotation_delete(annotation_id=gone.pk, by=author)
    assert search(author, SearchQuery(q="kestrel")).total == 0


# Filters --------------------------------------------------------------------------------------


@pytest.fixture
def filtered(book, author, member, club):
    """Notes and replies with the word 'osprey' that differ in one filter each."""
    other = document_import(
        source="# Other\n\nAn osprey over the other document.", fmt="markdown", title="Other"
    )
    made = {
        "club": note(author, book, "Osprey in the club.", visibility="group", group=club),
        "public": note(author, book, "Osprey in public.", visibility="public", tags="birds"),
        "member": note(member, book, "Osprey by the member.", visibility="public"),
        "other": note(author, other, "Osprey elsewhere.", position=1, visibility="public"),
    }
    made["reply"] = discussion_services.reply_create(
        author=member, annotation_id=made["public"].pk, body="An osprey reply."
    )
    old = timezone.now() - timedelta(days=40)
    Annotation.objects.filter(pk=made["member"].pk).update(created_at=old)
    return made, other


def ids(page) -> set:
    return {(r.kind, r.reply_id or r.annotation_id or r.document_slug) for r in page.results}


def test_every_filter_alone_and_combined(filtered, book, author, club):
    made, other = filtered
    every_note = {("note", made[k].pk) for k in ("club", "public", "member", "other")}
    reply = ("reply", made["reply"].pk)
    text = {("paragraph", other.slug)}

    def run(**filters):
        return ids(search(author, SearchQuery(q="osprey", **filters)))

    assert run() == every_note | {reply} | text
    assert run(kind="notes") == every_note
    assert run(kind="replies") == {reply}
    assert run(kind="text") == text
    assert run(document=book.slug) == every_note - {("note", made["other"].pk)} | {reply}
    assert run(document=other.slug) == {("note", made["other"].pk)} | text
    assert run(group=club.slug) == {("note", made["club"].pk)}
    assert run(author="member") == {("note", made["member"].pk), reply}
    assert run(tag="birds") == {("note", made["public"].pk), reply}  # a reply goes by its note
    today = timezone.localdate()
    recent = run(since=today - timedelta(days=7))
    assert recent == every_note - {("note", made["member"].pk)} | {reply}  # no text: no date
    assert run(until=today - timedelta(days=7)) == {("note", made["member"].pk)}
    assert run(since=today, until=today) == recent
    assert run(kind="notes", author="author", document=book.slug) == {
        ("note", made["club"].pk),
        ("note", made["public"].pk),
    }
    assert run(document="no-such-document") == set()
    assert run(author="nobody-by-that-name") == set()


def test_the_tag_filter_is_spelled_as_tags_are_stored(client, filtered):
    made, _ = filtered
    items = client.get("/api/search", {"q": "osprey", "tag": "#Birds"}).json()["items"]
    assert {(item["type"], item["id"].rsplit("/", 1)[1]) for item in items} == {
        ("note", str(made["public"].pk)),
        ("reply", str(made["reply"].pk)),
    }


def test_filters_never_widen_what_a_person_may_see(filtered, outsider, club):
    made, _ = filtered
    assert search(outsider, SearchQuery(q="osprey", group=club.slug)).total == 0
    seen = ids(search(outsider, SearchQuery(q="osprey", kind="notes")))
    assert ("note", made["club"].pk) not in seen


# Paging and counting --------------------------------------------------------------------------


def test_paging(book, author):
    made = [note(author, book, f"Grebe number {n}.", visibility="public") for n in range(25)]
    first = search(author, SearchQuery(q="grebe"), page=1, per_page=10)
    second = search(author, SearchQuery(q="grebe"), page=2, per_page=10)
    third = search(author, SearchQuery(q="grebe"), page=3, per_page=10)
    assert (first.total, first.has_next, first.has_previous) == (25, True, False)
    assert (len(third.results), third.has_next, third.has_previous) == (5, False, True)
    seen = [r.annotation_id for p in (first, second, third) for r in p.results]
    assert sorted(seen) == sorted(n.pk for n in made)
    assert search(author, SearchQuery(q="grebe"), page=4, per_page=10).results == []


def test_counts_stop_at_the_cap(book, author, monkeypatch):
    monkeypatch.setattr(search_module, "COUNT_CAP", 3)
    monkeypatch.setattr(search_module, "CANDIDATES", 4)
    for n in range(5):
        note(author, book, f"Plover {n}.")
    page = search(author, SearchQuery(q="plover", kind="notes"), per_page=2)
    assert (page.total, page.capped, page.total_display, page.has_next) == (3, True, "3+", True)


def test_replies_beyond_the_scan_are_reported_as_a_floor(book, author, monkeypatch):
    monkeypatch.setattr(search_module, "REPLY_SCAN", 2)
    thread = note(author, book, "A thread.", visibility="public")
    for n in range(4):
        discussion_services.reply_create(
            author=author, annotation_id=thread.pk, body=f"Curlew {n}."
        )
    page = search(author, SearchQuery(q="curlew", kind="replies"))
    # Three were looked at (one more than the scan, to know there are more): "3+".
    assert (page.total, page.capped, page.total_display) == (3, True, "3+")


def test_a_search_takes_the_same_queries_whatever_the_number_of_results(book, author):
    def queries(word: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            page = search(author, SearchQuery(q=word))
        assert page.results
        return len(captured)

    thread = note(author, book, "Gannet.", visibility="public")
    discussion_services.reply_create(author=author, annotation_id=thread.pk, body="Gannet.")
    few = queries("gannet")
    for n in range(15):
        other = note(author, book, f"Gannet {n}.", visibility="public")
        discussion_services.reply_create(author=author, annotation_id=other.pk, body=f"Gannet {n}.")
    assert queries("gannet") == few
    # Words, notes, replies, text, then one query per kind shown (no text matches here).
    assert few == 6
    # The document filter adds one look-up.
    with CaptureQueriesContext(connection) as captured:
        search(author, SearchQuery(q="gannet", document=book.slug))
    assert len(captured) == few + 1


def test_search_page_and_api_take_a_constant_number_of_queries(client, book, author):
    client.force_login(author)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    note(author, book, "Dunlin.", visibility="public")
    page, api = queries("/search/?q=dunlin"), queries("/api/search?q=dunlin")
    for n in range(12):
        note(author, book, f"Dunlin {n}.", visibility="public")
    assert queries("/search/?q=dunlin") == page
    assert queries("/api/search?q=dunlin") == api


def test_each_kind_is_matched_through_its_search_index(book, author):
    """The match is written so that PostgreSQL can use the GIN indexes (a tsquery computed per
    row could not). Tables this small are cheaper to scan, so scans are switched off here."""
    thread = note(author, book, "A shag on a rock.", visibility="public")
    discussion_services.reply_create(author=author, annotation_id=thread.pk, body="A shag again.")
    with CaptureQueriesContext(connection) as captured:
        search(author, SearchQuery(q="shag or rock"))
    notes, replies = (q["sql"] for q in captured.captured_queries[1:3])
    arms = search_module._arms("shag or rock", None)
    text = Paragraph.objects.filter(search_module._match("shag or rock", arms)).query

    def plan(sql: str, params=()) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(row[0] for row in cursor.fetchall())

    assert "Bitmap Index Scan on annotation_search_idx" in plan(notes)
    assert "Bitmap Index Scan on reply_search_idx" in plan(replies)
    assert "Bitmap Index Scan on paragraph_search_idx" in plan(*text.sql_with_params())


def test_document_and_group_filters_are_part_of_the_index_match(book, author, club):
    """A note's search vector holds its document and group as lexemes: the filters are one GIN
    lookup, with no document_id or group_id comparison left beside it."""
    in_club = note(author, book, "A gannet diving.", visibility="group", group=club)
    with CaptureQueriesContext(connection) as captured:
        page = search(author, SearchQuery(q="gannet", kind="notes", group=club.slug))
    assert found(page) == [("note", in_club.pk)]
    notes_sql = next(q["sql"] for q in captured.captured_queries if "ts_rank" in q["sql"])
    assert f"§g{club.pk}" in notes_sql and '"group_id" =' not in notes_sql
    with CaptureQueriesContext(connection) as captured:
        page = search(author, SearchQuery(q="gannet", kind="notes", document=book.slug))
    assert found(page) == [("note", in_club.pk)]
    notes_sql = next(q["sql"] for q in captured.captured_queries if "ts_rank" in q["sql"])
    assert f"§d{book.pk}" in notes_sql and '"document_id" =' not in notes_sql


def test_scope_lexemes_follow_the_note_and_are_never_words(book, author, club):
    moving = note(author, book, "A gannet diving.", visibility="group", group=club)
    vector = Annotation.objects.values_list("search", flat=True).get(pk=moving.pk)
    assert f"'§d{book.pk}'" in vector and f"'§g{club.pk}'" in vector
    # Made private, it leaves the group's scope at once (the column is generated).
    make_private(moving, editor=author)
    assert search(author, SearchQuery(q="gannet", group=club.slug)).total == 0
    assert search(author, SearchQuery(q="gannet", document=book.slug)).total == 1
    # Nobody finds notes by typing a scope lexeme, nor forges one in a note's text.
    forged = note(author, book, f"Look: §d{book.pk} and §g{club.pk}.")
    for words in (f"§d{book.pk}", f"d{book.pk}", f"'§g{club.pk}'"):
        assert ("note", moving.pk) not in found(search(author, SearchQuery(q=words)))
    other = document_import(source="# O\n\nA gannet.", fmt="markdown", title="O")
    assert ("note", forged.pk) not in found(
        search(author, SearchQuery(q="look", document=other.slug))
    )


def test_a_notes_rank_weighs_its_words_only(book, author, club):
    """Scope lexemes would lengthen the vector ts_rank divides by: they are left out."""
    body = "Petrel petrel petrel."
    note(author, book, body, visibility="group", group=club)
    (result,) = search(author, SearchQuery(q="petrel")).results
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts_rank(to_tsvector('english', %s), websearch_to_tsquery('english', %s), 1)",
            [body, "petrel"],
        )
        (expected,) = cursor.fetchone()
    assert result.rank == pytest.approx(expected)


# Languages ------------------------------------------------------------------------------------


def test_a_french_document_is_found_by_a_french_stem(author):
    french = document_import(source=FRENCH, fmt="markdown", title="Le livre", language="french")
    english = document_import(
        source="# Horses\n\nThe word chevaux in an English text.", fmt="markdown", title="Horses"
    )
    page = search(author, SearchQuery(q="cheval"))
    assert {(r.document_slug, r.paragraph_key) for r in page.results} == {
        (french.slug, paragraph(french, 1).key)
    }
    assert "<mark>chevaux</mark>" in page.results[0].snippet_html
    # A French note is stemmed the French way too, and English stop words are French words.
    french_note = note(author, french, "Un cheval blanc.", position=1)
    assert french_note.language == "french"
    assert ("note", french_note.pk) in ids(search(author, SearchQuery(q="chevaux")))
    assert search(author, SearchQuery(q="chevaux", document=english.slug)).total == 1


# Bad parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("the", "Nothing to search for"),
        ("-river", "Nothing to search for"),
        ("the -river", "Nothing to search for"),
    ],
)
def test_words_with_nothing_to_look_for_are_refused(book, author, query, message):
    with pytest.raises(SearchError, match=message):
        search(author, SearchQuery(q=query))


def test_bad_kind_and_page_size_are_refused(book, author):
    with pytest.raises(SearchError):
        search(author, SearchQuery(q="river", kind="everything"))
    with pytest.raises(SearchError):
        search(author, SearchQuery(q="river"), per_page=1000)
    with pytest.raises(SearchError):
        search(author, SearchQuery(q="river"), page=0)


BAD = [
    ({}, "Type the words to look for."),
    ({"q": "   "}, "Type the words to look for."),
    ({"q": "x" * 201}, "at most 200 characters"),
    ({"q": "river", "kind": "everything"}, "Search in one of: all, notes, replies, text"),
    ({"q": "river", "since": "2024-13-01"}, "Give the start date as YYYY-MM-DD."),
    ({"q": "river", "until": "yesterday"}, "Give the end date as YYYY-MM-DD."),
    ({"q": "river", "since": "2024-05-02", "until": "2024-05-01"}, "The end date is before"),
    ({"q": "river", "page": "0"}, "Pages start at 1."),
    ({"q": "river", "page": "two"}, "The page is a number."),
    ({"q": "river", "per_page": "500"}, "per_page is between 1 and 100."),
    ({"q": "river", "tag": "a,b"}, "Filter by one tag at a time."),
    ({"q": "river", "tag": "no/slash"}, "characters tags cannot have"),
    ({"q": "river", "document": "Not a slug!"}, "short name"),
    ({"q": "river", "author": "no spaces allowed"}, "That is not a username."),
    ({"q": "the"}, "Nothing to search for"),
    ({"q": "-river"}, "Nothing to search for"),
]


@pytest.mark.parametrize(("params", "message"), BAD)
def test_api_refuses_bad_parameters_with_a_clear_error(client, book, params, message):
    response = client.get("/api/search", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["error"]


@pytest.mark.parametrize(("params", "message"), BAD[1:])
def test_page_shows_the_error_and_keeps_the_form(client, book, params, message):
    response = client.get("/search/", params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message.replace("“", "&ldquo;") in html or message in html
    assert 'role="alert"' in html


# The page -------------------------------------------------------------------------------------


def test_search_page_without_words_shows_the_form(client, book):
    response = client.get("/search/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="q"' in html and 'name="kind"' in html and 'name="since"' in html
    assert "No results" not in html and 'role="alert"' not in html


def test_search_page_shows_ranked_results_with_snippets(client, book, author):
    note(author, book, "Oystercatcher <em>here</em>.", visibility="public")
    response = client.get("/search/", {"q": "oystercatcher"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "1 result" in html
    assert "<mark>Oystercatcher</mark> &lt;em&gt;here&lt;/em" in html
    assert "<em>" not in html


def test_search_page_says_no_results(client, book):
    response = client.get("/search/", {"q": "xylophone"})
    assert response.status_code == 200
    assert "No results." in response.content.decode()


def test_search_page_links_pages_and_keeps_the_filters(client, book, author):
    for n in range(25):
        note(author, book, f"Sanderling {n}.", visibility="public")
    html = client.get("/search/", {"q": "sanderling", "kind": "notes"}).content.decode()
    assert "25 results" in html
    next_url = re.search(r'<a href="([^"]+)" rel="next">', html)[1].replace("&amp;", "&")
    assert next_url == "/search/?kind=notes&page=2&q=sanderling"
    second = client.get(next_url).content.decode()
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert second.count('class="search-result ') == 5


def test_search_page_shows_the_chosen_filters_selected(client, book, author, club):
    long_title = document_import(source="# L\n\nWords.", fmt="markdown", title="T" * 80)
    html = client.get(
        "/search/", {"q": "anything", "kind": "notes", "document": book.slug}
    ).content.decode()
    assert f'<option value="{book.slug}" selected>Harbour book</option>' in html
    assert f'<option value="{long_title.slug}">{"T" * 59}…</option>' in html
    assert '<option value="notes" selected>' in html
    client.force_login(author)
    html = client.get("/search/", {"q": "anything", "group": club.slug}).content.decode()
    assert f'<option value="{club.slug}" selected>' in html


def test_header_has_a_labelled_search_box_on_every_page(client, book):
    for url in ("/", book.get_absolute_url(), "/search/"):
        html = client.get(url).content.decode()
        form = re.search(r'<form class="site-search" role="search"[^>]*action="/search/"', html)
        assert form, url
        assert '<label for="site-search-q" class="visually-hidden">Search</label>' in html
        assert '<input type="search" id="site-search-q" name="q"' in html


def test_search_page_answers_get_only(client):
    assert client.post("/search/", {"q": "river"}).status_code == 405
    assert client.post("/api/search", {"q": "river"}).status_code == 405


# The API --------------------------------------------------------------------------------------


def test_api_answers_with_results_as_json(client, book, author):
    public = note(author, book, "A godwit, godwit, godwit.", visibility="public")
    reply = discussion_services.reply_create(author=author, annotation_id=public.pk, body="Godwit!")
    data = client.get("/api/search", {"q": "godwit"}).json()
    assert data["query"] == {
        "q": "godwit",
        "document": "",
        "group": "",
        "author": "",
        "tag": "",
        "kind": "all",
        "since": None,
        "until": None,
        "per_page": 20,
    }
    assert (data["total"], data["total_is_lower_bound"], data["page"]) == (2, False, 1)
    assert (data["prev"], data["next"]) == (None, None)
    items = {item["type"]: item for item in data["items"]}
    key = paragraph(book, 4).key
    assert items["note"] == {
        "type": "note",
        "id": f"http://testserver/api/annotations/{public.pk}",
        "document": book.slug,
        "paragraph": key,
        "url": f"http://testserver/documents/{book.slug}/?note={public.pk}#p-{key}",
        "snippet": "A <mark>godwit</mark>, <mark>godwit</mark>, <mark>godwit</mark>.",
        "author": "author",
        "created": public.created_at.isoformat(),
        "rank": items["note"]["rank"],
    }
    assert items["reply"]["id"] == f"http://testserver/api/replies/{reply.pk}"
    assert (
        items["reply"]["url"]
        == f"http://testserver/documents/{book.slug}/?note={public.pk}#p-{key}"
    )
    assert (items["reply"]["paragraph"], items["reply"]["snippet"]) == (key, "<mark>Godwit</mark>!")
    ranks = [item["rank"] for item in data["items"]]
    assert all(isinstance(r, float) and r > 0 for r in ranks)
    assert ranks == sorted(ranks, reverse=True)

    text = client.get("/api/search", {"q": "notebook"}).json()["items"][0]
    p = paragraph(book, 3).key
    assert text["type"] == "paragraph"
    assert text["id"] == f"http://testserver/documents/{book.slug}/p/{p}/"
    assert text["url"] == f"http://testserver/documents/{book.slug}/#p-{p}"
    assert (text["author"], text["created"]) == (None, None)


def test_api_pages_link_to_each_other(client, book, author):
    for n in range(3):
        note(author, book, f"Knot {n}.", visibility="public")
    first = client.get("/api/search", {"q": "knot", "per_page": 2}).json()
    assert (first["total"], len(first["items"]), first["prev"]) == (3, 2, None)
    assert first["next"] == "http://testserver/api/search?page=2&per_page=2&q=knot"
    second = client.get(first["next"]).json()
    assert len(second["items"]) == 1 and second["next"] is None
    assert second["prev"] == "http://testserver/api/search?page=1&per_page=2&q=knot"
    seen = {item["id"] for item in first["items"] + second["items"]}
    assert len(seen) == 3


def test_api_authenticates_by_token(client, book, author):
    from annotations.api.tokens import token_create

    note(author, book, "A private dotterel.")
    assert client.get("/api/search", {"q": "dotterel"}).json()["total"] == 0
    _, secret = token_create(user=author, name="search")
    with_token = client.get("/api/search", {"q": "dotterel"}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert with_token.json()["total"] == 1
    assert "Authorization" in with_token["Vary"]
    refused = client.get("/api/search", {"q": "dotterel"}, HTTP_AUTHORIZATION="Bearer nope")
    assert refused.status_code == 401
    assert "dotterel" not in refused.content.decode()


def test_api_escapes_snippets_in_json(client, book, author):
    note(author, book, "<img src=x onerror=alert(1)> turnstone", visibility="public")
    body = client.get("/api/search", {"q": "turnstone"}).content.decode()
    snippet = json.loads(body)["items"][0]["snippet"]
    assert "<img" not in snippet and "onerror=alert(1)&gt;" in snippet
    assert re.sub(r"</?mark>", "", snippet).count("<") == 0


def test_anonymous_user_can_search(book):
    page = search(AnonymousUser(), SearchQuery(q="notebook"))
    assert page.total == 1


def test_dates_filter_whole_days(book, author):
    n = note(author, book, "Whimbrel.")
    day = date(2024, 3, 10)
    at = timezone.make_aware(timezone.datetime(2024, 3, 10, 23, 59))
    Annotation.objects.filter(pk=n.pk).update(created_at=at)
    assert search(author, SearchQuery(q="whimbrel", since=day, until=day)).total == 1
    assert search(author, SearchQuery(q="whimbrel", since=day + timedelta(days=1))).total == 0
    assert search(author, SearchQuery(q="whimbrel", until=day - timedelta(days=1))).total == 0


def test_replies_keep_the_language_of_their_note(author):
    french = document_import(source=FRENCH, fmt="markdown", title="Le livre", language="french")
    thread = note(author, french, "Une note.", position=1, visibility="public")
    reply = discussion_services.reply_create(
        author=author, annotation_id=thread.pk, body="Des chevaux."
    )
    assert Reply.objects.get(pk=reply.pk).language == "french"
    assert ("reply", reply.pk) in ids(search(author, SearchQuery(q="cheval", kind="replies")))


# Who finds what: people x notes and replies x surfaces ------------------------------------------
#
# The world (built once for the module, rolled back at its end), as in test_permission_matrix:
# "Book club" (book-club) has owner, moderator, member and author; former_member joined and
# left; outsider owns "Other circle" and is in no other group. author wrote a note of each
# visibility, and notes that were then hidden, sent for approval or deleted; outsider wrote one
# for Other circle. Each note has one reply by its author; the club note also has a reply by
# member that a moderator hid. Every text says "marmalade" and one word of its own.
#
# The expected answers are the design's rules written out again (`sees_note`, `sees_reply`),
# independent of annotations.policy.

MATRIX_PEOPLE = ["anonymous", "outsider", "member", "moderator", "owner", "author", "former_member"]
CLUB, OTHER = "book-club", "other-circle"
MEMBERS = {CLUB: {"owner", "moderator", "member", "author"}, OTHER: {"outsider"}}
MODERATORS = {CLUB: {"owner", "moderator"}, OTHER: {"outsider"}}
NOTES = {
    # name: (author, visibility, group, status)
    "private": ("author", "private", None, "active"),
    "group": ("author", "group", CLUB, "active"),
    "public": ("author", "public", None, "active"),
    "hidden_group": ("author", "group", CLUB, "hidden"),
    "pending_group": ("author", "group", CLUB, "pending"),
    "hidden_public": ("author", "public", None, "hidden"),
    "deleted_public": ("author", "public", None, "deleted"),
    "deleted_private": ("author", "private", None, "deleted"),
    "other_group": ("outsider", "group", OTHER, "active"),
}
# name: (note, author, status)
REPLIES = {f"re_{name}": (name, spec[0], "active") for name, spec in NOTES.items()}
REPLIES["re_group_hidden"] = ("group", "member", "hidden")
SURFACES = ["function", "page", "api"]


def word(name: str) -> str:
    """A word only this note's or reply's text has."""
    return "zq" + name.replace("_", "")


def sees_note(person: str, name: str) -> bool:
    author, visibility, group, status = NOTES[name]
    if status == "deleted":
        return False
    if person == author:
        return True
    if status != "active":  # hidden or waiting: its moderators (no site staff here)
        return visibility == "group" and person in MODERATORS[group]
    if visibility == "public":
        return True
    return visibility == "group" and person in MEMBERS[group]


def sees_reply(person: str, name: str) -> bool:
    note_name, author, status = REPLIES[name]
    _, visibility, group, _ = NOTES[note_name]
    if not sees_note(person, note_name):
        return False
    if person == author:
        return True
    if visibility == "group" and person not in MEMBERS[group]:
        return False
    return status == "active" or (visibility == "group" and person in MODERATORS[group])


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    from django.db import transaction

    from tests.factories import UserFactory, make_document

    with django_db_blocker.unblock(), transaction.atomic():
        users = {name: UserFactory(username=name) for name in MATRIX_PEOPLE[1:]}
        users["anonymous"] = AnonymousUser()
        club = group_services.group_create(owner=users["owner"], name="Book club")
        other = group_services.group_create(owner=users["outsider"], name="Other circle")
        for name in ("moderator", "member", "author", "former_member"):
            group_services.group_join(user=users[name], token=club.invite_token)
        group_services.membership_set_role(
            actor=users["owner"], group=club, user_id=users["moderator"].pk, role="moderator"
        )
        groups = {CLUB: club, OTHER: other}
        document = make_document(paragraphs=len(NOTES) + 2, title="Matrix text")
        notes, replies = {}, {}
        for position, (name, (author, visibility, group, _)) in enumerate(NOTES.items(), 1):
            notes[name] = make_annotation(
                author=users[author],
                document=document,
                position=position,
                start=0,
                end=9,
                body=f"Marmalade {word(name)}.",
                visibility=visibility,
                group=groups.get(group),
            )
        for name, (note_name, author, _) in REPLIES.items():
            replies[name] = discussion_services.reply_create(
                author=users[author],
                annotation_id=notes[note_name].pk,
                body=f"Marmalade reply {word(name)}.",
            )
        for name, (author, _, _, status) in NOTES.items():
            if status == "deleted":
                note_services.annotation_delete(annotation_id=notes[name].pk, by=users[author])
            elif status != "active":
                Annotation.objects.filter(pk=notes[name].pk).update(status=status)
        for name, (_, _, status) in REPLIES.items():
            if status != "active":
                Reply.objects.filter(pk=replies[name].pk).update(status=status)
        group_services.group_leave(user=users["former_member"], group=club)
        yield {"users": users, "notes": notes, "replies": replies}
        transaction.set_rollback(True)


def surface(client, world, person: str, where: str, **params):
    """(Words of the texts found, the total, the whole answer) on one surface."""
    user = world["users"][person]
    if where == "function":
        page = search(user, SearchQuery(**params))
        return (
            {m for r in page.results for m in re.findall(r"zq\w+", r.snippet_html)},
            page.total,
            "",
        )
    if person != "anonymous":
        client.force_login(user)
    if where == "page":
        response = client.get("/search/", params)
        html = response.content.decode()
        status = re.search(r'<p class="meta" role="status">\s*(.*?)\s*</p>', html, re.S)[1]
        total = 0 if status.startswith("No results") else int(status.split()[0])
        results = html.split('<ol class="search-results"', 1)[-1] if total else ""
        return set(re.findall(r"zq\w+", results)), total, html
    response = client.get("/api/search", params)
    data = response.json()
    snippets = " ".join(item["snippet"] for item in data["items"])
    return set(re.findall(r"zq\w+", snippets)), data["total"], response.content.decode()


@pytest.mark.parametrize(
    ("person", "name", "where"),
    [(p, n, w) for p in MATRIX_PEOPLE for n in [*NOTES, *REPLIES] for w in SURFACES],
)
def test_matrix_a_text_is_found_only_by_who_may_see_it(client, world, person, name, where):
    expected = sees_note(person, name) if name in NOTES else sees_reply(person, name)
    words, total, raw = surface(client, world, person, where, q=word(name))
    assert (words == {word(name)}) is expected
    assert total == int(expected)  # a count never tells of what one may not see
    if not expected and raw:
        # Not a word of its text anywhere in the answer (the word searched for is echoed).
        assert "marmalade" not in raw.lower()


@pytest.mark.parametrize(("person", "where"), [(p, w) for p in MATRIX_PEOPLE for w in SURFACES])
def test_matrix_counts_only_what_the_person_may_see(client, world, person, where):
    visible = {word(n) for n in NOTES if sees_note(person, n)}
    visible |= {word(n) for n in REPLIES if sees_reply(person, n)}
    words, total, _ = surface(client, world, person, where, q="marmalade")
    assert (words, total) == (visible, len(visible))


@pytest.mark.parametrize("person", MATRIX_PEOPLE)
def test_matrix_filters_do_not_open_a_group(client, world, person):
    for slug, members in MEMBERS.items():
        words, total, _ = surface(client, world, person, "api", q="marmalade", group=slug)
        expected = {
            word(n)
            for n, (_, visibility, group, _) in NOTES.items()
            if group == slug and sees_note(person, n)
        } | {
            word(n)
            for n, (note_name, _, _) in REPLIES.items()
            if NOTES[note_name][2] == slug and sees_reply(person, n)
        }
        assert (words, total) == (expected, len(expected)), slug
        if person not in members:
            assert total == 0


@pytest.mark.parametrize("person", ["author", "moderator", "owner"])
def test_matrix_hidden_notes_are_marked_for_those_who_see_them(client, world, person):
    _, _, html = surface(client, world, person, "page", q=word("hidden_group"))
    assert "hidden by a moderator" in html
    _, _, html = surface(client, world, person, "page", q=word("pending_group"))
    assert "waiting for a moderator\u2019s approval" in html
