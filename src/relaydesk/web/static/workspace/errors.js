// A refused htmx action (4xx/5xx with an HTML fragment from web/errors.py, or the reply's
// "the address changed" question) is shown in #flash above the screen instead of being dropped.
(function () {
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
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status < 400) return;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var flash = flashBox();
    event.detail.isError = false;
    if (type.indexOf("text/html") === 0) {
      event.detail.shouldSwap = true;
      event.detail.target = flash;
      event.detail.swapOverride = "innerHTML";
    } else {
      event.detail.shouldSwap = false;
      flash.textContent = "The request failed (" + xhr.status + "); reload the page and try again.";
    }
  });
  // A successful action clears an earlier message.
  document.addEventListener("htmx:afterSwap", function (event) {
    var flash = document.getElementById("flash");
    if (flash && event.detail.target !== flash && event.detail.xhr && event.detail.xhr.status < 400) {
      flash.innerHTML = "";
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest && target.closest("[data-dismiss-flash]")) {
      flashBox().innerHTML = "";
    } else if (target.closest && target.closest("[data-testid=reload]")) {
      event.preventDefault();
      window.location.reload();
    }
  });
})();
