"""Forms of a note: its fields, the editor, and My notes' filters."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.utils.html import format_html
from markdownx.widgets import MarkdownxWidget

from annotations.models import Annotation, Group

Visibility = Annotation.Visibility


class TagsInput(forms.TextInput):
    """The tags field, followed by the <datalist> of existing tags that htmx fills as one types
    (annotations.tag_views.tag_suggest; static/annotations/tags.js makes a choice replace only
    the last comma-separated item)."""

    list_id = "tag-suggestions"

    def __init__(self, attrs=None):
        super().__init__(
            {
                "list": self.list_id,
                "hx-get": reverse_lazy("tag_suggest"),
                "hx-trigger": "input changed delay:200ms",
                "hx-target": f"#{self.list_id}",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
                **(attrs or {}),
            }
        )

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        return field + format_html('<datalist id="{}"></datalist>', self.list_id)


class NoteFields(forms.Form):
    """What a reader writes about a passage: shared by the create and edit forms."""

    colour = forms.ChoiceField(
        choices=Annotation.Colour.choices,
        initial=Annotation.Colour.YELLOW,
        widget=forms.RadioSelect(attrs={"class": "colour-choice"}),
    )
    body = forms.CharField(
        required=False,
        strip=False,
        label="Note",
        help_text="Markdown: **bold**, *italic*, [links](https://example.org), lists, quotes.",
        widget=MarkdownxWidget(attrs={"rows": 6, "aria-describedby": "note-help"}),
    )
    tags = forms.CharField(
        required=False,
        max_length=600,
        help_text="Separate tags with commas.",
        widget=TagsInput(attrs={"autocomplete": "off", "placeholder": "e.g. metaphor, key idea"}),
    )
    visibility = forms.ChoiceField(
        choices=Visibility.choices,
        initial=Visibility.PRIVATE,
        label="Who can see it",
        widget=forms.RadioSelect,
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.none(),
        required=False,
        empty_label="Choose a group",
        help_text="For “A group”: which of your groups.",
    )

    def __init__(self, *args, user=None, audience_optional=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visibility"].required = not audience_optional
        if user is not None and user.is_authenticated:
            self.fields["group"].queryset = Group.objects.filter(memberships__user=user)
        # A bad group id is reported like any other audience problem, in the reader's words.
        self.fields["group"].error_messages["invalid_choice"] = (
            "You can only share notes with a group you belong to."
        )


class AnnotationCreateForm(NoteFields):
    """A new highlight or note. The toolbar's Highlight sends no audience: it gets the reader's
    last choice (see notes.queries.last_audience)."""

    start_key = forms.CharField(max_length=24, widget=forms.HiddenInput)
    start_offset = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    end_key = forms.CharField(max_length=24, widget=forms.HiddenInput)
    end_offset = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    exact = forms.CharField(strip=False, widget=forms.HiddenInput)


class AnnotationEditForm(NoteFields):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class MyNotesFilter(forms.Form):
    document = forms.CharField(required=False)
    tag = forms.CharField(required=False, max_length=50)
    visibility = forms.ChoiceField(
        required=False, choices=[("", "Any visibility"), *Visibility.choices]
    )
