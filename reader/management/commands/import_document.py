"""python manage.py import_document PATH [--title T] [--author A] [--format text|markdown|html]"""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reader import importing
from reader.importing import ImportRefused
from reader.models import Language
from reader.services import document_import

# Files larger than this show progress on stderr while their paragraphs are saved.
PROGRESS_FROM_BYTES = 256 * 1024


class Command(BaseCommand):
    help = "Import a plain-text, Markdown or HTML file as a new document and print its URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The file to import ('-' reads standard input).")
        parser.add_argument("--title", default="", help="Title (default: the first heading).")
        parser.add_argument("--author", default="")
        parser.add_argument("--source", default="", help="Where the text comes from.")
        parser.add_argument(
            "--format",
            choices=importing.FORMATS,
            help="Format of the file (default: guessed from its extension).",
        )
        parser.add_argument(
            "--language",
            choices=Language.values,
            default=Language.ENGLISH,
            help="The text's language, for search (default: english).",
        )

    def handle(self, *args, **options) -> None:
        path = options["path"]
        fmt = options["format"] or (None if path == "-" else importing.guess_format(path))
        if fmt is None:
            raise CommandError(
                f"Cannot tell the format of {path!r} from its name: "
                "give --format text, markdown or html."
            )
        limit = settings.IMPORT_MAX_BYTES
        try:
            if path == "-":
                data = sys.stdin.buffer.read(limit + 1)
            else:
                file = Path(path)
                if not file.is_file():
                    raise CommandError(f"No such file: {path}")
                if file.stat().st_size > limit:
                    raise ImportRefused(
                        f"The file is larger than the limit of {limit / 1048576:g} MB "
                        "(IMPORT_MAX_BYTES)."
                    )
                data = file.read_bytes()
            if len(data) > limit:
                raise ImportRefused(
                    f"The input is larger than the limit of {limit / 1048576:g} MB."
                )
            source = importing.decode_upload(data)
            document = document_import(
                source=source,
                fmt=fmt,
                title=options["title"],
                author=options["author"],
                source_ref=options["source"],
                language=options["language"],
                progress=self._progress if len(data) > PROGRESS_FROM_BYTES else None,
            )
        except ImportRefused as refused:
            raise CommandError(f"{path}: {refused}") from refused
        if len(data) > PROGRESS_FROM_BYTES:
            self.stderr.write("")  # end the progress line
        self.stdout.write(
            f"Imported “{document.title}”: {document.paragraph_count} paragraphs, "
            f"{document.word_count} words."
        )
        self.stdout.write(document_url(document.get_absolute_url()))

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\rSaving paragraphs: {done}/{total}", ending="")
        self.stderr.flush()


def document_url(path: str) -> str:
    return f"http://{settings.HOST}:{settings.PORT}{path}"
