"""Why a write was refused. Every refusal a service raises is a `Refused`: nothing was stored,
`str(exc)` is the message for the reader, and `status` is the HTTP answer. annotations.http
turns any of them into that answer, once, for every view (the API answers in JSON-LD's terms).
"""

from __future__ import annotations


class Refused(ValueError):
    """A write refused for its input or its state; nothing was stored."""

    status = 400


class AnnotationError(Refused):
    """A note, highlight or reply refused for its input."""


class EditConflict(AnnotationError):
    """The annotation changed since the editor loaded it."""

    status = 409


class ThreadClosed(AnnotationError):
    """A reply to a locked, hidden or deleted thread."""


class GroupError(Refused):
    """A group act refused."""


class ModerationError(Refused):
    """A moderator act refused."""


class TokenError(Refused):
    """An API token act refused."""


class RateLimited(Refused):
    """Over a limit: nothing was stored. `retry_after` is in whole seconds."""

    status = 429

    def __init__(self, action: str, retry_after: int) -> None:
        super().__init__(action, retry_after)
        self.action = action
        self.retry_after = retry_after

    def __str__(self) -> str:
        return (
            f"You are doing that too often. Please wait {self.retry_after} seconds and try again."
        )
