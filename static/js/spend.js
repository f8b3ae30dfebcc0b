// A live preview of an SMS's encoding and parts while it is typed (S1). The same rules as
// credits/sms.py; the server counts again, and its count is what is charged.
"use strict";

(() => {
  const GSM7_BASIC = new Set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
  );
  const GSM7_EXTENSION = new Set("\f^{}\\[~]|€");

  function measure(text) {
    const characters = Array.from(text);
    const gsm7 = characters.every((c) => GSM7_BASIC.has(c) || GSM7_EXTENSION.has(c));
    const widths = characters.map((c) => {
      if (gsm7) return GSM7_EXTENSION.has(c) ? 2 : 1;
      return c.codePointAt(0) > 0xffff ? 2 : 1;
    });
    const units = widths.reduce((sum, width) => sum + width, 0);
    const [single, part] = gsm7 ? [160, 153] : [70, 67];
    let parts = 1;
    if (units > single) {
      // A character's units are never split across two parts.
      let used = 0;
      for (const width of widths) {
        if (used + width > part) { parts += 1; used = 0; }
        used += width;
      }
    }
    return { encoding: gsm7 ? "GSM-7" : "UCS-2", characters: characters.length, parts };
  }

  function show(textarea) {
    const output = textarea.parentElement.querySelector("[data-sms-count]");
    if (!output) return;
    if (!textarea.value) { output.textContent = ""; return; }
    const length = measure(textarea.value);
    const template = length.parts === 1 ? output.dataset.one : output.dataset.many;
    output.textContent = template
      .replace("{characters}", String(length.characters))
      .replace("{encoding}", length.encoding)
      .replace("{parts}", String(length.parts));
  }

  document.addEventListener("input", (event) => {
    if (event.target.matches("textarea[data-sms-text]")) show(event.target);
  });
  document.addEventListener("DOMContentLoaded", () => {
    for (const textarea of document.querySelectorAll("textarea[data-sms-text]")) show(textarea);
  });
})();
