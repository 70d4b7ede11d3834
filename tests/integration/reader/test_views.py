"""The library, as a reader meets it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import make_document

pytestmark = pytest.mark.django_db


def test_library_lists_documents_newest_first_with_counts(client):
    older = make_document(paragraphs=5, title="Older text")
    newer = make_document(paragraphs=8, title="Newer text", author="A. Writer")
    response = client.get(reverse("library"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Newer text") < html.index("Older text")
    assert "A. Writer" in html
    assert f"{newer.paragraph_count} paragraphs" in html
    assert f"{older.word_count} words" in html
