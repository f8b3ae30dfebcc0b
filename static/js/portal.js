// The portal's own small behaviours; pages work without them (forms still submit).
"use strict";

document.addEventListener("change", (event) => {
  // A select that applies itself (the language switcher, filters).
  const field = event.target.closest("[data-submit-on-change]");
  if (field && field.form) field.form.requestSubmit();
});

document.addEventListener("submit", (event) => {
  // A form that asks first: <form data-confirm="Deactivate this list?">.
  const form = event.target;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One submission per form: a double click sends it once (the server also refuses a replay).
  if (form.dataset.submitted === "yes") {
    event.preventDefault();
    return;
  }
  if (form.method.toLowerCase() === "post") {
    form.dataset.submitted = "yes";
    window.setTimeout(() => { delete form.dataset.submitted; }, 5000);
  }
});

function tickCountdowns() {
  // <time data-countdown datetime="2026-12-01T10:15:00Z">: minutes and seconds left.
  for (const element of document.querySelectorAll("time[data-countdown]")) {
    const left = Math.max(0, Math.round((Date.parse(element.dateTime) - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    element.textContent = `${minutes}:${seconds}`;
    if (left === 0) element.closest("[data-expires]")?.classList.add("expired");
  }
}
document.addEventListener("DOMContentLoaded", () => {
  if (document.querySelector("time[data-countdown]")) {
    tickCountdowns();
    window.setInterval(tickCountdowns, 1000);
  }
});
