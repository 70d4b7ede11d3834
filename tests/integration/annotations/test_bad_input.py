"""Bad input is a 4xx, never a server error (issue 13, item 12).

The named cases each answered 500 once: PostgreSQL refuses a NUL character in a text parameter
(psycopg's DataError), `until + 1 day` overflows at 9999-12-31, and `int("abc")` raises. The
fuzz test then sends junk in every path segment and in the query parameters the views read, to
every address of the site, as a visitor and as a reader.

The client answers a server error as a status (raise_request_exception=False), so that a failing
case shows which request failed rather than a traceback from inside the view.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.api.tokens import token_create
from annotations.discussions import services as discussion_services
from annotations.errors import TokenError
from annotations.models import ApiToken
from tests.factories import GroupFactory, UserFactory, make_annotation, make_document

pytestmark = pytest.mark.django_db

# Cases per address and person: small enough that the file runs well under a minute on a slow
# machine, and the same cases every run (derandomize). FUZZ_EXAMPLES runs a longer search by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """A reader in a group, a document with notes and replies. Built once for the module (the
    fuzz test sends many requests), rolled back after its last test."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        reader = UserFactory(username="junk-reader")
        other = UserFactory(username="junk-other")
        group = GroupFactory(name="Junk club", owner=reader)
        document = make_document(paragraphs=5, title="Junk text")
        note = make_annotation(author=other, document=document, position=1, visibility="public")
        mine = make_annotation(
            author=reader, document=document, position=2, visibility="group", group=group
        )
        reply = discussion_services.reply_create(author=other, annotation_id=note.pk, body="Hi.")
        yield {
            "reader": reader,
            "group": group,
            "document": document,
            "note": note,
            "mine": mine,
            "reply": reply,
        }
        transaction.set_rollback(True)


def client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def assert_refused(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])


def assert_json_error(response, status: int) -> None:
    assert_refused(response, status)
    assert response["Content-Type"].startswith("application/json")
    assert "error" in response.json()


# The cases of the issue -----------------------------------------------------------------------


@pytest.mark.parametrize("user", [False, True], ids=["visitor", "reader"])
def test_an_invite_token_with_nul_is_no_invite(world, user):
    response = client(world["reader"] if user else None).get("/groups/join/%00/")
    assert_refused(response, 404)


def test_an_invite_token_with_nul_is_no_invite_to_post_to_either(world):
    assert_refused(client(world["reader"]).post("/groups/join/ab%00cd/"), 404)


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unsubscribe_token_with_nul_is_no_token(world, method):
    assert_refused(getattr(client(), method)("/unsubscribe/%00/"), 404)


def test_a_tag_suggestion_for_nul_is_refused(world):
    assert_refused(client(world["reader"]).get("/tags/suggest/?q=%00"), 400)
    assert_refused(client().get("/tags/suggest/?tags=a,%00b"), 400)


def test_a_tag_page_with_nul_is_no_tag(world):
    assert_refused(client().get("/tags/a%00b/"), 404)


def test_live_paragraph_keys_with_nul_are_refused(world):
    url = f"/documents/{world['document'].slug}/live/paragraphs/?keys=%00"
    assert_refused(client().get(url), 400)


@pytest.mark.parametrize("parent", ["abc", "1.5", "-1", "+1", " ", "1 ", "\u0661"], ids=repr)
def test_a_reply_form_under_a_parent_that_is_no_number_is_refused(world, parent):
    response = client(world["reader"]).get(
        f"/annotations/{world['note'].pk}/reply-form/", {"parent": parent}
    )
    assert_refused(response, 400)


def test_a_reply_form_under_its_reply_or_none_is_shown(world):
    url = f"/annotations/{world['note'].pk}/reply-form/"
    assert_refused(client(world["reader"]).get(url, {"parent": str(world["reply"].pk)}), 200)
    assert_refused(client(world["reader"]).get(url, {"parent": ""}), 200)
    assert_refused(client(world["reader"]).get(url), 200)


@pytest.mark.parametrize("parent", ["0", "2147483647", "2147483648", "9" * 30])
def test_a_reply_form_under_a_reply_that_does_not_exist_is_404(world, parent):
    response = client(world["reader"]).get(
        f"/annotations/{world['note'].pk}/reply-form/", {"parent": parent}
    )
    assert_refused(response, 404)


@pytest.mark.parametrize("when", ["since", "until"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_search_to_the_last_or_from_the_first_day_is_no_server_error(world, when, day):
    response = client(world["reader"]).get("/search/", {"q": "reading", when: day})
    assert response.status_code < 500
    assert response.status_code in (200, 400)


@pytest.mark.parametrize("when", ["since", "until"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_search_api_to_the_last_or_from_the_first_day_answers_json(world, when, day):
    response = client(world["reader"]).get("/api/search", {"q": "reading", when: day})
    assert response.status_code in (200, 400), response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if response.status_code == 400:
        assert "error" in response.json()


def test_search_until_the_last_day_is_refused_with_a_reason(world):
    response = client().get("/search/", {"q": "reading", "until": "9999-12-31"})
    assert_refused(response, 400)
    assert_json_error(client().get("/api/search", {"q": "reading", "until": "9999-12-31"}), 400)


def test_the_search_api_answers_nul_in_json(world):
    assert_json_error(client().get("/api/search?q=%00"), 400)
    assert_json_error(client().get("/api/search?q=reading&tag=%00"), 400)


def test_the_api_answers_a_nul_in_its_path_in_json(world):
    assert_json_error(client().get("/api/documents/a%00/annotations/"), 404)


def test_a_token_name_with_nul_is_refused(world):
    response = client(world["reader"]).post("/account/tokens/", {"name": "laptop\x00"})
    assert_refused(response, 400)
    assert not ApiToken.objects.filter(user=world["reader"]).exists()


def test_the_token_service_refuses_a_nul_in_a_name(world):
    with pytest.raises(TokenError):
        token_create(user=world["reader"], name="a\x00b")


def test_a_nul_in_a_query_parameter_of_a_page_is_refused_as_a_page(world):
    response = client().get("/search/?q=%00")
    assert_refused(response, 400)
    assert response["Content-Type"].startswith("text/html")
    response = client().get("/search/?q=%00", headers={"HX-Request": "true"})
    assert_refused(response, 400)


def test_a_nul_in_a_parameter_name_is_refused(world):
    assert_refused(client().get("/search/?q%00=reading"), 400)


def test_a_nul_in_a_signup_form_is_refused(world):
    response = client().post(
        "/accounts/signup/",
        {"username": "a\x00b", "password1": "x" * 20, "password2": "x" * 20},
    )
    assert_refused(response, 400)


@pytest.mark.parametrize("back", ["0", "annotation", "library", "%00"])
def test_a_return_address_that_is_a_bare_word_leads_to_the_note(world, back):
    """Found by the fuzz test: redirect() takes a bare word for a view's name, and failed to
    reverse "0"."""
    response = client(world["reader"]).post(
        "/moderation/act/", {"act": "lock", "annotation": world["mine"].pk, "next": back}
    )
    assert_refused(response, 302)
    assert response["Location"] == world["mine"].get_absolute_url()


def test_signing_up_while_logged_in_with_a_bare_word_to_return_to_is_no_server_error(world):
    response = client(world["reader"]).get("/accounts/signup/", {"next": "0"})
    assert response.status_code < 500


# Fuzz: junk in every path segment and query parameter of every address -----------------------


def _routes(patterns, prefix: str = "", converters: dict | None = None):
    """(route, name, {parameter: converter}) of every URL pattern, includes followed; the
    admin's are Django's own and left out."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        found = {**(converters or {}), **entry.pattern.converters}
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue
            yield from _routes(entry.url_patterns, route, found)
        elif isinstance(entry, URLPattern):
            yield route, entry.name, found


ROUTES = sorted({route[0]: route for route in _routes(get_resolver().url_patterns)}.values())
_PLACEHOLDER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")

# The query parameters the views read (and a few more the forms know).
PARAMETERS = [
    "q",
    "page",
    "per_page",
    "layer",
    "sort",
    "keys",
    "parent",
    "reply",
    "until",
    "since",
    "kind",
    "tag",
    "tags",
    "document",
    "group",
    "author",
    "visibility",
    "token",
    "next",
    "paragraph",
    "exact",
    "start_key",
    "start_offset",
    "end_key",
    "end_offset",
    "last_event_id",
]

NASTY = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "",
        " ",
        "0",
        "-1",
        "1.5",
        "1e309",
        "NaN",
        "2147483647",
        "2147483648",
        "9223372036854775808",
        "9" * 400,
        "abc",
        "\u0661\u0662",
        "0000-00-00",
        "9999-12-31",
        "0001-01-01",
        "2024-02-30",
        "99999-01-01",
        "x" * 5000,
        "é" * 3000,
        "a," * 400,
        "%",
        "%00",
        "../..",
        "//evil.example",
        "javascript:alert(1)",
        "<script>",
        "' OR 1=1 --",
        '"',
        "\\",
        "\u202e\ufeff",
        "\U0001d518\U0001d52b\U0001d526",
        "\ud7ff\ue000",
        "group-",
        "group-" + "a" * 81,
        "mine",
        "public",
        "reactions",
    ]
)
# Mostly the known-nasty values (two cases in three), else made-up numbers, days and text.
JUNK = st.integers(min_value=0, max_value=2).flatmap(
    lambda n: (
        NASTY
        if n
        else st.one_of(
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
            st.dates().map(lambda day: day.isoformat()),
            st.text(max_size=30),
        )
    )
)


def _real_values(world) -> dict[str, list[str]]:
    """Values that name something that exists, so that a case reaches past the 404s."""
    ids = [str(world[name].pk) for name in ("note", "mine", "reply")]
    return {
        "slug": [world["document"].slug, world["group"].slug],
        "pk": ids,
        "user_id": [str(world["reader"].pk)],
        "key": list(
            world["document"].current_revision.paragraphs.values_list("key", flat=True)[:2]
        ),
        "token": [world["group"].invite_token],
        "fmt": ["json", "jsonld", "md", "csv"],
        "tag": ["reading"],
    }


def _path_value(converter, parameter: str, real: dict[str, list[str]]):
    junk = JUNK.filter(lambda value: re.fullmatch(converter.regex, value) is not None)
    matching = st.from_regex(converter.regex, fullmatch=True).filter(lambda v: len(v) < 300)
    return st.one_of(st.sampled_from(real.get(parameter) or ["x"]), junk, matching)


def _address(route: str, values: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        return quote(values[match["parameter"]], safe="")

    return "/" + _PLACEHOLDER.sub(fill, route)


@pytest.fixture(scope="module")
def clients(world, django_db_blocker):
    with django_db_blocker.unblock():
        return {"visitor": client(), "reader": client(world["reader"])}


@pytest.mark.parametrize("who", ["visitor", "reader"])
@pytest.mark.parametrize(
    ("route", "name", "converters"), ROUTES, ids=[r[1] or r[0] for r in ROUTES]
)
def test_junk_in_any_address_is_no_server_error(world, clients, who, route, name, converters):
    real = _real_values(world)
    path = st.fixed_dictionaries(
        {parameter: _path_value(conv, parameter, real) for parameter, conv in converters.items()}
    )
    query = st.dictionaries(st.sampled_from(PARAMETERS), JUNK, max_size=3)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(path=path, query=query)
    def run(path, query):
        address = _address(route, path)
        # Each case in a savepoint, rolled back: a failed statement cannot spoil the next case,
        # and one case's writes (a GET that unsubscribes) never meet another's.
        savepoint = transaction.savepoint()
        try:
            response = clients[who].get(address, query)
        finally:
            transaction.savepoint_rollback(savepoint)
        assert response.status_code < 500, (address, query, response.status_code)

    run()
