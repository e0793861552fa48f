"""The error every roaming operation raises, after healthchecks' TransportError."""


class PartnerError(Exception):
    """A partner call or partner data failed, with a message an operations admin can act on.

    `permanent` errors (refused token, no mutual version, a non-OCPI answer, a refused URL) are
    not retried and mark the partner degraded; transient ones (timeouts, 5xx) are retried with
    backoff. `ocpi_status` is the OCPI status code to answer with when we are the server.
    `reason` names the kind of failure where an admin is told what to check (one of REASONS,
    or "" for the rest).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        ocpi_status: int = 3000,
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.ocpi_status = ocpi_status
        self.reason = reason


# The kinds of failure a `PartnerError.reason` names, as an admin would put them.
UNREACHABLE = "unreachable"  # no answer: a wrong URL, the server down, a timeout
REFUSED_TOKEN = "refused_token"  # noqa: S105 (a reason, not a secret): HTTP 401/403 to our token
NO_MUTUAL_VERSION = "no_mutual_version"
NOT_OCPI = "not_ocpi"  # an answer, but not an OCPI endpoint's (HTML, other JSON, a 404)


class SessionError(Exception):
    """A charging request we cannot carry out, with a message the driver can act on.

    `code` names the case for API clients (`no_card`, `card_declined`, `evse_unavailable`,
    `partner_unavailable`, `already_charging`, ...); `http_status` is the API's answer; `extra`
    holds what the API adds to the error body (`session`, `authenticate_url`).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        http_status: int = 400,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.extra = extra or {}
