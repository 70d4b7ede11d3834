"""Importing through the upload page and the import_document command, good input and bad."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from reader.models import Document, Paragraph, Revision
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("document_new")


@pytest.fixture
def owner(client):
    user = UserFactory(username="owner")
    client.force_login(user)
    return user


def nothing_stored() -> bool:
    return not (
        Document.objects.exists() or Revision.objects.exists() or Paragraph.objects.exists()
    )


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.post(URL, {"text": "Hello."}).status_code == 302
    assert nothing_stored()


def test_pasted_text_becomes_numbered_paragraphs(client, owner):
    text = "First paragraph,\nwrapped here.\n\nSecond “paragraph” — with dashes…\n\n> Quoted.\n"
    response = client.post(URL, {"title": "Pasted", "author": "Me", "format": "auto", "text": text})
    doc = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == doc.get_absolute_url()
    assert doc.title == "Pasted" and doc.author == "Me" and doc.imported_by == owner
    revision = doc.current_revision
    assert (
        revision.number == 1 and revision.source_text == text and revision.source_format == "text"
    )
    paragraphs = list(revision.paragraphs.values_list("kind", "text"))
    assert paragraphs == [
        ("paragraph", "First paragraph, wrapped here."),
        ("paragraph", "Second “paragraph” — with dashes…"),
        ("blockquote", "Quoted."),
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Second “paragraph” — with dashes…" in page


def test_uploaded_markdown_file_takes_its_title_from_the_first_heading(client, owner):
    upload = SimpleUploadedFile("guide.md", b"# The Guide\n\nSome *text*.\n")
    response = client.post(URL, {"format": "auto", "file": upload})
    doc = Document.objects.get()
    assert response.status_code == 302
    assert doc.title == "The Guide"
    assert doc.current_revision.source_format == "markdown"
    assert doc.paragraph_count == 2


def test_uploaded_html_is_sanitized(client, owner):
    html = b"<html><body><h1>T</h1><p onclick='x()'>Hi <script>alert(1)</script><b>there</b></p>"
    client.post(URL, {"format": "auto", "file": SimpleUploadedFile("page.html", html)})
    paragraph = Paragraph.objects.get(kind="paragraph")
    assert "script" not in paragraph.html and "onclick" not in paragraph.html
    assert paragraph.text == "Hi there"


def test_same_title_gets_a_distinct_address(client, owner):
    client.post(URL, {"title": "Twice", "format": "text", "text": "One."})
    client.post(URL, {"title": "Twice", "format": "text", "text": "Two."})
    assert sorted(Document.objects.values_list("slug", flat=True)) == ["twice", "twice-2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "auto", "text": "   \n\n  "}, "Choose a file or paste some text."),
        ({"format": "auto"}, "Choose a file or paste some text."),
        ({"format": "pdf", "text": "Hello"}, "Select a valid choice."),
        (
            {"format": "auto", "file": ("empty.txt", b"")},
            "The submitted file is empty.",
        ),
        (
            {"format": "auto", "file": ("blank.txt", b"  \n\n \t\n")},
            "empty",
        ),
        (
            {
                "format": "auto",
                "file": ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
            },
            "binary",
        ),
        (
            {"format": "auto", "file": ("latin1.txt", "Caf\xe9 cr\xe8me".encode("latin-1"))},
            "UTF-8",
        ),
        (
            {"format": "auto", "file": ("a.md", b"x"), "text": "and pasted"},
            "not both",
        ),
    ],
    ids=[
        "blank-paste",
        "nothing",
        "unknown-format",
        "empty-file",
        "whitespace-file",
        "binary",
        "undecodable",
        "file-and-text",
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_stored(client, owner, data, message):
    if "file" in data:
        name, content = data["file"]
        data = {**data, "file": SimpleUploadedFile(name, content)}
    response = client.post(URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert nothing_stored()


def test_over_the_size_limit_is_refused(client, owner, settings):
    settings.IMPORT_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.txt", b"word " * 300)
    response = client.post(URL, {"format": "auto", "file": upload})
    assert response.status_code == 400
    assert "larger than the limit" in response.content.decode()
    response = client.post(URL, {"format": "auto", "text": "word " * 300})
    assert "larger than the limit" in response.content.decode()
    assert nothing_stored()


# The command --------------------------------------------------------------------------------


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_document", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_imports_a_file_and_prints_its_url(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Notes on Reading\n\nA paragraph.\n\n- an item\n", encoding="utf-8")
    out, _ = run_command(str(path), "--author", "Someone")
    doc = Document.objects.get()
    assert doc.title == "Notes on Reading" and doc.author == "Someone"
    assert out.strip().endswith(doc.get_absolute_url())
    assert doc.paragraph_count == 3


def test_command_format_flag_overrides_the_extension(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text("<p>Hello <em>there</em></p>", encoding="utf-8")
    run_command(str(path), "--format", "html", "--title", "Forced")
    assert Paragraph.objects.get().html == "Hello <em>there</em>"


def test_command_shows_progress_on_large_files(tmp_path):
    path = tmp_path / "book.txt"
    path.write_text("\n\n".join(f"Paragraph number {n} of the book." for n in range(12000)))
    _, err = run_command(str(path))
    assert "Saving paragraphs: 12000/12000" in err


@pytest.mark.parametrize(
    ("name", "content", "args", "message"),
    [
        ("empty.txt", b"", (), "empty"),
        ("binary.txt", bytes(range(256)) * 4, (), "binary"),
        ("bad.txt", b"caf\xe9\xff\xfe text", (), "UTF-8"),
        ("notes.docx", b"hello", (), "Cannot tell the format"),
        ("missing.txt", None, (), "No such file"),
    ],
    ids=["empty", "binary", "undecodable", "unknown-extension", "missing"],
)
def test_command_refuses_bad_input(tmp_path, name, content, args, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run_command(str(path), *args)
    assert nothing_stored()


def test_command_refuses_an_unknown_format_flag(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("hi")
    with pytest.raises(CommandError, match="invalid choice"):
        run_command(str(path), "--format", "pdf")
    assert nothing_stored()


def test_command_refuses_a_file_over_the_limit(tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 100
    path = tmp_path / "big.txt"
    path.write_text("word " * 100)
    with pytest.raises(CommandError, match="larger than the limit"):
        run_command(str(path))
    assert nothing_stored()


def test_command_exits_non_zero_from_the_shell(tmp_path):
    """The real process: stderr message, exit status 1, nothing stored."""
    import os
    import subprocess
    import sys

    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "manage.py", "import_document", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBUG": "1"},
        check=False,
    )
    assert result.returncode == 1
    assert "empty" in result.stderr
