"""Our public open-data feed: a read-only OCPI 2.2.1 locations list of the catalogue, with no
token, as operators now publish theirs.

`GET /ocpi/open/2.2.1/locations?date_from=&date_to=&offset=&limit=` pages (in `last_updated`
order) through the stations of the partners whose `republish` an admin turned on (off by
default: re-publication needs the partner's consent), and only those published to everyone:
nothing restricted by `publish_allowed_to`, unpublished or hidden. Each page has
`X-Total-Count`, `X-Limit` and a `Link` to the next that keeps the filters, so any OCPI client
(ours included, as an open feed) can pull it.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from locator.catalogue import catalogue_locations_published
from roaming.models import Partner
from roaming.ocpi.pagination import page_headers, page_request_parse
from roaming.ocpi.transport import OcpiStatus, ocpi_response
from roaming.ocpi.v221.render import location_wire
from roaming.services.sync import catalogue_source

# The most locations one page holds (also the default page size), announced in X-Limit.
PAGE_LIMIT = 500


@require_safe
def open_locations(request: HttpRequest) -> HttpResponse:
    try:
        page = page_request_parse(request.GET, max_limit=PAGE_LIMIT)
    except ValueError as error:
        return ocpi_response(
            status_code=OcpiStatus.INVALID_PARAMETERS, message=str(error), http_status=400
        )
    sources = [catalogue_source(partner) for partner in Partner.objects.filter(republish=True)]
    records, total = catalogue_locations_published(
        sources=sources,
        date_from=page.date_from,
        date_to=page.date_to,
        offset=page.offset,
        limit=page.limit,
    )
    headers = page_headers(
        url=f"{settings.SITE_URL}{request.path}",
        page=page,
        count=len(records),
        total=total,
        max_limit=PAGE_LIMIT,
    )
    response = ocpi_response([location_wire(record) for record in records], headers=headers)
    response["Access-Control-Allow-Origin"] = "*"  # open data: any web page may read it
    return response
