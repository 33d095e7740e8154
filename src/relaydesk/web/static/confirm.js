// A button or link with data-confirm="question" asks before it acts (instead of an inline onclick,
// which the Content-Security-Policy does not run).
document.addEventListener("click", function (event) {
  var target = event.target.closest && event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.getAttribute("data-confirm"))) event.preventDefault();
});
