// The inbox page: keeps the "save these filters" form and the address in step with the filters shown
// (htmx swaps the rows without a reload, so the server-rendered values would go stale).
(function () {
  "use strict";
  var form = document.getElementById("inbox-filters");
  if (!form) return;
  form.addEventListener("change", function () {
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && value.trim() !== "") query.append(name, value.trim());
    });
    var text = query.toString();
    var saved = document.getElementById("save-view-filters");
    if (saved) saved.value = text;
    history.replaceState(null, "", "/tickets" + (text ? "?" + text : ""));
  });
})();
