"""Our OCPI 2.2.1 CDRs receiver (mod_cdrs): partners POST the CDR of a finished charge.

`POST {cdrs}` stores the CDR once per (country_code, party_id, id) and answers with the URL
of the stored CDR in `Location` (201 the first time, 200 for the same CDR again, which is
not billed twice); `GET` that URL gives it back. A partner may send only CDRs of its own
parties and of our drivers' tokens (else 404); a body that is not a valid CDR is refused with
2001 and a message naming what is wrong.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from roaming.adapters import adapter_for
from roaming.errors import PartnerError
from roaming.models import ChargeDetailRecord, Partner
from roaming.ocpi.auth import ocpi_endpoint
from roaming.ocpi.transport import OcpiStatus, ocpi_response
from roaming.ocpi.versions import absolute
from roaming.receivers.catalogue import body_json
from roaming.services.cdrs import CdrRefusedError, cdr_receive


@require_POST
@ocpi_endpoint("cdrs")
def cdrs(request: HttpRequest, version: str, *, partner: Partner) -> HttpResponse:
    try:
        record = adapter_for(partner).cdr_parse(body_json(request))
        cdr, created = cdr_receive(partner=partner, record=record)
    except CdrRefusedError as error:
        return ocpi_response(status_code=error.ocpi_status, message=error.message, http_status=404)
    except PartnerError as error:
        return ocpi_response(status_code=error.ocpi_status, message=error.message, http_status=400)
    where = reverse(
        "ocpi-cdr",
        kwargs={
            "version": version,
            "country_code": cdr.country_code,
            "party_id": cdr.party_id,
            "cdr_id": cdr.cdr_id,
        },
    )
    return ocpi_response(
        message=None if created else "Already received; billed once",
        http_status=201 if created else 200,
        headers={"Location": absolute(where)},
    )


@require_GET
@ocpi_endpoint("cdrs")
def cdr(
    request: HttpRequest,
    version: str,
    country_code: str,
    party_id: str,
    cdr_id: str,
    *,
    partner: Partner,
) -> HttpResponse:
    stored = ChargeDetailRecord.objects.filter(
        partner=partner,
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        cdr_id=cdr_id,
    ).first()
    if stored is None:
        return ocpi_response(
            status_code=OcpiStatus.CLIENT_ERROR, message=f"Unknown CDR {cdr_id}", http_status=404
        )
    return ocpi_response(stored.payload)
