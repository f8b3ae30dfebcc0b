// Developers → API keys: copy a new key's secret with one tap (templates/api/keys/created.html).
// Without JavaScript, or where the clipboard is refused, the key stays selectable by hand.
"use strict";

(() => {
  function say(text) {
    const status = document.querySelector("[data-copy-status]");
    if (status) status.textContent = text;
  }

  function copyByHand(field) {
    // Older browsers, or a page not served over HTTPS: the selection and the old command.
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const field = document.getElementById(button.dataset.copy);
    if (!field) return;
    let copied = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(field.value);
        copied = true;
      } catch (error) {
        copied = copyByHand(field);
      }
    } else {
      copied = copyByHand(field);
    }
    say(copied ? button.dataset.copied : button.dataset.copyFailed);
    if (!copied) field.select();
  });

  document.addEventListener("focusin", (event) => {
    // A tap in the field selects the whole key, ready to copy.
    if (event.target.matches("input[readonly][id='api-key-secret']")) event.target.select();
  });
})();
