"""Our OCPI tokens sender (mod_tokens), in the calling partner's version: the list of our
drivers' tokens, and real-time authorization of one.

- `GET /ocpi/2.2.1/tokens?date_from=&date_to=&offset=&limit=` pages through every token in
  `last_updated` order, with `X-Total-Count`, `X-Limit` and a `Link` to the next page that keeps
  the filters.
- `POST /ocpi/2.2.1/tokens/{uid}/authorize?type=APP_USER` (2.1.1: `?type=OTHER`, as it has no
  APP_USER; the type is checked against the partner's version) with an optional
  LocationReferences body answers AuthorizationInfo: ALLOWED only while the driver's account is
  open, their default card has not expired and no failed payment is unsettled, judged live in
  one query (no Stripe call), else BLOCKED or NO_CREDIT with the reason in `info`. As the spec
  says (every version), a request without `type` asks about an RFID token, and we issue none:
  such a uid is unknown (404, 2004), like any uid we did not issue.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from roaming.adapters import adapter_for
from roaming.errors import PartnerError
from roaming.models import Partner
from roaming.ocpi.auth import ocpi_endpoint
from roaming.ocpi.pagination import page_headers, page_request_parse
from roaming.ocpi.transport import OcpiStatus, ocpi_response
from roaming.selectors import driver_token_judged, driver_tokens_page, token_standing
from roaming.services.tokens import driver_token_standing_apply

# The most tokens one page holds (also the default page size), announced in X-Limit.
PAGE_LIMIT = 1000


def invalid(message: str) -> HttpResponse:
    return ocpi_response(
        status_code=OcpiStatus.INVALID_PARAMETERS, message=message, http_status=400
    )


@require_http_methods(["GET"])
@ocpi_endpoint("tokens")
def tokens(request: HttpRequest, version: str, *, partner: Partner) -> HttpResponse:
    try:
        page = page_request_parse(request.GET, max_limit=PAGE_LIMIT)
    except ValueError as error:
        return invalid(str(error))
    rows, total = driver_tokens_page(
        date_from=page.date_from, date_to=page.date_to, offset=page.offset, limit=page.limit
    )
    headers = page_headers(
        url=f"{settings.SITE_URL}{request.path}",
        page=page,
        count=len(rows),
        total=total,
        max_limit=PAGE_LIMIT,
    )
    try:
        adapter = adapter_for(partner)
    except PartnerError as error:
        return ocpi_response(status_code=error.ocpi_status, message=error.message)
    return ocpi_response([adapter.token_render(token) for token in rows], headers=headers)


@require_http_methods(["POST"])
@ocpi_endpoint("tokens")
def token_authorize(
    request: HttpRequest, version: str, token_uid: str, *, partner: Partner
) -> HttpResponse:
    try:
        adapter = adapter_for(partner)
        location = adapter.location_references_parse(request.body)
    except PartnerError as error:
        return invalid(error.message)
    # Without a type the partner asks about an RFID card (the spec's default in every version).
    token_type = request.GET.get("type", "RFID").upper()
    if token_type not in adapter.token_types:
        known = ", ".join(sorted(adapter.token_types))
        return invalid(f"type must be one of {known} in OCPI {partner.version}, not {token_type!r}")
    ours = token_type == adapter.token_type
    token = driver_token_judged(uid=token_uid.upper()) if ours else None
    if token is None:
        hint = "" if ours else f" (ours are {adapter.token_type}: ask with ?type=)"
        return ocpi_response(
            status_code=OcpiStatus.UNKNOWN_TOKEN,
            message=f"Unknown {token_type} token {token_uid!r}{hint}",
            http_status=404,
        )
    standing = token_standing(token=token, today=timezone.now().date())
    # Usually a no-op; when the stored validity is out of date, it is corrected and pushed.
    driver_token_standing_apply(token=token, standing=standing)
    return ocpi_response(
        adapter.authorization_render(
            token, allowed=standing.allowed, reason=standing.reason, location=location
        )
    )
