// Suggestions as the customer types, for any form marked data-deflection-form (the help-center
// contact form, the help center's search box). Calls the public suggestions API (debounced, one
// session per form, kept in its input named session_id or s) and sends "viewed", "solved" and
// "not_helpful" feedback. Optional: data-source="help_center" (a search the customer asked for,
// never in the holdout), data-label-solved / data-label-not-helpful (the buttons in the page's
// language). Text is inserted with textContent only.
(function () {
  "use strict";
  var form = document.querySelector("[data-deflection-form]");
  if (!form) return;
  var fields = form.querySelectorAll("[data-deflection-query]");
  var sessionField = form.querySelector("input[name=session_id]") || form.querySelector("input[name=s]");
  var source = form.getAttribute("data-source");
  var labelSolved = form.getAttribute("data-label-solved") || "This solved my problem";
  var labelNotHelpful = form.getAttribute("data-label-not-helpful") || "Not helpful";
  var box = form.querySelector(".deflection-suggestions");
  var list = form.querySelector("[data-deflection-list]");
  var thanks = form.querySelector(".deflection-thanks");
  var channel = form.getAttribute("data-channel") || "web_form";
  var locale = form.getAttribute("data-locale");
  var timer = null;
  var lastQuery = "";

  function currentQuery() {
    var parts = [];
    fields.forEach(function (f) { if (f.value.trim()) parts.push(f.value.trim()); });
    return parts.join(" ").replace(/\s+/g, " ").slice(0, 500);
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) { return r.ok ? r.json() : null; });
  }

  function feedback(articleId, outcome) {
    if (!sessionField.value) return Promise.resolve(null);
    var url = "/api/v1/public/suggestions/" + encodeURIComponent(sessionField.value) + "/feedback";
    return post(url, { article_id: articleId, outcome: outcome });
  }

  function button(label, testid, secondary, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.setAttribute("data-testid", testid);
    if (secondary) b.className = "secondary";
    b.addEventListener("click", onClick);
    return b;
  }

  function render(suggestions) {
    list.replaceChildren();
    suggestions.forEach(function (s) {
      var li = document.createElement("li");
      li.setAttribute("data-testid", "suggestion");
      li.setAttribute("data-article-id", String(s.article_id));
      var link = document.createElement("a");
      link.href = s.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = s.title;
      link.setAttribute("data-testid", "suggestion-link");
      link.addEventListener("click", function () { feedback(s.article_id, "viewed"); });
      var snippet = document.createElement("div");
      snippet.className = "snippet";
      snippet.textContent = s.snippet;
      var actions = document.createElement("div");
      actions.className = "actions";
      actions.appendChild(button(labelSolved, "suggestion-solved", false, function () {
        feedback(s.article_id, "solved").then(function (r) { if (r) { thanks.hidden = false; } });
      }));
      actions.appendChild(button(labelNotHelpful, "suggestion-not-helpful", true, function () {
        feedback(s.article_id, "not_helpful").then(function () { li.remove(); if (!list.children.length) box.hidden = true; });
      }));
      li.appendChild(link);
      li.appendChild(snippet);
      li.appendChild(actions);
      list.appendChild(li);
    });
    box.hidden = suggestions.length === 0;
  }

  // One request at a time, so the first keystrokes cannot open two sessions; the newest text is
  // sent when the request in flight returns.
  var inFlight = false;
  var again = false;

  function refresh() {
    var query = currentQuery();
    if (query.length < 3 || query === lastQuery) return;
    if (inFlight) { again = true; return; }
    inFlight = true;
    lastQuery = query;
    var body = { query: query, channel: channel };
    if (locale) body.locale = locale;
    if (source) body.source = source;
    if (sessionField.value) body.session_id = sessionField.value;
    post("/api/v1/public/suggestions", body).then(function (data) {
      if (data) {
        sessionField.value = data.session_id;
        render(data.suggestions);
      }
    }).catch(function () { lastQuery = ""; }).then(function () {
      inFlight = false;
      if (again) { again = false; refresh(); }
    });
  }

  fields.forEach(function (f) {
    f.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 350);
    });
  });
})();
