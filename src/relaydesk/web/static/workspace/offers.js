// The pending-offers panel (#offers, see workspace/_offers_slot.html): counts each offer down and refreshes
// at once on the live script's "relaydesk:agent" events. What no refresh may take away (a half-typed
// decline reason, the 409/404 answer to an offer that is gone) is errors.js's part: the panel is marked
// data-live-refresh and data-action-messages.
(function () {
  "use strict";
  const REFRESHING = new Set(["offer", "offer_withdrawn", "assigned", "reclaimed"]);

  function panel() { return document.getElementById("offers"); }

  // Counted from the server's "seconds left" when the panel was drawn, so a browser clock that is off
  // does not show a wrong countdown.
  function tick() {
    document.querySelectorAll("#offers .countdown[data-seconds-left]").forEach(function (el) {
      if (!el.dataset.drawnAt) { el.dataset.drawnAt = String(Date.now()); }
      const gone = (Date.now() - Number(el.dataset.drawnAt)) / 1000;
      const left = Math.max(0, Math.round(Number(el.dataset.secondsLeft) - gone));
      el.textContent = left > 0 ? left + " s left" : "ran out";
    });
  }
  setInterval(tick, 1000);

  document.addEventListener("relaydesk:agent", function (event) {
    const detail = event.detail || {};
    if (panel() && (!detail.type || REFRESHING.has(detail.type))) {
      htmx.trigger(panel(), "relaydesk:offers-refresh");
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === panel()) { tick(); }
  });
})();
