/* Live session page: follows the charge through the session API (a poll every few seconds,
   paused while the tab is hidden), draws power and energy with uPlot, and stops the charge
   after an inline confirmation. The page was rendered on the server from the same document
   the API returns, so this script only keeps it current. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("session-config").textContent);
  var root = document.getElementById("session");
  var $ = function (id) { return document.getElementById(id); };
  var csrf = root.querySelector("[name=csrfmiddlewaretoken]");
  var stopBox = $("session-stop"); // only on a page rendered while the charge was live

  var session = config.session;
  var fetchedAt = Date.now();
  var pollTimer = null;
  var tickTimer = null;
  var failures = 0;
  var receiptChecks = 0;
  var RECEIPT_CHECK_MS = 5000;
  var RECEIPT_CHECKS_MAX = 120; // ten minutes of looking for the receipt after the charge ends
  var finished = false;
  var chart = null;

  var ANNOUNCE = {
    accepted: gettext("The charger accepted the start."),
    active: gettext("Charging started."),
    stopping: gettext("Stopping the charge."),
    completed: gettext("Charge complete.")
  };
  var STOP_MESSAGES = {
    not_stoppable: gettext("This charge can't be stopped from the app right now; it may be ending already."),
    partner_unavailable: gettext("The operator's network is not answering. Try again, or stop at the charger."),
    not_authenticated: gettext("You are signed out. Sign in again to stop the charge."),
    no_answer: gettext("The charger did not answer. Try again, or stop at the charger.")
  };

  /* ---------- formatting ---------- */
  var lang = document.documentElement.lang;
  var twoDecimals = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var oneDecimal = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function durationClock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }
  function clock(moment) { // an ISO string or milliseconds, in the driver's local time
    var d = new Date(moment);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  /* ---------- chart ---------- */
  function chartData(samples) {
    var xs = [], power = [], energy = [];
    samples.forEach(function (s) {
      xs.push(Date.parse(s.at) / 1000);
      power.push(s.power_kw);
      energy.push(s.kwh);
    });
    return [xs, power, energy];
  }
  function chartSize() {
    var box = $("session-chart");
    var width = Math.max(240, box.clientWidth);
    return { width: width, height: width < 600 ? 220 : 280 };
  }
  function chartMake() {
    if (typeof window.uPlot !== "function") {
      $("chart-caption").textContent = gettext("The chart could not load; the figures above stay current.");
      return;
    }
    var size = chartSize();
    chart = new window.uPlot({
      width: size.width,
      height: size.height,
      cursor: { drag: { x: false, y: false } },
      legend: { show: false },
      scales: { x: { time: true }, kw: { range: function (u, min, max) { return [0, Math.max(1, max * 1.15)]; } },
                kwh: { range: function (u, min, max) { return [0, Math.max(0.5, max * 1.15)]; } } },
      series: [
        {},
        { label: gettext("Power"), scale: "kw", stroke: "#0b6e4f", width: 2, fill: "rgba(11,110,79,0.12)",
          points: { show: false } },
        { label: gettext("Energy"), scale: "kwh", stroke: "#1d4ed8", width: 2, dash: [6, 4],
          points: { show: false } }
      ],
      axes: [
        { stroke: "#44506a", grid: { stroke: "#e4e7ee" }, space: 80,
          // Hours and minutes; seconds too while the charge is only a few minutes old.
          values: function (u, ticks) {
            var seconds = ticks.length > 1 && ticks[ticks.length - 1] - ticks[0] < 300;
            return ticks.map(function (t) { return clock(t * 1000).slice(0, seconds ? 8 : 5); });
          } },
        { scale: "kw", label: "kW", stroke: "#0b6e4f", grid: { stroke: "#e4e7ee" }, size: 48 },
        { scale: "kwh", label: "kWh", side: 1, stroke: "#1d4ed8", grid: { show: false }, size: 52 }
      ]
    }, chartData(session.samples), $("session-chart"));
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var next = chartSize();
        if (next.width !== chart.width || next.height !== chart.height) { chart.setSize(next); }
      }).observe($("session-chart"));
    }
  }
  function chartUpdate() {
    var count = session.samples.length;
    $("chart-caption").textContent = count
      ? interpolate(ngettext(
        "%(count)s reading from the charger; energy %(kwh)s kWh.",
        "%(count)s readings from the charger; energy %(kwh)s kWh.",
        count
      ), { count: count, kwh: twoDecimals.format(session.kwh) }, true)
      : gettext("The chart fills in as the charger reports.");
    // No empty axes: the chart appears with the charger's first reading.
    $("session-chart").hidden = !count;
    $("chart-legend").hidden = !count;
    if (!count) { return; }
    if (chart) { chart.setData(chartData(session.samples)); } else { chartMake(); }
  }

  /* ---------- rendering ---------- */
  function showDuration() {
    var seconds = session.duration_seconds;
    if (session.state === "active" || session.state === "stopping") {
      seconds += (Date.now() - fetchedAt) / 1000;
    }
    $("session-duration").textContent = durationClock(seconds);
    $("session-duration-unit").textContent = seconds >= 3600 ? pgettext("hours", "h") : pgettext("minutes", "min");
  }

  function render(previousState) {
    root.dataset.state = session.state;
    root.dataset.live = String(session.live);
    var pill = $("session-state");
    pill.textContent = session.state_label;
    pill.className = "state-pill state-" + session.state;
    $("session-message").textContent = session.message;
    $("session-message").hidden = !session.message;
    $("session-hint").hidden = session.state !== "requested" && session.state !== "accepted";
    $("session-kwh").textContent = twoDecimals.format(session.kwh);
    // The power now while charging; once it is over, the average over the charge.
    var seconds = session.duration_seconds;
    var power = session.live ? session.power_kw : (seconds ? session.kwh * 3600 / seconds : 0);
    $("session-power").textContent = oneDecimal.format(power);
    $("session-power-label").textContent = session.live ? gettext("Power now") : gettext("Average power");
    $("session-cost").textContent = session.cost.display;
    $("session-cost-label").textContent = session.live ? gettext("Cost so far") : gettext("Cost");
    if ($("session-hold") && !session.live) { $("session-hold").hidden = true; }
    showDuration();
    if (stopBox) {
      stopBox.hidden = !session.can_stop;
      if (!session.can_stop) { $("stop-confirm").hidden = true; $("stop-button").hidden = false; }
    }

    var timeline = $("session-timeline");
    timeline.textContent = "";
    if (!session.timeline.length) {
      var waiting = document.createElement("li");
      waiting.className = "help";
      waiting.textContent = gettext("Waiting for the charger.");
      timeline.appendChild(waiting);
    }
    session.timeline.forEach(function (step) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.dateTime = step.at;
      time.textContent = clock(step.at);
      li.appendChild(time);
      li.appendChild(document.createTextNode(" " + step.text));
      timeline.appendChild(li);
    });

    if (previousState && previousState !== session.state) {
      $("session-announce").textContent = ANNOUNCE[session.state] || session.state_label + ".";
    }
    if (!session.live) { renderOutcome(); }
    chartUpdate();
  }

  function renderOutcome() {
    var box = $("session-outcome");
    var completed = session.state === "completed";
    box.hidden = false;
    $("outcome-h").textContent = completed ? gettext("Charge complete") : gettext("This charge did not go ahead");
    var kwh = { kwh: twoDecimals.format(session.kwh) };
    $("outcome-text").textContent = completed
      ? interpolate(session.receipt_url
        ? gettext("You charged %(kwh)s kWh. Your receipt is ready.")
        : gettext("You charged %(kwh)s kWh. The operator's bill is on its way: we take the final amount then and email your receipt."), kwh, true)
      : (session.message || gettext("Nothing was charged, and the hold on your card is released."));
    var link = $("receipt-link");
    if (session.receipt_url) { link.href = session.receipt_url; }
    link.hidden = !session.receipt_url;
    $("session-updated").textContent = "";
  }

  /* ---------- polling ---------- */
  function schedule(delay) {
    clearTimeout(pollTimer);
    pollTimer = null;
    if (finished || document.hidden) { return; }
    pollTimer = setTimeout(poll, delay);
  }

  function nextDelay() {
    if (session.live) { return config.interval; }
    // Over: keep looking (slowly) for the receipt, which follows the operator's bill.
    if (session.state === "completed" && !session.receipt_url && receiptChecks < RECEIPT_CHECKS_MAX) {
      receiptChecks += 1;
      return RECEIPT_CHECK_MS;
    }
    finished = true;
    clearInterval(tickTimer);
    return null;
  }

  function poll() {
    fetch(config.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404) { throw { gone: true }; }
        if (response.status === 401 || response.status === 403) { throw { signedOut: true }; }
        if (!response.ok) { throw { status: response.status }; }
        return response.json();
      })
      .then(function (body) {
        var previous = session.state;
        session = body;
        fetchedAt = Date.now();
        failures = 0;
        $("session-updated").textContent = session.live ? "Updated " + clock(new Date().toISOString()) : "";
        render(previous);
        var delay = nextDelay();
        if (delay !== null) { schedule(delay); }
      })
      .catch(function (problem) {
        var note = $("session-updated");
        if (problem && problem.gone) {
          finished = true;
          note.textContent = gettext("This charge is no longer on your account.");
          return;
        }
        if (problem && problem.signedOut) {
          finished = true;
          note.textContent = gettext("You are signed out.") + " ";
          var link = document.createElement("a");
          link.href = config.signIn;
          link.textContent = gettext("Sign in to follow your charge");
          note.appendChild(link);
          return;
        }
        failures += 1;
        note.textContent = gettext("Live updates are interrupted; trying again…");
        schedule(Math.min(15000, config.interval * Math.pow(2, failures)));
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(pollTimer);
      pollTimer = null;
    } else if (!finished) {
      poll();
    }
  });

  /* ---------- stop ---------- */
  function stopMessage(text, signIn) {
    var box = $("stop-message");
    box.textContent = text;
    if (signIn) {
      var link = document.createElement("a");
      link.href = config.signIn;
      link.textContent = gettext("Sign in");
      box.appendChild(document.createTextNode(" "));
      box.appendChild(link);
    }
  }

  function stopWire() {
    $("stop-button").addEventListener("click", function () {
      $("stop-button").hidden = true;
      $("stop-confirm").hidden = false;
      stopMessage("");
      $("stop-yes").focus();
    });
    $("stop-no").addEventListener("click", function () {
      $("stop-confirm").hidden = true;
      $("stop-button").hidden = false;
      $("stop-button").focus();
    });
    $("stop-yes").addEventListener("click", function () {
      var yes = $("stop-yes");
      yes.disabled = true;
      yes.textContent = gettext("Stopping…");
      fetch(config.stop, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrf ? csrf.value : "" }
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            return { ok: response.ok, status: response.status, body: body };
          });
        })
        .then(function (result) {
          yes.disabled = false;
          yes.textContent = gettext("Yes, stop charging");
          $("stop-confirm").hidden = true;
          $("stop-button").hidden = false;
          if (result.ok && result.body.id) {
            var previous = session.state;
            session = result.body;
            fetchedAt = Date.now();
            render(previous);
            schedule(config.interval);
            return;
          }
          // Only our own error bodies (with a code) carry a message meant for the driver.
          var code = result.body.code || "";
          var signedOut = code === "not_authenticated" || result.status === 401 || result.status === 403;
          var text = (code && result.body.detail) || STOP_MESSAGES[code] ||
            (signedOut ? STOP_MESSAGES.not_authenticated
              : result.status === 404 ? gettext("This charge is not on your account.")
                : gettext("The charge could not be stopped. Try again, or stop at the charger."));
          stopMessage(text, signedOut);
        })
        .catch(function () {
          yes.disabled = false;
          yes.textContent = gettext("Yes, stop charging");
          stopMessage(gettext("Plugway could not be reached. Check your connection and try again, or stop at the charger."));
        });
    });
  }

  /* ---------- start ---------- */
  if (stopBox) { stopWire(); }
  render(null);
  tickTimer = setInterval(function () { if (!document.hidden && session.live) { showDuration(); } }, 1000);
  finished = !session.live && !(session.state === "completed" && !session.receipt_url);
  schedule(config.interval);
}());
