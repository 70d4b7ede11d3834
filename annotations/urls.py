"""Annotation URLs: highlights, notes, groups (filled in by the annotation issues)."""

urlpatterns: list = []
