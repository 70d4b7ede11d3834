"""What the export and import tests share: a logged-in client and a document's export."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

BASE = "http://testserver"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def export(client, document, fmt: str) -> str:
    response = client.get(reverse("export_document", kwargs={"slug": document.slug, "fmt": fmt}))
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()
