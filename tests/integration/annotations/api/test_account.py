"""The account page and its API tokens: made and shown once, listed, revoked by their owner."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotations.api.tokens import token_create, token_user
from annotations.models import ApiToken
from tests.factories import make_document

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("account")
CREATE = reverse("account_token_create")
LOGIN = reverse("login")


def revoke_url(pk: int) -> str:
    return reverse("account_token_revoke", kwargs={"pk": pk})


def test_the_page_shows_the_person_their_password_link_and_their_tokens(client, owner, outsider):
    mine = token_create(user=owner, name="notes script")[0]
    theirs = token_create(user=outsider, name="outsider's script")[0]
    client.force_login(owner)
    response = client.get(ACCOUNT)
    assert response.status_code == 200
    html = response.content.decode()
    assert "owner" in html
    assert f'href="{reverse("password_change")}"' in html
    assert "notes script" in html and f"{mine.prefix}…" in html
    assert mine.key_hash not in html
    assert "outsider&#x27;s script" not in html and theirs.prefix not in html
    assert f'action="{revoke_url(mine.pk)}"' in html


def test_a_new_token_is_shown_once_with_a_curl_example(client, owner):
    document = make_document(title="Curl text")
    client.force_login(owner)
    response = client.post(CREATE, {"name": "notes script"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=owner)
    raw = response.context["plaintext"]
    assert token_user(raw) == owner
    html = response.content.decode()
    assert f'<code class="token-secret" id="new-token">{raw}</code>' in html
    assert f'curl -H "Authorization: Bearer {raw}"' in html
    assert f"http://testserver/api/documents/{document.slug}/annotations/" in html
    assert "it will not be shown again" in html
    assert token.name == "notes script"
    # Never again: not on the page, not in the session.
    assert raw not in client.get(ACCOUNT).content.decode()
    assert raw not in str(dict(client.session))


def test_a_token_without_a_name_is_refused_with_a_message(client, owner):
    client.force_login(owner)
    response = client.post(CREATE, {"name": "  "})
    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_owner_revokes_a_token(client, owner):
    token, raw = token_create(user=owner, name="notes script")
    client.force_login(owner)
    response = client.post(revoke_url(token.pk))
    assert response.status_code == 302 and response["Location"] == ACCOUNT
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert token_user(raw) is None
    html = client.get(ACCOUNT).content.decode()
    assert "revoked" in html and f'action="{revoke_url(token.pk)}"' not in html
    # Again: nothing changes.
    assert client.post(revoke_url(token.pk)).status_code == 302


def test_an_outsider_cannot_revoke_someone_elses_token(client, owner, outsider):
    token, raw = token_create(user=owner, name="notes script")
    client.force_login(outsider)
    assert client.post(revoke_url(token.pk)).status_code == 404
    assert client.post(revoke_url(token.pk + 1000)).status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert token_user(raw) == owner


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_log_in(client, owner, method):
    token = token_create(user=owner, name="notes script")[0]
    for url in (ACCOUNT, CREATE, revoke_url(token.pk)):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get().revoked_at is None


def test_wrong_methods_are_405(client, owner):
    token = token_create(user=owner, name="notes script")[0]
    client.force_login(owner)
    assert client.post(ACCOUNT).status_code == 405
    assert client.delete(ACCOUNT).status_code == 405
    assert client.get(CREATE).status_code == 405
    assert client.get(revoke_url(token.pk)).status_code == 405
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert ApiToken.objects.count() == 1
