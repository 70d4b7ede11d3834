"""Rate limits on posting and flagging: over the limit a reader gets 429 with Retry-After and a
message, nothing is stored, and the count lives in PostgreSQL where every process sees it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotations import errors, ratelimit
from annotations.models import Annotation, Flag, RateCounter, Reply
from tests.factories import UserFactory, make_annotation, make_document, make_target

pytestmark = pytest.mark.django_db

LIMITS = {"post": [(60, 3)], "flag": [(60, 2)]}
TOO_FAST = "You are doing that too often. Please wait"


@pytest.fixture(autouse=True)
def tight_limits(settings):
    """Three posts and two flags a minute. A test that started in the minute's last seconds
    waits for the next minute, so that its acts all fall in one window."""
    settings.RATE_LIMITS = LIMITS
    left = 60 - time.time() % 60
    if left < 6:
        time.sleep(left + 0.1)


@pytest.fixture
def document():
    return make_document(paragraphs=8)


@pytest.fixture
def public_note(document):
    # Written by someone else, before the test's clock starts: it counts for them, not for us.
    return make_annotation(
        author=UserFactory(username="outsider"),
        document=document,
        body="Discuss me",
        visibility="public",
    )


def post_note(client, document, n: int):
    target = make_target(document, position=1 + n % 7, start=n % 5)
    data = {
        "start_key": target.start_key,
        "start_offset": target.start_offset,
        "end_key": target.end_key,
        "end_offset": target.end_offset,
        "exact": target.exact,
        "colour": "yellow",
        "body": f"note {n}",
        "visibility": "public",
    }
    return client.post(reverse("annotation_create", kwargs={"slug": document.slug}), data)


def post_reply(client, note, n: int):
    return client.post(reverse("reply_create", kwargs={"pk": note.pk}), {"body": f"reply {n}"})


def post_discussion(client, document, n: int):
    data = {"body": f"discussion {n}", "colour": "yellow", "visibility": "public", "tags": ""}
    return client.post(reverse("discussion_new", kwargs={"slug": document.slug}), data)


def assert_too_fast(response) -> int:
    assert response.status_code == 429
    retry = response["Retry-After"]
    assert retry.isdigit() and 1 <= int(retry) <= 60
    assert f"{TOO_FAST} {retry} seconds and try again." in response.content.decode()
    return int(retry)


def stored_posts(user) -> tuple[int, int]:
    return (
        Annotation.objects.filter(author=user).count(),
        Reply.objects.filter(author=user).count(),
    )


@pytest.mark.parametrize("kind", ["note", "reply", "discussion"])
def test_the_fourth_post_in_a_minute_is_refused_with_429(
    client, member, document, public_note, kind
):
    client.force_login(member)

    def post(n: int):
        if kind == "note":
            return post_note(client, document, n)
        if kind == "reply":
            return post_reply(client, public_note, n)
        return post_discussion(client, document, n)

    for n in range(3):
        assert post(n).status_code == 302
    assert_too_fast(post(3))
    expected = (0, 3) if kind == "reply" else (3, 0)
    assert stored_posts(member) == expected


def test_notes_replies_and_discussions_share_one_budget(client, member, document, public_note):
    client.force_login(member)
    assert post_note(client, document, 0).status_code == 302
    assert post_reply(client, public_note, 1).status_code == 302
    assert post_discussion(client, document, 2).status_code == 302
    assert_too_fast(post_reply(client, public_note, 3))
    assert_too_fast(post_note(client, document, 4))
    assert stored_posts(member) == (2, 1)


def test_an_htmx_reply_over_the_limit_says_so_in_the_alert(client, member, public_note):
    client.force_login(member)
    for n in range(3):
        post_reply(client, public_note, n)
    url = reverse("reply_create", kwargs={"pk": public_note.pk})
    response = client.post(url, {"body": "one more"}, HTTP_HX_REQUEST="true")
    retry = assert_too_fast(response)
    assert f'<div hx-swap-oob="innerHTML:#alert">{TOO_FAST} {retry} seconds' in (
        response.content.decode()
    )


def flag_note(client, note, reason="spam"):
    return client.post(reverse("flag_annotation", kwargs={"pk": note.pk}), {"reason": reason})


def test_the_third_flag_in_a_minute_is_refused_with_429(client, member, document):
    someone = UserFactory(username="author")
    notes = [
        make_annotation(author=someone, document=document, position=n, visibility="public")
        for n in (1, 2, 3)
    ]
    client.force_login(member)
    assert flag_note(client, notes[0]).status_code == 302
    assert flag_note(client, notes[1]).status_code == 302
    assert_too_fast(flag_note(client, notes[2]))
    assert list(Flag.objects.order_by("id").values_list("annotation_id", flat=True)) == [
        notes[0].pk,
        notes[1].pk,
    ]
    # Flags and posts are counted apart.
    assert post_reply(client, notes[2], 0).status_code == 302


def test_the_count_is_shared_by_every_session_of_a_reader(member, document, public_note):
    laptop, phone = Client(), Client()
    laptop.force_login(member)
    phone.force_login(member)
    assert post_reply(laptop, public_note, 0).status_code == 302
    assert post_reply(phone, public_note, 1).status_code == 302
    assert post_reply(laptop, public_note, 2).status_code == 302
    assert_too_fast(post_reply(phone, public_note, 3))
    assert stored_posts(member) == (0, 3)


@pytest.mark.django_db(transaction=True)
def test_the_count_lives_in_the_database_where_another_connection_sees_it(
    client, member, public_note
):
    client.force_login(member)
    for n in range(2):
        assert post_reply(client, public_note, n).status_code == 302
    seen = {}

    def other_process():
        # A thread has its own database connection, as another app process would.
        try:
            seen["connection"] = id(connection.connection)
            seen["count"] = RateCounter.objects.get(user=member, action="post:60").count
            ratelimit.hit(member, "post")  # the third, counted over there
        finally:
            connection.close()

    worker = threading.Thread(target=other_process)
    worker.start()
    worker.join(30)
    assert seen["count"] == 2
    assert seen["connection"] != id(connection.connection)
    assert_too_fast(post_reply(client, public_note, 3))
    assert stored_posts(member) == (0, 2)


def test_refused_attempts_do_not_count(client, member, public_note):
    client.force_login(member)
    # Bad input is refused before counting...
    for _ in range(4):
        url = reverse("reply_create", kwargs={"pk": public_note.pk})
        response = client.post(url, {"body": "   "})
        assert response.status_code == 400
    assert not RateCounter.objects.filter(user=member).exists()
    for n in range(3):
        assert post_reply(client, public_note, n).status_code == 302
    # ...and an attempt over the limit is rolled back with what it would have stored.
    for n in range(3):
        assert_too_fast(post_reply(client, public_note, 10 + n))
    assert RateCounter.objects.get(user=member, action="post:60").count == 3


def test_refused_flags_do_not_count(client, member, document):
    someone = UserFactory(username="author")
    note = make_annotation(author=someone, document=document, visibility="public")
    client.force_login(member)
    assert flag_note(client, note).status_code == 302
    twice = flag_note(client, note)
    assert twice.status_code == 400
    assert "You have already flagged this." in twice.content.decode()
    assert flag_note(client, note, reason="boredom").status_code == 400
    assert RateCounter.objects.get(user=member, action="flag:60").count == 1


def test_the_window_rolls_over(member):
    start = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    at = start + timedelta(seconds=15)
    for _ in range(3):
        ratelimit.hit(member, "post", now=at)
    with pytest.raises(errors.RateLimited) as refused:
        ratelimit.hit(member, "post", now=at + timedelta(seconds=20))
    assert refused.value.retry_after == 25  # the window ends at 12:01:00
    assert "Please wait 25 seconds" in str(refused.value)
    # The refused hit, outside any transaction, stays counted.
    assert RateCounter.objects.get(user=member, window_start=start).count == 4
    ratelimit.hit(member, "post", now=start + timedelta(seconds=60))  # a fresh minute
    counts = dict(RateCounter.objects.filter(user=member).values_list("window_start", "count"))
    assert counts == {start + timedelta(seconds=60): 1}  # the minute that ended is cleared


def test_several_windows_each_hold(member, settings):
    settings.RATE_LIMITS = {"post": [(60, 3), (3600, 5)]}
    hour = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    for minute in (0, 1):
        for second in range(3 if minute == 0 else 2):
            ratelimit.hit(member, "post", now=hour + timedelta(minutes=minute, seconds=second))
    with pytest.raises(errors.RateLimited) as refused:
        ratelimit.hit(member, "post", now=hour + timedelta(minutes=2))
    assert refused.value.retry_after == 58 * 60  # the hour's window is what holds now


def test_limits_are_per_person(client, member, author, public_note):
    client.force_login(member)
    for n in range(3):
        post_reply(client, public_note, n)
    client.force_login(author)
    assert post_reply(client, public_note, 9).status_code == 302


def test_limits_can_be_switched_off(client, member, public_note, settings):
    settings.RATE_LIMITS_ENABLED = False
    client.force_login(member)
    for n in range(5):
        assert post_reply(client, public_note, n).status_code == 302
    assert not RateCounter.objects.filter(user=member).exists()


def test_counters_of_windows_gone_by_are_cleared_as_a_reader_goes_on(member, author, settings):
    settings.RATE_LIMITS = {"post": [(60, 3), (3600, 5)], "flag": [(60, 2)]}
    start = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    for minute in range(0, 300, 13):  # five hours, now and then
        ratelimit.hit(member, "post", now=start + timedelta(minutes=minute, seconds=5))
    ratelimit.hit(member, "flag", now=start)
    ratelimit.hit(author, "post", now=start)
    now = start + timedelta(hours=5, seconds=10)
    ratelimit.hit(member, "post", now=now)
    ratelimit.hit(member, "post", now=now + timedelta(seconds=1))
    rows = RateCounter.objects.filter(user=member, action__startswith="post:")
    assert sorted(rows.values_list("action", "window_start", "count")) == [
        ("post:3600", start + timedelta(hours=5), 2),
        ("post:60", start + timedelta(hours=5), 2),
    ]
    # Other counters, and other readers' counters, wait for their own next act.
    assert RateCounter.objects.filter(user=member, action="flag:60").exists()
    assert {c.window_start for c in RateCounter.objects.filter(user=author)} == {start}
    # The limits hold as before in the current windows.
    ratelimit.hit(member, "post", now=now + timedelta(seconds=2))
    with pytest.raises(errors.RateLimited):
        ratelimit.hit(member, "post", now=now + timedelta(seconds=3))


def test_counters_of_readers_who_have_not_come_back_can_be_forgotten(member, author):
    ratelimit.hit(author, "post", now=timezone.now() - timedelta(days=3))
    ratelimit.hit(member, "post")
    assert ratelimit.forget_old() == 1
    assert list(RateCounter.objects.values_list("user", flat=True)) == [member.pk]
