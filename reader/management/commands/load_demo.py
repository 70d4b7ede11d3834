"""Load the demo document (and, in development mode only, a demo account). Idempotent."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from reader.models import Document
from reader.services import document_import

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "reading-together.md"
DEMO_SLUG = "reading-together-a-short-guide"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "read-together"  # noqa: S105 - development mode only, never in production


class Command(BaseCommand):
    help = "Load the demo document once; in development mode also the demo account."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            if Document.objects.filter(slug=DEMO_SLUG).exists():
                document = Document.objects.get(slug=DEMO_SLUG)
            else:
                document = document_import(
                    source=DEMO_FILE.read_text(encoding="utf-8"),
                    fmt="markdown",
                    author="The Marginalia team",
                    source_ref="Written for Marginalia",
                )
                self.stdout.write(f"Loaded the demo document “{document.title}”.")
            if settings.DEBUG:
                self._demo_account()
        self.stdout.write(f"Demo document: {document.get_absolute_url()}")

    def _demo_account(self) -> None:
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USERNAME).exists():
            User.objects.create_user(DEMO_USERNAME, password=DEMO_PASSWORD)
            self.stdout.write(f"Created the demo account {DEMO_USERNAME!r}.")
