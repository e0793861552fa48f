/* Polling for pages that refresh live statuses by themselves: asks `config.url` every
   `config.pollSeconds`, hands the JSON to `apply`, says so in `note` when it fails, and asks
   nothing while the tab is hidden (catching up as soon as it is shown again). */
(function () {
  "use strict";
  window.plugwayPoll = function (config, apply, note) {
    var timer = null;
    var inflight = false;

    function later() {
      clearTimeout(timer);
      timer = document.hidden ? null : setTimeout(poll, config.pollSeconds * 1000);
    }

    function poll() {
      clearTimeout(timer);
      if (document.hidden || inflight) { return; }
      inflight = true;
      fetch(config.url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
        .then(function (data) { apply(data); note.textContent = gettext("Statuses update by themselves."); })
        .catch(function () { note.textContent = gettext("Live statuses are not reachable; retrying."); })
        .then(function () { inflight = false; later(); });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { clearTimeout(timer); } else { poll(); }
    });
    later();
  };
}());
