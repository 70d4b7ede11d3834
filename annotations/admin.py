from django.contrib import admin

from annotations.models import Annotation, Group, Membership


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
