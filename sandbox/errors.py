"""The one error type of the sandbox: an OCPI status code, an HTTP status and a message."""

from __future__ import annotations


class OcpiError(Exception):
    """A request the sandbox refuses; the server turns it into an OCPI error envelope."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 2001,
        http_status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.http_status = http_status
        self.headers = headers or {}
