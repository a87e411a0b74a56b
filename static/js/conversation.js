/* The text conversation in hand (SMS or web chat) on the operator console: the transcript beside
 * the risk screen, the reply box, the person's typing indicator, each SMS's delivery, and the
 * conversations the operator holds (up to HOTLINE_MAX_CHATS) to switch between.
 *
 * console.js says which call is shown ("console:call") and is asked to show another
 * ("console:switch"). The live stream only says that something changed (the event log carries
 * no message text): the transcript itself is read from the REST API.
 *
 * A text conversation offered to me shows its messages so far on the offer card, read only,
 * before I accept (console.js announces each queue render: "console:queue").
 *
 * A reply of mine that failed (the SMS not delivered, WeChat refused or unreachable) says why
 * in words and has a 重发 button beside it (once; the refusal, if any, shown beside it).
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  var box = document.getElementById("conversation");
  if (!root || !box) return;
  var API = root.dataset.api;
  var ME = parseInt(root.dataset.user, 10);
  var TEXT = ["sms", "webchat", "wechat"];
  var HELD = ["in_progress", "wrap_up"];
  // The words, from the section's data-t-* attributes (data-t-sent -> T.sent).
  var T = {};
  Object.keys(box.dataset).forEach(function (key) {
    if (/^t[A-Z]/.test(key)) T[key.charAt(1).toLowerCase() + key.slice(2)] = box.dataset[key];
  });
  var $ = function (id) { return document.getElementById(id); };
  var state = { call: null, lastId: 0, held: [], unread: {}, typingTimer: null, typingSent: 0, loading: null };

  function api(method, path, body) {
    return window.ConsoleApi.request(method, API + path, body);
  }

  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  var timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
    hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai",
  });

  function deliveryWords(m) {
    if (!m.delivery_status) return "";
    var words = T[m.delivery_status] || m.delivery_status;
    if (m.error_text) return words + "：" + m.error_text + "（" + m.error_code + "）";
    return m.error_code ? words + "（" + T.error + " " + m.error_code + "）" : words;
  }

  var FAILED = ["failed", "undelivered"];

  function canResend(m) {
    var call = state.call;
    return m.direction === "out" && FAILED.indexOf(m.delivery_status) >= 0 && !m.resent_as &&
      !!call && call.operator === ME && !call.ended_at;
  }

  // 重发: beside the failed reply, its refusal in words beside the button.
  function resendControl(m) {
    var wrap = document.createElement("span");
    wrap.className = "resend";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "resend-button";
    text(button, T.resend);
    var error = document.createElement("span");
    error.className = "error small resend-error";
    error.setAttribute("role", "alert");
    error.id = "resend-error-" + m.id;
    button.addEventListener("click", function () {
      var call = state.call;
      if (!call) return;
      button.disabled = true;
      text(error, "");
      api("POST", "calls/" + call.id + "/messages/" + m.id + "/resend/").then(function (sent) {
        render([sent], false);
        return load(true);  // the failed one now says it was sent again
      }).catch(function (err) {
        // No answer at all (the line dropped): words of ours, not the browser's.
        text(error, (err && err.status && err.message) || T.network);
        button.setAttribute("aria-describedby", error.id);
        button.disabled = false;
      });
    });
    wrap.append(button, error);
    return wrap;
  }

  function messageItem(m, live) {
    var li = document.createElement("li");
    li.className = "msg-" + m.direction;
    li.dataset.id = m.id;
    var meta = document.createElement("span");
    meta.className = "meta";
    var who = m.direction === "out" ? (m.author === ME ? T.out : m.author_name) : T[m.direction];
    text(meta, who + " · " + timeFormat.format(new Date(m.created_at)));
    if (m.resend_of) {
      var again = document.createElement("span");
      again.className = "resent";
      text(again, " · " + T.resendOf);
      meta.append(again);
    }
    var delivery = deliveryWords(m);
    if (delivery) {
      var tag = document.createElement("span");
      tag.className = "delivery delivery-" + m.delivery_status;
      text(tag, " · " + delivery);
      meta.append(tag);
    }
    if (m.resent_as) {
      var done = document.createElement("span");
      done.className = "resent";
      text(done, " · " + T.resent);
      meta.append(done);
    }
    var body = document.createElement("span");
    text(body, m.body);
    li.append(meta, body);
    if (live && canResend(m)) li.append(resendControl(m));
    return li;
  }

  // Answers may cross on the wire: a message's delivery never goes back on the screen.
  var RANK = { "": 0, queued: 1, sent: 2, delivered: 3, failed: 3, undelivered: 3 };

  function render(messages, replace) {
    var list = $("transcript");
    if (replace) list.innerHTML = "";
    messages.forEach(function (m) {
      var old = list.querySelector("li[data-id='" + m.id + "']");
      var item = messageItem(m, true);
      item.dataset.rank = RANK[m.delivery_status] || 0;
      if (old && parseInt(old.dataset.rank || "0", 10) > parseInt(item.dataset.rank, 10)) return;
      if (old) old.replaceWith(item);
      else list.append(item);
      state.lastId = Math.max(state.lastId, m.id);
    });
    if (!list.children.length) {
      var none = document.createElement("li");
      none.className = "msg-system";
      text(none, T.empty);
      list.append(none);
    } else {
      var placeholder = list.querySelector("li:not([data-id])");
      if (placeholder && list.children.length > 1) placeholder.remove();
    }
    list.scrollTop = list.scrollHeight;
  }

  // Everything (after a switch or a delivery update), or only what is new. The panel is
  // emptied only when another conversation is shown (``show``).
  function load(all) {
    var call = state.call;
    if (!call) return Promise.resolve();
    var after = all ? 0 : state.lastId;
    return api("GET", "calls/" + call.id + "/messages/?after=" + after).then(function (messages) {
      if (!state.call || state.call.id !== call.id) return;
      // Merged, never redrawn: an older answer arriving last cannot undo a newer status.
      render(messages, false);
    }).catch(function () { /* the next event or switch reads it again */ });
  }

  function showEnded(call) {
    var ended = !!call.ended_at;
    var note = $("conversation-ended");
    note.hidden = !ended;
    text(note, ended ? T.ended : "");
    $("reply-body").disabled = ended;
    $("reply-send").disabled = ended;
    $("end-conversation").hidden = ended;
    // Nothing goes out after the end: no 重发 either.
    Array.prototype.forEach.call($("transcript").querySelectorAll(".resend"), function (el) {
      el.hidden = ended;
    });
  }

  function renderHeld() {
    var list = $("held-conversations");
    list.innerHTML = "";
    state.held.forEach(function (c) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      text(button, (T[c.channel] || c.channel) + " #" + c.id + (c.person_name ? " · " + c.person_name : ""));
      button.setAttribute("aria-current", state.call && state.call.id === c.id ? "true" : "false");
      if (state.unread[c.id]) {
        button.classList.add("unread");
        button.title = T.unread;
      }
      button.addEventListener("click", function () {
        root.dispatchEvent(new CustomEvent("console:switch", { detail: c.id }));
      });
      li.append(button);
      list.append(li);
    });
  }

  function loadHeld() {
    return api("GET", "calls/?view=mine&limit=20").then(function (data) {
      var rows = Array.isArray(data) ? data : data.results;
      state.held = rows.filter(function (c) {
        return TEXT.indexOf(c.channel) >= 0 && HELD.indexOf(c.status) >= 0 && c.operator === ME;
      });
      renderHeld();
    }).catch(function () { /* the list fills on the next change */ });
  }

  function show(call) {
    var isText = !!call && TEXT.indexOf(call.channel) >= 0;
    box.hidden = !isText;
    if (!isText) {
      state.call = null;
      if (call === null) loadHeld();
      return;
    }
    var switched = !state.call || state.call.id !== call.id;
    state.call = call;
    delete state.unread[call.id];
    showEnded(call);
    if (switched) {
      $("transcript").innerHTML = "";
      $("conversation-typing").hidden = true;
      text($("reply-error"), "");
      load(true);
    }
    loadHeld();
  }

  root.addEventListener("console:call", function (e) { show(e.detail); });

  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var field = $("reply-body");
    var out = $("reply-error");
    var body = field.value.trim();
    text(out, "");
    field.removeAttribute("aria-invalid");
    if (!state.call || !body) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return;
    }
    $("reply-send").disabled = true;
    api("POST", "calls/" + state.call.id + "/messages/", { body: body }).then(function (sent) {
      field.value = "";
      render(sent, false);
    }).catch(function (err) {
      var fields = (err.data && err.data.fields) || {};
      text(out, (fields.body && [].concat(fields.body).join(" ")) || err.message || T.network);
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", "reply-error");
    }).then(function () {
      if (state.call) showEnded(state.call);
      if (!$("reply-body").disabled) $("reply-send").disabled = false;
    });
  });

  // Enter sends, Shift+Enter is a new line (as in every chat).
  $("reply-body").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("reply-form").requestSubmit();
    }
  });

  // The web-chat visitor sees the operator typing (at most one request every 3 s).
  $("reply-body").addEventListener("input", function () {
    if (!state.call || state.call.channel !== "webchat") return;
    var now = Date.now();
    if (now - state.typingSent < 3000) return;
    state.typingSent = now;
    api("POST", "calls/" + state.call.id + "/typing/").catch(function () { /* only a hint */ });
  });

  $("end-conversation").addEventListener("click", function () {
    if (!state.call) return;
    var out = $("reply-error");
    api("POST", "calls/" + state.call.id + "/end/").then(function (call) {
      state.call = call;
      showEnded(call);
      load(false);
    }).catch(function (err) { text(out, err.message || T.network); });
  });

  /* --- the offer's preview ---------------------------------------------------------- */

  var offer = { id: null, messages: [], lastId: 0 };

  function offeredText(queue) {
    return (queue || []).filter(function (c) {
      return c.offered_to === ME && c.status === "offered" && TEXT.indexOf(c.channel) >= 0;
    })[0] || null;
  }

  // The queue is redrawn on every change: the preview is put back from what was read.
  function placePreview() {
    var old = $("offer-preview");
    if (old) old.remove();
    var card = offer.id && document.querySelector("#queue li.queue-item[data-call='" + offer.id + "']");
    if (!card) return;
    var preview = document.createElement("div");
    preview.id = "offer-preview";
    preview.className = "offer-preview";
    var title = document.createElement("p");
    title.className = "offer-preview-title";
    text(title, T.preview);
    var list = document.createElement("ol");
    list.className = "transcript";
    list.setAttribute("aria-label", T.preview);
    offer.messages.forEach(function (m) { list.append(messageItem(m)); });
    if (!offer.messages.length) {
      var none = document.createElement("li");
      none.className = "msg-system";
      text(none, T.empty);
      list.append(none);
    }
    preview.append(title, list);
    card.append(preview);
    list.scrollTop = list.scrollHeight;  // the newest at the bottom, in view
  }

  function loadPreview() {
    var id = offer.id;
    if (!id) return;
    api("GET", "calls/" + id + "/messages/?after=" + offer.lastId).then(function (messages) {
      if (offer.id !== id) return;
      messages.forEach(function (m) {
        if (m.id <= offer.lastId) return;
        offer.messages.push(m);
        offer.lastId = m.id;
      });
      placePreview();
    }).catch(function () { /* the next message or queue change reads it again */ });
  }

  root.addEventListener("console:queue", function (e) {
    var call = offeredText(e.detail);
    var id = call ? call.id : null;
    if (id !== offer.id) {
      offer = { id: id, messages: [], lastId: 0 };
      loadPreview();
    }
    placePreview();
  });

  if (window.Live) {
    window.Live.on("conversation.message", function (event) {
      var d = event.data || {};
      if (offer.id && d.call === offer.id) loadPreview();
      if (state.call && d.call === state.call.id) {
        $("conversation-typing").hidden = true;
        load(false);
      } else if (state.held.some(function (c) { return c.id === d.call; })) {
        state.unread[d.call] = true;
        renderHeld();
      }
    });
    window.Live.on("conversation.delivery", function (event) {
      var d = event.data || {};
      if (state.call && d.call === state.call.id) load(true);
    });
    window.Live.on("conversation.typing", function (event) {
      var d = event.data || {};
      if (!state.call || d.call !== state.call.id) return;
      var el = $("conversation-typing");
      el.hidden = false;
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(function () { el.hidden = true; }, 5000);
    });
    window.Live.on("call.ended", function (event) {
      var d = event.data || {};
      if (state.call && d.call === state.call.id) {
        state.call.ended_at = event.at;
        showEnded(state.call);
        load(false);
      }
    });
  }
})();
