/* The public web chat (/chat/): consent, pre-chat questions, then the conversation over
   ws/chat/ (frames in docs/websocket.md). Every text from the socket is shown with textContent,
   never as HTML. The resume token lives in localStorage so that the visitor can come back. */
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) {
    return;
  }
  var T = JSON.parse(document.getElementById("chat-texts").textContent);
  var KEY = "crisisline.chat.token";
  var $ = function (id) { return document.getElementById(id); };
  var consent = $("consent");
  var prechat = $("prechat");
  var form = $("prechat-form");
  var conversation = $("conversation");
  var danger = $("danger");
  var statusLine = $("status");
  var list = $("messages");
  var typing = $("typing");
  var composer = $("composer");
  var body = $("body");
  var endButton = $("end");
  var again = $("again");

  var ws = null;
  var pendingStart = null;
  var seen = {};
  var ended = false;
  var retries = 0;
  var typingTimer = null;
  var lastTyping = 0;
  var endArmed = false;

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  }

  function storedToken() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function storeToken(token) {
    try {
      if (token) { window.localStorage.setItem(KEY, token); } else { window.localStorage.removeItem(KEY); }
    } catch (e) { /* private mode: the chat works, it cannot be resumed */ }
  }

  function show(section) {
    [consent, prechat, conversation].forEach(function (s) { s.hidden = s !== section; });
  }

  function setStatus(text) { statusLine.textContent = text; }

  function fieldError(fieldset, text) {
    var p = fieldset.querySelector(".error");
    fieldset.classList.toggle("invalid", Boolean(text));
    p.textContent = text || "";
    p.hidden = !text;
  }

  function composerError(text) {
    var p = composer.querySelector(".error");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function addLine(direction, text, at, id) {
    if (id !== undefined && id !== null) {
      if (seen[id]) { return; }
      seen[id] = true;
    }
    var li = document.createElement("li");
    li.className = "msg msg-" + (direction === "in" ? "mine" : direction === "out" ? "theirs" : "system");
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = direction === "in" ? T.you : direction === "out" ? T.counsellor : T.system;
    var p = document.createElement("p");
    p.textContent = text;
    li.appendChild(who);
    if (at) {
      var time = document.createElement("time");
      var d = new Date(at);
      time.dateTime = at;
      time.textContent = isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      li.appendChild(time);
    }
    li.appendChild(p);
    list.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  function finish(text) {
    ended = true;
    storeToken(null);
    setStatus(text);
    addLine("system", text);
    typing.hidden = true;
    composer.hidden = true;
    endButton.hidden = true;
    again.hidden = false;
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  var handlers = {
    hello: function () {
      retries = 0;
      var token = storedToken();
      if (token) {
        send({ type: "resume", token: token });
      } else if (pendingStart) {
        send({ type: "start", pre_chat: pendingStart });
      }
    },
    started: function (f) {
      pendingStart = null;
      storeToken(f.token);
      if (f.unsafe) { danger.hidden = false; }
      setStatus(T.connected);
    },
    resumed: function (f) {
      storeToken(f.token);
      show(conversation);
      if (!list.children.length) { addLine("system", T.resumed); }
      (f.messages || []).forEach(function (m) { addLine(m.direction, m.body, m.at, m.id); });
      if (f.state === "talking") {
        setStatus(f.operator ? format(T.joined, { operator: f.operator }) : T.joined_anonymous);
      } else {
        setStatus(T.connected);
      }
    },
    token: function (f) { if (!ended) { storeToken(f.token); } },
    queue: function (f) {
      if (f.position <= 1 && !f.expected_wait_seconds) {
        setStatus(T.queue_soon);
        return;
      }
      setStatus(format(T.queue, {
        position: f.position,
        minutes: Math.max(1, Math.round((f.expected_wait_seconds || 0) / 60)),
      }));
    },
    accepted: function (f) {
      var text = f.operator ? format(T.joined, { operator: f.operator }) : T.joined_anonymous;
      setStatus(text);
      addLine("system", text);
    },
    message: function (f) {
      if (f.direction === "out") { typing.hidden = true; }
      addLine(f.direction, f.body, f.at, f.id);
    },
    sent: function (f) {
      addLine("in", f.body, f.at, f.id);
      body.value = "";
      composerError("");
    },
    typing: function () {
      typing.hidden = false;
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(function () { typing.hidden = true; }, 5000);
    },
    ended: function (f) {
      var reason = f.reason || "";
      var text = T.ended;
      if (reason.indexOf("inactiv") === 0) { text = T.ended_inactive; }
      else if (reason === "visitor_left") { text = T.ended_you; }
      else if (reason === "operator" || reason === "operator_ended") { text = T.ended_operator; }
      finish(text);
    },
    error: function (f) {
      if (f.code === "invalid" && f.fields) {
        show(prechat);
        showFieldErrors(f.fields);
        return;
      }
      if (f.code === "bad_token") {
        storeToken(null);
        show(consent);
        return;
      }
      var text = T["error_" + f.code] || T.error_other;
      if (conversation.hidden) {
        var p = form.querySelector(".form-error");
        p.textContent = text;
        p.hidden = false;
        show(prechat);
      } else {
        composerError(text);
      }
    },
    pong: function () {},
  };

  function showFieldErrors(fields) {
    form.querySelectorAll("fieldset").forEach(function (fs) {
      var key = fs.getAttribute("data-field");
      fieldError(fs, fields[key] ? (T["error_" + key] || fields[key][0]) : "");
    });
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + window.location.host + root.getAttribute("data-socket"));
    ws.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handler = handlers[frame.type];
      if (handler) { handler(frame); }
    });
    ws.addEventListener("close", function (event) {
      ws = null;
      if (ended || event.code === 4403 || event.code === 4000) { return; }
      if (!storedToken() && !pendingStart) { return; }
      setStatus(T.reconnecting);
      retries += 1;
      var delay = event.code === 4429 ? 30000 : Math.min(15000, 1000 * retries);
      window.setTimeout(connect, delay);
    });
  }

  $("agree").addEventListener("click", function () {
    show(prechat);
    prechat.querySelector("input").focus();
  });

  // Danger first: the numbers show the moment the visitor says they are not safe (or not sure).
  form.querySelectorAll("input[name=safe]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked && radio.value !== "yes") {
        danger.hidden = false;
        danger.scrollIntoView({ block: "start" });
      }
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var answers = {
      safe: data.get("safe") || "",
      age_group: data.get("age_group") || "",
      district: data.get("district") || "",
    };
    var fields = {};
    if (!answers.safe) { fields.safe = [T.error_safe]; }
    if (!answers.age_group) { fields.age_group = [T.error_age_group]; }
    showFieldErrors(fields);
    if (answers.safe === "no" || answers.safe === "unsure") { danger.hidden = false; }
    if (fields.safe || fields.age_group) { return; }
    pendingStart = answers;
    show(conversation);
    setStatus(T.connected);
    if (!send({ type: "start", pre_chat: answers })) {
      if (!ws) { connect(); }
    }
  });

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = body.value.trim();
    if (!text) { composerError(T.error_empty); return; }
    if (text.length > Number(root.getAttribute("data-max-chars"))) { composerError(T.error_too_long); return; }
    if (!send({ type: "message", body: text })) { composerError(T.reconnecting); }
  });

  body.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });

  body.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTyping > 3000) {
      lastTyping = now;
      send({ type: "typing" });
    }
  });

  endButton.addEventListener("click", function () {
    if (!endArmed) {
      endArmed = true;
      composerError(T.confirm_end);
      window.setTimeout(function () { endArmed = false; }, 5000);
      return;
    }
    if (!send({ type: "end" })) { finish(T.ended_you); }
  });

  again.addEventListener("click", function () {
    window.location.reload();
  });

  if (storedToken()) {
    show(conversation);
    setStatus(T.reconnecting);
    connect();
  } else {
    show(consent);
  }
})();
