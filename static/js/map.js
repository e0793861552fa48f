/* Plugway map: Leaflet view, server-side clusters, a result list that follows the viewport,
   and a URL that keeps the view and the filters (shareable; back and forward work). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var exportBox = document.getElementById("results-export");
  var exportLink = document.getElementById("export-geojson");
  var filtersForm = document.getElementById("filters");
  var results = document.getElementById("results");
  var resultsTitle = document.getElementById("results-title");
  var message = document.getElementById("place-message");
  var LIST_MAX_DEGREES = 12;

  var map = L.map("map", { zoomControl: true, worldCopyJump: false, minZoom: 2 });
  L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution }).addTo(map);
  var layer = L.layerGroup().addTo(map);
  var pending = null;
  var timer = null;
  var restoring = false;

  function readUrl() {
    var params = new URLSearchParams(window.location.search);
    var lat = parseFloat(params.get("lat"));
    var lon = parseFloat(params.get("lon"));
    var zoom = parseInt(params.get("z"), 10);
    var plugs = params.getAll("plug");
    Array.prototype.forEach.call(filtersForm.elements, function (el) {
      if (el.type === "checkbox") {
        el.checked = el.name === "plug" ? plugs.indexOf(el.value) >= 0 : params.get(el.name) === "true";
      } else if (el.tagName === "SELECT") {
        el.value = params.get(el.name) || "";
      }
    });
    if (isFinite(lat) && isFinite(lon) && isFinite(zoom)) {
      map.setView([lat, lon], zoom);
    } else {
      map.setView([50.5, 9], 5);
    }
  }

  function filterParams() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(filtersForm.elements, function (el) {
      if (el.type === "checkbox" && el.checked) {
        if (el.name === "plug") {
          el.value.split(",").forEach(function (code) { params.append("connector", code); });
        } else {
          params.set(el.name, "true");
        }
      } else if (el.tagName === "SELECT" && el.value) {
        params.set(el.name, el.value);
      }
    });
    return params;
  }

  function writeUrl(push) {
    var centre = map.getCenter();
    var params = new URLSearchParams();
    params.set("lat", centre.lat.toFixed(5));
    params.set("lon", centre.lng.toFixed(5));
    params.set("z", String(map.getZoom()));
    Array.prototype.forEach.call(filtersForm.elements, function (el) {
      if (el.type === "checkbox" && el.checked) {
        params.append(el.name, el.name === "plug" ? el.value : "true");
      } else if (el.tagName === "SELECT" && el.value) {
        params.set(el.name, el.value);
      }
    });
    var url = "?" + params.toString();
    if (url === window.location.search) { return; }
    if (push) { history.pushState(null, "", url); } else { history.replaceState(null, "", url); }
  }

  function clampedBbox() {
    var b = map.getBounds();
    var west = Math.max(-180, b.getWest()), east = Math.min(180, b.getEast());
    var south = Math.max(-85, b.getSouth()), north = Math.min(85, b.getNorth());
    return [west, south, east, north];
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function stationLink(station) {
    return el("a", "", station.name);
  }

  function drawClusters(items) {
    items.forEach(function (c) {
      var share = c.count ? c.available / c.count : 0;
      var tone = c.available === 0 ? "none" : share >= 0.5 ? "many" : "some";
      var size = c.count >= 1000 ? 52 : c.count >= 100 ? 44 : 36;
      var icon = L.divIcon({
        className: "cluster cluster-" + tone,
        html: "<span>" + (c.count >= 10000 ? Math.round(c.count / 1000) + "k" : String(c.count)) + "</span>",
        iconSize: [size, size]
      });
      L.marker([c.lat, c.lon], {
        icon: icon,
        keyboard: true,
        title: c.count + " stations, " + c.available + " with a free charge point"
      }).on("click", function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 18)); })
        .addTo(layer);
    });
  }

  function drawStations(items) {
    items.forEach(function (s) {
      var marker = L.circleMarker([s.lat, s.lon], {
        radius: 9,
        weight: 2,
        color: "#ffffff",
        fillOpacity: 1,
        className: "pin " + (s.available > 0 ? "pin-free" : "pin-busy")
      });
      var popup = el("div", "popup");
      var link = stationLink(s);
      link.href = s.url;
      popup.appendChild(link);
      popup.appendChild(el("p", "", s.available + " of " + s.evses + " free · up to " + s.max_power_kw + " kW"));
      marker.bindPopup(popup);
      marker.addTo(layer);
    });
  }

  function describeConnectors(connectors) {
    return Object.keys(connectors).map(function (code) {
      var c = connectors[code];
      return c.label + " " + c.available + "/" + c.total;
    }).join(" · ");
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) { return "status unknown"; }
    if (seconds < 120) { return "status just now"; }
    if (seconds < 7200) { return "status " + Math.round(seconds / 60) + " min ago"; }
    if (seconds < 172800) { return "status " + Math.round(seconds / 3600) + " h ago"; }
    return "status " + Math.round(seconds / 86400) + " days ago";
  }

  function drawList(items, tooWide) {
    results.textContent = "";
    if (tooWide) {
      resultsTitle.textContent = "Zoom in to list stations";
      return;
    }
    resultsTitle.textContent = items.length ? "Stations in view (" + items.length + (items.length === 50 ? "+" : "") + ")" : "No stations in view match";
    items.forEach(function (s) {
      var li = el("li", "result " + (s.available > 0 ? "result-free" : "result-busy"));
      var link = stationLink(s);
      link.href = s.url;
      link.className = "result-name";
      li.appendChild(link);
      li.appendChild(el("p", "result-meta", (s.operator ? s.operator + " · " : "") + s.address + ", " + s.city));
      li.appendChild(el("p", "result-plugs", describeConnectors(s.connectors) + " · up to " + s.max_power_kw + " kW"));
      var status = el("p", "result-status", s.available + " of " + s.evses + " free · " + age(s.status_age_s));
      li.appendChild(status);
      if (s.price) { li.appendChild(el("p", "result-price", s.price)); }
      results.appendChild(li);
    });
  }

  function refresh() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var signal = pending.signal;
    var bbox = clampedBbox();
    var params = filterParams();
    var mapParams = new URLSearchParams(params);
    mapParams.set("bbox", bbox.map(function (v) { return v.toFixed(5); }).join(","));
    mapParams.set("zoom", String(map.getZoom()));
    fetch(config.mapApi + "?" + mapParams.toString(), { signal: signal, headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (data) {
        layer.clearLayers();
        if (data.kind === "clusters") { drawClusters(data.items); } else { drawStations(data.items); }
      })
      .catch(function (err) { if (err.name !== "AbortError") { message.textContent = "The map could not load stations; try again."; } });
    var tooWide = bbox[2] - bbox[0] > LIST_MAX_DEGREES || bbox[3] - bbox[1] > LIST_MAX_DEGREES;
    exportBox.hidden = tooWide;
    if (tooWide) { drawList([], true); return; }
    var listParams = new URLSearchParams(params);
    listParams.set("bbox", bbox.map(function (v) { return v.toFixed(5); }).join(","));
    // The download is the current search: the same filters and viewport, every station in it.
    exportLink.href = config.geojsonApi + "?" + listParams.toString();
    listParams.set("limit", "50");
    fetch(config.stationsApi + "?" + listParams.toString(), { signal: signal, headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function (items) { drawList(items, false); })
      .catch(function (err) { if (err.name !== "AbortError") { resultsTitle.textContent = "The list could not load; try again."; } });
  }

  function schedule(push) {
    if (!restoring) { writeUrl(push); }
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  map.on("moveend", function () { schedule(false); });
  filtersForm.addEventListener("change", function () { schedule(true); });

  document.getElementById("place-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = document.getElementById("place").value.trim();
    if (!q) { message.textContent = "Type a place, an address or a station name."; return; }
    message.textContent = "Searching…";
    fetch(config.geocodeApi + "?" + new URLSearchParams({ q: q }).toString(), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.place) { message.textContent = data.message || "Nothing found."; return; }
        message.textContent = data.message || ("Showing " + data.place.label);
        var b = data.place.bbox;
        if (b && b[2] - b[0] > 0.01) {
          map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 14 });
        } else {
          map.setView([data.place.lat, data.place.lon], 14);
        }
        writeUrl(true);
      })
      .catch(function () { message.textContent = "Search is not reachable right now; try again."; });
  });

  document.getElementById("near-me").addEventListener("click", function () {
    if (!navigator.geolocation) { message.textContent = "Your browser cannot share your location."; return; }
    message.textContent = "Finding you…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      message.textContent = "Showing stations near you.";
      map.setView([pos.coords.latitude, pos.coords.longitude], 14);
      writeUrl(true);
    }, function () {
      message.textContent = "Your location is not available; search for a place instead.";
    }, { timeout: 10000, maximumAge: 60000 });
  });

  window.addEventListener("popstate", function () {
    restoring = true;
    readUrl();
    restoring = false;
    refresh();
  });

  restoring = true;
  readUrl();
  restoring = false;
  refresh();
}());
