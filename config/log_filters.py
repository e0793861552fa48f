"""Logging filters for the one console handler (see LOGGING in config/settings.py)."""

import logging

from django.core.exceptions import PermissionDenied


class RefusalWithoutTraceback(logging.Filter):
    """Keep the one line Django logs for a 403 ("Forbidden (Permission denied): /path"), drop
    its traceback: a refused permission is a user's answer, not a fault to debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True
