// Keyboard shortcuts for the agent's screens, and the "?" overlay that lists them.
//
// Any script registers its own: window.relaydeskShortcuts.register(key, description, handler).
// Keys are single characters, or two in a row ("g i"). Shortcuts do nothing while the agent types in
// a field, except Escape, which leaves the field (and closes the overlay).
(function () {
  var registry = [];
  var pending = null; // the first key of a two-key shortcut ("g"), for a second
  var pendingTimer = null;

  function register(key, description, handler) {
    registry = registry.filter(function (s) { return s.key !== key; });
    registry.push({ key: key, description: description, handler: handler });
  }

  function typing(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function overlay() { return document.getElementById("shortcuts-overlay"); }

  function closeOverlay() {
    var box = overlay();
    if (box) box.remove();
  }

  function showOverlay() {
    if (overlay()) { closeOverlay(); return; }
    var box = document.createElement("div");
    box.id = "shortcuts-overlay";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Keyboard shortcuts");
    box.setAttribute("data-testid", "shortcuts-overlay");
    var title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    box.appendChild(title);
    var list = document.createElement("dl");
    registry.forEach(function (s) {
      var dt = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = s.key;
      dt.appendChild(kbd);
      var dd = document.createElement("dd");
      dd.textContent = s.description;
      list.appendChild(dt);
      list.appendChild(dd);
    });
    box.appendChild(list);
    var hint = document.createElement("p");
    hint.className = "muted";
    hint.textContent = "Esc closes this list.";
    box.appendChild(hint);
    document.body.appendChild(box);
  }

  // Lists: any element with data-row-link is a row; j/k move the selection, Enter opens it.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-row-link]")); }

  function moveSelection(step) {
    var all = rows();
    if (!all.length) return;
    var current = all.findIndex(function (row) { return row.classList.contains("selected"); });
    var next = current < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, current + step));
    all.forEach(function (row) { row.classList.remove("selected"); row.removeAttribute("aria-selected"); });
    all[next].classList.add("selected");
    all[next].setAttribute("aria-selected", "true");
    all[next].scrollIntoView({ block: "nearest" });
  }

  function openSelection() {
    var row = document.querySelector("[data-row-link].selected");
    if (row && row.getAttribute("data-row-link")) window.location.assign(row.getAttribute("data-row-link"));
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    field.focus();
    return true;
  }

  function click(selector) {
    var target = document.querySelector(selector);
    if (!target) return;
    // Just after a swap htmx may not have wired the new form yet: a plain click would submit it
    // natively (a GET of the page), so make sure htmx handles it first.
    var form = target.closest("form");
    if (form && window.htmx) window.htmx.process(form);
    target.click();
  }

  register("?", "Show or hide this list", showOverlay);
  register("j", "Next row in a list", function () { moveSelection(1); });
  register("k", "Previous row in a list", function () { moveSelection(-1); });
  register("Enter", "Open the selected row", openSelection);
  register("/", "Search", function () {
    focusField("#article-search") || focusField("input[type=search]") || focusField("#search");
  });
  register("g i", "Go to the inbox", function () { window.location.assign("/tickets"); });
  register("r", "Reply to the customer", function () { focusField("#reply-body"); });
  register("n", "Write an internal note", function () { focusField("#note-body"); });
  register("a", "Assign the ticket to me", function () { click("#assign-me"); });
  register("e", "Resolve the ticket", function () { click("#resolve"); });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closeOverlay();
      if (typing(document.activeElement)) document.activeElement.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    var shortcut = null;
    if (pending) {
      shortcut = registry.find(function (s) { return s.key === pending + " " + key; });
      pending = null;
      clearTimeout(pendingTimer);
    }
    if (!shortcut) shortcut = registry.find(function (s) { return s.key === key; });
    if (!shortcut) {
      var starts = registry.some(function (s) { return s.key.indexOf(key + " ") === 0; });
      if (starts) {
        pending = key;
        pendingTimer = setTimeout(function () { pending = null; }, 1500);
        event.preventDefault();
      }
      return;
    }
    if (key === "Enter" && !document.querySelector("[data-row-link].selected")) return;
    event.preventDefault();
    shortcut.handler(event);
  });

  window.relaydeskShortcuts = { register: register, list: function () { return registry.slice(); } };
})();
