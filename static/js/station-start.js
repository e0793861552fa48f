/* Station page: "Start charging" posts {"evse": id} to the session API and opens the live
   session page; every refusal is explained in place, next to the button that was pressed. */
(function () {
  "use strict";
  var section = document.getElementById("charge-points");
  if (!section) { return; }
  var csrf = section.querySelector("[name=csrfmiddlewaretoken]");
  var startUrl = section.dataset.startUrl;
  var sessionsUrl = section.dataset.sessionsUrl;

  // What a driver reads when the API's answer carries no message of its own, and where to go.
  var MESSAGES = {
    not_authenticated: gettext("You are signed out. Sign in again to start charging."),
    no_card: gettext("Add a card before you start charging: we hold the estimated cost on it."),
    card_declined: gettext("Your card was declined for the hold. Try another card."),
    authentication_required: gettext("Your bank wants to confirm the hold. Taking you there…"),
    already_charging: gettext("You already have a charge under way."),
    evse_unavailable: gettext("This charge point is in use or not working right now. Try another one."),
    not_startable: gettext("This charge point can't be started from Plugway."),
    unknown_evse: gettext("This charge point is no longer listed. Reload the page to see what is."),
    partner_unavailable: gettext("The operator's network is not answering. Try again in a minute."),
    payment_unavailable: gettext("We could not reach our payment provider. Try again in a minute."),
    command_rejected: gettext("The charger refused to start. Try another charge point."),
    no_answer: gettext("The charger did not answer. Try again, or try another charge point.")
  };
  var GENERIC = gettext("The charge could not start. Try again in a minute.");

  function actionFor(code, body) {
    if (code === "not_authenticated") {
      return { text: gettext("Sign in"), href: section.dataset.signInUrl };
    }
    if (code === "no_card" || code === "card_declined") {
      return { text: code === "no_card" ? gettext("Add a card") : gettext("Change card"), href: section.dataset.cardsUrl };
    }
    if (code === "already_charging" && body.session) {
      return { text: gettext("See your charge"), href: sessionsUrl + encodeURIComponent(body.session) + "/" };
    }
    if (code === "unknown_evse") {
      return { text: gettext("Reload"), href: window.location.pathname };
    }
    return null;
  }

  function show(message, text, action, isError) {
    message.textContent = text;
    message.classList.toggle("start-message-error", Boolean(isError));
    if (action && action.href) {
      var link = document.createElement("a");
      link.href = action.href;
      link.textContent = action.text;
      message.appendChild(document.createTextNode(" "));
      message.appendChild(link);
    }
  }

  function start(button) {
    var message = document.getElementById("start-message-" + button.dataset.startEvse);
    var label = button.firstChild.textContent;
    button.disabled = true;
    button.firstChild.textContent = gettext("Starting…");
    show(message, gettext("Placing a hold on your card and asking the charger to start…"), null, false);
    fetch(startUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrf ? csrf.value : ""
      },
      body: JSON.stringify({ evse: Number(button.dataset.startEvse) })
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return { ok: response.ok, status: response.status, body: body };
        });
      })
      .then(function (result) {
        var body = result.body || {};
        if (result.ok && body.id) {
          show(message, gettext("Starting… opening your charge."), null, false);
          window.location.assign(sessionsUrl + encodeURIComponent(body.id) + "/");
          return;
        }
        // Only our own error bodies (with a code) carry a message meant for the driver; a
        // refusal without one (a lost sign-in, an expired form) is read from its status.
        var code = body.code || (result.status === 401 || result.status === 403 ? "not_authenticated" : "");
        if (code === "authentication_required" && body.authenticate_url) {
          show(message, body.detail || MESSAGES[code], null, false);
          window.location.assign(body.authenticate_url);
          return;
        }
        show(message, (body.code && body.detail) || MESSAGES[code] || GENERIC, actionFor(code, body), true);
        button.disabled = false;
        button.firstChild.textContent = label;
      })
      .catch(function () {
        show(message, gettext("Plugway could not be reached. Check your connection and try again."), null, true);
        button.disabled = false;
        button.firstChild.textContent = label;
      });
  }

  section.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-start-evse]");
    if (button && !button.disabled) { start(button); }
  });
}());
