"""The moderation act's return address: back to the page the moderator acted from, never off
the site."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_annotation, make_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_note(author, club):
    return make_annotation(
        author=author,
        document=make_document(),
        body="Worth a look.",
        visibility="group",
        group=club,
    )


def lock(moderator, note, back: str):
    client = Client()
    client.force_login(moderator)
    return client.post(
        reverse("moderation_act"), {"act": "lock", "annotation": note.pk, "next": back}
    )


def test_the_moderator_returns_to_the_queue_they_acted_from(moderator, group_note, club):
    queue = reverse("group_moderation", kwargs={"slug": club.slug}) + "?page=2"
    response = lock(moderator, group_note, queue)
    assert response.status_code == 302 and response["Location"] == queue


@pytest.mark.parametrize(
    "back", ["/\\evil.com", "//evil.com", "https://evil.com/", "javascript:alert(1)"]
)
def test_a_return_address_off_the_site_leads_to_the_note_instead(moderator, group_note, back):
    response = lock(moderator, group_note, back)
    assert response.status_code == 302
    assert response["Location"] == reverse("annotation", kwargs={"pk": group_note.pk})
