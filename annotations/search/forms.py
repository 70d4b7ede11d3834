"""The search form: GET parameters (of the search page and of /api/search) checked into a
SearchQuery, with messages a reader can act on."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator

from annotations.errors import AnnotationError
from annotations.notes.services import parse_tags
from annotations.search.query import KINDS, MAX_PER_PAGE, SearchQuery

PER_PAGE = 20
MAX_PAGE = 1000
KIND_CHOICES = list(zip(KINDS, ("Everything", "Notes", "Replies", "Document text"), strict=True))


def _day_field(label: str, which: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": f"Give the {which} date as YYYY-MM-DD."},
    )


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        max_length=200,
        error_messages={
            "required": "Type the words to look for.",
            "max_length": "Search for at most %(limit_value)d characters (this is %(show_value)d).",
        },
        help_text='Words; "a phrase" in quotes; -word to leave out; or between alternatives.',
    )
    document = forms.SlugField(
        required=False,
        max_length=80,
        error_messages={"invalid": "A document is named by its short name, as in its address."},
    )
    group = forms.SlugField(
        required=False,
        max_length=80,
        error_messages={"invalid": "A group is named by its short name, as in its address."},
    )
    author = forms.CharField(
        required=False,
        max_length=150,
        validators=[UnicodeUsernameValidator(message="That is not a username.")],
        error_messages={"max_length": "That is not a username (150 characters at most)."},
    )
    tag = forms.CharField(required=False, max_length=60)
    kind = forms.ChoiceField(
        label="Search in",
        required=False,
        choices=KIND_CHOICES,
        error_messages={
            "invalid_choice": f"Search in one of: {', '.join(KINDS)} (not “%(value)s”)."
        },
    )
    since = _day_field("From", "start")
    until = _day_field("To", "end")
    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE,
        error_messages={
            "invalid": "The page is a number.",
            "min_value": "Pages start at 1.",
            "max_value": f"There are at most {MAX_PAGE} pages.",
        },
    )
    per_page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PER_PAGE,
        error_messages={
            "invalid": "per_page is a number.",
            "min_value": f"per_page is between 1 and {MAX_PER_PAGE}.",
            "max_value": f"per_page is between 1 and {MAX_PER_PAGE}.",
        },
    )

    def clean_tag(self) -> str:
        """The same spelling as tags are stored in: '#Key idea' is 'key-idea'."""
        raw = self.cleaned_data["tag"]
        try:
            tags = parse_tags(raw)
        except AnnotationError as error:
            raise forms.ValidationError(str(error)) from error
        if len(tags) > 1:
            raise forms.ValidationError("Filter by one tag at a time.")
        return tags[0] if tags else ""

    def clean_until(self) -> date | None:
        """Up to and including that day: the search's bound is the next day's start, and there
        is none after the last day a date can name."""
        until = self.cleaned_data["until"]
        if until is not None and until >= date.max:
            raise forms.ValidationError(f"Give an end date before {date.max.isoformat()}.")
        return until

    def clean_kind(self) -> str:
        return self.cleaned_data["kind"] or "all"

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def search_query(self) -> SearchQuery:
        data = self.cleaned_data
        return SearchQuery(
            q=data["q"],
            document=data["document"],
            group=data["group"],
            author=data["author"],
            tag=data["tag"],
            kind=data["kind"],
            since=data["since"],
            until=data["until"],
        )

    @property
    def page_number(self) -> int:
        return self.cleaned_data.get("page") or 1

    @property
    def page_size(self) -> int:
        return self.cleaned_data.get("per_page") or PER_PAGE

    def error_text(self) -> str:
        """Every error in one line, each naming its parameter: for the API."""
        return " ".join(
            f"{'' if field == '__all__' else field + ': '}{message}"
            for field, messages in self.errors.items()
            for message in messages
        )
