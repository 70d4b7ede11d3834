"""A note's search vector also holds its scope (document, group) as lexemes; an index lets
search check a reply's note without reading the table. See annotations.models.ScopeLexemes.

PostgreSQL cannot change a generated column's expression in place: the column (and its index)
is dropped and made again, which rewrites the table once."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

import annotations.models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0007_search_import_tokens"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="annotation", name="annotation_search_idx"),
        migrations.RemoveField(model_name="annotation", name="search"),
        migrations.AddField(
            model_name="annotation",
            name="search",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.SearchVector(
                        "body", config=models.F("language")
                    ),
                    "||",
                    annotations.models.ScopeLexemes(models.F("document_id"), models.F("group_id")),
                    django.contrib.postgres.search.SearchConfig(models.F("language")),
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="annotation",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search"], name="annotation_search_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="annotation",
            index=models.Index(
                fields=["id"],
                include=("document", "group", "visibility", "status", "author"),
                name="annotation_audience_idx",
            ),
        ),
    ]
