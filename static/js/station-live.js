/* Station page: the EVSE statuses refresh by themselves (polling a small JSON endpoint), and
   polling pauses while the tab is in the background, catching up as soon as it is shown. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("live-config").textContent);
  var note = document.getElementById("live-note");
  var badge = document.getElementById("live-available");
  var timer = null;
  var inflight = false;

  function apply(state) {
    state.items.forEach(function (item) {
      var row = document.querySelector('.evse[data-evse-id="' + item.id + '"]');
      if (!row) { return; }
      var status = row.querySelector("[data-live-status]");
      status.textContent = item.label;
      status.className = "status status-" + item.status.toLowerCase();
      row.querySelector("[data-live-age]").textContent = item.age;
    });
    badge.textContent = state.available + " of " + state.evses + " available";
    badge.className = "badge " + (state.available ? "badge-ok" : "badge-busy");
    note.textContent = "Statuses update by themselves.";
  }

  function poll() {
    clearTimeout(timer);
    timer = null;
    if (document.hidden || inflight) { return; }
    inflight = true;
    fetch(config.url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(apply)
      .catch(function () { note.textContent = "Live statuses are not reachable; retrying."; })
      .then(function () {
        inflight = false;
        if (!document.hidden) { timer = setTimeout(poll, config.pollSeconds * 1000); }
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); timer = null; } else { poll(); }
  });
  timer = setTimeout(poll, config.pollSeconds * 1000);
}());
