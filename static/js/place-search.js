/* Plugway place search: suggestions from our stations as you type (a combobox: arrows, Enter,
   Escape), a choice when the words fit several places, and the chosen place handed to the map
   as a "plugway:place" event. The map's centre (kept in the URL by map.js) orders places. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var form = document.getElementById("place-form");
  var input = document.getElementById("place");
  var list = document.getElementById("place-suggestions");
  var choices = document.getElementById("place-choices");
  var message = document.getElementById("place-message");
  var DEBOUNCE_MS = 200;
  var items = [];
  var active = -1;
  var timer = null;
  var pending = null;

  function ask(url, q) {
    var params = { q: q };
    var here = new URLSearchParams(window.location.search);
    if (here.get("lat") && here.get("lon")) { params.near = here.get("lat") + "," + here.get("lon"); }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    return fetch(url + "?" + new URLSearchParams(params).toString(), {
      signal: pending.signal, headers: { Accept: "application/json" }
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r); });
  }

  function option(place, id) {
    var li = document.createElement("li");
    li.id = id;
    li.setAttribute("role", "option");
    li.className = "place-option place-" + place.kind;
    var name = document.createElement("span");
    name.textContent = place.label;
    li.appendChild(name);
    if (place.detail) {
      var detail = document.createElement("span");
      detail.className = "place-detail";
      detail.textContent = place.detail;
      li.appendChild(detail);
    }
    return li;
  }

  function close() {
    list.hidden = true;
    list.textContent = "";
    items = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    active = index;
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) { input.setAttribute("aria-activedescendant", list.children[index].id); }
    else { input.removeAttribute("aria-activedescendant"); }
  }

  function suggest(places) {
    close();
    items = places;
    if (!places.length || document.activeElement !== input) { return; }
    places.forEach(function (place, i) {
      var li = option(place, "place-option-" + i);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); go(place); });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function go(place) {
    close();
    choices.hidden = true;
    choices.textContent = "";
    input.value = place.label;
    document.dispatchEvent(new CustomEvent("plugway:place", { detail: place }));
  }

  // A choice of places under the box; `focus` moves the keyboard to the first one.
  function showing(label) {
    return interpolate(gettext("Showing %(place)s"), { place: label }, true);
  }

  function offer(places, text, focus) {
    choices.textContent = "";
    var title = document.createElement("p");
    title.className = "place-choices-title";
    title.textContent = text;
    choices.appendChild(title);
    var ul = document.createElement("ul");
    places.forEach(function (place) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "place-choice";
      button.textContent = place.label;
      if (place.detail) {
        var detail = document.createElement("span");
        detail.className = "place-detail";
        detail.textContent = place.detail;
        button.appendChild(detail);
      }
      button.addEventListener("click", function () {
        message.textContent = showing(place.label);
        go(place);
      });
      li.appendChild(button);
      ul.appendChild(li);
    });
    choices.appendChild(ul);
    choices.hidden = false;
    if (focus) { ul.querySelector("button").focus(); }
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2) { close(); return; }
    timer = setTimeout(function () {
      ask(config.placesApi, q)
        .then(function (data) { suggest(data.places); })
        .catch(function () { close(); });
    }, DEBOUNCE_MS);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      highlight((active + 1) % items.length);
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      highlight(active <= 0 ? items.length - 1 : active - 1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      message.textContent = showing(items[active].label);
      go(items[active]);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();  // close the list; a second Escape clears the box as usual
      close();
    }
  });

  input.addEventListener("blur", function () { setTimeout(close, 150); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    close();
    var q = input.value.trim();
    if (!q) { message.textContent = gettext("Type a place, an address or a station name."); return; }
    message.textContent = gettext("Searching…");
    choices.hidden = true;
    ask(config.geocodeApi, q)
      .then(function (data) {
        if (data.place) {
          message.textContent = data.message || showing(data.place.label);
          go(data.place);
          if (data.choices.length) { offer(data.choices.slice(0, 3), gettext("Or did you mean:"), false); }
        } else if (data.choices.length) {
          message.textContent = "";
          offer(data.choices, data.message, true);
        } else {
          message.textContent = data.message || gettext("Nothing found.");
        }
      })
      .catch(function (err) {
        if (err.name !== "AbortError") { message.textContent = gettext("Search is not reachable right now; try again."); }
      });
  });
}());
