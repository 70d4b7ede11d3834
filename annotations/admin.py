from django.contrib import admin

from annotations.models import (
    Annotation,
    ApiToken,
    Ban,
    Flag,
    Group,
    Membership,
    ModerationAction,
    Notification,
    Reply,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_by", "created_at", "invite_expires_at")
    search_fields = ("name", "slug", "description")
    list_filter = ("created_at",)
    raw_id_fields = ("created_by",)
    readonly_fields = ("invite_token", "created_at")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "role", "joined_at")
    list_filter = ("role",)
    search_fields = ("user__username", "group__name")
    list_select_related = ("user", "group")
    raw_id_fields = ("user", "group")


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "excerpt",
        "author",
        "document",
        "visibility",
        "group",
        "status",
        "created_at",
    )
    list_filter = ("visibility", "status", "colour", "created_at")
    search_fields = ("exact", "body", "author__username", "document__title")
    list_select_related = ("author", "document", "group")
    raw_id_fields = ("author", "document", "revision", "group")
    readonly_fields = (
        "body_html",
        "exact",
        "prefix",
        "suffix",
        "start_key",
        "start_offset",
        "start_position",
        "end_key",
        "end_offset",
        "end_position",
        "version",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Kind")
    def kind(self, annotation: Annotation) -> str:
        return "note" if annotation.is_note else "highlight"

    @admin.display(description="Quote")
    def excerpt(self, annotation: Annotation) -> str:
        return annotation.exact[:60]


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "annotation", "status", "created_at", "edited_at")
    list_filter = ("status", "created_at")
    search_fields = ("body", "author__username")
    list_select_related = ("author",)
    readonly_fields = (
        "annotation",
        "parent",
        "author",
        "body",
        "body_html",
        "status",
        "moderation_reason",
        "version",
        "created_at",
        "edited_at",
    )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "reason",
        "flagger",
        "annotation",
        "reply",
        "group",
        "created_at",
        "resolved_at",
    )
    list_filter = ("reason", "resolved_at")
    list_select_related = ("flagger", "group")
    readonly_fields = (
        "flagger",
        "annotation",
        "reply",
        "group",
        "reason",
        "comment",
        "created_at",
        "resolved_at",
    )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The moderation log, read-only: no adding, changing or deleting (the database refuses
    the last two as well)."""

    list_display = (
        "created_at",
        "moderator",
        "act",
        "group",
        "annotation",
        "reply",
        "subject",
        "reason",
        "old_state",
        "new_state",
    )
    list_filter = ("act", "group", "created_at")
    search_fields = ("reason", "moderator__username", "subject__username")
    list_select_related = ("moderator", "group", "subject")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "banned_by", "reason", "created_at")
    list_select_related = ("user", "group", "banned_by")
    raw_id_fields = ("user", "group", "banned_by")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "message", "created_at", "read_at")
    list_filter = ("kind",)
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient", "actor", "annotation", "reply")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Personal API tokens, read-only: staff see who has which and when it was used; the hash is
    never shown (it is not the token, but there is no reason to show it either)."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
