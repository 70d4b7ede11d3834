"""Template helpers that ask annotations.policy: templates never decide permissions."""

from django import template

from annotations import policy

register = template.Library()


@register.filter
def editable_by(annotation, user) -> bool:
    return policy.can_edit_annotation(user, annotation)


@register.filter
def audience(annotation) -> str:
    """'Only me', 'Group: Book club', 'Public'."""
    if annotation.visibility == "group" and annotation.group_id:
        return f"Group: {annotation.group.name}"
    return annotation.get_visibility_display()


@register.filter
def reply_editable_by(reply, user) -> bool:
    return policy.can_edit_reply(user, reply)
