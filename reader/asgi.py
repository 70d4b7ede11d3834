"""ASGI entry point: `uvicorn reader.asgi:application` (what `make run` serves through)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reader.settings")

application = get_asgi_application()
