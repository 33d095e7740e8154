// The ticket view's small behaviours: apply a macro into the reply box, insert an article as a link.
(function () {
  function csrfHeaders() {
    var raw = document.body.getAttribute("hx-headers");
    return raw ? JSON.parse(raw) : {};
  }

  function insertAtCursor(field, text) {
    var start = field.selectionStart || field.value.length;
    var end = field.selectionEnd || field.value.length;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.selectionStart = field.selectionEnd = start + text.length;
    field.focus();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var insert = target.closest && target.closest("[data-insert-link]");
    if (insert) {
      var reply = document.getElementById("reply-body");
      if (reply) insertAtCursor(reply, insert.getAttribute("data-title") + ": " + insert.getAttribute("data-insert-link"));
      return;
    }
    var apply = target.closest && target.closest("#apply-macro");
    if (apply) {
      var select = document.getElementById("macro-select");
      var body = document.getElementById("reply-body");
      if (!select || !body) return;
      var url = "/tickets/" + apply.getAttribute("data-ticket-id") + "/macros/" + select.value + "/apply";
      htmx.ajax("POST", url, {
        target: "#reply-body",
        swap: "outerHTML",
        values: { body: body.value },
        headers: csrfHeaders(),
      });
    }
  });
})();
