/* Plugway map: Leaflet view, server-side clusters decluttered on screen, a paged result list
   that follows the viewport (a bottom sheet on a phone, a sidebar on a desktop), filters in a
   drawer, "Near me" with distances and a you-are-here marker, stars for favourites, and a URL
   that keeps the view and the filters (shareable; back and forward work). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var pins = window.plugwayPins;
  var exportBox = document.getElementById("results-export");
  var exportLink = document.getElementById("export-geojson");
  var filtersForm = document.getElementById("filters");
  var filtersToggle = document.getElementById("filters-toggle");
  var results = document.getElementById("results");
  var resultsTitle = document.getElementById("results-title");
  var sheet = document.getElementById("sheet");
  var sheetToggle = document.getElementById("sheet-toggle");
  var pager = document.getElementById("pager");
  var message = document.getElementById("place-message");
  var LIST_MAX_DEGREES = 12;
  var PAGE_SIZE = 20;
  var MAX_COUNT = 10000;
  var NO_MERGE_ZOOM = 17; // from here on stations are drawn where they are, even close together
  // Numbers as the page's language writes them (1,234 / 1.234; 7.4 / 7,4).
  var lang = document.documentElement.lang;
  var wholeNumber = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
  var oneDecimal = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  var listLabel = gettext("List stations"); // the sheet toggle's label while the list is closed

  var map = L.map("map", { zoomControl: true, worldCopyJump: false, minZoom: 2 });
  window.plugwayBasemap(map, config, document.getElementById("map-notice"));
  var layer = L.layerGroup().addTo(map);
  var markers = new Map(); // the markers on the map by station, or by place for the rest
  var rows = new Map(); // the list's rows by station: {li, link, star}
  var hereLayer = L.layerGroup().addTo(map);
  var here = null; // the driver's position after "Near me"
  var favourites = new Set(config.favourites || []);
  var pending = null;
  var timer = null;
  var pollTimer = null;
  var restoring = false;
  var listPage = 0;

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
    listPage = Math.max(0, (parseInt(params.get("page"), 10) || 1) - 1);
    if (isFinite(lat) && isFinite(lon) && isFinite(zoom)) {
      map.setView([lat, lon], zoom);
    } else {
      map.setView([50.5, 9], 5);
    }
    countFilters();
  }

  function activeFilters() {
    return Array.prototype.filter.call(filtersForm.elements, function (el) {
      return (el.type === "checkbox" && el.checked) || (el.tagName === "SELECT" && el.value);
    });
  }

  function countFilters() {
    var n = activeFilters().length;
    filtersToggle.querySelector("span").textContent = n ? " (" + n + ")" : "";
  }

  function filterParams() {
    var params = new URLSearchParams();
    activeFilters().forEach(function (el) {
      if (el.name === "plug") {
        el.value.split(",").forEach(function (code) { params.append("connector", code); });
      } else {
        params.set(el.name, el.type === "checkbox" ? "true" : el.value);
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
    activeFilters().forEach(function (el) {
      params.append(el.name, el.name === "plug" ? el.value : el.type === "checkbox" ? "true" : el.value);
    });
    if (listPage) { params.set("page", String(listPage + 1)); }
    var url = "?" + params.toString();
    // Switching the language comes back to this view, not to the map's first one.
    document.querySelector(".language-form input[name=next]").value = window.location.pathname + url;
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

  function distanceKm(lat, lon) {
    var rad = Math.PI / 180;
    var dLat = (lat - here.lat) * rad, dLon = (lon - here.lon) * rad;
    var a = Math.pow(Math.sin(dLat / 2), 2) + Math.cos(here.lat * rad) * Math.cos(lat * rad) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function distanceText(km) {
    var distance = km < 1
      ? interpolate(gettext("%(metres)s m"), { metres: wholeNumber.format(Math.round(km * 1000)) }, true)
      : interpolate(gettext("%(km)s km"), { km: (km < 10 ? oneDecimal : wholeNumber).format(km) }, true);
    return interpolate(gettext("%(distance)s away"), { distance: distance }, true);
  }

  function powerText(kw) {
    return interpolate(gettext("up to %(power)s kW"), { power: oneDecimal.format(kw) }, true);
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Sets a node's text only when it differs: rewriting the same words would replace the text
  // a screen reader is reading.
  function setText(node, text) {
    if (node.textContent !== text) { node.textContent = text; }
  }

  // A star button for a station, when the driver is signed in (else nothing). It shows and
  // saves `button.station`, which a list row's refresh replaces with the station's newer answer.
  function starButton(station) {
    if (!config.favouritesApi) { return null; }
    var button = el("button", "star");
    button.type = "button";
    button.station = station;
    button.appendChild(el("span")).setAttribute("aria-hidden", "true");
    button.appendChild(el("span", "visually-hidden"));
    function show() {
      var on = favourites.has(button.station.id);
      var label = on ? gettext("Remove %(name)s from favourites") : gettext("Save %(name)s to favourites");
      button.classList.toggle("star-on", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      setText(button.firstChild, on ? "★" : "☆");
      setText(button.lastChild, interpolate(label, { name: button.station.name }, true));
    }
    button.addEventListener("click", function () {
      var id = button.station.id;
      var on = favourites.has(id);
      fetch(config.favouritesApi + id + "/", {
        method: on ? "DELETE" : "PUT",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        credentials: "same-origin"
      }).then(function (r) {
        if (!r.ok && r.status !== 404) { return Promise.reject(r); }
        if (on) { favourites.delete(id); } else { favourites.add(id); }
        document.querySelectorAll('[data-star="' + id + '"]').forEach(function (b) { b.dispatchEvent(new Event("favourite-changed")); });
      }).catch(function () { message.textContent = gettext("Your favourites could not be changed; try again."); });
    });
    button.setAttribute("data-star", String(station.id));
    button.addEventListener("favourite-changed", show);
    show();
    return button;
  }

  function stationPopup(station) {
    var popup = el("div", "popup");
    var link = el("a", "", station.name);
    link.href = station.url;
    popup.appendChild(link);
    popup.appendChild(el("p", "", station.status_text + " · " + powerText(station.max_power_kw)));
    if (here) { popup.appendChild(el("p", "", distanceText(distanceKm(station.lat, station.lon)))); }
    var star = starButton(station);
    if (star) { popup.appendChild(star); }
    return popup;
  }

  // What a marker shows: its icon and title, and a signature of them with its place.
  function markerLook(node) {
    var title = node.count > 1
      ? interpolate(
        gettext("%(count)s stations, %(available)s with a free charge point"),
        { count: wholeNumber.format(node.count), available: wholeNumber.format(node.available) },
        true
      )
      : pins.pinTitle(node);
    var icon = node.count > 1 ? pins.clusterIcon(node) : pins.pinIcon(node);
    var o = icon.options;
    return { icon: icon, title: title, signature: [node.lat, node.lon, o.className, o.html, o.iconSize, title].join("|") };
  }

  function newMarker(node, look) {
    var marker = L.marker([node.lat, node.lon], { icon: look.icon, keyboard: true, title: look.title });
    if (node.station) {
      marker.bindPopup(function () { return stationPopup(marker.station); });
    } else {
      // A cluster opens nearer in; a lone station of a cluster answer too: its details come
      // with the stations.
      marker.on("click", function () {
        var zoom = map.getZoom();
        map.setView(marker.getLatLng(), node.count > 1 ? Math.min(zoom + 2, 18) : Math.max(zoom + 2, 14));
      });
    }
    return marker.addTo(layer);
  }

  /* A refresh leaves alone each marker that looks as before, so a pin being hovered, focused or
     read keeps its element; a changed one is restyled in place (a div icon keeps its element);
     markers no longer in the answer go. A pin whose popup is open thus stays open: it follows
     its station's new state, or goes when the station is no longer in view. */
  function drawMarkers(items, isStation) {
    var nodes = isStation && map.getZoom() >= NO_MERGE_ZOOM
      ? items.map(function (s) { return { lat: s.lat, lon: s.lon, count: 1, available: s.available, kw: s.max_power_kw, stale: s.status_stale, broken: pins.broken(s), name: s.name, station: s }; })
      : pins.declutter(map, items, isStation);
    var drawn = new Map();
    nodes.forEach(function (node) {
      node.favourite = node.station && favourites.has(node.station.id);
      var id = node.station ? "station " + node.station.id : (node.count > 1 ? "cluster " : "lone ") + node.lat + "," + node.lon;
      var look = markerLook(node);
      var marker = markers.get(id);
      if (!marker) {
        marker = newMarker(node, look);
      } else if (marker.signature !== look.signature) {
        marker.options.title = look.title;
        marker.setLatLng([node.lat, node.lon]).setIcon(look.icon);
        marker.getElement().title = look.title; // Leaflet titles only a new element
      }
      markers.delete(id);
      drawn.set(id, marker);
      marker.signature = look.signature;
      if (node.station) {
        var changed = JSON.stringify(node.station) !== JSON.stringify(marker.station);
        marker.station = node.station;
        if (changed && marker.isPopupOpen()) { marker.getPopup().update(); }
      }
    });
    markers.forEach(function (marker) { layer.removeLayer(marker); });
    markers = drawn;
  }

  function describeConnectors(connectors) {
    return Object.keys(connectors).map(function (code) {
      var c = connectors[code];
      return c.label + " " + c.available + "/" + c.total;
    }).join(" · ");
  }

  function countText(total) {
    return total > MAX_COUNT ? wholeNumber.format(MAX_COUNT) + "+" : wholeNumber.format(total);
  }

  function drawPager(total) {
    pager.hidden = total <= PAGE_SIZE;
    var first = listPage * PAGE_SIZE + 1;
    var last = Math.min(total, first + PAGE_SIZE - 1);
    setText(document.getElementById("page-info"), interpolate(
      gettext("%(first)s–%(last)s of %(total)s"),
      { first: wholeNumber.format(first), last: wholeNumber.format(last), total: countText(total) },
      true
    ));
    document.getElementById("page-prev").disabled = listPage === 0;
    document.getElementById("page-next").disabled = last >= Math.min(total, MAX_COUNT);
  }

  // Puts `node` right after `after` (first when null) in `parent`, unless it is there already:
  // moving a node takes the focus from whatever inside it has it.
  function placeAfter(parent, after, node) {
    var next = after ? after.nextSibling : parent.firstChild;
    if (next !== node) { parent.insertBefore(node, next); }
  }

  function newRow(s) {
    var li = el("li");
    li.setAttribute("data-station", String(s.id));
    var head = li.appendChild(el("div", "result-head"));
    var row = { li: li, link: head.appendChild(el("a", "result-name")), star: starButton(s) };
    if (row.star) { head.appendChild(row.star); }
    return row;
  }

  // A row shows its station's latest answer: only what changed is rewritten, in place.
  function fillRow(row, s) {
    var free = s.available > 0 && !s.status_stale;
    var className = "result " + (s.status_stale ? "result-unknown" : free ? "result-free" : "result-busy");
    if (row.li.className !== className) { row.li.className = className; }
    setText(row.link, s.name);
    if (row.link.getAttribute("href") !== s.url) { row.link.href = s.url; }
    if (row.star) {
      row.star.station = s;
      row.star.dispatchEvent(new Event("favourite-changed"));
    }
    var last = row.li.firstChild; // the head
    [
      ["result-meta", (s.operator ? s.operator + " · " : "") + s.address + ", " + s.city],
      ["result-plugs", describeConnectors(s.connectors) + " · " + powerText(s.max_power_kw)],
      ["result-status", s.status_text],
      ["result-distance", here ? distanceText(distanceKm(s.lat, s.lon)) : ""],
      ["result-price", s.price]
    ].forEach(function (line) {
      var node = row.li.querySelector("p." + line[0]);
      if (!line[1]) {
        if (node) { node.remove(); }
        return;
      }
      node = node || el("p", line[0]);
      setText(node, line[1]);
      placeAfter(row.li, last, node);
      last = node;
    });
  }

  /* A refresh keeps the row of each station still listed, in the new order, and rewrites only
     what changed in it, so a row being hovered or read stays, and so does the focus on its link
     or star; rows of stations no longer listed go, new ones come. */
  function drawRows(items) {
    var focused = results.contains(document.activeElement) ? document.activeElement : null;
    var listed = new Set(items.map(function (s) { return s.id; }));
    rows.forEach(function (row, id) {
      if (!listed.has(id)) {
        row.li.remove();
        rows.delete(id);
      }
    });
    var last = null;
    items.forEach(function (s) {
      var row = rows.get(s.id) || newRow(s);
      rows.set(s.id, row);
      fillRow(row, s);
      placeAfter(results, last, row.li);
      last = row.li;
    });
    // A row that moved to its new place lost the focus on the way.
    if (focused && focused !== document.activeElement && results.contains(focused)) {
      focused.focus({ preventScroll: true });
    }
  }

  function drawList(items, total) {
    drawRows(total === null ? [] : items);
    if (total === null) {
      listLabel = gettext("Zoom in to list stations");
      setText(resultsTitle, listLabel);
      setText(sheetToggle, listLabel);
      pager.hidden = true;
      return;
    }
    var count = { count: countText(total) };
    setText(resultsTitle, total
      ? interpolate(ngettext("%(count)s station in view", "%(count)s stations in view", total), count, true)
      : gettext("No stations in view match"));
    listLabel = total
      ? interpolate(ngettext("List %(count)s station", "List %(count)s stations", total), count, true)
      : gettext("List stations");
    setText(sheetToggle, sheet.classList.contains("sheet-open") ? gettext("Show the map") : listLabel);
    drawPager(total);
  }

  function getJson(url, signal) {
    return fetch(url, { signal: signal, headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r : Promise.reject(r); });
  }

  function refresh() {
    pollLater();
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var signal = pending.signal;
    var bbox = clampedBbox().map(function (v) { return v.toFixed(5); }).join(",");
    var params = filterParams();
    var mapParams = new URLSearchParams(params);
    mapParams.set("bbox", bbox);
    mapParams.set("zoom", String(map.getZoom()));
    getJson(config.mapApi + "?" + mapParams.toString(), signal)
      .then(function (r) { return r.json(); })
      .then(function (data) {
        drawMarkers(data.items, data.kind === "stations");
      })
      .catch(function (err) { if (err.name !== "AbortError") { message.textContent = gettext("The map could not load stations; try again."); } });
    var box = clampedBbox();
    var tooWide = box[2] - box[0] > LIST_MAX_DEGREES || box[3] - box[1] > LIST_MAX_DEGREES;
    exportBox.hidden = tooWide;
    if (tooWide) { drawList([], null); return; }
    var listParams = new URLSearchParams(params);
    listParams.set("bbox", bbox);
    // The download is the current search: the same filters and viewport, every station in it.
    exportLink.href = config.geojsonApi + "?" + listParams.toString();
    listParams.set("limit", String(PAGE_SIZE));
    listParams.set("offset", String(listPage * PAGE_SIZE));
    listParams.set("count", "true");
    getJson(config.stationsApi + "?" + listParams.toString(), signal)
      .then(function (r) {
        var total = parseInt(r.headers.get("X-Total-Count"), 10);
        return r.json().then(function (items) { drawList(items, isFinite(total) ? total : items.length); });
      })
      .catch(function (err) { if (err.name !== "AbortError") { resultsTitle.textContent = gettext("The list could not load; try again."); } });
  }

  // Statuses refresh by themselves while the tab is shown; a hidden tab asks for nothing.
  function pollLater() {
    clearTimeout(pollTimer);
    if (!document.hidden) { pollTimer = setTimeout(refresh, config.pollSeconds * 1000); }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(pollTimer); } else { refresh(); }
  });

  function schedule(push) {
    if (!restoring) { writeUrl(push); }
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  map.on("moveend", function () {
    if (!restoring) { listPage = 0; }
    schedule(false);
  });
  filtersForm.addEventListener("change", function () {
    listPage = 0;
    countFilters();
    schedule(true);
  });

  function setDrawer(open) {
    filtersForm.hidden = !open;
    filtersToggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { filtersForm.querySelector("input, select").focus(); } else { filtersToggle.focus(); }
  }
  filtersToggle.addEventListener("click", function () { setDrawer(filtersForm.hidden); });
  document.getElementById("filters-done").addEventListener("click", function () { setDrawer(false); });
  filtersForm.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { setDrawer(false); }
  });

  sheetToggle.addEventListener("click", function () {
    var open = !sheet.classList.contains("sheet-open");
    sheet.classList.toggle("sheet-open", open);
    sheetToggle.setAttribute("aria-expanded", open ? "true" : "false");
    sheetToggle.textContent = open ? gettext("Show the map") : listLabel;
  });

  function turnPage(step) {
    listPage = Math.max(0, listPage + step);
    writeUrl(true);
    refresh();
    results.scrollIntoView({ block: "nearest" });
  }
  document.getElementById("page-prev").addEventListener("click", function () { turnPage(-1); });
  document.getElementById("page-next").addEventListener("click", function () { turnPage(1); });

  // A place chosen in the search box (place-search.js): show its stations.
  document.addEventListener("plugway:place", function (event) {
    var place = event.detail;
    var b = place.bbox;
    if (b && b[2] - b[0] > 0.01) {
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { maxZoom: 14 });
    } else {
      map.setView([place.lat, place.lon], 15);
    }
    writeUrl(true);
  });

  function showHere(pos) {
    here = { lat: pos.coords.latitude, lon: pos.coords.longitude };
    hereLayer.clearLayers();
    if (pos.coords.accuracy) {
      L.circle([here.lat, here.lon], { radius: pos.coords.accuracy, className: "here-accuracy", interactive: false }).addTo(hereLayer);
    }
    L.marker([here.lat, here.lon], {
      icon: L.divIcon({ className: "here", html: "<span></span>", iconSize: [22, 22] }),
      title: gettext("You are here"),
      keyboard: false,
      zIndexOffset: 1000
    }).addTo(hereLayer);
  }

  document.getElementById("near-me").addEventListener("click", function () {
    if (!navigator.geolocation) { message.textContent = gettext("Your browser cannot share your location."); return; }
    message.textContent = gettext("Finding you…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      message.textContent = gettext("Showing stations near you.");
      showHere(pos);
      map.setView([here.lat, here.lon], 14);
      writeUrl(true);
    }, function () {
      message.textContent = gettext("Your location is not available; search for a place instead.");
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
