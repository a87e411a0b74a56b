/* The coordinator's board (协调员看板): live tables, countdowns, actions beside each item, and a
 * repeating sound and flash while a life-safety alert waits for someone to acknowledge it.
 *
 * The tables are server-rendered: on every dispatch.*, alert.*, message.* or call.* event (and after a
 * reconnect or resync) the fragment is fetched again and swapped in, as on the responder page.
 * Buttons are plain POST forms; this script sends them with fetch so that the page keeps its
 * sound permission, and draws the answer (or the refusal, in words) beside the item.
 */
(function () {
  "use strict";

  var W = JSON.parse(document.getElementById("board-words").textContent);
  var REPEAT_MS = 10000; // a waiting life-safety alert calls again every 10 s
  var baseTitle = document.title;
  var said = {}; // item id -> {ok, message}: kept across swaps until the next action on it
  var seenLife = new Set();
  var loading = null;
  var again = false;
  var audio = null;
  var Board = { cues: 0, refreshes: 0 };
  window.Board = Board;

  function root() { return document.getElementById("board-live") || document.querySelector("main"); }

  function mmss(seconds) {
    var s = Math.abs(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.deadline, time.next-step").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      var late = left < 0;
      if (el.classList.contains("next-step")) el.textContent = late ? W.escalating : mmss(left);
      else el.textContent = late ? W.overdue + " " + mmss(left) : mmss(left);
      el.classList.toggle("overdue", late);
      el.classList.toggle("soon", !late && left <= 30);
      var row = el.closest("tr.leg");
      if (row) row.classList.toggle("overdue", late);
    });
    // Live calls: talking and wrap-up time counted up from the server's start time.
    document.querySelectorAll("time.since").forEach(function (el) {
      var since = Math.round((now - Date.parse(el.getAttribute("datetime"))) / 1000);
      el.textContent = mmss(Math.max(0, since));
    });
    var waiting = waitingLife().length;
    document.title = waiting ? "【" + W.lifeSafetyTitle.replace("%s", waiting) + "】" + baseTitle : baseTitle;
  }

  function waitingLife() {
    return document.querySelectorAll(".alert-item[data-life='1'][data-state='open']");
  }

  /* --- sound ------------------------------------------------------------------------------ */

  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    try {
      audio = audio || new Ctx();
    } catch (e) {
      return null;
    }
    return audio;
  }

  function showSound() {
    var ctx = context();
    var on = !!ctx && ctx.state === "running";
    var button = document.getElementById("sound-enable");
    var label = document.getElementById("sound-on");
    if (button) button.hidden = on;
    if (label) label.hidden = !on;
  }

  function alarm() {
    // Three falling tones: not the console's two-tone beep, so a life-safety alert is known by ear.
    var ctx = context();
    if (!ctx || ctx.state !== "running") return;
    try {
      var t = ctx.currentTime;
      [0, 0.25, 0.5].forEach(function (offset, i) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.type = "square";
        osc.frequency.setValueAtTime(1046 - i * 180, t + offset);
        gain.gain.setValueAtTime(0.15, t + offset);
        gain.gain.exponentialRampToValueAtTime(0.001, t + offset + 0.22);
        osc.connect(gain).connect(ctx.destination);
        osc.start(t + offset);
        osc.stop(t + offset + 0.22);
      });
    } catch (e) {
      /* no audio device: the flash still shows */
    }
  }

  function cue() {
    Board.cues += 1;
    alarm();
    document.body.classList.remove("life-cue");
    void document.body.offsetWidth; // restart the flash animation
    document.body.classList.add("life-cue");
    setTimeout(function () { document.body.classList.remove("life-cue"); }, 3000);
  }

  function cueNew() {
    var fresh = false;
    waitingLife().forEach(function (el) {
      if (!seenLife.has(el.dataset.alert)) {
        seenLife.add(el.dataset.alert);
        fresh = true;
      }
    });
    if (fresh) cue();
  }

  function repeatCue() {
    if (waitingLife().length) cue();
  }

  var enable = document.getElementById("sound-enable");
  if (enable) {
    enable.addEventListener("click", function () {
      var ctx = context();
      if (!ctx) return;
      ctx.resume().then(function () {
        showSound();
        alarm(); // one sound now: the coordinator hears what it will sound like
      });
    });
  }
  ["click", "keydown"].forEach(function (name) {
    document.addEventListener(name, function () {
      if (audio && audio.state === "suspended") audio.resume().then(showSound);
    });
  });

  /* --- live tables ------------------------------------------------------------------------ */

  function refresh() {
    var board = document.getElementById("board-live");
    var url = board ? board.dataset.url : location.pathname;
    if (loading) {
      again = true; // one more fetch after this one: the event may be newer than its answer
      return;
    }
    loading = fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.text();
      })
      .then(swap)
      .catch(function () { /* the next event or reconnect tries again */ })
      .then(function () {
        loading = null;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  function swap(html) {
    var holder = new DOMParser().parseFromString(html, "text/html");
    var old = root();
    var fresh = holder.querySelector(old.id ? "#" + old.id : "main");
    if (!fresh) return;
    // Keep what the coordinator was doing: an open note or resolve form and its typed text.
    old.querySelectorAll("details[open]").forEach(function (d) {
      var item = d.closest("[id]");
      var there = item && fresh.querySelector("#" + item.id + " details." + d.className.split(" ")[0]);
      if (!there) return;
      there.open = true;
      var text = d.querySelector("textarea");
      var thereText = there.querySelector("textarea");
      if (text && thereText) thereText.value = text.value;
    });
    old.querySelectorAll("select[name=user]").forEach(function (s) {
      var item = s.closest("[id]");
      var there = item && fresh.querySelector("#" + item.id + " select[name=user]");
      if (there && s.dataset.touched) {
        there.value = s.value;
        there.dataset.touched = "1";
      }
    });
    fresh.querySelectorAll(".alert-item, tr.leg, tr.live-call").forEach(function (item) {
      if (!old.querySelector("#" + item.id)) item.classList.add("fresh");
    });
    var focused = document.activeElement && document.activeElement.closest("[id]");
    old.replaceWith(fresh);
    Object.keys(said).forEach(function (id) { show(id); });
    if (focused && focused.id && document.getElementById(focused.id)) {
      var f = document.getElementById(focused.id).querySelector("textarea");
      if (f && document.activeElement === document.body) f.focus();
    }
    Board.refreshes += 1;
    tick();
    cueNew();
  }

  function show(id) {
    var item = document.getElementById(id);
    var box = item && item.querySelector(".item-messages");
    if (!box) {
      // The item has left the board (e.g. resolved): say it at the top, where it is seen.
      box = document.getElementById("board-said");
      if (!box) {
        box = document.createElement("ul");
        box.id = "board-said";
        box.className = "item-messages";
        root().prepend(box);
      }
    }
    box.innerHTML = "";
    var li = document.createElement("li");
    li.className = said[id].ok ? "success" : "error";
    li.textContent = said[id].message;
    box.appendChild(li);
  }

  document.addEventListener("change", function (e) {
    if (e.target.name === "user") e.target.dataset.touched = "1";
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    var item = form.closest(".alert-item, tr.leg, tr.live-call, .dispatch-item");
    if (!item) return;
    e.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Board": "1", Accept: "application/json" },
    })
      .then(function (r) {
        return r.json().catch(function () { return { ok: false, message: W.failed }; });
      })
      .then(function (answer) {
        said[item.id] = { ok: !!answer.ok, message: answer.message || W.failed };
        if (answer.ok) {
          var text = form.querySelector("textarea");
          if (text) text.value = "";
          var open = form.closest("details");
          if (open) open.open = false;
        }
      })
      .catch(function () {
        said[item.id] = { ok: false, message: W.failed };
      })
      .then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        show(item.id);
        refresh();
      });
  });

  tick();
  showSound();
  setInterval(tick, 1000);
  setInterval(repeatCue, REPEAT_MS);
  cueNew();

  if (window.Live) {
    ["dispatch.*", "alert.*", "message.*", "call.*", "resync", "control:hello"].forEach(function (type) {
      window.Live.on(type, function () { refresh(); });
    });
  }
})();
