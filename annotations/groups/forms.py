"""Forms of a study group: a new group, an invite link's lifetime."""

from __future__ import annotations

from django import forms


class GroupForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


class InviteForm(forms.Form):
    expires_in_days = forms.TypedChoiceField(
        label="The new link works",
        choices=[
            ("", "until renewed"),
            ("1", "for 1 day"),
            ("7", "for 7 days"),
            ("30", "for 30 days"),
        ],
        coerce=int,
        empty_value=None,
        required=False,
    )
