// Add a card: Stripe.js's Card Element, confirmed with confirmCardSetup. Works with real
// Stripe.js and with localstripe's stand-in (the page loads whichever settings name).
(function () {
  "use strict";
  const form = document.getElementById("card-form");
  if (!form) return;
  const errors = document.getElementById("card-errors");
  const button = form.querySelector("button[type=submit]");
  if (typeof window.Stripe !== "function") {
    errors.textContent = gettext("The card form could not load. Check your connection and reload the page.");
    button.disabled = true;
    return;
  }
  const stripe = window.Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card", { hidePostalCode: true });
  card.mount("#card-element");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  // Stripe's Card Element says after each change whether the card is complete and, if not,
  // what is wrong: an incomplete card is refused here, before anything is asked of Stripe.
  let cardState = { complete: false, error: null };
  card.on("change", function (event) {
    cardState = { complete: Boolean(event.complete), error: event.error || null };
    errors.textContent = event.error ? event.error.message : "";
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!cardState.complete) {
      errors.textContent = cardState.error ? cardState.error.message : gettext("Enter your card details.");
      return;
    }
    button.disabled = true;
    errors.textContent = "";
    try {
      const response = await fetch(form.dataset.setupUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrf },
        credentials: "same-origin",
      });
      const body = await response.json().catch(function () { return {}; });
      if (!response.ok || !body.client_secret) {
        throw new Error(body.error || gettext("We could not start saving your card. Try again."));
      }
      const result = await stripe.confirmCardSetup(body.client_secret, {
        payment_method: { card: card },
      });
      if (result.error) {
        throw new Error(result.error.message || gettext("Your card was not saved. Try another card."));
      }
      form.querySelector("[name=setup_intent]").value = result.setupIntent.id;
      form.submit();
    } catch (error) {
      errors.textContent = error && error.message ? error.message : gettext("Your card was not saved.");
      button.disabled = false;
    }
  });
})();
