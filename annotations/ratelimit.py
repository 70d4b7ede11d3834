"""Per-person rate limits on posting and flagging, counted in PostgreSQL.

Counting in the database (one upsert per act) makes a limit hold across every app process and
machine, with no broker. Windows are fixed (the current minute, the current hour): simple, and a
lively study group never comes near the defaults, while a script does at once.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from annotations.errors import RateLimited
from annotations.models import RateCounter


def limits(action: str) -> list[tuple[int, int]]:
    """(window in seconds, most acts allowed in it) for an action, from settings."""
    return settings.RATE_LIMITS.get(action, [])


def _window_start(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def hit(user, action: str, *, now: datetime | None = None) -> None:
    """Count one `action` by `user`, or raise RateLimited if it would go over a limit.

    Call it inside the write's transaction, before the write: when the write is refused or
    rolled back, the count rolls back with it.
    """
    if not settings.RATE_LIMITS_ENABLED:
        return
    now = now or timezone.now()
    table = RateCounter._meta.db_table
    for seconds, allowed in limits(action):
        start = _window_start(now, seconds)
        counter = f"{action}:{seconds}"
        with connection.cursor() as cursor:
            # One statement: concurrent requests from any process serialise on the row.
            cursor.execute(
                f"""
                INSERT INTO {table} (user_id, action, window_start, count)
                VALUES (%s, %s, %s, 1)
                ON CONFLICT (user_id, action, window_start)
                DO UPDATE SET count = {table}.count + 1
                RETURNING count
                """,  # noqa: S608 - the table name is ours, values are parameters
                [user.pk, counter, start],
            )
            (count,) = cursor.fetchone()
        if count == 1:
            # This counter's first act in a new window: its earlier windows are over and nothing
            # reads them again. Clearing them now costs one indexed delete per person, counter
            # and window (not one per act), keeps the table at about a row per person and
            # counter, and needs no cron or worker.
            RateCounter.objects.filter(
                user_id=user.pk, action=counter, window_start__lt=start
            ).delete()
        if count > allowed:
            retry = (start + timedelta(seconds=seconds) - now).total_seconds()
            raise RateLimited(action, max(1, math.ceil(retry)))


def forget_old(*, older_than: timedelta = timedelta(days=2)) -> int:
    """Delete counters of windows long gone. hit() clears a person's earlier windows itself;
    what stays is the last window of people who have not acted since, one tiny row each."""
    deleted, _ = RateCounter.objects.filter(window_start__lt=timezone.now() - older_than).delete()
    return deleted
