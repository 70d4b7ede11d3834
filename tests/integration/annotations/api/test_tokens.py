"""Personal API tokens: shown once, stored hashed, limited, revocable, and checked."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.api import tokens
from annotations.api.tokens import token_create, token_revoke, token_user
from annotations.errors import TokenError
from annotations.models import ApiToken

pytestmark = pytest.mark.django_db


def test_create_returns_the_token_once_and_stores_only_its_hash(owner):
    token, raw = token_create(user=owner, name="  my script ")
    assert raw.startswith("mga_") and len(raw) > 40
    assert token.name == "my script"
    assert token.prefix == raw[:12]
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    # Nothing in the row is the token itself.
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(raw not in str(value) for value in stored.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM annotations_apitoken WHERE key_hash = %s", [raw])
        assert cursor.fetchone() == (0,)
    # Each token is new.
    assert token_create(user=owner, name="another")[1] != raw


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_needs_a_name_of_at_most_100_characters(owner, name):
    with pytest.raises(TokenError, match="name"):
        token_create(user=owner, name=name)
    assert not ApiToken.objects.exists()


def test_a_100_character_name_is_fine(owner):
    assert token_create(user=owner, name="x" * 100)[0].name == "x" * 100


def test_at_most_20_live_tokens_per_person(owner, outsider):
    made = [token_create(user=owner, name=f"t{n}")[0] for n in range(tokens.MAX_LIVE_TOKENS)]
    with pytest.raises(TokenError, match="already have 20"):
        token_create(user=owner, name="one too many")
    # Someone else's tokens are their own count.
    token_create(user=outsider, name="mine")
    # A revoked token frees a place.
    token_revoke(user=owner, token_id=made[0].pk)
    token_create(user=owner, name="replacement")
    assert ApiToken.objects.filter(user=owner, revoked_at__isnull=True).count() == 20


def test_revoke_is_idempotent_and_stops_the_token(owner):
    token, raw = token_create(user=owner, name="script")
    assert token_user(raw) == owner
    revoked = token_revoke(user=owner, token_id=token.pk)
    assert revoked.revoked_at is not None
    again = token_revoke(user=owner, token_id=token.pk)
    assert again.revoked_at == revoked.revoked_at
    assert token_user(raw) is None


def test_only_the_owner_revokes(owner, outsider):
    token, raw = token_create(user=owner, name="script")
    with pytest.raises(ApiToken.DoesNotExist):
        token_revoke(user=outsider, token_id=token.pk)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert token_user(raw) == owner


def test_token_user_records_the_last_use_at_most_once_a_minute(owner):
    token, raw = token_create(user=owner, name="script")
    assert token.last_used_at is None
    with CaptureQueriesContext(connection) as first:
        assert token_user(raw) == owner
    used = ApiToken.objects.get(pk=token.pk).last_used_at
    assert used is not None
    assert len(first) == 2  # the lookup, and the write
    with CaptureQueriesContext(connection) as second:
        assert token_user(raw) == owner
    assert len(second) == 1  # the lookup only
    assert ApiToken.objects.get(pk=token.pk).last_used_at == used
    earlier = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    token_user(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > earlier


def test_a_deactivated_persons_token_does_not_work(owner):
    raw = token_create(user=owner, name="script")[1]
    owner.is_active = False
    owner.save()
    assert token_user(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "mga_",
        "mga_unknown-but-well-formed-0123456789abcdefghijklmno",
        "Bearer",
        "not-a-token",
        "mga_" + "x" * 5000,
        "mga_\u00e9\u0000\ufffd",
        "MGA_",
    ],
)
def test_unknown_or_garbled_tokens_match_nobody(owner, raw):
    real = token_create(user=owner, name="script")[1]
    assert token_user(raw) is None
    assert token_user(real + "x") is None
    assert token_user(real[:-1]) is None
    assert token_user(real) == owner


def test_a_token_is_its_owners_only(owner, outsider):
    raw_owner = token_create(user=owner, name="a")[1]
    raw_outsider = token_create(user=outsider, name="b")[1]
    assert token_user(raw_owner) == owner
    assert token_user(raw_outsider) == outsider
