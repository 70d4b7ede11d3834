"""Serve Marginalia through uvicorn (ASGI): what `make run` calls.

Says which database is in use, migrates, loads the demo once, then serves on HOST:PORT.
"""

from __future__ import annotations

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = "Migrate, load the demo once, and serve through uvicorn on HOST:PORT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-setup", action="store_true", help="Skip migrate and demo.")
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.WEB_WORKERS,
            help="App processes (live updates reach readers on any of them).",
        )

    def handle(self, *args, **options) -> None:
        database = settings.DATABASES["default"].get("DESCRIPTION", "PostgreSQL")
        self.stdout.write(f"Database: {database}")
        if not options["no_setup"]:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("load_demo")
            if not settings.DEBUG:
                call_command("collectstatic", interactive=False, verbosity=0)
        connection.close()
        host, port = options["host"], options["port"]
        self.stdout.write(self.style.SUCCESS(f"Marginalia is at http://{host}:{port}/"))
        if settings.DEBUG:
            from reader.management.commands.load_demo import DEMO_PASSWORD, DEMO_USERNAME

            self.stdout.write(f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
        uvicorn.run(
            "reader.asgi:application",
            host=host,
            port=port,
            workers=options["workers"],
            log_level="info",
            # Live streams end cleanly on shutdown instead of holding it up.
            timeout_graceful_shutdown=5,
        )
