"""Factories for the tests: people and documents made through the real code paths."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from reader.models import Document
from reader.services import document_import

PASSWORD = "a-long-test-password"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"reader{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(user, create, extracted, **kwargs):
        if create:
            user.save()


def sample_text(paragraphs: int, *, words: int = 40) -> str:
    """Plain text with `paragraphs` distinct paragraphs (a heading every 20)."""
    vocabulary = (
        "reading margin quiet river lantern question answer passage evidence chapter "
        "argument notebook window garden silver morning thread careful patient voice"
    ).split()
    blocks = []
    for n in range(paragraphs):
        if n % 20 == 0:
            blocks.append(f"# Part {n // 20 + 1}")
            continue
        body = " ".join(vocabulary[(n * 7 + i * 3) % len(vocabulary)] for i in range(words))
        blocks.append(f"Paragraph {n}: {body}.")
    return "\n\n".join(blocks)


def make_document(
    *, paragraphs: int = 10, title: str = "A test document", fmt: str = "markdown", **kwargs
) -> Document:
    return document_import(source=sample_text(paragraphs), fmt=fmt, title=title, **kwargs)
