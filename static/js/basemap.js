/* The map's basemap: raster tiles from the configured server (LOCATOR_TILE_URL) and, when they
   cannot be loaded (no internet, a blocked or empty tile URL), Natural Earth's country outlines
   drawn here from a vendored file, with a notice. Never a blank grey map under the pins. */
(function () {
  "use strict";
  var TILE_WAIT_MS = 4000; // no tile by then: draw the outlines underneath meanwhile

  window.plugwayBasemap = function (map, config, notice) {
    var tiles = null;
    var outlines = null;
    var tileLoaded = false;
    map.createPane("outlines").style.zIndex = 150; // under the tiles (200) and the pins

    function showOutlines(reason) {
      notice.textContent = reason;
      notice.hidden = false;
      if (outlines) { return; }
      map.getContainer().classList.add("basemap-outlines");
      outlines = L.layerGroup().addTo(map);
      fetch(config.outlinesUrl)
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
        .then(function (world) {
          if (!outlines) { return; }
          L.geoJSON(topojson.feature(world, world.objects.countries), {
            pane: "outlines",
            renderer: L.canvas({ pane: "outlines", padding: 0.5 }),
            interactive: false,
            style: { color: "#8d99ae", weight: 1, fillColor: "#f3efe6", fillOpacity: 1 }
          }).addTo(outlines);
          map.attributionControl.addAttribution(config.outlinesAttribution);
        })
        .catch(function () { notice.textContent = gettext("The map background could not be loaded."); });
    }

    function hideOutlines() {
      if (!outlines) { return; }
      map.removeLayer(outlines);
      outlines = null;
      notice.hidden = true;
      map.getContainer().classList.remove("basemap-outlines");
      map.attributionControl.removeAttribution(config.outlinesAttribution);
    }

    if (!config.tileUrl) {
      showOutlines(gettext("Simple map: country outlines only."));
      return;
    }
    tiles = L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution });
    tiles.on("tileload", function () { tileLoaded = true; hideOutlines(); });
    tiles.on("tileerror", function () {
      if (tileLoaded) { return; }
      // The tile server is not reachable: stop asking it, draw the outlines instead.
      map.removeLayer(tiles);
      showOutlines(gettext("No map tiles here: country outlines only."));
    });
    tiles.addTo(map);
    setTimeout(function () {
      if (!tileLoaded) { showOutlines(gettext("Map tiles are slow: country outlines meanwhile.")); }
    }, TILE_WAIT_MS);
  };
}());
