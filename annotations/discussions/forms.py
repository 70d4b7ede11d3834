"""Forms of a discussion: a reply, its edit, a flag, a new discussion."""

from __future__ import annotations

from django import forms

from annotations.models import Flag
from annotations.notes.forms import NoteFields


class ReplyForm(forms.Form):
    body = forms.CharField(strip=False, widget=forms.Textarea(attrs={"rows": 3}), label="Reply")
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReplyEditForm(forms.Form):
    body = forms.CharField(strip=False, widget=forms.Textarea(attrs={"rows": 4}), label="Reply")
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class FlagForm(forms.Form):
    reason = forms.ChoiceField(choices=Flag.Reason.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: what should the moderators know?",
    )


class DiscussionForm(NoteFields):
    is_question = forms.BooleanField(required=False, label="This is a question")
