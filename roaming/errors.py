"""The error every roaming operation raises, after healthchecks' TransportError."""


class PartnerError(Exception):
    """A partner call or partner data failed, with a message an operations admin can act on.

    `permanent` errors (refused token, no mutual version, a non-OCPI answer, a refused URL) are
    not retried and mark the partner degraded; transient ones (timeouts, 5xx) are retried with
    backoff. `ocpi_status` is the OCPI status code to answer with when we are the server.
    """

    def __init__(self, message: str, *, permanent: bool = False, ocpi_status: int = 3000) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.ocpi_status = ocpi_status
