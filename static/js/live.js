/* Live: the console event stream for any page (plain JS, no build step).
 *
 *   Live.on("call.queued", (event, meta) => ...)   // exact type, "case.*" prefix, or "*"
 *   Live.on("resync", (frame) => ...)              // too far behind: refresh your state
 *   Live.status                                    // connecting | live | reconnecting | offline
 *   Live.lastEventId                               // persisted per tab in sessionStorage
 *   Live.resumeFrom                                // the server's low-water mark: reconnect from it
 *
 * Replays from the last seen id on every (re)connect, drops duplicates by id, reconnects with
 * backoff, answers heartbeats, and shows its state in the shell's #live-status element.
 * Frames are documented in docs/websocket.md.
 */
(function () {
  "use strict";

  var CONTROL = ["hello", "heartbeat", "error", "resync", "ack", "pong", "replayed", "audiences"];
  var STORE = "live.last_event_id";
  var RESUME_STORE = "live.resume_from";
  var SEEN_KEPT = 2000;
  var CUE_MAX_AGE_MS = 120000; // a replayed event older than this is not announced again
  var el = document.getElementById("live-status");
  var data = (el && el.dataset) || {};

  var handlers = {};
  var seen = new Set();
  var seenOrder = [];
  var socket = null;
  var attempts = 0;
  var retryTimer = null;
  var watchdog = null;
  var heartbeatMs = 25000;
  var replaying = false;
  var ackedId = 0;
  var stopped = false;
  var audio = null;

  function stored(key) {
    try {
      var v = window.sessionStorage.getItem(key || STORE);
      return v === null ? null : parseInt(v, 10);
    } catch (e) {
      return null;
    }
  }

  function persist(id, key) {
    try {
      window.sessionStorage.setItem(key || STORE, String(id));
    } catch (e) {
      /* private mode: the page cursor still works */
    }
  }

  var startId = stored();
  if (startId === null || isNaN(startId)) {
    startId = data.cursor ? parseInt(data.cursor, 10) : null;
  }
  var resumeId = stored(RESUME_STORE);
  if (resumeId === null || isNaN(resumeId) || startId === null || resumeId > startId) resumeId = startId;

  var Live = {
    status: "idle",
    lastEventId: startId,
    resumeFrom: resumeId,
    cueTypes: new Set((data.cue || "").split(/\s+/).filter(Boolean)),
    cues: 0,
    on: function (type, fn) {
      (handlers[type] = handlers[type] || []).push(fn);
      return Live;
    },
    off: function (type, fn) {
      handlers[type] = (handlers[type] || []).filter(function (h) { return h !== fn; });
      return Live;
    },
    send: function (command) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(command));
        return true;
      }
      return false;
    },
    ack: function () {
      if (Live.lastEventId && Live.lastEventId > ackedId && Live.send({ type: "ack", id: Live.lastEventId })) {
        ackedId = Live.lastEventId;
        return true;
      }
      return false;
    },
    start: start,
    stop: function () {
      stopped = true;
      clearTimeout(retryTimer);
      if (socket) socket.close(1000);
      setStatus("offline");
    },
    /* Drops the connection as a network failure would; it reconnects and replays by itself. */
    drop: function () {
      if (socket) socket.close(4000, "dropped by the page");
    },
    beep: beep,
  };

  function setStatus(status) {
    Live.status = status;
    if (!el) return;
    el.hidden = false;
    el.dataset.state = status;
    el.className = "live-status " + status + (status === "live" ? " ok" : "");
    el.textContent = data["label" + status.charAt(0).toUpperCase() + status.slice(1)] || status;
    emit("status", status);
  }

  function emit(type, payload, meta) {
    var list = (handlers[type] || []).slice();
    if (type.indexOf(".") > 0) {
      list = list.concat(handlers[type.split(".")[0] + ".*"] || [], handlers["*"] || []);
    }
    list.forEach(function (fn) {
      try {
        fn(payload, meta || {});
      } catch (e) {
        if (window.console) console.error("Live handler for " + type + " failed", e);
      }
    });
    return list.length;
  }

  function url() {
    var base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + (data.url || "/ws/console/");
    // From the low-water mark, not the newest id: an id below the newest may commit late.
    // What comes twice is dropped by id.
    var from = Live.resumeFrom === null ? Live.lastEventId : Live.resumeFrom;
    return from === null ? base : base + "?last_event_id=" + from;
  }

  function start() {
    stopped = false;
    clearTimeout(retryTimer);
    setStatus(attempts ? "reconnecting" : "connecting");
    try {
      socket = new WebSocket(url());
    } catch (e) {
      return retry();
    }
    socket.onmessage = function (m) {
      armWatchdog();
      var frame;
      try {
        frame = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      if (CONTROL.indexOf(frame.type) >= 0) control(frame);
      else receive(frame);
    };
    socket.onclose = function (e) {
      clearTimeout(watchdog);
      socket = null;
      if (stopped) return;
      if (e.code === 4401) {
        setStatus("offline"); // signed out or deactivated: a reload leads to the login page
        return;
      }
      // 4503: the server's database or channel layer is down; the backoff below retries.
      retry(e.code === 4429 ? 30000 : 0);
    };
  }

  function retry(minimum) {
    attempts += 1;
    setStatus("reconnecting");
    var delay = Math.min(15000, 500 * Math.pow(2, attempts - 1));
    delay = Math.max(minimum || 0, delay / 2 + Math.random() * delay / 2);
    retryTimer = setTimeout(start, delay);
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    // No frame for 2.5 heartbeats: the connection is dead even if the browser has not noticed.
    watchdog = setTimeout(function () {
      if (socket) socket.close(4000, "no heartbeat");
    }, heartbeatMs * 2.5);
  }

  function resumeFrom(id) {
    if (typeof id === "number") {
      Live.resumeFrom = id;
      persist(id, RESUME_STORE);
    }
  }

  function control(frame) {
    resumeFrom(frame.resume_from);
    switch (frame.type) {
      case "hello":
        attempts = 0;
        heartbeatMs = (frame.heartbeat || 25) * 1000;
        advance(frame.last_event_id);
        replaying = Live.lastEventId !== null && frame.last_event_id !== undefined;
        setStatus("live");
        break;
      case "replayed":
        replaying = false;
        break;
      case "heartbeat":
        if (!Live.ack()) Live.send({ type: "pong" });
        break;
      case "resync":
        replaying = false;
        Live.lastEventId = frame.last_event_id;
        persist(frame.last_event_id);
        resumeFrom(frame.last_event_id);
        if (!emit("resync", frame)) location.reload();
        break;
      case "error":
        if (window.console) console.warn("Live:", frame.code, frame.detail);
        break;
    }
    emit("control:" + frame.type, frame);
  }

  function advance(id) {
    if (typeof id === "number" && (Live.lastEventId === null || id > Live.lastEventId)) {
      Live.lastEventId = id;
      persist(id);
    }
  }

  function receive(event) {
    if (typeof event.id !== "number" || seen.has(event.id)) return;
    seen.add(event.id);
    seenOrder.push(event.id);
    if (seenOrder.length > SEEN_KEPT) seen.delete(seenOrder.shift());
    advance(event.id);
    var meta = { replayed: replaying };
    emit(event.type, event, meta);
    if (Live.cueTypes.has(event.type) && Date.now() - Date.parse(event.at) < CUE_MAX_AGE_MS) cue(event);
  }

  function cue(event) {
    Live.cues += 1;
    beep();
    document.body.classList.add("live-cue");
    setTimeout(function () { document.body.classList.remove("live-cue"); }, 2000);
    emit("cue", event);
  }

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      var t = audio.currentTime;
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(660, t + 0.12);
      gain.gain.setValueAtTime(0.2, t);
      gain.gain.exponentialRampToValueAtTime(0.001, t + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.3);
    } catch (e) {
      /* no audio device: the visual cue still shows */
    }
  }

  // Browsers start audio only after a gesture on the page.
  ["click", "keydown"].forEach(function (name) {
    document.addEventListener(name, function () {
      if (audio && audio.state === "suspended") audio.resume();
    });
  });

  window.Live = Live;
  if (el && data.autostart !== "0") start();
})();
