/* Favourites: each station's status line refreshes by itself. */
(function () {
  "use strict";
  window.plugwayPoll(JSON.parse(document.getElementById("live-config").textContent), function (stations) {
    stations.forEach(function (s) {
      var row = document.querySelector('#favourites [data-station="' + s.id + '"]');
      if (!row) { return; }
      var free = s.available > 0 && !s.status_stale;
      row.querySelector("[data-live-status]").textContent = s.status_text;
      row.classList.toggle("result-free", free);
      row.classList.toggle("result-busy", !free);
    });
  }, document.getElementById("live-note"));
}());
