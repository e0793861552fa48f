// Let the driver complete their bank's authentication (3-D Secure) for a hold, then post back
// so the server re-reads the payment from Stripe.
(function () {
  "use strict";
  const form = document.getElementById("authenticate-form");
  if (!form) return;
  const errors = document.getElementById("authenticate-errors");
  const button = form.querySelector("button[type=submit]");
  if (typeof window.Stripe !== "function" || !form.dataset.clientSecret) {
    errors.textContent = gettext("Confirmation could not load. Check your connection and reload the page.");
    button.disabled = true;
    return;
  }
  const stripe = window.Stripe(form.dataset.publishableKey);

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    // Real Stripe leaves a failed off-session attempt waiting for a payment method: pass the
    // saved card again. (localstripe's stand-in ignores the second argument.)
    const data = form.dataset.paymentMethod ? { payment_method: form.dataset.paymentMethod } : {};
    const result = await stripe.confirmCardPayment(form.dataset.clientSecret, data);
    if (result.error) {
      // Stay, so the driver can read why and try again; posting back would wipe the message.
      errors.textContent =
        result.error.message || gettext("Your bank did not confirm the payment. Try again.");
      button.disabled = false;
      return;
    }
    form.submit();
  });
})();
