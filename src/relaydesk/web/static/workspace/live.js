// The agent's live connection (one per page): opens /ws/agent, reconnects with backoff, and turns
// what the server says into DOM events on `document` that the page's other scripts listen to:
//   relaydesk:ticket   (detail = the server event of a watched ticket: message, event, ...)
//   relaydesk:agent    (detail = an event for this agent: offers, notifications, reclaims)
//   relaydesk:inbox    (some ticket changed; debounced: htmx elements refresh on it)
//   relaydesk:presence (detail = {ticket_id, viewers}: who else views or types in this ticket)
//   relaydesk:live     (detail = {connected: true|false})
// On a ticket page (<main data-ticket-id>), it watches that ticket: new messages are fetched from
// /tickets/<id>/timeline?after=<last data-message-id> and appended to #timeline, and #collision
// shows the other agents viewing or typing. While the socket is down, a slow poll stands in.
(function () {
  "use strict";
  var INBOX_DEBOUNCE_MS = 1500; // every open inbox re-counts its views: at most one refresh per 1.5 s
  var FALLBACK_POLL_MS = 60000;
  var TYPING_REPEAT_MS = 3000;
  var TYPING_IDLE_MS = 5000;

  var main = document.querySelector("main[data-ticket-id]");
  var ticketId = main ? parseInt(main.getAttribute("data-ticket-id"), 10) : null;
  var socket = null;
  var attempt = 0;
  var stopped = false;
  var fallbackTimer = null;
  var inboxTimer = null;

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function inboxChanged() {
    if (inboxTimer) return; // one refresh for a burst of changes
    inboxTimer = setTimeout(function () {
      inboxTimer = null;
      emit("relaydesk:inbox", {});
    }, INBOX_DEBOUNCE_MS);
  }

  // --- The open ticket's timeline -----------------------------------------------------------------
  var fetching = false;
  var fetchAgain = false;

  function lastMessageId(timeline) {
    var last = 0;
    timeline.querySelectorAll("[data-message-id]").forEach(function (item) {
      var id = parseInt(item.getAttribute("data-message-id"), 10);
      if (id > last) last = id;
    });
    return last;
  }

  function fetchTimeline() {
    var timeline = document.getElementById("timeline");
    if (!ticketId || !timeline) return;
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    fetch("/tickets/" + ticketId + "/timeline?after=" + lastMessageId(timeline), {
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      if (html.trim()) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var known = {};
        timeline.querySelectorAll("[data-message-id]").forEach(function (item) {
          known[item.getAttribute("data-message-id")] = true;
        });
        Array.prototype.slice.call(holder.content.children).forEach(function (item) {
          var id = item.getAttribute("data-message-id");
          if (id && known[id]) return; // already shown (two events for one message)
          timeline.appendChild(item);
          if (window.htmx) window.htmx.process(item);
        });
      }
    }).catch(function () {}).then(function () {
      fetching = false;
      if (fetchAgain) { fetchAgain = false; fetchTimeline(); }
    });
  }

  // --- Collision warning --------------------------------------------------------------------------
  function showPresence(viewers) {
    var box = document.getElementById("collision");
    if (!box) return;
    if (!viewers.length) {
      box.hidden = true;
      box.textContent = "";
      return;
    }
    var typing = viewers.filter(function (v) { return v.typing; }).map(function (v) { return v.name; });
    var viewing = viewers.filter(function (v) { return !v.typing; }).map(function (v) { return v.name; });
    var parts = [];
    if (typing.length) parts.push(typing.join(", ") + (typing.length > 1 ? " are" : " is") + " typing a reply");
    if (viewing.length) parts.push(viewing.join(", ") + (viewing.length > 1 ? " are" : " is") + " also viewing this ticket");
    box.textContent = parts.join("; ") + ".";
    box.setAttribute("role", "status");
    box.hidden = false;
  }

  var typingSentAt = 0;
  var typingIdle = null;
  document.addEventListener("input", function (event) {
    if (!ticketId || !event.target || event.target.id !== "reply-body") return;
    var now = Date.now();
    if (now - typingSentAt > TYPING_REPEAT_MS) {
      typingSentAt = now;
      send({ type: "typing", ticket_id: ticketId, typing: true });
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(function () {
      typingSentAt = 0;
      send({ type: "typing", ticket_id: ticketId, typing: false });
    }, TYPING_IDLE_MS);
  });

  // --- The connection -----------------------------------------------------------------------------
  function startFallback() {
    if (fallbackTimer || stopped) return;
    fallbackTimer = setInterval(function () {
      emit("relaydesk:inbox", {});
      fetchTimeline();
    }, FALLBACK_POLL_MS);
  }

  function stopFallback() {
    clearInterval(fallbackTimer);
    fallbackTimer = null;
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "ready":
        if (ticketId) send({ type: "watch", ticket_id: ticketId });
        break;
      case "ticket":
        emit("relaydesk:ticket", frame.event);
        if (frame.event.type === "message" && frame.event.ticket_id === ticketId) fetchTimeline();
        break;
      case "agent":
        emit("relaydesk:agent", frame.event);
        break;
      case "inbox":
        inboxChanged();
        break;
      case "presence":
        emit("relaydesk:presence", { ticket_id: frame.ticket_id, viewers: frame.viewers });
        if (frame.ticket_id === ticketId) showPresence(frame.viewers);
        break;
      case "unwatched":
        if (frame.ticket_id === ticketId) showPresence([]);
        break;
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/agent");
    socket.addEventListener("open", function () {
      var reconnected = attempt > 0 || fallbackTimer !== null;
      attempt = 0;
      stopFallback();
      emit("relaydesk:live", { connected: true });
      if (reconnected) {
        inboxChanged(); // catch up on what changed while the socket was down
        fetchTimeline();
      }
    });
    socket.addEventListener("message", function (event) {
      try { onFrame(JSON.parse(event.data)); } catch (e) { /* a frame this page does not know */ }
    });
    socket.addEventListener("close", function (event) {
      socket = null;
      emit("relaydesk:live", { connected: false });
      startFallback();
      if (event.code === 4401 || event.code === 4403) { stopped = true; stopFallback(); return; } // signed out
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    });
  }

  window.addEventListener("pagehide", function () {
    stopped = true;
    if (socket) socket.close();
  });
  connect();
})();
