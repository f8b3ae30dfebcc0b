// The quantity's slider and number field move together (Buy credits). The number field is
// the one sent: htmx asks the server for its price (hx-get on it), so moving the slider
// sets the number and tells htmx it changed. Without this script the number field alone works.
//
// Each volume tier gets the same width on the slider, whatever its span (data-stops: the
// tiers' starts, then the scale's end); within a tier, positions map to credits linearly.
// The twin of billing.selectors.buy.slider_position.
"use strict";

(() => {
  const STEPS_PER_TIER = 100;

  function stopsOf(slider) {
    return slider.dataset.stops.split(",").map(Number);
  }

  function creditsAt(stops, position) {
    const tier = Math.min(Math.floor(position / STEPS_PER_TIER), stops.length - 2);
    const share = (position - tier * STEPS_PER_TIER) / STEPS_PER_TIER;
    return Math.round(stops[tier] + share * (stops[tier + 1] - stops[tier]));
  }

  function positionOf(stops, credits) {
    if (credits <= stops[0]) return 0;
    for (let tier = 0; tier < stops.length - 1; tier += 1) {
      if (credits < stops[tier + 1]) {
        const share = (credits - stops[tier]) / (stops[tier + 1] - stops[tier]);
        return tier * STEPS_PER_TIER + Math.round(share * STEPS_PER_TIER);
      }
    }
    return (stops.length - 1) * STEPS_PER_TIER;
  }

  function pair() {
    const slider = document.querySelector("[data-buy-slider]");
    const number = document.querySelector("[data-buy-credits]");
    return slider && number ? { slider, number } : null;
  }

  document.addEventListener("input", (event) => {
    const fields = pair();
    if (!fields) return;
    const stops = stopsOf(fields.slider);
    if (event.target === fields.slider) {
      const credits = creditsAt(stops, Number(fields.slider.value));
      fields.number.value = String(credits);
      fields.slider.setAttribute("aria-valuetext", String(credits));
      fields.number.dispatchEvent(new Event("input", { bubbles: true }));
    } else if (event.target === fields.number) {
      const credits = Number.parseInt(fields.number.value, 10);
      if (Number.isFinite(credits)) {
        // Past either end the slider rests at that end; the number keeps what was typed.
        fields.slider.value = String(positionOf(stops, credits));
        fields.slider.setAttribute("aria-valuetext", String(credits));
      }
    }
  });
})();
