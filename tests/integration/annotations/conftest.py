"""The named people of the annotation tests, and their study group. A test file that needs
them arranged differently (built once per module, or joined through an invite) defines its own."""

from __future__ import annotations

import pytest

from annotations.models import Membership
from tests.factories import GroupFactory, MembershipFactory, UserFactory


@pytest.fixture
def owner():
    return UserFactory(username="owner")


@pytest.fixture
def author():
    return UserFactory(username="author")


@pytest.fixture
def member():
    return UserFactory(username="member")


@pytest.fixture
def moderator():
    return UserFactory(username="moderator")


@pytest.fixture
def outsider():
    return UserFactory(username="outsider")


@pytest.fixture
def club(owner, author, member, moderator):
    """A study group: owned by `owner`; `author` and `member` are members, `moderator` moderates."""
    group = GroupFactory(name="Book club", owner=owner)
    MembershipFactory(group=group, user=author)
    MembershipFactory(group=group, user=member)
    MembershipFactory(group=group, user=moderator, role=Membership.Role.MODERATOR)
    return group
