"""Who sees and changes which note, on every surface: a matrix of people x notes x surfaces.

The world (built once for the module, rolled back at its end):
- "Book club" (book-club): owner, moderator, member and author are in it; former_member joined
  and left; outsider is not in it (but owns "Other circle", so "in some group" is not enough).
- author wrote a private, a group and a public note, and three more that were then deleted;
  outsider wrote a group note in Other circle. Each note sits alone on its own paragraph with a
  public highlight by passer_by beside it, so a count shows whether it includes the note.
- For the policy tests only: three more notes by author, hidden or pending (moderation).

The expected answers come from `sees` and `shows_in_layer` below: the design's rules written
out again, independent of annotations.policy, which is what is under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.urls import reverse

from annotations import policy
from annotations.anchoring import Target
from annotations.groups import services as group_services
from annotations.models import Annotation, Group, Membership
from annotations.notes import services as note_services
from tests.factories import UserFactory, make_document

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LOGIN = reverse("login")

PEOPLE = ["anonymous", "outsider", "member", "moderator", "owner", "author", "former_member"]
CLUB, OTHER = "book-club", "other-circle"
# Who is in each group at the end of the setup (former_member has left the club).
MEMBERS = {CLUB: {"owner", "moderator", "member", "author"}, OTHER: {"outsider"}}
MODERATORS = {CLUB: {"owner", "moderator"}, OTHER: {"outsider"}}
ROLES = {CLUB: {"owner": "owner", "moderator": "moderator"}, OTHER: {"outsider": "owner"}}


@dataclass(frozen=True)
class Row:
    author: str
    visibility: str
    group: str | None = None
    status: str = "active"

    @property
    def deleted(self) -> bool:
        return self.status == "deleted"


ROWS = {
    "private": Row("author", "private"),
    "group": Row("author", "group", CLUB),
    "public": Row("author", "public"),
    "deleted_private": Row("author", "private", status="deleted"),
    "deleted_group": Row("author", "group", CLUB, status="deleted"),
    "deleted_public": Row("author", "public", status="deleted"),
    "other_group": Row("outsider", "group", OTHER),
}
# Hidden by a moderator or waiting for approval: moderation is being built, so only the policy
# tests use these (rule: the author, and whoever may moderate it; nobody else).
POLICY_ROWS = {
    **ROWS,
    "hidden_group": Row("author", "group", CLUB, status="hidden"),
    "pending_group": Row("author", "group", CLUB, status="pending"),
    "hidden_public": Row("author", "public", status="hidden"),
}

LAYERS = ["", "all", "mine", "public", f"group-{CLUB}", f"group-{OTHER}"]


def token(row: str) -> str:
    """Words that appear only in this note's body."""
    return f"token-{row.replace('_', '-')}-end"


# The rules, written out -----------------------------------------------------------------------


def sees(person: str, row: Row) -> bool:
    if row.deleted:
        return False
    if person != "anonymous" and person == row.author:
        return True
    if row.status != "active":
        # Group moderators see what waits in their group; public content is staff's (no staff
        # among these people).
        return row.visibility == "group" and person in MODERATORS[row.group]
    if row.visibility == "public":
        return True
    if row.visibility == "group":
        return person in MEMBERS[row.group]
    return False


def shows_in_layer(person: str, row: Row, layer: str) -> bool:
    if not sees(person, row):
        return False
    if layer in ("", "all"):
        return True
    if layer == "mine":
        return person == row.author
    if layer == "public":
        return row.visibility == "public"
    return row.visibility == "group" and layer == f"group-{row.group}"


CONTROL = Row("passer_by", "public")  # the public highlight beside every note


def may_change(person: str, row: Row) -> bool:
    return person != "anonymous" and person == row.author and not row.deleted


def write_outcome(person: str, row: Row) -> str:
    if may_change(person, row):
        return "allowed"
    if person == "anonymous":
        return "404-or-login"
    return "403" if sees(person, row) else "404"


# The world ------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    groups: dict
    document: object
    notes: dict  # row name -> Annotation
    keys: dict  # row name -> paragraph key
    positions: dict  # row name -> paragraph position
    free_key: str  # a paragraph nobody annotated
    free_text: str


def _target(paragraph, start: int, end: int) -> Target:
    return Target(paragraph.key, start, paragraph.key, end, paragraph.text[start:end])


def _build_world() -> World:
    users = {name: UserFactory(username=name) for name in PEOPLE if name != "anonymous"}
    users["anonymous"] = AnonymousUser()
    passer_by = UserFactory(username="passer_by")

    club = group_services.group_create(owner=users["owner"], name="Book club")
    other = group_services.group_create(owner=users["outsider"], name="Other circle")
    assert (club.slug, other.slug) == (CLUB, OTHER)
    for name in ("moderator", "member", "author", "former_member"):
        group_services.group_join(user=users[name], token=club.invite_token)
    group_services.membership_set_role(
        actor=users["owner"], group=club, user_id=users["moderator"].pk, role="moderator"
    )

    document = make_document(paragraphs=14, title="Matrix text")
    paragraphs = list(document.current_revision.paragraphs.order_by("position"))
    notes, keys, positions = {}, {}, {}
    groups = {CLUB: club, OTHER: other}
    for position, (name, row) in enumerate(POLICY_ROWS.items(), start=1):
        paragraph = paragraphs[position]
        assert paragraph.text.startswith(f"Paragraph {position}: ")
        note = note_services.annotation_create(
            author=users[row.author],
            document=document,
            target=_target(paragraph, 0, len(f"Paragraph {position}")),
            body=f"A note that says {token(name)}.",
            visibility=row.visibility,
            group=groups.get(row.group),
        )
        offset = len(f"Paragraph {position}: ")
        note_services.annotation_create(
            author=passer_by,
            document=document,
            target=_target(paragraph, offset, offset + 5),
            visibility="public",
        )
        if row.deleted:
            note_services.annotation_delete(annotation_id=note.pk, by=users[row.author])
        elif row.status != "active":
            Annotation.objects.filter(pk=note.pk).update(status=row.status)
        notes[name], keys[name], positions[name] = note, paragraph.key, position

    # former_member could see the club's note while in the club; then left.
    assert policy.can_view_annotation(users["former_member"], notes["group"])
    group_services.group_leave(user=users["former_member"], group=club)

    free = paragraphs[len(POLICY_ROWS) + 1]
    return World(users, groups, document, notes, keys, positions, free.key, free.text)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once in a transaction the module's tests nest in (pytest-django runs each test in
    a savepoint), and rolled back after the module's last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


def visit(client, world: World, person: str):
    if person != "anonymous":
        client.force_login(world.users[person])
    return client


def assert_login_redirect(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")


def fresh(world: World, row: str) -> Annotation:
    return Annotation.objects.get(pk=world.notes[row].pk)


def cells(*axes):
    """Every combination of the given parameter lists."""
    combos = [()]
    for axis in axes:
        combos = [(*c, v) for c in combos for v in axis]
    return combos


# 1-2. Reading page and its layers: marks and counts -------------------------------------------


def side_count(html: str, key: str) -> str | None:
    """The aria-label and number of a paragraph's count link, or None if it has none."""
    side = re.search(rf'<span class="pside" id="s-{key}">(.*?)</span>', html, re.S)
    assert side, f"paragraph {key} has no side controls"
    link = re.search(r'<a class="count" href="[^"]*" aria-label="([^"]*)">(\d+)</a>', side[1])
    return None if link is None else f"{link[1]} | {link[2]}"


def expected_count(person: str, row: Row, layer: str, number: int) -> str | None:
    notes = int(shows_in_layer(person, row, layer))
    highlights = int(shows_in_layer(person, CONTROL, layer))
    parts = []
    if notes:
        parts.append("1 note")
    if highlights:
        parts.append("1 highlight")
    if not parts:
        return None
    return f"{', '.join(parts)} on paragraph {number} | {notes + highlights}"


@pytest.mark.parametrize(("person", "row", "layer"), cells(PEOPLE, ROWS, LAYERS))
def test_reading_page_marks_and_counts(client, world, person, row, layer):
    query = f"?layer={layer}" if layer else ""
    response = visit(client, world, person).get(f"{world.document.get_absolute_url()}{query}")
    assert response.status_code == 200
    html = response.content.decode()
    pk = world.notes[row].pk
    shown = shows_in_layer(person, ROWS[row], layer)
    assert bool(re.search(rf'<mark [^>]*data-annotation="{pk}"', html)) is shown
    number = world.positions[row] + 1
    assert side_count(html, world.keys[row]) == expected_count(person, ROWS[row], layer, number)
    assert token(row) not in html  # the page draws marks, never bodies


@pytest.mark.parametrize("person", PEOPLE)
def test_layer_list_offers_only_the_viewers_groups(client, world, person):
    html = visit(client, world, person).get(world.document.get_absolute_url()).content.decode()
    for slug, members in MEMBERS.items():
        assert (f'href="?layer=group-{slug}"' in html) is (person in members)
    assert ('href="?layer=mine"' in html) is (person != "anonymous")
    assert 'href="?layer=public"' in html


# 3. Side panel --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "row", "layer", "htmx"), cells(PEOPLE, ROWS, LAYERS, [False, True])
)
def test_side_panel(client, world, person, row, layer, htmx):
    url = reverse("paragraph_notes", kwargs={"slug": world.document.slug, "key": world.keys[row]})
    query = {"layer": layer} if layer else {}
    response = visit(client, world, person).get(url, query, **(HTMX if htmx else {}))
    assert response.status_code == 200
    html = response.content.decode()
    shown = shows_in_layer(person, ROWS[row], layer)
    assert (token(row) in html) is shown
    assert (f'id="note-{world.notes[row].pk}"' in html) is shown
    assert ("<html" in html) is not htmx


# 4. Permalink ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "row", "htmx"), cells(PEOPLE, ROWS, [False, True]))
def test_permalink(client, world, person, row, htmx):
    url = reverse("annotation", kwargs={"pk": world.notes[row].pk})
    response = visit(client, world, person).get(url, **(HTMX if htmx else {}))
    html = response.content.decode()
    if sees(person, ROWS[row]):
        assert response.status_code == 200
        assert token(row) in html
    else:
        assert response.status_code == 404
        assert token(row) not in html


# 5. Group page --------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "row", "slug"), cells(PEOPLE, ROWS, [CLUB, OTHER]))
def test_group_page(client, world, person, row, slug):
    response = visit(client, world, person).get(reverse("group", kwargs={"slug": slug}))
    html = response.content.decode()
    if person == "anonymous":
        assert_login_redirect(response)
    elif person not in MEMBERS[slug]:
        assert response.status_code == 404
        assert "Book club" not in html and "Other circle" not in html
    else:
        assert response.status_code == 200
    r = ROWS[row]
    listed = (
        response.status_code == 200
        and r.visibility == "group"
        and r.group == slug
        and sees(person, r)
    )
    assert (token(row) in html) is listed


# 6. My notes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_my_notes(client, world, person, row):
    response = visit(client, world, person).get(reverse("my_notes"))
    if person == "anonymous":
        assert_login_redirect(response)
        return
    assert response.status_code == 200
    r = ROWS[row]
    mine = person == r.author and not r.deleted
    assert (token(row) in response.content.decode()) is mine


# 7. Edit and delete ---------------------------------------------------------------------------


def write_cells():
    out = []
    for person, row in cells(PEOPLE, ROWS):
        out.append(pytest.param(person, row, id=f"{person}-{row}"))
    return out


def assert_refused(response, outcome: str, row: str) -> None:
    if outcome == "404-or-login":
        if response.status_code == 302:
            assert_login_redirect(response)
        else:
            assert response.status_code == 404
    else:
        assert response.status_code == int(outcome)
    assert token(row) not in response.content.decode()


def edit_data(world: World, row: str, body: str) -> dict:
    r = ROWS[row]
    return {
        "version": 1,
        "colour": "green",
        "body": body,
        "tags": "changed",
        "visibility": r.visibility,
        "group": world.groups[r.group].pk if r.group else "",
    }


@pytest.mark.parametrize(("person", "row"), write_cells())
def test_edit_form(client, world, person, row):
    url = reverse("annotation_edit", kwargs={"pk": world.notes[row].pk})
    response = visit(client, world, person).get(url)
    outcome = write_outcome(person, ROWS[row])
    if outcome == "allowed":
        assert response.status_code == 200
        assert token(row) in response.content.decode()
    else:
        assert_refused(response, outcome, row)


@pytest.mark.parametrize(("person", "row"), write_cells())
def test_edit_post(client, world, person, row):
    before = fresh(world, row)
    url = reverse("annotation_edit", kwargs={"pk": before.pk})
    response = visit(client, world, person).post(url, edit_data(world, row, "Rewritten."))
    after = fresh(world, row)
    if write_outcome(person, ROWS[row]) == "allowed":
        assert response.status_code == 302
        assert response["Location"] == reverse("annotation", kwargs={"pk": before.pk})
        assert (after.body, after.tags, after.colour, after.version) == (
            "Rewritten.",
            ["changed"],
            "green",
            before.version + 1,
        )
    else:
        assert_refused(response, write_outcome(person, ROWS[row]), row)
        assert (after.body, after.tags, after.colour, after.version, after.status) == (
            before.body,
            before.tags,
            before.colour,
            before.version,
            before.status,
        )


@pytest.mark.parametrize(("person", "row"), write_cells())
def test_delete(client, world, person, row):
    before = fresh(world, row)
    url = reverse("annotation_delete", kwargs={"pk": before.pk})
    response = visit(client, world, person).post(url)
    after = fresh(world, row)
    if write_outcome(person, ROWS[row]) == "allowed":
        assert response.status_code == 302
        assert response["Location"].startswith(world.document.get_absolute_url())
        assert after.status == Annotation.Status.DELETED
        assert after.version == before.version + 1
    else:
        assert_refused(response, write_outcome(person, ROWS[row]), row)
        assert (after.status, after.version) == (before.status, before.version)


# 8. Creating a group note ---------------------------------------------------------------------

REFUSED = "You can only share notes with a group you belong to."


@pytest.mark.parametrize(("person", "slug", "htmx"), cells(PEOPLE, [CLUB, OTHER], [False, True]))
def test_create_group_note_only_in_own_groups(client, world, person, slug, htmx):
    words = world.free_text.split(":")[0]
    data = {
        "start_key": world.free_key,
        "start_offset": 0,
        "end_key": world.free_key,
        "end_offset": len(words),
        "exact": words,
        "colour": "yellow",
        "body": "A fresh note.",
        "tags": "",
        "visibility": "group",
        "group": world.groups[slug].pk,
    }
    url = reverse("annotation_create", kwargs={"slug": world.document.slug})
    response = visit(client, world, person).post(url, data, **(HTMX if htmx else {}))
    stored = Annotation.objects.filter(body="A fresh note.")
    if person == "anonymous":
        if htmx:
            assert response.status_code == 403
            assert "Log in to annotate." in response.content.decode()
        else:
            assert_login_redirect(response)
        assert not stored.exists()
    elif person in MEMBERS[slug]:
        assert response.status_code == (200 if htmx else 302)
        assert list(stored.values_list("author__username", "group__slug")) == [(person, slug)]
    else:
        assert response.status_code == 400
        assert REFUSED in response.content.decode()
        assert not stored.exists()


# Removal by the owner -------------------------------------------------------------------------


def test_member_removed_by_the_owner_loses_the_group_notes(client, world):
    owner, member = world.users["owner"], world.users["member"]
    note = world.notes["group"]
    client.force_login(owner)
    remove = reverse("group_member_remove", kwargs={"slug": CLUB, "user_id": member.pk})
    assert client.post(remove).status_code == 302
    assert not Membership.objects.filter(user=member, group__slug=CLUB).exists()

    client.force_login(member)
    assert client.get(reverse("annotation", kwargs={"pk": note.pk})).status_code == 404
    assert client.get(reverse("group", kwargs={"slug": CLUB})).status_code == 404
    page = client.get(world.document.get_absolute_url()).content.decode()
    assert f'data-annotation="{note.pk}"' not in page
    assert side_count(page, world.keys["group"]) == (
        f"1 highlight on paragraph {world.positions['group'] + 1} | 1"
    )
    panel = reverse(
        "paragraph_notes", kwargs={"slug": world.document.slug, "key": world.keys["group"]}
    )
    assert token("group") not in client.get(panel).content.decode()
    edit = reverse("annotation_edit", kwargs={"pk": note.pk})
    assert client.post(edit, edit_data(world, "group", "Rewritten.")).status_code == 404
    assert not policy.can_view_annotation(member, note)


# The policy's predicates ----------------------------------------------------------------------


@pytest.fixture
def note_of(world):
    """A fresh copy of a row's note (the hidden and pending ones included)."""
    return lambda row: Annotation.objects.select_related("group").get(pk=world.notes[row].pk)


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, POLICY_ROWS))
def test_can_view_annotation_agrees_with_visible_annotations(world, note_of, person, row):
    user, note = world.users[person], note_of(row)
    expected = sees(person, POLICY_ROWS[row])
    assert policy.can_view_annotation(user, note) is expected
    assert policy.can_view_annotation(user, note, policy.member_group_ids(user)) is expected
    in_sql = Annotation.objects.filter(policy.visible_annotations(user), pk=note.pk).exists()
    assert in_sql is expected
    assert Annotation.objects.visible_to(user).filter(pk=note.pk).exists() is expected


@pytest.mark.parametrize(("person", "layer"), cells(PEOPLE, LAYERS[1:]))
def test_layer_filter(world, person, layer):
    user = world.users[person]
    ids = set(Annotation.objects.in_layer(user, layer).values_list("pk", flat=True))
    for row, spec in POLICY_ROWS.items():
        assert (world.notes[row].pk in ids) is shows_in_layer(person, spec, layer), row


@pytest.mark.parametrize("person", PEOPLE)
def test_can_annotate(world, person):
    assert policy.can_annotate(world.users[person]) is (person != "anonymous")


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, POLICY_ROWS))
def test_can_edit_and_delete_annotation(world, note_of, person, row):
    user, note, spec = world.users[person], note_of(row), POLICY_ROWS[row]
    assert policy.can_edit_annotation(user, note) is may_change(person, spec)
    assert policy.can_delete_annotation(user, note) is may_change(person, spec)
    assert policy.can_mark_question(user, note) is may_change(person, spec)


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, POLICY_ROWS))
def test_can_reply_react_flag(world, note_of, person, row):
    """Discussion needs a logged-in reader who sees an active (unlocked) note; nobody reacts to
    their own note; private notes have nobody to flag them to."""
    user, note, spec = world.users[person], note_of(row), POLICY_ROWS[row]
    talks = person != "anonymous" and spec.status == "active" and sees(person, spec)
    assert policy.can_reply(user, note) is talks
    assert policy.can_react(user, note) is (talks and person != spec.author)
    flags = person != "anonymous" and spec.visibility != "private" and sees(person, spec)
    assert policy.can_flag(user, note) is (flags and person != spec.author)
    assert policy.can_mark_answer(user, note) is False  # none of them is a question


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, POLICY_ROWS))
def test_can_moderate(world, note_of, person, row):
    spec = POLICY_ROWS[row]
    expected = spec.visibility == "group" and person in MODERATORS[spec.group]
    assert policy.can_moderate(world.users[person], note_of(row)) is expected


@pytest.mark.parametrize(("person", "slug"), cells(PEOPLE, [CLUB, OTHER]))
def test_moderates_group_and_its_scope(world, person, slug):
    user, group = world.users[person], world.groups[slug]
    expected = person in MODERATORS[slug]
    assert policy.moderates_group(user, group) is expected
    assert policy.can_moderate_scope(user, group) is expected
    assert policy.can_read_log(user, group) is expected
    assert policy.can_set_pre_moderation(user, group) is expected
    assert policy.moderates_group(user, None) is False
    assert policy.can_moderate_scope(user, None) is False  # public content: staff only


@pytest.mark.parametrize(("person", "slug"), cells(PEOPLE, [CLUB, OTHER]))
def test_needs_approval_only_in_a_pre_moderated_group(world, person, slug):
    user, group = world.users[person], Group.objects.get(slug=slug)
    assert policy.needs_approval(user, group) is False
    assert policy.needs_approval(user, None) is False
    # The policy asks the database (a switch may have changed since the group was loaded).
    Group.objects.filter(pk=group.pk).update(pre_moderation=True)
    try:
        assert policy.needs_approval(user, group) is (person not in MODERATORS[slug])
    finally:
        Group.objects.filter(pk=group.pk).update(pre_moderation=False)


@pytest.mark.parametrize(("person", "slug"), cells(PEOPLE, [CLUB, OTHER]))
def test_can_post_to_group(world, person, slug):
    user = world.users[person]
    assert policy.can_post_to_group(user, world.groups[slug]) is (person in MEMBERS[slug])
    assert policy.can_post_to_group(user, None) is False


@pytest.mark.parametrize("person", PEOPLE)
def test_member_group_ids(world, person):
    expected = {world.groups[slug].pk for slug, members in MEMBERS.items() if person in members}
    assert policy.member_group_ids(world.users[person]) == expected


@pytest.mark.parametrize(("person", "slug"), cells(PEOPLE, [CLUB, OTHER]))
def test_membership_and_is_member(world, person, slug):
    user, group = world.users[person], world.groups[slug]
    member = policy.membership(user, group)
    assert (member is not None) is (person in MEMBERS[slug])
    assert policy.is_member(user, group) is (person in MEMBERS[slug])
    assert policy.is_banned(user, group) is False
    if member is not None:
        assert member.role == ROLES[slug].get(person, "member")


@pytest.mark.parametrize(("person", "slug"), cells(PEOPLE, [CLUB, OTHER]))
def test_can_view_group(world, person, slug):
    assert policy.can_view_group(world.users[person], world.groups[slug]) is (
        person in MEMBERS[slug]
    )


@pytest.mark.parametrize(("person", "slug"), cells(PEOPLE, [CLUB, OTHER]))
def test_can_manage_members(world, person, slug):
    is_owner = ROLES[slug].get(person) == "owner"
    assert policy.can_manage_members(world.users[person], world.groups[slug]) is is_owner


CLUB_MEMBERS = ["owner", "moderator", "member", "author"]


def _club_membership(world: World, person: str) -> Membership | None:
    return policy.membership(world.users[person], world.groups[CLUB])


@pytest.mark.parametrize(("actor", "target"), cells(PEOPLE, CLUB_MEMBERS))
def test_can_change_role(world, actor, target):
    target_membership = _club_membership(world, target)
    expected = actor == "owner" and target != "owner"
    assert policy.can_change_role(_club_membership(world, actor), target_membership) is expected
    # Owning another group gives no say over this one.
    other_owner = policy.membership(world.users["outsider"], world.groups[OTHER])
    assert policy.can_change_role(other_owner, target_membership) is False


@pytest.mark.parametrize(("actor", "target"), cells(PEOPLE, CLUB_MEMBERS))
def test_can_remove_member(world, actor, target):
    """The owner removes anyone but themself; a moderator removes plain members."""
    target_membership = _club_membership(world, target)
    expected = (actor == "owner" and target != "owner") or (
        actor == "moderator" and target in {"member", "author"}
    )
    assert policy.can_remove_member(_club_membership(world, actor), target_membership) is expected
    other_owner = policy.membership(world.users["outsider"], world.groups[OTHER])
    assert policy.can_remove_member(other_owner, target_membership) is False


@pytest.mark.parametrize(("actor", "target"), cells(PEOPLE, [None, *CLUB_MEMBERS]))
def test_can_ban(world, actor, target):
    """Moderators ban; nobody acts on the owner, and only the owner on a moderator."""
    target_membership = _club_membership(world, target) if target else None
    if actor not in MODERATORS[CLUB]:
        expected = False
    elif target is None:
        expected = True
    else:
        expected = target != "owner" and not (target == "moderator" and actor != "owner")
    assert policy.can_ban(world.users[actor], world.groups[CLUB], target_membership) is expected


@pytest.mark.parametrize("person", PEOPLE)
def test_can_leave_group(world, person):
    assert policy.can_leave_group(_club_membership(world, person)) is (
        person in {"moderator", "member", "author"}
    )


@pytest.mark.parametrize("person", PEOPLE)
def test_groups_for_layers(world, person):
    slugs = [g.slug for g in policy.groups_for_layers(world.users[person])]
    assert slugs == [slug for slug in (CLUB, OTHER) if person in MEMBERS[slug]]


def test_world_is_as_described(world):
    for slug, members in MEMBERS.items():
        in_db = set(
            Membership.objects.filter(group__slug=slug).values_list("user__username", flat=True)
        )
        assert in_db == members
    assert Group.objects.count() == 2
    statuses = dict(
        Annotation.objects.filter(pk__in=[n.pk for n in world.notes.values()]).values_list(
            "body", "status"
        )
    )
    for row, spec in POLICY_ROWS.items():
        assert statuses[f"A note that says {token(row)}."] == spec.status
