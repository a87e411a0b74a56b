/* The responder's page (处置任务): countdowns, and the leg list refreshed on dispatch events.
 *
 * Buttons are plain POST forms; this script only keeps the page current. On every dispatch.*
 * event (and after a reconnect or a resync) it fetches the leg list fragment and swaps it in.
 */
(function () {
  "use strict";

  var W = JSON.parse(document.getElementById("responder-words").textContent);
  var REPEAT_CUE_MS = 15000; // an unacknowledged leg keeps calling for attention
  var baseTitle = document.title;
  var loading = null;
  var again = false;

  function legs() { return document.getElementById("responder-legs"); }

  function mmss(seconds) {
    var s = Math.abs(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("#responder-legs time.deadline").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      el.textContent = left >= 0 ? mmss(left) : W.overdue + " " + mmss(left);
      el.classList.toggle("overdue", left < 0);
      el.closest(".leg").classList.toggle("overdue", left < 0);
    });
    document.querySelectorAll("#responder-legs time.since").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      var minutes = Math.max(0, Math.floor((now - at.getTime()) / 60000));
      var clock = String(at.getHours()).padStart(2, "0") + ":" + String(at.getMinutes()).padStart(2, "0");
      el.textContent = clock + "（" + (minutes ? W.minutesAgo.replace("%s", minutes) : W.justNow) + "）";
    });
    var waiting = parseInt(legs().dataset.waiting || "0", 10);
    document.title = waiting ? "【" + W.waitingTitle.replace("%s", waiting) + "】" + baseTitle : baseTitle;
  }

  function refresh() {
    if (loading) {
      again = true; // one more fetch after this one: the event may be newer than its answer
      return;
    }
    var url = legs().dataset.url;
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
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var fresh = holder.querySelector("#responder-legs");
    if (!fresh) return;
    var old = legs();
    // Keep what the responder was doing: words said beside a leg, an open note, typed text.
    fresh.querySelectorAll(".leg").forEach(function (leg) {
      var before = old.querySelector(".leg[data-leg='" + leg.dataset.leg + "']");
      if (!before) {
        leg.classList.add("fresh");
        return;
      }
      var said = before.querySelector(".leg-messages");
      var here = leg.querySelector(".leg-messages");
      if (said && here && !here.children.length) here.innerHTML = said.innerHTML;
      var openFail = before.querySelector("details.fail[open]");
      var fail = leg.querySelector("details.fail");
      if (openFail && fail) {
        fail.open = true;
        fail.querySelector("textarea").value = openFail.querySelector("textarea").value;
      }
    });
    old.replaceWith(fresh);
    tick();
  }

  function cueWhileWaiting() {
    if (parseInt(legs().dataset.waiting || "0", 10) > 0 && window.Live) {
      window.Live.beep();
      document.body.classList.add("live-cue");
      setTimeout(function () { document.body.classList.remove("live-cue"); }, 2000);
    }
  }

  // The browser's own "fill out this field" may be in its UI language; say it in the page's.
  document.addEventListener("invalid", function (e) {
    if (e.target.name === "note") e.target.setCustomValidity(W.noteRequired);
  }, true);
  document.addEventListener("input", function (e) {
    if (e.target.name === "note") e.target.setCustomValidity("");
  });

  tick();
  setInterval(tick, 1000);
  setInterval(cueWhileWaiting, REPEAT_CUE_MS);

  if (window.Live) {
    window.Live.cueTypes.add("dispatch.leg_notified");
    window.Live.on("dispatch.*", function () { refresh(); });
    window.Live.on("resync", function () { refresh(); });
    // A reconnect replays what was missed; refetching as well covers a replay window overflow.
    window.Live.on("control:hello", function () { refresh(); });
  }
})();
