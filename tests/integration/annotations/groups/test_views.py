"""Study groups as their people meet them: creating, inviting, joining, managing, leaving."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations.models import Group, Membership
from tests.factories import (
    PASSWORD,
    GroupFactory,
    MembershipFactory,
    UserFactory,
    make_annotation,
    make_document,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(username="owner")


@pytest.fixture
def group(owner):
    return GroupFactory(name="Book club", slug="book-club", owner=owner)


@pytest.fixture
def member(group):
    return MembershipFactory(group=group, user=UserFactory(username="member")).user


@pytest.fixture
def moderator(group):
    return MembershipFactory(
        group=group, user=UserFactory(username="moderator"), role="moderator"
    ).user


@pytest.fixture
def outsider():
    return UserFactory(username="outsider")


def join_url(group: Group) -> str:
    return reverse("group_join", kwargs={"token": group.invite_token})


def roles(group: Group) -> dict[str, str]:
    return dict(group.memberships.values_list("user__username", "role"))


def follow_messages(client, response) -> str:
    """The page a redirect leads to, where its message is shown."""
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


# Creating and inviting ----------------------------------------------------------------------


def test_creating_a_group_makes_me_its_owner_with_an_invite_link(client, owner):
    client.force_login(owner)
    response = client.post(reverse("group_new"), {"name": "Book club", "description": "Weekly"})
    group = Group.objects.get()
    assert response["Location"] == group.get_absolute_url() == "/groups/book-club/"
    assert roles(group) == {"owner": "owner"}
    html = follow_messages(client, response)
    assert "Created “Book club”. Share its invite link below." in html
    assert "You are the owner." in html
    assert f'value="http://testserver{join_url(group)}"' in html
    assert "Works until you renew it." in html
    assert (
        '<a href="/groups/book-club/">Book club</a>'
        in client.get(reverse("group_list")).content.decode()
    )


def test_a_group_needs_a_name(client, owner):
    client.force_login(owner)
    response = client.post(reverse("group_new"), {"name": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Group.objects.exists()


def test_only_the_owner_sees_the_invite_link(client, group, member, moderator):
    for person in (member, moderator):
        client.force_login(person)
        html = client.get(group.get_absolute_url()).content.decode()
        assert group.invite_token not in html
        assert "Make a new link" not in html


def test_a_new_invite_link_makes_the_old_one_useless(client, owner, group, outsider):
    old_url = join_url(group)
    client.force_login(owner)
    html = follow_messages(
        client, client.post(reverse("group_invite_renew", kwargs={"slug": group.slug}), {})
    )
    assert "A new invite link is ready; the old one no longer works." in html
    group.refresh_from_db()
    assert join_url(group) != old_url
    assert f"http://testserver{join_url(group)}" in html

    client.force_login(outsider)
    stale = client.get(old_url)
    assert stale.status_code == 404
    assert "This invite link does not work" in stale.content.decode()
    assert client.post(old_url).status_code == 404
    assert "outsider" not in roles(group)
    assert client.get(join_url(group)).status_code == 200


def test_an_invite_link_can_expire(client, owner, group, outsider):
    client.force_login(owner)
    client.post(reverse("group_invite_renew", kwargs={"slug": group.slug}), {"expires_in_days": 7})
    group.refresh_from_db()
    assert timedelta(days=6) < group.invite_expires_at - timezone.now() <= timedelta(days=7)
    assert "Works until" in client.get(group.get_absolute_url()).content.decode()

    Group.objects.filter(pk=group.pk).update(invite_expires_at=timezone.now() - timedelta(1))
    html = client.get(group.get_absolute_url()).content.decode()
    assert "The invite link has expired. Make a new one." in html
    assert group.invite_token not in html

    client.force_login(outsider)
    assert client.get(join_url(group)).status_code == 404
    assert client.post(join_url(group)).status_code == 404
    assert "outsider" not in roles(group)


def test_only_the_owner_can_renew_the_invite_link(client, group, moderator, outsider):
    token = group.invite_token
    renew = reverse("group_invite_renew", kwargs={"slug": group.slug})
    client.force_login(moderator)
    assert client.post(renew).status_code == 403
    client.force_login(outsider)
    assert client.post(renew).status_code == 404
    group.refresh_from_db()
    assert group.invite_token == token


# Joining ------------------------------------------------------------------------------------


def test_following_the_link_logged_in_asks_before_joining(client, group, outsider):
    client.force_login(outsider)
    response = client.get(join_url(group))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Join “Book club”" in html
    assert '<button type="submit" class="button">Join the group</button>' in html
    assert "1 member" in html
    assert "outsider" not in roles(group)  # a GET (a link preview, a prefetch) never joins

    html = follow_messages(client, client.post(join_url(group)))
    assert roles(group)["outsider"] == "member"
    assert "You joined “Book club”." in html
    assert "You are a member." in html


def test_joining_twice_is_harmless(client, group, member):
    client.force_login(member)
    for _ in range(2):
        response = client.post(join_url(group))
        assert response["Location"] == group.get_absolute_url()
    response = client.get(join_url(group))
    assert response["Location"] == group.get_absolute_url()
    assert group.memberships.filter(user=member).count() == 1
    assert roles(group)["member"] == "member"


def test_the_link_asks_anonymous_visitors_to_sign_up_or_log_in_and_come_back(client, group):
    url = join_url(group)
    html = client.get(url).content.decode()
    assert f'<a href="/accounts/signup/?next={url}">create an account</a>' in html
    assert f'<a href="/accounts/login/?next={url}">log in</a>' in html
    assert "Join the group</button>" not in html
    # Posting without an account joins nobody and goes to the login page.
    response = client.post(url)
    assert response["Location"] == f"/accounts/login/?next={url}"
    assert group.memberships.count() == 1


def test_signing_up_from_the_link_comes_back_to_join(client, group):
    url = join_url(group)
    signup = client.get(f"/accounts/signup/?next={url}").content.decode()
    assert f'<input type="hidden" name="next" value="{url}">' in signup
    response = client.post(
        "/accounts/signup/",
        {"username": "newcomer", "password1": PASSWORD, "password2": PASSWORD, "next": url},
    )
    assert response.status_code == 302
    assert response["Location"] == url
    assert "Join the group</button>" in client.get(url).content.decode()
    client.post(url)
    assert roles(group)["newcomer"] == "member"


def test_logging_in_from_the_link_comes_back_to_join(client, group, outsider):
    url = join_url(group)
    response = client.post(
        f"/accounts/login/?next={url}",
        {"username": "outsider", "password": PASSWORD, "next": url},
    )
    assert response["Location"] == url


# Managing members ---------------------------------------------------------------------------


def role_url(group, user) -> str:
    return reverse("group_member_role", kwargs={"slug": group.slug, "user_id": user.pk})


def remove_url(group, user) -> str:
    return reverse("group_member_remove", kwargs={"slug": group.slug, "user_id": user.pk})


def test_the_owner_promotes_demotes_and_removes_members(client, owner, group, member):
    client.force_login(owner)
    html = client.get(group.get_absolute_url()).content.decode()
    assert "Make moderator" in html and "Remove<span" in html

    html = follow_messages(client, client.post(role_url(group, member), {"role": "moderator"}))
    assert "member is now a moderator." in html
    assert roles(group)["member"] == "moderator"
    assert "Make member" in html

    client.post(role_url(group, member), {"role": "member"})
    assert roles(group)["member"] == "member"

    html = follow_messages(client, client.post(remove_url(group, member)))
    assert "Removed from the group." in html
    assert roles(group) == {"owner": "owner"}
    client.force_login(member)
    assert client.get(group.get_absolute_url()).status_code == 404


def test_the_owner_cannot_hand_out_or_lose_ownership_by_these_buttons(client, owner, group, member):
    client.force_login(owner)
    assert client.post(role_url(group, member), {"role": "owner"}).status_code == 403
    assert client.post(role_url(group, owner), {"role": "member"}).status_code == 403
    assert client.post(remove_url(group, owner)).status_code == 403
    assert roles(group) == {"owner": "owner", "member": "member"}


def test_a_member_cannot_change_roles_or_remove_anyone(client, owner, group, member, moderator):
    before = roles(group)
    client.force_login(member)
    html = client.get(group.get_absolute_url()).content.decode()
    assert "Make moderator" not in html and "Remove<span" not in html
    for target in (owner, member, moderator):
        assert client.post(role_url(group, target), {"role": "moderator"}).status_code == 403
        assert client.post(remove_url(group, target)).status_code == 403
    assert roles(group) == before


def test_a_moderator_cannot_change_roles_nor_remove_the_owner_or_a_fellow_moderator(
    client, owner, group, member, moderator
):
    fellow = MembershipFactory(
        group=group, user=UserFactory(username="fellow"), role="moderator"
    ).user
    before = roles(group)
    client.force_login(moderator)
    assert "Make moderator" not in client.get(group.get_absolute_url()).content.decode()
    for target in (owner, member, fellow):
        assert client.post(role_url(group, target), {"role": "moderator"}).status_code == 403
        assert client.post(role_url(group, target), {"role": "member"}).status_code == 403
    for target in (owner, fellow):
        assert client.post(remove_url(group, target)).status_code == 403
    assert roles(group) == before


def test_outsiders_cannot_manage_members(client, group, member, outsider):
    client.force_login(outsider)
    assert client.post(role_url(group, member), {"role": "moderator"}).status_code == 404
    assert client.post(remove_url(group, member)).status_code == 404
    assert roles(group)["member"] == "member"


def test_a_member_leaves(client, group, member):
    client.force_login(member)
    response = client.post(reverse("group_leave", kwargs={"slug": group.slug}))
    assert response["Location"] == reverse("group_list")
    assert "You left “Book club”." in follow_messages(client, response)
    assert "member" not in roles(group)
    assert client.get(group.get_absolute_url()).status_code == 404


def test_the_owner_cannot_leave(client, owner, group):
    client.force_login(owner)
    assert "Leave the group" not in client.get(group.get_absolute_url()).content.decode()
    response = client.post(reverse("group_leave", kwargs={"slug": group.slug}))
    assert response["Location"] == group.get_absolute_url()
    assert "The owner cannot leave their group." in follow_messages(client, response)
    assert roles(group) == {"owner": "owner"}


def test_group_pages_refuse_the_wrong_method(client, owner, group):
    client.force_login(owner)
    assert client.get(reverse("group_leave", kwargs={"slug": group.slug})).status_code == 405
    assert client.get(reverse("group_invite_renew", kwargs={"slug": group.slug})).status_code == 405
    assert client.get(remove_url(group, owner)).status_code == 405


# The group page -----------------------------------------------------------------------------


def test_the_group_page_lists_members_documents_and_recent_group_notes(
    client, owner, group, member, moderator
):
    shared = make_document(paragraphs=5, title="Shared text")
    private_doc = make_document(paragraphs=5, title="Private reading")
    make_annotation(
        author=member,
        document=shared,
        quote="Paragraph 1",
        body="**Look** at this",
        visibility="group",
        group=group,
    )
    make_annotation(author=member, document=private_doc, body="my secret")
    make_annotation(author=member, document=private_doc, body="for all", visibility="public")
    other_group = GroupFactory(name="Other club", owner=member)
    make_annotation(
        author=member, document=private_doc, body="elsewhere", visibility="group", group=other_group
    )

    client.force_login(moderator)
    html = client.get(group.get_absolute_url()).content.decode()
    assert "Members (3)" in html
    assert re.findall(r'<span class="member-name">(\w+)</span>', html) == [
        "owner",
        "member",
        "moderator",
    ]
    assert "You are a moderator." in html
    assert f'<a href="{shared.get_absolute_url()}?layer=group-book-club">Shared text</a>' in html
    assert "Private reading" not in html
    assert "<strong>Look</strong> at this" in html
    assert f'<strong>member</strong> on <a href="{shared.get_absolute_url()}' in html
    for hidden in ("my secret", "for all", "elsewhere"):
        assert hidden not in html


def test_the_group_page_is_for_members_only(client, group, outsider):
    anonymous = client.get(group.get_absolute_url())
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next={group.get_absolute_url()}"
    client.force_login(outsider)
    response = client.get(group.get_absolute_url())
    assert response.status_code == 404
    assert "Book club" not in response.content.decode()
    assert client.get("/groups/no-such-group/").status_code == 404


def test_the_group_page_query_count_does_not_grow(client, owner, group, settings):
    settings.RATE_LIMITS_ENABLED = False  # many notes in seconds: not what limits are for
    documents = [make_document(paragraphs=4, title=f"Text {n}") for n in range(3)]
    client.force_login(owner)

    def grow(people: int, notes: int, start: int) -> None:
        for n in range(start, start + people):
            MembershipFactory(group=group, user=UserFactory(username=f"person{n}"))
        authors = [m.user for m in group.memberships.select_related("user")]
        for n in range(start, start + notes):
            make_annotation(
                author=authors[n % len(authors)],
                document=documents[n % 3],
                position=1 + n % 3,
                start=n % 5,
                body=f"note {n}",
                visibility="group",
                group=group,
            )

    counts = []
    for people, notes, start in ((2, 2, 0), (12, 25, 2)):
        grow(people, notes, start)
        with CaptureQueriesContext(connection) as queries:
            html = client.get(group.get_absolute_url()).content.decode()
        assert f"Members ({group.memberships.count()})" in html
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_my_groups_list_shows_my_role_in_each(client, group, member):
    GroupFactory(name="Other club", owner=member)
    GroupFactory(name="Not mine", owner=UserFactory(username="stranger"))
    client.force_login(member)
    html = client.get(reverse("group_list")).content.decode()
    assert re.findall(
        r'<a href="/groups/[\w-]+/">([\w ]+)</a> <span class="meta">· (\w+)', html
    ) == [
        ("Book club", "Member"),
        ("Other club", "Owner"),
    ]
    assert Membership.objects.filter(user=member).count() == 2
