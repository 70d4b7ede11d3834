from django.contrib import admin

from reader.models import Document, Paragraph, Revision


class RevisionInline(admin.TabularInline):
    model = Revision
    fields = ("number", "source_format", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "author",
        "slug",
        "paragraph_count",
        "word_count",
        "imported_by",
        "created_at",
    )
    list_filter = ("created_at",)
    search_fields = ("title", "author", "slug", "source")
    # The language is copied into every paragraph and note for search: it is set on import.
    readonly_fields = (
        "current_revision",
        "language",
        "paragraph_count",
        "word_count",
        "created_at",
    )
    raw_id_fields = ("imported_by",)
    date_hierarchy = "created_at"
    inlines = [RevisionInline]


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ("document", "number", "source_format", "created_by", "created_at")
    list_filter = ("source_format", "created_at")
    search_fields = ("document__title",)
    list_select_related = ("document", "created_by")
    raw_id_fields = ("document", "created_by")


@admin.register(Paragraph)
class ParagraphAdmin(admin.ModelAdmin):
    list_display = ("key", "number", "kind", "level", "excerpt", "document_title")
    list_filter = ("kind",)
    search_fields = ("key", "text", "revision__document__title")
    list_select_related = ("revision__document",)
    raw_id_fields = ("revision",)
    ordering = ("revision", "position")

    @admin.display(description="Text")
    def excerpt(self, paragraph: Paragraph) -> str:
        return paragraph.text[:80]

    @admin.display(description="Document", ordering="revision__document__title")
    def document_title(self, paragraph: Paragraph) -> str:
        return paragraph.revision.document.title
