"""The admin: API tokens are listed read-only, without their hash."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotations.api.tokens import token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_api_tokens_are_listed_read_only_without_their_hash(client, owner):
    token, raw = token_create(user=owner, name="notes script")
    staff = UserFactory(username="staff", is_staff=True, is_superuser=True)
    client.force_login(staff)
    listing = client.get(reverse("admin:annotations_apitoken_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "notes script" in html and token.prefix in html
    detail = client.get(reverse("admin:annotations_apitoken_change", args=[token.pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert token.key_hash not in html + page and raw not in html + page
    assert 'name="_save"' not in page  # nothing to change
    assert client.get(reverse("admin:annotations_apitoken_add")).status_code == 403
