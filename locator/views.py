"""Pages: the map (home) and a station's page with its comments."""

import json
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from locator import live, pricing, selectors, selectors_station, services
from locator.audience import viewer_restricted_stations, viewer_stations
from locator.catalogue import CONNECTOR_STANDARDS, standard_label
from locator.forms import CommentForm
from locator.models import Location
from payments import selectors as payment_selectors

# The plug choices on the map, as drivers name them, each a set of OCPI standards.
MAP_PLUGS = (
    ("CCS", "IEC_62196_T2_COMBO,IEC_62196_T1_COMBO"),
    ("Type 2", "IEC_62196_T2"),
    ("CHAdeMO", "CHADEMO"),
    ("Type 1", "IEC_62196_T1"),
    ("Tesla / NACS", "TESLA_S,SAE_J3400"),
)

# OCPI's facilities near a station, as the station page names them (a new one: its code).
FACILITIES = {
    "HOTEL": pgettext_lazy("facility", "Hotel"),
    "RESTAURANT": pgettext_lazy("facility", "Restaurant"),
    "CAFE": pgettext_lazy("facility", "Cafe"),
    "MALL": pgettext_lazy("facility", "Mall"),
    "SUPERMARKET": pgettext_lazy("facility", "Supermarket"),
    "SPORT": pgettext_lazy("facility", "Sport"),
    "RECREATION_AREA": pgettext_lazy("facility", "Recreation area"),
    "NATURE": pgettext_lazy("facility", "Nature"),
    "MUSEUM": pgettext_lazy("facility", "Museum"),
    "BIKE_SHARING": pgettext_lazy("facility", "Bike sharing"),
    "BUS_STOP": pgettext_lazy("facility", "Bus stop"),
    "TAXI_STAND": pgettext_lazy("facility", "Taxi stand"),
    "TRAM_STOP": pgettext_lazy("facility", "Tram stop"),
    "METRO_STATION": pgettext_lazy("facility", "Metro station"),
    "TRAIN_STATION": pgettext_lazy("facility", "Train station"),
    "AIRPORT": pgettext_lazy("facility", "Airport"),
    "PARKING_LOT": pgettext_lazy("facility", "Parking lot"),
    "CARPOOL_PARKING": pgettext_lazy("facility", "Carpool parking"),
    "FUEL_STATION": pgettext_lazy("facility", "Fuel station"),
    "WIFI": pgettext_lazy("facility", "Wifi"),
}


def _facility(code: str) -> str:
    return str(FACILITIES.get(code, code.replace("_", " ").capitalize()))


def home(request: HttpRequest) -> HttpResponse:
    config = {
        "tileUrl": settings.LOCATOR_TILE_URL,
        "tileAttribution": settings.LOCATOR_TILE_ATTRIBUTION,
        "outlinesUrl": static("vendor/world-atlas/countries-50m.json"),
        "outlinesAttribution": _("Outlines: Natural Earth"),
        "mapApi": reverse("api-map"),
        "stationsApi": reverse("api-stations"),
        "geojsonApi": reverse("api-stations-geojson"),
        "geocodeApi": reverse("api-geocode"),
        "placesApi": reverse("api-places"),
        "pollSeconds": settings.LOCATOR_STATUS_POLL_SECONDS,
        # Stars for signed-in drivers only: the API's URL prefix and what they starred.
        "favouritesApi": reverse("api-favourites") if request.user.is_authenticated else "",
        "favourites": selectors.favourite_ids(user=request.user),
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


def _charge_kwh(typed: str | None) -> tuple[float, str]:
    """The charge size a driver asked to price (kWh), or the default and why."""
    if typed is None or not typed.strip():
        return float(pricing.DEFAULT_CHARGE_KWH), ""
    try:
        kwh = float(typed.replace(",", "."))
    except ValueError:
        kwh = -1
    if not 1 <= kwh <= pricing.MAX_CHARGE_KWH:
        return (
            float(pricing.DEFAULT_CHARGE_KWH),
            _("Enter an amount from 1 to %(max)s kWh; showing %(default)s kWh.")
            % {"max": pricing.MAX_CHARGE_KWH, "default": pricing.DEFAULT_CHARGE_KWH},
        )
    return kwh, ""


def station(request: HttpRequest, station_id: int, form: CommentForm | None = None) -> HttpResponse:
    detail = selectors_station.station_detail(
        station_id=station_id, restricted_ids=viewer_restricted_stations(user=request.user)
    )
    if detail is None:
        raise Http404(_("No such station (it may have been removed)."))
    location = detail.location
    kwh, kwh_error = _charge_kwh(request.GET.get("kwh"))
    estimates = pricing.charge_estimates(
        evses=detail.evses, tariffs=detail.tariffs, kwh=kwh, time_zone=location.time_zone
    )
    now = timezone.now()
    evses = [
        {
            "evse": evse,
            "live": live.evse_live(evse, now),
            "can_start": selectors_station.evse_can_start(location=location, evse=evse),
            "connectors": [
                {
                    "connector": c,
                    "label": standard_label(c.standard),
                    "price": next(
                        (
                            pricing.tariff_summary(detail.tariffs[t])
                            for t in c.tariff_ids
                            if t in detail.tariffs
                        ),
                        "",
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
            "estimates": estimates,
            "kwh": f"{kwh:g}",
            "kwh_error": kwh_error,
            "max_kwh": pricing.MAX_CHARGE_KWH,
            "directions": _directions(location),
            "facilities": [_facility(f) for f in location.facilities],
            "comments": comments,
            "has_card": has_card,
            "is_favourite": location.id in selectors.favourite_ids(user=user),
            "form": form or CommentForm(),
            "live_available": sum(
                live.evse_live(evse, now).status == "AVAILABLE" for evse in detail.evses
            ),
            "station_json": json.dumps({"id": location.id}),
            "live_config": {
                "url": reverse("api-station-status", args=[location.id]),
                "pollSeconds": settings.LOCATOR_STATUS_POLL_SECONDS,
            },
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
    messages.success(request, _("Thanks, your comment is posted."))
    return HttpResponseRedirect(reverse("station", args=[station_id]) + "#comments")


@login_required
def comment_edit(request: HttpRequest, station_id: int, comment_id: int) -> HttpResponse:
    comment = selectors.own_comment(user=request.user, station_id=station_id, comment_id=comment_id)
    initial = {"text": comment.text, "rating": comment.rating, "outcome": comment.outcome}
    form = CommentForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.comment_update(
                comment=comment,
                user=request.user,  # type: ignore[arg-type]
                draft=services.CommentDraft.of(form.cleaned_data),
            )
        except services.CommentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your comment is updated."))
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
    comment = selectors.own_comment(
        user=request.user, station_id=station_id, comment_id=comment_id, hidden=True
    )
    services.comment_delete(comment=comment, user=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Your comment is deleted."))
    return redirect(reverse("station", args=[station_id]) + "#comments")


@login_required
@require_POST
def favourite_set(request: HttpRequest, station_id: int) -> HttpResponse:
    """The star's form on a station page or the favourites list (works without JavaScript)."""
    location = get_object_or_404(Location, id=station_id, visible=True)
    user = request.user
    if request.POST.get("favourite") == "remove":
        services.favourite_remove(user=user, location=location)  # type: ignore[arg-type]
        messages.success(request, _("Removed from your favourites."))
    else:
        try:
            services.favourite_add(user=user, location=location)  # type: ignore[arg-type]
        except services.FavouriteError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Saved to your favourites."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("station", args=[station_id])
    return redirect(back)


@login_required
def favourites(request: HttpRequest) -> HttpResponse:
    """A driver's starred stations with their live status (refreshed by the page)."""
    return render(
        request,
        "locator/favourites.html",
        {
            "stations": selectors.favourite_stations(
                user=request.user, restricted_ids=viewer_restricted_stations(user=request.user)
            ),
            "live_config": {
                "url": reverse("api-favourites"),
                "pollSeconds": settings.LOCATOR_STATUS_POLL_SECONDS,
            },
        },
    )
