"""Personal API tokens: made, revoked and checked here, and nowhere else.

A token is shown to its owner once, when it is made; only its SHA-256 is stored, so a copy of
the database cannot call the API. Looking one up is a unique-index lookup on the hash of what
was presented, which takes the same time whatever the presented token shares with a real one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from annotations.errors import TokenError
from annotations.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TOKEN_PREFIX = "mga_"  # noqa: S105 (a marker that says what a string is, not a secret)
MAX_LIVE_TOKENS = 20
MAX_NAME_LENGTH = 100
# last_used_at is a hint for the owner, not an audit log: one write a minute per token at most,
# rather than one per API request.
LAST_USED_PRECISION = timedelta(minutes=1)
# secrets.token_urlsafe(32) is 43 characters; anything far longer is not one of ours.
_MAX_RAW_LENGTH = 200


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`. Returns it with its plaintext, which is never available again."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name, so you can tell it apart later.")
    if "\x00" in name:
        # PostgreSQL cannot store one; a name is for reading, and no one reads a NUL.
        raise TokenError("A token's name cannot hold a NUL character.")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"A token's name can have at most {MAX_NAME_LENGTH} characters.")
    # Lock the person's row: two requests at once cannot both pass the limit below.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
    if live >= MAX_LIVE_TOKENS:
        raise TokenError(
            f"You already have {MAX_LIVE_TOKENS} tokens. Revoke one you no longer use first."
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:12])
    token.full_clean()
    token.save()
    return token, raw


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of `user`'s tokens. Revoking it again changes nothing. Someone else's token
    raises ApiToken.DoesNotExist, exactly like a token that does not exist."""
    token = ApiToken.objects.select_for_update().get(pk=token_id, user_id=user.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_user(raw: str):
    """The active person a presented token belongs to, or None (unknown, revoked, garbled, or
    its owner deactivated)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > _MAX_RAW_LENGTH:
        return None
    try:
        token = ApiToken.objects.select_related("user").get(
            key_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True
        )
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
