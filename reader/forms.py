"""Forms on the reading side: importing a document, signing up."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm

from reader import importing
from reader.importing import ImportRefused
from reader.models import Language

FORMAT_CHOICES = [
    ("auto", "Guess from the file name or the text"),
    ("text", "Plain text"),
    ("markdown", "Markdown"),
    ("html", "HTML"),
]


def guess_pasted_format(text: str) -> str:
    """Pasted text has no file name: look at it. HTML if it opens with a tag, Markdown if it
    uses Markdown's block syntax, plain text otherwise."""
    stripped = text.lstrip()
    if stripped.startswith("<") and ">" in stripped[:2000]:
        return "html"
    for line in stripped.splitlines()[:400]:
        if line.startswith(("#", "```", "~~~")) or "](" in line:
            return "markdown"
    return "text"


class ImportForm(forms.Form):
    title = forms.CharField(
        max_length=300, required=False, help_text="Left empty, the first heading is used."
    )
    author = forms.CharField(max_length=300, required=False)
    source = forms.CharField(
        max_length=500, required=False, label="Source", help_text="A URL or a citation."
    )
    format = forms.ChoiceField(choices=FORMAT_CHOICES, initial="auto")
    language = forms.ChoiceField(
        choices=Language.choices,
        initial=Language.ENGLISH,
        required=False,
        help_text="Search finds words in their other forms (read, reading) in this language.",
    )
    file = forms.FileField(required=False, help_text="A .txt, .md or .html file.")
    text = forms.CharField(
        required=False,
        strip=False,
        label="Or paste the text",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        upload, pasted = data.get("file"), data.get("text") or ""
        if upload and pasted.strip():
            raise forms.ValidationError("Choose a file or paste text, not both.")
        if not upload and not pasted.strip():
            raise forms.ValidationError("Choose a file or paste some text.")
        fmt = data.get("format") or "auto"
        limit = settings.IMPORT_MAX_BYTES
        try:
            if upload:
                if upload.size > limit:
                    raise ImportRefused(
                        f"The file is larger than the limit of {limit / 1048576:g} MB."
                    )
                data["source_text"] = importing.decode_upload(upload.read())
                if fmt == "auto":
                    fmt = importing.guess_format(upload.name) or guess_pasted_format(
                        data["source_text"]
                    )
            else:
                if len(pasted.encode("utf-8")) > limit:
                    raise ImportRefused(
                        f"The text is larger than the limit of {limit / 1048576:g} MB."
                    )
                data["source_text"] = pasted
                if fmt == "auto":
                    fmt = guess_pasted_format(pasted)
        except ImportRefused as refused:
            raise forms.ValidationError(str(refused)) from refused
        data["resolved_format"] = fmt
        return data


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        required=False, help_text="Optional: only for notifications you choose to receive."
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
