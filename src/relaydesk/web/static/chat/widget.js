/*
 * Relaydesk chat widget. One tag, no build step:
 *
 *   <script src="https://support.example.com/static/chat/widget.js" data-site-key="site_..." defer></script>
 *
 * Optional: data-user-id + data-user-hash (hex HMAC-SHA256 of the user id with the site secret,
 * computed on the site's server) for a signed-in customer; data-api to talk to another Relaydesk URL.
 * Everything lives in a shadow DOM, so the page's CSS and the widget's never meet.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__relaydeskChat) return;
  window.__relaydeskChat = true;

  const cfg = {
    siteKey: script.dataset.siteKey || "",
    userId: script.dataset.userId || null,
    userHash: script.dataset.userHash || null,
    api: (script.dataset.api || new URL(script.src, location.href).origin).replace(/\/$/, ""),
    channel: "web_chat",
  };
  if (!cfg.siteKey) {
    console.error("Relaydesk chat: the script tag needs data-site-key.");
    return;
  }

  const POLL_MS = 3000;
  const ACK_TIMEOUT_MS = 8000;
  const SUGGEST_DEBOUNCE_MS = 300;
  const TYPING_SHOW_MS = 6000;
  // After a message: when to look whether a person now has the conversation (routing queues it soon
  // after the message lands), so the widget can ask an anonymous visitor who they are.
  const CONTACT_CHECKS_MS = [2000, 6000, 15000, 30000];

  // --- storage: one namespace per site and per signed-in user -------------------------------------
  const ns = `relaydesk:${cfg.siteKey}:${cfg.userId ? "user:" + cfg.userId : "visitor"}`;
  const store = {
    get(name) {
      try { return JSON.parse(localStorage.getItem(`${ns}:${name}`)); } catch (_) { return null; }
    },
    set(name, value) {
      try { localStorage.setItem(`${ns}:${name}`, JSON.stringify(value)); } catch (_) { /* private mode */ }
    },
  };

  const state = {
    token: store.get("token"),
    visitorId: null,
    loaded: false,
    open: false,
    messages: [],          // {id|null, client_id, author, author_name, body, created_at, state, error}
    lastId: 0,
    socket: null,
    socketOpen: false,
    reconnectDelay: 1000,
    pollTimer: null,
    fatal: null,
    unread: 0,
    suggest: { sessionId: null, seq: 0, timer: null, solved: false },
    botFeedback: {},  // message id -> { solved, dismissed: [article ids] } for the bot's first answer
    askContact: false,   // the server says a person will answer and we do not know who the visitor is
    contactTimers: [],
  };

  // --- DOM -------------------------------------------------------------------------------------------
  const host = document.createElement("div");
  host.id = "relaydesk-chat";
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `
<style>
  :host { all: initial; }
  * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
  .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483646; width: 58px; height: 58px;
    border-radius: 50%; border: 0; background: #1f5f8b; color: #fff; cursor: pointer; font-size: 26px;
    box-shadow: 0 4px 14px rgba(0,0,0,.25); display: flex; align-items: center; justify-content: center; }
  .badge { position: absolute; top: -4px; right: -4px; background: #d93b3b; color: #fff; border-radius: 10px;
    font-size: 12px; padding: 1px 6px; }
  .badge[hidden] { display: none; }
  .panel { position: fixed; right: 20px; bottom: 90px; z-index: 2147483647; width: 360px; max-width: calc(100vw - 40px);
    height: 520px; max-height: calc(100vh - 110px); background: #fff; color: #1d2530; border-radius: 12px;
    box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; font-size: 14px; }
  .panel[hidden] { display: none; }
  .head { background: #1f5f8b; color: #fff; padding: 12px 14px; display: flex; justify-content: space-between; align-items: center; }
  .head .title { font-weight: 600; }
  .head button { background: none; border: 0; color: #fff; font-size: 20px; cursor: pointer; }
  .log { flex: 1; overflow-y: auto; padding: 12px; background: #f5f7f9; }
  .greeting { color: #56606b; margin: 4px 0 12px; }
  .msg { max-width: 80%; margin: 6px 0; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; word-wrap: break-word; }
  .msg.visitor { margin-left: auto; background: #1f5f8b; color: #fff; border-bottom-right-radius: 3px; }
  .msg.agent, .msg.bot, .msg.system { background: #fff; border: 1px solid #e1e5ea; border-bottom-left-radius: 3px; }
  .who { font-size: 11px; color: #56606b; margin-bottom: 2px; }
  .state { font-size: 11px; text-align: right; color: #56606b; margin: -2px 0 6px; }
  .state.failed { color: #c0392b; }
  .state button { background: none; border: 0; color: #1f5f8b; text-decoration: underline; cursor: pointer; font-size: 11px; }
  .typing { font-size: 12px; color: #56606b; padding: 2px 14px; min-height: 18px; }
  .suggestions { border-top: 1px solid #e1e5ea; padding: 8px 12px; max-height: 45%; overflow-y: auto; background: #fff; }
  .suggestions[hidden] { display: none; }
  .suggestions h4 { margin: 2px 0 6px; font-size: 12px; color: #56606b; font-weight: 600; }
  .sugg { border: 1px solid #e1e5ea; border-radius: 8px; padding: 8px; margin-bottom: 6px; }
  .sugg a { color: #1f5f8b; font-weight: 600; text-decoration: none; }
  .sugg p { margin: 4px 0 6px; color: #3b4550; font-size: 13px; }
  .sugg button { font-size: 12px; margin-right: 6px; border: 1px solid #1f5f8b; background: #fff; color: #1f5f8b;
    border-radius: 6px; padding: 3px 8px; cursor: pointer; }
  .sugg button.solved { background: #1f5f8b; color: #fff; }
  .thanks { padding: 10px 12px; background: #e8f5ee; color: #1e6b45; border-top: 1px solid #cde8d8; }
  .thanks[hidden], .error[hidden], .contact[hidden], .contact-error[hidden], .waiting[hidden] { display: none; }
  form.contact { flex-direction: column; gap: 6px; background: #f0f6fb; }
  .contact p { margin: 0; font-size: 13px; color: #3b4550; }
  .contact input { border: 1px solid #c9d0d7; border-radius: 8px; padding: 7px 8px; font-size: 14px; }
  .contact .actions { display: flex; gap: 6px; }
  .contact .actions button { padding: 6px 12px; }
  .contact .actions button.skip { background: #fff; color: #1f5f8b; border: 1px solid #1f5f8b; }
  .contact-error { color: #8a2a20; font-size: 12px; }
  .waiting { padding: 8px 12px; background: #eef4fa; color: #1f4f72; font-size: 13px; border-top: 1px solid #d5e3ef; }
  .error { padding: 8px 12px; background: #fdecea; color: #8a2a20; font-size: 13px; }
  form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e1e5ea; background: #fff; }
  textarea { flex: 1; resize: none; height: 40px; border: 1px solid #c9d0d7; border-radius: 8px; padding: 8px; font-size: 14px; }
  form button { border: 0; background: #1f5f8b; color: #fff; border-radius: 8px; padding: 0 14px; cursor: pointer; }
</style>
<button class="launcher" type="button" data-testid="chat-launcher" aria-label="Open chat"><svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg><span class="badge" hidden></span></button>
<div class="panel" role="dialog" aria-label="Chat" data-testid="chat-panel" hidden>
  <div class="head"><span class="title">Chat</span><button type="button" class="close" aria-label="Close chat">×</button></div>
  <div class="log" data-testid="chat-log" aria-live="polite"><div class="greeting"></div></div>
  <div class="typing" data-testid="chat-typing"></div>
  <div class="waiting" data-testid="chat-waiting" role="status" hidden></div>
  <div class="suggestions" data-testid="suggestions" hidden></div>
  <div class="thanks" data-testid="suggestion-thanks" hidden>Glad that helped! If you need anything else, just write to us.</div>
  <div class="error" data-testid="chat-error" hidden></div>
  <form class="contact" data-testid="chat-contact" hidden novalidate>
    <p>A person will answer you here. So they know who you are (optional):</p>
    <input name="name" data-testid="chat-contact-name" placeholder="Your name" aria-label="Your name" maxlength="200" autocomplete="name">
    <input name="email" type="email" data-testid="chat-contact-email" placeholder="Email, to answer you there if you leave" aria-label="Email" maxlength="320" autocomplete="email">
    <div class="contact-error" data-testid="chat-contact-error" hidden></div>
    <div class="actions"><button type="submit" data-testid="chat-contact-save">Save</button><button type="button" class="skip" data-testid="chat-contact-skip">Skip</button></div>
  </form>
  <form class="compose"><textarea data-testid="chat-input" placeholder="Write a message…" aria-label="Message" maxlength="5000"></textarea>
  <button type="submit" data-testid="chat-send">Send</button></form>
</div>`;
  const $ = (selector) => root.querySelector(selector);
  const el = {
    launcher: $(".launcher"), badge: $(".badge"), panel: $(".panel"), title: $(".title"), close: $(".close"),
    log: $(".log"), greeting: $(".greeting"), typing: $(".typing"), suggestions: $(".suggestions"),
    thanks: $(".thanks"), error: $(".error"), form: $("form.compose"), input: $("textarea"),
    contact: $("form.contact"), contactName: $("form.contact [name=name]"),
    contactEmail: $("form.contact [name=email]"), contactError: $(".contact-error"),
    contactSkip: $(".contact .skip"), waiting: $(".waiting"),
  };

  // --- HTTP --------------------------------------------------------------------------------------------
  function headers(json) {
    const h = { "X-Relaydesk-Site-Key": cfg.siteKey, "X-Relaydesk-Channel": cfg.channel };
    if (json) h["Content-Type"] = "application/json";
    if (state.token) h["X-Relaydesk-Visitor-Token"] = state.token;
    if (cfg.userId && cfg.userHash) {
      h["X-Relaydesk-User-Id"] = cfg.userId;
      h["X-Relaydesk-User-Hash"] = cfg.userHash;
    }
    return h;
  }

  async function call(method, path, body) {
    const response = await fetch(cfg.api + path, {
      method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", mode: "cors",
    });
    let data = null;
    try { data = await response.json(); } catch (_) { /* empty body */ }
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || `HTTP ${response.status}`);
      error.status = response.status;
      error.code = data && data.error && data.error.code;
      error.details = data && data.error && data.error.details;
      throw error;
    }
    return data;
  }

  function showError(text) {
    el.error.textContent = text || "";
    el.error.hidden = !text;
  }

  function fail(error) {
    // Refusals that retrying cannot fix (unknown site, origin not allowed, identity rejected).
    state.fatal = error.message;
    showError(error.message);
    el.input.disabled = true;
    stopPolling();
  }

  // --- conversation --------------------------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function outbox() { return store.get("outbox") || []; }
  function saveOutbox(items) { store.set("outbox", items); }

  function merge(message) {
    let existing = state.messages.find((m) => (message.id && m.id === message.id) ||
      (message.client_id && m.client_id === message.client_id));
    const isNew = !existing;
    if (existing) {
      Object.assign(existing, message, { error: null });
    } else {
      existing = { ...message };
      state.messages.push(existing);
    }
    if (message.id) state.lastId = Math.max(state.lastId, message.id);
    if (isNew && message.author !== "visitor" && message.id) {
      // An agent who answered has read what came before (the bot's automatic answer says nothing of it).
      if (message.author === "agent") {
        for (const m of state.messages) {
          if (m.author === "visitor" && m.id && m.id < message.id && m.state === "delivered") m.state = "read";
        }
      }
      hideTyping();
      if (!state.open) {
        state.unread += 1;
      }
    }
    return existing;
  }

  function render() {
    el.log.querySelectorAll(".msg, .state").forEach((node) => node.remove());
    const sorted = [...state.messages].sort((a, b) => (a.id || 1e15) - (b.id || 1e15));
    for (const m of sorted) {
      const bubble = document.createElement("div");
      bubble.className = `msg ${m.author}`;
      bubble.dataset.testid = "chat-message";
      bubble.dataset.author = m.author;
      if (m.author !== "visitor" && m.author_name) {
        const who = document.createElement("div");
        who.className = "who";
        who.textContent = m.author_name;
        bubble.appendChild(who);
      }
      if (m.author === "bot" && m.suggestions && m.suggestions.length && m.deflection_session) {
        botAnswer(bubble, m);
      } else {
        bubble.appendChild(document.createTextNode(m.body));
      }
      el.log.appendChild(bubble);
      if (m.author === "visitor") {
        const line = document.createElement("div");
        line.className = "state" + (m.state === "failed" ? " failed" : "");
        line.dataset.testid = "chat-state";
        line.dataset.state = m.state;
        const label = { sending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" }[m.state] || m.state;
        line.textContent = m.error ? `${label}: ${m.error}` : label;
        if (m.state === "failed" && m.retryable !== false) {
          const retry = document.createElement("button");
          retry.type = "button";
          retry.textContent = "Retry";
          retry.addEventListener("click", () => { m.state = "sending"; m.error = null; render(); deliver(m); });
          line.append(" · ", retry);
        }
        el.log.appendChild(line);
      }
    }
    el.badge.textContent = String(state.unread);
    el.badge.hidden = state.unread === 0;
    el.log.scrollTop = el.log.scrollHeight;
  }

  async function load() {
    const data = await call("GET", "/chat/v1/conversation");
    if (data.visitor_token) {
      state.token = data.visitor_token;
      store.set("token", state.token);
    }
    state.visitorId = data.visitor_id;
    el.title.textContent = data.site.name;
    el.greeting.textContent = data.site.greeting;
    showWaiting(data.waiting);
    for (const m of data.messages) merge(m);
    askContact(data.ask_contact);
    state.unread = 0;
    state.loaded = true;
    // Messages typed before a network error (or before the tab closed) are still owed: resend them.
    // Those the server already has (the answer was lost) are settled by its history.
    const stored = new Set(state.messages.filter((m) => m.id).map((m) => m.client_id));
    saveOutbox(outbox().filter((item) => !stored.has(item.client_id)));
    for (const item of outbox()) {
      merge({ id: null, client_id: item.client_id, author: "visitor", author_name: "", body: item.body,
        created_at: item.created_at, state: "sending" });
    }
    render();
    // What the visitor typed while the conversation was loading had no visitor id to search with.
    scheduleSuggestions();
  }

  async function poll() {
    if (state.socketOpen || state.fatal) return;
    try {
      const data = await call("GET", `/chat/v1/conversation?after=${state.lastId}`);
      if (data.visitor_token) { state.token = data.visitor_token; store.set("token", state.token); }
      showError("");
      data.messages.forEach(merge);
      askContact(data.ask_contact);
      showWaiting(data.waiting);
      render();
      flushOutbox();
    } catch (error) {
      if (error.status === 401) { state.token = null; store.set("token", null); }
      else if (error.status === 403) fail(error);
    }
  }

  // The visitor's place in the queue and the expected wait (the server's words, never a guessed number).
  // While the socket is up the server pushes it ("ready", then a "waiting" frame whenever a routed queue
  // moves); while it is down the poll brings it.
  function showWaiting(waiting) {
    el.waiting.textContent = waiting ? waiting.text : "";
    el.waiting.hidden = !waiting;
  }

  function startPolling() {
    if (!state.pollTimer && !state.fatal) state.pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  // --- WebSocket, with REST polling while it is down -----------------------------------------------------
  function connect() {
    if (state.fatal || state.socket) return;
    const params = new URLSearchParams({ site_key: cfg.siteKey, channel: cfg.channel, after: String(state.lastId) });
    if (state.token) params.set("visitor_token", state.token);
    if (cfg.userId && cfg.userHash) { params.set("user_id", cfg.userId); params.set("user_hash", cfg.userHash); }
    const url = cfg.api.replace(/^http/, "ws") + "/chat/v1/ws?" + params.toString();
    let socket;
    try { socket = new WebSocket(url); } catch (_) { startPolling(); return; }
    state.socket = socket;
    socket.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      onFrame(frame);
    };
    socket.onclose = (event) => {
      state.socket = null;
      state.socketOpen = false;
      if (event.code === 4403) return;  // told why in the error frame; retrying cannot help
      if (event.code === 4401) { state.token = null; store.set("token", null); load().then(connect, startPolling); return; }
      startPolling();
      setTimeout(connect, state.reconnectDelay);
      state.reconnectDelay = Math.min(state.reconnectDelay * 2, 30000);
    };
  }

  function onFrame(frame) {
    if (frame.type === "ready") {
      state.socketOpen = true;
      state.reconnectDelay = 1000;
      stopPolling();
      (frame.messages || []).forEach(merge);
      askContact(frame.ask_contact);
      if ("waiting" in frame) showWaiting(frame.waiting);
      render();
      flushOutbox();
    } else if (frame.type === "ack") {
      acknowledged(frame.client_id, frame.message);
    } else if (frame.type === "message") {
      merge(frame.message);
      render();
      // A reply (a person taking over, or the bot handing over) may mean a person answers from now on.
      if (frame.message && frame.message.author !== "visitor") checkContact();
    } else if (frame.type === "waiting") {
      showWaiting(frame.waiting);  // the queue moved: the server's new words for the visitor's place
    } else if (frame.type === "contact_saved") {
      contactDone();
    } else if (frame.type === "typing") {
      if (frame.typing) showTyping(frame.author_name); else hideTyping();
    } else if (frame.type === "error") {
      const error = frame.error || {};
      if (frame.client_id) {
        rejected(frame.client_id, error);
      } else if (error.code === "permission_denied" || error.code === "input_rejected") {
        fail({ message: error.message });
      } else if (error.code !== "not_authenticated") {
        showError(error.message);
      }
    }
  }

  let typingTimer = null;
  function showTyping(name) {
    el.typing.textContent = `${name || "An agent"} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOW_MS);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    el.typing.textContent = "";
  }

  // --- sending -------------------------------------------------------------------------------------------
  function acknowledged(clientId, stored) {
    saveOutbox(outbox().filter((item) => item.client_id !== clientId));
    const pending = state.messages.find((m) => m.client_id === clientId);
    if (pending) clearTimeout(pending.ackTimer);
    merge({ ...stored, state: stored.state || "delivered" });
    render();
    scheduleContactChecks();
  }

  // --- who the visitor is, asked once a person will answer ----------------------------------------------
  function askContact(ask) {
    state.askContact = Boolean(ask);
    const show = state.askContact && !store.get("contact_done") && !state.fatal;
    if (show && el.contact.hidden) {
      el.contact.hidden = false;
      el.contactError.hidden = true;
    } else if (!show) {
      el.contact.hidden = true;
    }
  }

  function contactDone() {
    store.set("contact_done", true);
    state.contactTimers.forEach(clearTimeout);
    askContact(false);
  }

  async function checkContact() {
    if (store.get("contact_done") || state.askContact || state.fatal || !state.loaded) return;
    try {
      const data = await call("GET", `/chat/v1/conversation?after=${state.lastId}`);
      data.messages.forEach(merge);
      askContact(data.ask_contact);
      render();
    } catch (_) { /* the next check, the socket or the poll will tell */ }
  }

  function scheduleContactChecks() {
    if (store.get("contact_done") || state.askContact) return;
    state.contactTimers.forEach(clearTimeout);
    state.contactTimers = CONTACT_CHECKS_MS.map((ms) => setTimeout(checkContact, ms));
  }

  el.contact.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = el.contactName.value.trim();
    const email = el.contactEmail.value.trim();
    if (!name && !email) {
      el.contactError.textContent = "Tell us your name, your email address, or both, or choose Skip.";
      el.contactError.hidden = false;
      return;
    }
    try {
      await call("POST", "/chat/v1/contact", { name, email });
      contactDone();
    } catch (error) {
      el.contactError.textContent = error.message;
      el.contactError.hidden = false;
    }
  });

  el.contactSkip.addEventListener("click", contactDone);

  function rejected(clientId, error) {
    const pending = state.messages.find((m) => m.client_id === clientId);
    if (!pending) return;
    clearTimeout(pending.ackTimer);
    pending.state = "failed";
    pending.error = error.message;
    // Too many messages: it stays owed and goes again later; anything else cannot succeed as it is.
    pending.retryable = error.code === "rate_limited" || !error.code;
    if (!pending.retryable) saveOutbox(outbox().filter((item) => item.client_id !== clientId));
    render();
  }

  async function deliver(message) {
    if (!state.loaded) {
      // Typed before the conversation (and the visitor token) arrived: wait for it, then send.
      await start();
      if (!state.loaded) { rejected(message.client_id, { message: "We cannot reach the chat right now." }); return; }
    }
    if (state.socketOpen && state.socket) {
      state.socket.send(JSON.stringify({ type: "message", client_id: message.client_id, body: message.body }));
      markSent(message);
      clearTimeout(message.ackTimer);
      // No answer in time: the same client id goes over REST; the server stores it once either way.
      message.ackTimer = setTimeout(() => { if (!message.id) deliverRest(message); }, ACK_TIMEOUT_MS);
      return;
    }
    await deliverRest(message);
  }

  function markSent(message) {
    // Left this device; "delivered" follows when the server confirms it stored the message.
    if (message.state === "sending") { message.state = "sent"; render(); }
  }

  async function deliverRest(message, retried = false) {
    try {
      const request = call("POST", "/chat/v1/messages", { client_id: message.client_id, body: message.body });
      markSent(message);
      const data = await request;
      acknowledged(message.client_id, data.message);
      if (!state.socketOpen) startPolling();
    } catch (error) {
      if (error.status === 401 && !retried) {
        // The token is no longer valid (the server's key changed): become a new visitor and resend.
        state.token = null;
        store.set("token", null);
        try { await load(); return deliverRest(message, true); } catch (_) { /* reported below */ }
      }
      if (error.status === 403) { fail(error); }
      rejected(message.client_id, { code: error.status ? error.code : null, message: error.message });
    }
  }

  function flushOutbox() {
    // Everything still owed goes again with its client id (the server stores each once), including
    // what failed for a network error or a rate limit; refused messages already left the outbox.
    const owed = new Set(outbox().map((item) => item.client_id));
    for (const m of state.messages) {
      if (m.author === "visitor" && !m.id && owed.has(m.client_id)) {
        if (m.state === "failed") { m.state = "sending"; m.error = null; }
        deliver(m);
      }
    }
    render();
  }

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = el.input.value.trim();
    if (!body || state.fatal) return;
    el.input.value = "";
    sendTyping(false);
    clearSuggestions();
    el.thanks.hidden = true;
    const message = { id: null, client_id: uuid(), author: "visitor", author_name: "", body,
      created_at: new Date().toISOString(), state: "sending" };
    saveOutbox([...outbox(), { client_id: message.client_id, body, created_at: message.created_at }]);
    merge(message);
    render();
    deliver(state.messages.find((m) => m.client_id === message.client_id));
  });

  el.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      el.form.requestSubmit();
    }
  });

  // --- suggestions before the first message (deflection) -------------------------------------------------
  function clearSuggestions() {
    clearTimeout(state.suggest.timer);
    state.suggest.seq += 1;
    el.suggestions.replaceChildren();
    el.suggestions.hidden = true;
  }

  function wantsSuggestions(text) {
    if (state.suggest.solved || !state.visitorId) return false;
    if (state.messages.length > 0) return false;  // only before the conversation starts
    const words = text.split(/\s+/).filter(Boolean).length;
    return words >= 3 || text.length >= 12;
  }

  // Suggestions for what the box holds, once the visitor stops typing for a moment.
  function scheduleSuggestions() {
    const text = el.input.value.trim();
    clearTimeout(state.suggest.timer);
    if (!wantsSuggestions(text)) {
      if (!text) clearSuggestions();
      return;
    }
    state.suggest.timer = setTimeout(() => suggest(text), SUGGEST_DEBOUNCE_MS);
  }

  el.input.addEventListener("input", () => {
    sendTyping(el.input.value.trim().length > 0);
    scheduleSuggestions();
  });

  // Typing goes to agent screens at most every 3 s (and once when the box empties), so a fast typist
  // stays far below the per-connection frame limit.
  let typingSentAt = 0;
  let typingShown = false;
  function sendTyping(typing) {
    if (!state.socketOpen || !state.socket) return;
    const now = Date.now();
    if (typing && typingShown && now - typingSentAt < 3000) return;
    if (!typing && !typingShown) return;
    typingSentAt = now;
    typingShown = typing;
    state.socket.send(JSON.stringify({ type: "typing", typing }));
  }

  async function suggest(query) {
    const seq = ++state.suggest.seq;
    let data;
    try {
      const body = { query, channel: cfg.channel, visitor_id: state.visitorId };
      if (state.suggest.sessionId) body.session_id = state.suggest.sessionId;
      const response = await fetch(cfg.api + "/api/v1/public/suggestions", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "omit",
      });
      if (!response.ok) return;  // no suggestions service (404), rate-limited, ...: just show none
      data = await response.json();
    } catch (_) {
      return;
    }
    if (seq !== state.suggest.seq || state.messages.length > 0) return;  // a newer query, or already writing
    if (data.session_id) state.suggest.sessionId = data.session_id;
    showSuggestions(data.suggestions || []);
  }

  function feedback(articleId, outcome, sessionId = state.suggest.sessionId) {
    if (!sessionId) return Promise.resolve();
    return fetch(`${cfg.api}/api/v1/public/suggestions/${encodeURIComponent(sessionId)}/feedback`, {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ article_id: articleId, outcome }),
    }).catch(() => null);
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url, cfg.api);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (_) { return null; }
  }

  // One suggested article with its "This solved it" / "Not helpful" buttons (feedback to sessionId).
  function suggestionCard(item, sessionId, onSolved, onNotHelpful) {
    const card = document.createElement("div");
    card.className = "sugg";
    card.dataset.testid = "suggestion";
    const link = document.createElement("a");
    link.textContent = item.title;
    const href = safeUrl(item.url);
    if (href) { link.href = href; link.target = "_blank"; link.rel = "noopener"; }
    link.addEventListener("click", () => feedback(item.article_id, "viewed", sessionId));
    const snippet = document.createElement("p");
    snippet.textContent = item.snippet;
    const solved = document.createElement("button");
    solved.type = "button";
    solved.className = "solved";
    solved.dataset.testid = "suggestion-solved";
    solved.textContent = "This solved it";
    solved.addEventListener("click", async () => {
      await feedback(item.article_id, "solved", sessionId);
      onSolved();
    });
    const notHelpful = document.createElement("button");
    notHelpful.type = "button";
    notHelpful.dataset.testid = "suggestion-not-helpful";
    notHelpful.textContent = "Not helpful";
    notHelpful.addEventListener("click", () => {
      feedback(item.article_id, "not_helpful", sessionId);
      card.remove();
      onNotHelpful();
    });
    card.append(link, snippet, solved, notHelpful);
    return card;
  }

  function showSuggestions(items) {
    el.suggestions.replaceChildren();
    if (!items.length) { el.suggestions.hidden = true; return; }
    const heading = document.createElement("h4");
    heading.textContent = "These articles might answer your question";
    el.suggestions.appendChild(heading);
    for (const item of items) {
      const onSolved = () => {
        state.suggest.solved = true;
        clearSuggestions();
        el.input.value = "";
        el.thanks.hidden = false;  // and nothing is sent: no ticket for a solved question
      };
      const onNotHelpful = () => { if (!el.suggestions.querySelector(".sugg")) clearSuggestions(); };
      el.suggestions.appendChild(suggestionCard(item, state.suggest.sessionId, onSolved, onNotHelpful));
    }
    el.suggestions.hidden = false;
  }

  // The bot's first answer: its articles as cards in the bubble. What the customer answered is kept in
  // state.botFeedback (render() rebuilds every bubble): "solved", or the article ids found not helpful.
  function botAnswer(bubble, m) {
    // Seeded from what the server kept (the answers survive a reload), then updated as the customer clicks.
    const known = Object.entries(m.feedback || {});
    const answered = state.botFeedback[m.id] || (state.botFeedback[m.id] = {
      solved: known.some(([, outcome]) => outcome === "solved"),
      dismissed: known.filter(([, outcome]) => outcome === "not_helpful").map(([id]) => Number(id)),
    });
    const box = document.createElement("div");
    box.dataset.testid = "bot-answer";
    bubble.appendChild(box);
    const intro = document.createElement("div");
    if (answered.solved) {
      intro.dataset.testid = "bot-answer-thanks";
      intro.textContent = "Glad that helped! We have marked your request as solved; write again any time.";
      box.appendChild(intro);
      return;
    }
    const remaining = m.suggestions.filter((item) => !answered.dismissed.includes(item.article_id));
    if (!remaining.length) {
      intro.textContent = "Thank you for telling us. A person will answer you here.";
      box.appendChild(intro);
      return;
    }
    intro.textContent = "These articles may answer your question:";
    box.appendChild(intro);
    for (const item of remaining) {
      const onSolved = () => { answered.solved = true; render(); };
      const onNotHelpful = () => { answered.dismissed.push(item.article_id); render(); };
      box.appendChild(suggestionCard(item, m.deflection_session, onSolved, onNotHelpful));
    }
    const outro = document.createElement("div");
    outro.className = "who";
    outro.textContent = "If one of them solves it, tell us; otherwise a person will answer you here.";
    box.appendChild(outro);
  }

  // --- open / close ----------------------------------------------------------------------------------------
  let starting = null;
  function start() {
    starting = starting || (async () => {
      try {
        await load();
        connect();
      } catch (error) {
        starting = null;
        if (error.status === 401 || error.status === 403 || error.status === 404) fail(error);
        else { showError("We cannot reach the chat right now; please try again in a moment."); }
      }
    })();
    return starting;
  }

  function setOpen(open) {
    state.open = open;
    el.panel.hidden = !open;
    el.launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    if (open) {
      state.unread = 0;
      render();
      if (!state.loaded && !state.fatal) start();
      else if (state.loaded && !state.socket && !state.fatal) connect();
      el.input.focus();
    }
  }

  el.launcher.addEventListener("click", () => setOpen(!state.open));
  el.close.addEventListener("click", () => setOpen(false));
  // The host page's own "chat with us" buttons (the help center's): any element marked
  // data-relaydesk-open-chat opens the panel.
  document.addEventListener("click", (event) => {
    const opener = event.target instanceof Element ? event.target.closest("[data-relaydesk-open-chat]") : null;
    if (opener) { event.preventDefault(); setOpen(true); }
  });

  function mount() {
    document.body.appendChild(host);
    // A returning visitor (or a signed-in customer) reconnects at once, so replies show as unread.
    if (state.token || (cfg.userId && cfg.userHash)) start();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
