"""Logging set-up with a filter that masks personal data before any handler sees it."""

from __future__ import annotations

import logging

from matcher.masking import scrub_text


class MaskingFilter(logging.Filter):
    """Replace ID- and phone-like substrings in every record's final message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = scrub_text(message)
        if masked != message or record.args:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            # a traceback's exception text may quote values: formatted and masked here, and the
            # formatter uses this text instead of formatting the exception again
            record.exc_text = scrub_text(_FORMATTER.formatException(record.exc_info))
        return True


_FORMATTER = logging.Formatter()


def configure_logging(*, verbose: bool = False) -> None:
    """Log to stderr through the masking filter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
