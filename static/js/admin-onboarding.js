// Admin onboarding: say what is happening while a handshake runs, and copy invitation values.
"use strict";

document.querySelectorAll("form[data-progress]").forEach((form) => {
  form.addEventListener("submit", () => {
    const note = form.querySelector(".onboarding-progress");
    note.textContent = form.dataset.progress;
    note.hidden = false;
    form.querySelectorAll("input[type=submit]").forEach((button) => {
      button.disabled = true;
    });
  });
});

document.querySelectorAll("button[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      // No clipboard access (plain http, say): select the text for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
});
