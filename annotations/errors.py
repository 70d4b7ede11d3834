"""Why a write was refused. Every refusal a service raises is a `Refused`: nothing was stored,
`str(exc)` is the message for the reader, and `status` is the HTTP answer. annotations.http
turns any of them into that answer, once, for every view (the API answers in JSON-LD's terms).
"""

from __future__ import annotations


class Refused(ValueError):
    """A request refused for its input, its state or the policy; nothing was stored.

    `status` is the class's HTTP answer unless the raiser names another (403 where the policy
    said no); `headers` go with the answer (Retry-After)."""

    status = 400

    def __init__(
        self, message: str = "", *, status: int | None = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = dict(headers or {})


class AnnotationError(Refused):
    """A note, highlight or reply refused for its input."""


class EditConflict(AnnotationError):
    """The annotation changed since the editor loaded it. An API client edits with If-Match,
    so there it is a failed precondition."""

    status = 409
    api_status = 412


class ThreadClosed(AnnotationError):
    """A reply to a locked, hidden or deleted thread."""


class NotFound(Refused):
    """What the request names does not exist, or the viewer may not know that it does."""

    status = 404


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
        super().__init__(
            f"You are doing that too often. Please wait {retry_after} seconds and try again.",
            headers={"Retry-After": str(retry_after)},
        )
        self.action = action
        self.retry_after = retry_after
