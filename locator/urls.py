from django.urls import path

from locator import api, api_comments, api_places, views

urlpatterns = [
    path("", views.home, name="home"),
    path("stations/<int:station_id>/", views.station, name="station"),
    path("stations/<int:station_id>/comments/", views.comment_post, name="station-comment"),
    path("stations/<int:station_id>/favourite/", views.favourite_set, name="station-favourite"),
    path("favourites/", views.favourites, name="favourites"),
    path(
        "stations/<int:station_id>/comments/<int:comment_id>/edit/",
        views.comment_edit,
        name="station-comment-edit",
    ),
    path(
        "stations/<int:station_id>/comments/<int:comment_id>/delete/",
        views.comment_remove,
        name="station-comment-delete",
    ),
    path("api/v1/stations/", api.StationListApi.as_view(), name="api-stations"),
    path("api/v1/stations.geojson", api.StationGeoJsonApi.as_view(), name="api-stations-geojson"),
    path("api/v1/stations/<int:station_id>/", api.StationDetailApi.as_view(), name="api-station"),
    path(
        "api/v1/stations/<int:station_id>/comments/",
        api_comments.StationCommentsApi.as_view(),
        name="api-station-comments",
    ),
    path(
        "api/v1/stations/<int:station_id>/comments/<int:comment_id>/",
        api_comments.CommentDetailApi.as_view(),
        name="api-station-comment",
    ),
    path(
        "api/v1/stations/<int:station_id>/status/",
        api.StationStatusApi.as_view(),
        name="api-station-status",
    ),
    path("api/v1/map/", api.MapApi.as_view(), name="api-map"),
    path("api/v1/favourites/", api.FavouritesApi.as_view(), name="api-favourites"),
    path(
        "api/v1/favourites/<int:station_id>/",
        api.FavouriteApi.as_view(),
        name="api-favourite",
    ),
    path("api/v1/geocode/", api_places.GeocodeApi.as_view(), name="api-geocode"),
    path("api/v1/places/", api_places.PlaceSuggestionsApi.as_view(), name="api-places"),
]
