/* What the map draws: station pins that show speed and availability by colour AND shape
   (free: green circle, all in use: grey square, status unknown: dashed white circle, every
   charge point out of order: red-ringed circle struck through; the
   number is the fastest charge point's kW, a thick ring marks DC fast), cluster bubbles, and
   `declutter`, which merges markers until no two icons overlap on screen, so a lone station
   is always a pin and clusters never cover each other. */
(function () {
  "use strict";
  var PIN = 34;
  var GAP = 6; // px kept between icons (room for the DC ring)

  function speedClass(kw) {
    if (kw >= 150) { return "ultra"; }
    if (kw >= 43) { return "fast"; }
    return "ac";
  }

  function state(item) {
    if (item.stale) { return "unknown"; }
    if (item.available > 0) { return "free"; }
    return item.broken ? "broken" : "busy";
  }

  // A station whose every charge point is out of order (or not working): not merely busy.
  function broken(station) {
    return station.evses > 0 && station.out_of_order >= station.evses;
  }

  var STATE_WORDS = {
    free: pgettext("pin", "free now"),
    busy: pgettext("pin", "all in use"),
    broken: pgettext("pin", "out of order"),
    unknown: pgettext("pin", "status unknown")
  };

  function size(node) {
    if (node.count <= 1) { return PIN; }
    return node.count >= 1000 ? 52 : node.count >= 100 ? 44 : 36;
  }

  function pinIcon(node) {
    var kw = Math.round(node.kw || 0);
    return L.divIcon({
      className: "pin pin-" + state(node) + " pin-" + speedClass(kw) + (node.favourite ? " pin-favourite" : ""),
      html: "<span>" + (kw || "?") + "</span>",
      iconSize: [PIN, PIN]
    });
  }

  function pinTitle(node) {
    var kw = Math.round(node.kw || 0);
    return interpolate(gettext("%(name)s: %(state)s, up to %(power)s kW"), {
      name: node.name || gettext("Station"),
      state: STATE_WORDS[state(node)],
      power: kw
    }, true);
  }

  function clusterIcon(node) {
    var share = node.count ? node.available / node.count : 0;
    var tone = node.available === 0 ? "none" : share >= 0.5 ? "many" : "some";
    var s = size(node);
    return L.divIcon({
      className: "cluster cluster-" + tone,
      html: "<span>" + (node.count >= 10000 ? Math.round(node.count / 1000) + "k" : String(node.count)) + "</span>",
      iconSize: [s, s]
    });
  }

  function overlap(a, b) {
    var reach = (size(a) + size(b)) / 2 + GAP;
    return Math.abs(a.x - b.x) < reach && Math.abs(a.y - b.y) < reach;
  }

  // Merge b into a: counts add up, the position is the count-weighted mean.
  function merge(map, a, b) {
    var n = a.count + b.count;
    a.lat = (a.lat * a.count + b.lat * b.count) / n;
    a.lon = (a.lon * a.count + b.lon * b.count) / n;
    a.available += b.available;
    a.kw = Math.max(a.kw, b.kw);
    a.count = n;
    a.station = null;
    a.stale = false;
    a.broken = false;
    var p = map.latLngToLayerPoint([a.lat, a.lon]);
    a.x = p.x;
    a.y = p.y;
  }

  /* Nodes from map items (clusters `{lat, lon, count, available, max_power_kw}` or stations),
     merged until none overlaps another at this zoom. A node of count 1 keeps its station. */
  function declutter(map, items, isStation) {
    var nodes = items.map(function (it) {
      var p = map.latLngToLayerPoint([it.lat, it.lon]);
      var station = isStation ? it : null;
      return {
        x: p.x, y: p.y, lat: it.lat, lon: it.lon,
        count: station ? 1 : it.count,
        available: station ? (it.available > 0 && !it.status_stale ? 1 : 0) : it.available,
        kw: it.max_power_kw || 0,
        stale: station ? Boolean(it.status_stale) : false,
        broken: station ? broken(it) : false,
        name: station ? it.name : "",
        station: station
      };
    });
    for (var pass = 0; pass < 50; pass++) {
      nodes.sort(function (a, b) { return b.count - a.count; });
      var merged = false;
      for (var i = 0; i < nodes.length; i++) {
        for (var j = i + 1; j < nodes.length; j++) {
          if (overlap(nodes[i], nodes[j])) {
            merge(map, nodes[i], nodes[j]);
            nodes.splice(j, 1);
            j--;
            merged = true;
          }
        }
      }
      if (!merged) { break; }
    }
    return nodes;
  }

  window.plugwayPins = {
    declutter: declutter,
    pinIcon: pinIcon,
    pinTitle: pinTitle,
    clusterIcon: clusterIcon,
    state: state,
    broken: broken,
    speedClass: speedClass
  };
}());
