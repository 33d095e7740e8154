// An action's refusal is shown, never dropped, and no live refresh takes it away.
//
// A refused htmx action (4xx/5xx with an HTML fragment from web/errors.py or from a panel, or the
// reply's "the address changed" question) is shown where it belongs: in the action's own target when
// that target shows its actions' messages (marked data-action-messages, as the offers panel is), else in
// #flash above the screen.
//
// A live refresh is a request from an element marked data-live-refresh (a panel that polls, follows the
// live script's relaydesk:* events, or fills itself in after the page loads). Such a refresh is not the
// agent's doing, so:
//   - it never clears #flash (an action that succeeds does);
//   - it keeps an action's error message ([data-action-error]) in the panel it redraws: the message is
//     carried into the new content, or into #flash when the panel is replaced whole;
//   - it waits while the agent has a field focused inside the panel (a half-typed reason, an open
//     choice), and runs once the focus leaves;
//   - its answer is dropped when an action's answer was drawn into the same panel after the refresh was
//     sent (it would draw an older state over the newer one, and wipe the action's message).
(function () {
  "use strict";
  var waiting = new Map(); // refresh element -> its target, for refreshes that skipped a turn while the agent typed
  var sequence = 0; // orders refreshes sent against actions drawn

  function flashBox() {
    var flash = document.getElementById("flash");
    if (!flash) {
      flash = document.createElement("div");
      flash.id = "flash";
      flash.setAttribute("aria-live", "polite");
      var main = document.querySelector("main") || document.body;
      main.insertBefore(flash, main.firstChild);
    }
    return flash;
  }

  // htmx sets detail.elt to the element an event is dispatched on; the requesting one is in requestConfig.
  function requester(detail) {
    return (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
  }

  function isRefresh(detail) {
    var elt = requester(detail);
    return !!(elt && elt.hasAttribute && elt.hasAttribute("data-live-refresh"));
  }

  function typingIn(region) {
    var field = document.activeElement;
    return !!(region && field && region.contains(field) && /^(INPUT|TEXTAREA|SELECT)$/.test(field.tagName));
  }

  function swapStyle(detail) {
    var spec = detail.swapOverride || requester(detail).getAttribute("hx-swap") || htmx.config.defaultSwapStyle;
    return spec.split(" ")[0];
  }

  // --- A live refresh waits while the agent types in it -------------------------------------------
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!isRefresh(event.detail)) return;
    if (typingIn(event.detail.target)) {
      event.preventDefault();
      waiting.set(requester(event.detail), event.detail.target);
    } else if (event.detail.xhr) {
      event.detail.xhr.relaydeskSent = ++sequence;
    }
  });

  document.addEventListener("focusout", function () {
    // After the focus has moved: a click from a field onto the panel's own button is not a leave.
    setTimeout(function () {
      waiting.forEach(function (target, elt) {
        if (elt.isConnected && typingIn(target)) return;
        waiting.delete(elt);
        if (elt.isConnected) htmx.ajax("GET", elt.getAttribute("hx-get"), { source: elt });
      });
    }, 0);
  });

  // --- Where a response goes ------------------------------------------------------------------------
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var xhr = detail.xhr;
    if (!xhr) return;
    if (xhr.status >= 400) {
      var type = xhr.getResponseHeader("Content-Type") || "";
      detail.isError = false;
      if (type.indexOf("text/html") === 0) {
        detail.shouldSwap = true;
        if (!(detail.target && detail.target.hasAttribute("data-action-messages"))) {
          detail.target = flashBox();
          detail.swapOverride = "innerHTML";
        } else if (!isRefresh(detail)) {
          detail.target.relaydeskActed = ++sequence;
        }
      } else {
        detail.shouldSwap = false;
        flashBox().textContent = "The request failed (" + xhr.status + "); reload the page and try again.";
      }
      return;
    }
    if (!detail.shouldSwap || !detail.target) return;
    if (!isRefresh(detail)) {
      detail.target.relaydeskActed = ++sequence;
      return;
    }
    if ((detail.target.relaydeskActed || 0) > (xhr.relaydeskSent || 0)) {
      detail.shouldSwap = false; // older than what the action drew: the next refresh brings news
      return;
    }
    if (typingIn(detail.target)) { // it left before the agent began typing: its turn comes after
      detail.shouldSwap = false;
      waiting.set(requester(detail), detail.target);
      return;
    }
    var kept = Array.prototype.map.call(detail.target.querySelectorAll("[data-action-error]"), function (el) {
      return el.outerHTML;
    });
    if (!kept.length || typeof detail.serverResponse !== "string") return;
    if (swapStyle(detail) === "innerHTML") {
      detail.serverResponse = kept.join("") + detail.serverResponse;
    } else {
      flashBox().insertAdjacentHTML("beforeend", kept.join(""));
    }
  });

  // An action that succeeds clears an earlier message; a live refresh does not.
  document.addEventListener("htmx:afterSwap", function (event) {
    var flash = document.getElementById("flash");
    var detail = event.detail;
    if (flash && detail.target !== flash && detail.xhr && detail.xhr.status < 400 && !isRefresh(detail)) {
      flash.innerHTML = "";
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest && target.closest("[data-dismiss-flash]")) {
      flashBox().innerHTML = "";
    } else if (target.closest && target.closest("[data-dismiss-message]")) {
      var message = target.closest("[data-action-error]");
      if (message) message.remove();
    } else if (target.closest && target.closest("[data-testid=reload]")) {
      event.preventDefault();
      window.location.reload();
    }
  });
})();
