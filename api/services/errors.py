"""Errors of the service rules, free of HTTP: services raise them, and ``api.main`` maps each
kind to its HTTP status in one place (``main.SERVICE_ERROR_STATUS``)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A request the service refuses; the message is safe to show (no personal data).

    ``details``: further fields of the answer's JSON body beside ``detail``.
    """

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class NotFound(ServiceError):
    """The thing named does not exist (or is not visible to the caller)."""


class Forbidden(ServiceError):
    """The caller's role or province may not do this."""


class Conflict(ServiceError):
    """The request contradicts the current state (already decided, already undone)."""


class Invalid(ServiceError):
    """The request is well-formed but cannot be applied as given."""


class TooLarge(ServiceError):
    """The request exceeds a size limit."""


class Failed(ServiceError):
    """The service failed applying a valid request; nothing of it was stored."""


class Unavailable(Failed):
    """The database could not be reached: try again."""
