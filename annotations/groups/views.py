"""Study groups: creating, joining by invite link, the group page, roles and leaving."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import policy
from annotations.errors import GroupError
from annotations.groups import queries, services
from annotations.groups.forms import GroupForm, InviteForm
from annotations.models import Group, Membership
from annotations.moderation import services as moderation


@login_required
@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("group")
    return render(request, "annotations/groups/list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def group_new(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = services.group_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
            )
        except GroupError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Created “{group.name}”. Share its invite link below.")
            return redirect(group)
    return render(
        request, "annotations/groups/new.html", {"form": form}, status=400 if form.errors else 200
    )


def _group_for_member(request: HttpRequest, slug: str) -> tuple[Group, Membership]:
    """The group and the viewer's membership; 404 for anyone not in it."""
    group = get_object_or_404(Group, slug=slug)
    member = policy.membership(request.user, group)
    if member is None or not policy.can_view_group(request.user, group):
        raise Http404("No such group.")
    return group, member


@login_required
@require_GET
def group_detail(request: HttpRequest, slug: str) -> HttpResponse:
    group, member = _group_for_member(request, slug)
    members = queries.members_of(group)
    recent = queries.recent_group_notes(request.user, group)
    documents = queries.documents_of_group(request.user, group)
    invite_url = request.build_absolute_uri(
        reverse("group_join", kwargs={"token": group.invite_token})
    )
    return render(
        request,
        "annotations/groups/detail.html",
        {
            "group": group,
            "member": member,
            "members": members,
            "recent": recent,
            "documents": documents,
            "can_manage": policy.can_manage_members(request.user, group),
            "can_moderate_group": policy.moderates_group(request.user, group),
            "bans": group.bans.select_related("user")
            if policy.moderates_group(request.user, group)
            else [],
            "can_leave": policy.can_leave_group(member),
            "invite_url": invite_url,
            "invite_valid": services.invite_is_valid(group),
            "invite_form": InviteForm(),
            "roles": Membership.Role,
            "layer": f"{policy.GROUP_LAYER_PREFIX}{group.slug}",
        },
    )


@login_required
@require_POST
def group_invite_renew(request: HttpRequest, slug: str) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    if not policy.can_manage_members(request.user, group):
        raise PermissionDenied("Only the owner can renew the invite link.")
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how long the new link works.")
        return redirect(group)
    services.group_renew_invite(
        group=group, by=request.user, expires_in_days=form.cleaned_data["expires_in_days"]
    )
    messages.success(request, "A new invite link is ready; the old one no longer works.")
    return redirect(group)


@require_http_methods(["GET", "POST"])
def group_join(request: HttpRequest, token: str) -> HttpResponse:
    """An invite link. Logged in: one button joins. Not logged in: log in or sign up first,
    then come back here. Joining needs the POST: a link preview or prefetch never joins."""
    group = Group.objects.filter(invite_token=token).first()
    valid = group is not None and services.invite_is_valid(group)
    if not valid:
        return render(request, "annotations/groups/join.html", {"valid": False}, status=404)
    if request.user.is_authenticated and policy.is_member(request.user, group):
        return redirect(group)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.path)
        try:
            services.group_join(user=request.user, token=token)
        except GroupError as error:
            messages.error(request, str(error))
            return redirect("library")
        messages.success(request, f"You joined “{group.name}”.")
        return redirect(group)
    members = group.memberships.count()
    return render(
        request, "annotations/groups/join.html", {"valid": True, "group": group, "members": members}
    )


@login_required
@require_POST
def group_member_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    target = services.membership_set_role(
        actor=request.user, group=group, user_id=user_id, role=request.POST.get("role", "")
    )
    messages.success(
        request, f"{target.user.username} is now a {target.get_role_display().lower()}."
    )
    return redirect(group)


@login_required
@require_POST
def group_member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    moderation.member_remove(moderator=request.user, group=group, user_id=user_id)
    messages.success(request, "Removed from the group.")
    return redirect(group)


@login_required
@require_POST
def group_leave(request: HttpRequest, slug: str) -> HttpResponse:
    group, _ = _group_for_member(request, slug)
    try:
        services.group_leave(user=request.user, group=group)
    except GroupError as error:
        messages.error(request, str(error))
        return redirect(group)
    messages.success(request, f"You left “{group.name}”.")
    return redirect("group_list")
