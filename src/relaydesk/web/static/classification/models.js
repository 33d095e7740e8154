// After a registry action on /admin/models: reload to show the new states, or show the server's message.
document.body.addEventListener("htmx:afterRequest", function (event) {
  var path = event.detail.requestConfig && event.detail.requestConfig.path || "";
  if (path.indexOf("/api/v1/models/") !== 0) return;
  if (event.detail.successful) { window.location.reload(); return; }
  var message = "The action failed.";
  try { message = JSON.parse(event.detail.xhr.responseText).error.message; } catch (e) {}
  document.getElementById("model-error").textContent = message;
});
