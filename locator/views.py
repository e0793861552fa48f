"""Pages: the map (home) and a station's page with its comments."""

import json
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from locator import pricing, selectors, services
from locator.audience import viewer_restricted_stations, viewer_stations
from locator.catalogue import CONNECTOR_STANDARDS, STATUS_LABELS, standard_label
from locator.forms import CommentForm
from locator.models import Comment, Location
from payments import selectors as payment_selectors

# The plug choices on the map, as drivers name them, each a set of OCPI standards.
MAP_PLUGS = (
    ("CCS", "IEC_62196_T2_COMBO,IEC_62196_T1_COMBO"),
    ("Type 2", "IEC_62196_T2"),
    ("CHAdeMO", "CHADEMO"),
    ("Type 1", "IEC_62196_T1"),
    ("Tesla / NACS", "TESLA_S,SAE_J3400"),
)


def home(request: HttpRequest) -> HttpResponse:
    config = {
        "tileUrl": settings.LOCATOR_TILE_URL,
        "tileAttribution": settings.LOCATOR_TILE_ATTRIBUTION,
        "mapApi": reverse("api-map"),
        "stationsApi": reverse("api-stations"),
        "geojsonApi": reverse("api-stations-geojson"),
        "geocodeApi": reverse("api-geocode"),
    }
    return render(
        request,
        "locator/home.html",
        {
            "map_config": config,
            "plugs": MAP_PLUGS,
            "operators": selectors.operators_list(),
            "standards": CONNECTOR_STANDARDS,
        },
    )


def _directions(location: Location) -> list[tuple[str, str]]:
    point = f"{location.lat:.6f},{location.lon:.6f}"
    return [
        ("OpenStreetMap", f"https://www.openstreetmap.org/directions?route=%3B{quote(point)}"),
        ("Google Maps", f"https://www.google.com/maps/dir/?api=1&destination={quote(point)}"),
        ("Apple Maps", f"https://maps.apple.com/?daddr={quote(point)}"),
    ]


def station(request: HttpRequest, station_id: int, form: CommentForm | None = None) -> HttpResponse:
    detail = selectors.station_detail(
        station_id=station_id, restricted_ids=viewer_restricted_stations(user=request.user)
    )
    if detail is None:
        raise Http404("No such station (it may have been removed).")
    location = detail.location
    estimate = ""
    if location.tariff_id in detail.tariffs:
        tariff = detail.tariffs[location.tariff_id]
        amount = pricing.estimate(tariff.elements)
        if amount > Decimal(0):
            estimate = (
                f"About {pricing.money(amount, tariff.currency)} for {pricing.TYPICAL_KWH} kWh "
                f"in {pricing.TYPICAL_MINUTES} min"
            )
    evses = [
        {
            "evse": evse,
            "status_label": STATUS_LABELS.get(evse.status, evse.status.capitalize()),
            "can_start": selectors.evse_can_start(location=location, evse=evse),
            "connectors": [
                {
                    "connector": c,
                    "label": standard_label(c.standard),
                    "price": next(
                        (detail.tariffs[t].summary for t in c.tariff_ids if t in detail.tariffs), ""
                    ),
                }
                for c in evse.connectors.all()
            ],
        }
        for evse in detail.evses
    ]
    comments = list(selectors.station_comments(location=location)[:100])
    user = request.user
    has_card = (
        user.is_authenticated and payment_selectors.payment_methods_for_user(user=user).exists()
    )
    return render(
        request,
        "locator/station.html",
        {
            "detail": detail,
            "location": location,
            "evses": evses,
            "estimate": estimate,
            "directions": _directions(location),
            "facilities": [f.replace("_", " ").capitalize() for f in location.facilities],
            "comments": comments,
            "has_card": has_card,
            "form": form or CommentForm(),
            "station_json": json.dumps({"id": location.id}),
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
def comment_post(request: HttpRequest, station_id: int) -> HttpResponse:
    location = get_object_or_404(viewer_stations(user=request.user), id=station_id)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return station(request, station_id, form=form)
    try:
        services.comment_create(
            location=location,
            author=request.user,  # type: ignore[arg-type]
            draft=services.CommentDraft.of(form.cleaned_data),
        )
    except services.CommentError as exc:
        form.add_error(None, str(exc))
        return station(request, station_id, form=form)
    messages.success(request, "Thanks, your comment is posted.")
    return HttpResponseRedirect(reverse("station", args=[station_id]) + "#comments")


@login_required
def comment_edit(request: HttpRequest, station_id: int, comment_id: int) -> HttpResponse:
    comment = get_object_or_404(Comment, id=comment_id, location_id=station_id, hidden=False)
    if comment.author_id != request.user.pk:
        messages.error(request, "You can only change your own comments.")
        return redirect(reverse("station", args=[station_id]) + "#comments")
    initial = {"text": comment.text, "rating": comment.rating, "outcome": comment.outcome}
    form = CommentForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_update(
                comment=comment,
                user=request.user,
                draft=services.CommentDraft.of(form.cleaned_data),
            )
        except services.CommentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Your comment is updated.")
            return redirect(reverse("station", args=[station_id]) + "#comments")
    return render(
        request,
        "locator/comment_edit.html",
        {"form": form, "comment": comment, "location": comment.location},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def comment_remove(request: HttpRequest, station_id: int, comment_id: int) -> HttpResponse:
    comment = get_object_or_404(Comment, id=comment_id, location_id=station_id)
    try:
        services.comment_delete(comment=comment, user=request.user)  # type: ignore[arg-type]
    except services.CommentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your comment is deleted.")
    return redirect(reverse("station", args=[station_id]) + "#comments")
