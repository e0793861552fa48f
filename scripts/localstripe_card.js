/* Plugway's card form for localstripe's Stripe.js stand-in (served after localstripe-v3.js by
   scripts/localstripe_server.py; development and tests only). localstripe's own form shows bare
   inputs named exp_month and postal_code and sends "20" + the year, so "2030" became "202030"
   and a "Bad request". This one: labelled fields, a message under the field that is wrong,
   two- or four-digit years, and Stripe's `change` events ({complete, error}) so the page can
   refuse an incomplete card before it asks Stripe for anything. */
(function () {
  "use strict";
  var FIELDS = [
    { name: "number", label: "Card number", autocomplete: "cc-number", size: 19, hint: "1234 1234 1234 1234" },
    { name: "exp_month", label: "Expiry month", autocomplete: "cc-exp-month", size: 2, hint: "MM" },
    { name: "exp_year", label: "Expiry year", autocomplete: "cc-exp-year", size: 4, hint: "YYYY" },
    { name: "cvc", label: "Security code (CVC)", autocomplete: "cc-csc", size: 4, hint: "123" },
    { name: "postal_code", label: "Postcode", autocomplete: "postal-code", size: 10, hint: "" }
  ];
  var uid = 0;

  function digits(value) { return value.replace(/[\s-]/g, ""); }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = parseInt(number.charAt(number.length - 1 - i), 10);
      if (i % 2 === 1) { d *= 2; if (d > 9) { d -= 9; } }
      sum += d;
    }
    return sum % 10 === 0;
  }

  function fullYear(value) {
    var year = digits(value);
    if (/^\d{2}$/.test(year)) { return 2000 + parseInt(year, 10); }
    return /^\d{4}$/.test(year) ? parseInt(year, 10) : NaN;
  }

  // The message for one field, or "" when it is right (given the values of the others).
  function problem(name, values) {
    var value = values[name].trim();
    var now = new Date();
    if (name === "number") {
      var number = digits(value);
      if (!number) { return "Enter your card number."; }
      if (!/^\d{12,19}$/.test(number) || !luhn(number)) { return "This card number is not valid; check it."; }
    } else if (name === "exp_month") {
      var month = parseInt(value, 10);
      if (!value) { return "Enter the expiry month."; }
      if (!/^\d{1,2}$/.test(value) || month < 1 || month > 12) { return "Enter the month as a number from 1 to 12."; }
    } else if (name === "exp_year") {
      var year = fullYear(value);
      if (!value) { return "Enter the expiry year."; }
      if (isNaN(year)) { return "Enter the year as 2030 or 30."; }
      var month = parseInt(values.exp_month, 10) || 12;
      if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
        return "This card has expired.";
      }
      if (year > now.getFullYear() + 20) { return "Enter the year as 2030 or 30."; }
    } else if (name === "cvc") {
      if (!value) { return "Enter the security code from the back of the card."; }
      if (!/^\d{3,4}$/.test(value)) { return "The security code is 3 or 4 digits."; }
    } else if (name === "postal_code") {
      if (!value) { return "Enter the postcode of your billing address."; }
      if (value.length > 10) { return "A postcode has at most 10 characters."; }
    }
    return "";
  }

  Element.prototype.mount = function (domElement) {
    if (typeof domElement === "string") { domElement = document.querySelector(domElement); }
    if (this._domChildren.length) { return; }
    var element = this;
    var prefix = "card-" + (++uid) + "-";
    var box = document.createElement("div");
    box.className = "standin-card";
    var note = document.createElement("p");
    note.className = "standin-note";
    note.textContent = "Test card form (localstripe): no real card is charged.";
    box.appendChild(note);
    this._inputs = {};
    this._errors = {};
    this._touched = {};
    FIELDS.forEach(function (field) {
      var wrap = document.createElement("div");
      wrap.className = "standin-field standin-" + field.name;
      var label = document.createElement("label");
      label.htmlFor = prefix + field.name;
      label.textContent = field.label;
      var input = document.createElement("input");
      input.id = prefix + field.name;
      input.type = "text";
      input.inputMode = field.name === "postal_code" ? "text" : "numeric";
      input.autocomplete = field.autocomplete;
      input.size = field.size;
      input.placeholder = field.hint;
      input.setAttribute("aria-describedby", prefix + field.name + "-error");
      var error = document.createElement("p");
      error.className = "standin-error";
      error.id = prefix + field.name + "-error";
      input.addEventListener("input", function () { element._changed(); });
      input.addEventListener("blur", function () {
        element._touched[field.name] = true;
        element._changed();
      });
      wrap.appendChild(label);
      wrap.appendChild(input);
      wrap.appendChild(error);
      box.appendChild(wrap);
      element._inputs[field.name] = input;
      element._errors[field.name] = error;
    });
    this._domChildren.push(box);
    domElement.appendChild(box);
    // Submitting shows what is missing in every field, before the page's own handler runs.
    var form = domElement.closest("form");
    if (form) {
      form.addEventListener("submit", function () {
        FIELDS.forEach(function (field) { element._touched[field.name] = true; });
        element._changed();
        var state = element._check(true);
        if (state.shown) { element._inputs[state.shown.field].focus(); }
      }, true);
    }
    this._changed();
  };

  Element.prototype._values = function () {
    var values = {};
    var inputs = this._inputs;
    FIELDS.forEach(function (field) { values[field.name] = inputs[field.name].value; });
    return values;
  };

  // Show the message of each field the driver has left (or of all, `all`): returns whether
  // the card is complete and the first message shown.
  Element.prototype._check = function (all) {
    var values = this._values();
    var state = { complete: true, shown: null };
    var element = this;
    FIELDS.forEach(function (field) {
      var message = problem(field.name, values);
      var shown = message && (all || element._touched[field.name]);
      element._errors[field.name].textContent = shown ? message : "";
      if (shown) { element._inputs[field.name].setAttribute("aria-invalid", "true"); }
      else { element._inputs[field.name].removeAttribute("aria-invalid"); }
      if (message) { state.complete = false; }
      if (shown && !state.shown) { state.shown = { field: field.name, message: message }; }
    });
    return state;
  };

  Element.prototype._changed = function () {
    var values = this._values();
    var year = fullYear(values.exp_year);
    this.value = {
      card: {
        number: digits(values.number),
        exp_month: values.exp_month.trim(),
        exp_year: isNaN(year) ? values.exp_year.trim() : String(year),
        cvc: values.cvc.trim()
      },
      postal_code: values.postal_code.trim()
    };
    var state = this._check(false);
    var event = {
      elementType: "card",
      empty: !Object.keys(values).some(function (k) { return values[k]; }),
      complete: state.complete,
      error: state.shown ? { type: "validation_error", message: state.shown.message } : undefined
    };
    (this.listeners.change || []).forEach(function (handler) { handler(event); });
  };

  // Like Stripe.js: confirming with an incomplete card answers a validation error at once,
  // each wrong field saying why.
  var original = window.Stripe;
  window.Stripe = function (apiKey) {
    var stripe = original(apiKey);
    var confirm = stripe.confirmCardSetup;
    stripe.confirmCardSetup = function (clientSecret, data) {
      var card = data && data.payment_method && data.payment_method.card;
      if (card instanceof Element) {
        var state = card._check(true);
        if (!state.complete) {
          card._inputs[state.shown.field].focus();
          return Promise.resolve({ error: { type: "validation_error", message: state.shown.message } });
        }
      }
      return confirm(clientSecret, data);
    };
    return stripe;
  };
}());
