/* Station page: the EVSE statuses and the "n of m available" badge refresh by themselves. */
(function () {
  "use strict";
  var badge = document.getElementById("live-available");
  window.plugwayPoll(JSON.parse(document.getElementById("live-config").textContent), function (state) {
    state.items.forEach(function (item) {
      var row = document.querySelector('.evse[data-evse-id="' + item.id + '"]');
      if (!row) { return; }
      var status = row.querySelector("[data-live-status]");
      status.textContent = item.label;
      status.className = "status status-" + item.status.toLowerCase();
      row.querySelector("[data-live-age]").textContent = item.age;
      var start = row.querySelector("[data-start-evse]");
      if (start) { start.disabled = !item.startable; }
    });
    badge.textContent = interpolate(
      ngettext("%(available)s of %(total)s available", "%(available)s of %(total)s available", state.available),
      { available: state.available, total: state.evses },
      true
    );
    badge.className = "badge " + (state.available ? "badge-ok" : "badge-busy");
  }, document.getElementById("live-note"));
}());
