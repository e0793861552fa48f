"""The driver's receipt of a charge: a page and a PDF, for the session's owner only (anyone
else gets a 404, as for a session that does not exist)."""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from roaming.models import ChargingSession
from roaming.receipts import receipt_facts, receipt_pdf, receipt_session


def _own_session(request: HttpRequest, public_id: UUID) -> ChargingSession:
    session = receipt_session(user=request.user, public_id=public_id)  # type: ignore[arg-type]
    if session is None:
        raise Http404("No receipt here.")
    return session


@login_required
@require_GET
def receipt(request: HttpRequest, public_id: UUID) -> HttpResponse:
    session = _own_session(request, public_id)
    return render(
        request,
        "receipts/receipt.html",
        {"session": session, "facts": receipt_facts(session=session)},
    )


@login_required
@require_GET
def receipt_download(request: HttpRequest, public_id: UUID) -> HttpResponse:
    facts = receipt_facts(session=_own_session(request, public_id))
    response = HttpResponse(receipt_pdf(facts=facts), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="plugway-receipt-{facts.number}.pdf"'
    return response
