"""One LISTEN connection per app process, handing each event to the streams open on its
document in that process (psycopg 3, async).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import psycopg
from django.conf import settings

from annotations.live.events import CHANNEL

logger = logging.getLogger(__name__)


class Hub:
    """One LISTEN connection per process, fanning events out to this process's streams."""

    def __init__(self) -> None:
        self.streams: dict[int, set[asyncio.Queue]] = {}
        self.everyone: set[asyncio.Queue] = set()
        self.task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    def subscribe(self, document_id: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self.streams.setdefault(document_id, set()).add(queue)
        self.everyone.add(queue)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._listen())
        return queue

    def unsubscribe(self, document_id: int, queue: asyncio.Queue) -> None:
        self.streams.get(document_id, set()).discard(queue)
        self.everyone.discard(queue)

    def open_streams(self) -> int:
        return len(self.everyone)

    async def _listen(self) -> None:
        """LISTEN forever; a lost connection (restart, pg_terminate_backend) reconnects by
        itself, and streams then catch up from their last event id."""
        delay, reconnecting = 0.2, False
        while self.everyone:
            try:
                async with await psycopg.AsyncConnection.connect(
                    **_connection_kwargs(), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if reconnecting:
                        # Events sent while we were away are in LiveEvent: streams catch up.
                        for queue in list(self.everyone):
                            _offer(queue, {"change": "resync"})
                    self.connected.set()
                    delay = 0.2
                    async for notify in conn.notifies():
                        self._dispatch(notify.payload)
                        if not self.everyone:
                            break
            except (psycopg.Error, OSError) as error:
                reconnecting = True
                self.connected.clear()
                logger.warning("Live updates: lost the LISTEN connection (%s); retrying", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.connected.clear()

    def _dispatch(self, raw: str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        targets = (
            self.everyone
            if event.get("document") is None
            else self.streams.get(event["document"], ())
        )
        for queue in list(targets):
            _offer(queue, event)


def _offer(queue: asyncio.Queue, event: dict) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        # A stream that stopped reading is told to resynchronise instead of growing forever.
        queue.put_nowait(event)


def _connection_kwargs() -> dict:
    db = settings.DATABASES["default"]
    kwargs = {"dbname": db["NAME"], "user": db.get("USER") or None}
    if db.get("PASSWORD"):
        kwargs["password"] = db["PASSWORD"]
    if db.get("HOST"):
        kwargs["host"] = db["HOST"]
    if db.get("PORT"):
        kwargs["port"] = str(db["PORT"])
    return kwargs


_hub: Hub | None = None


def hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub
