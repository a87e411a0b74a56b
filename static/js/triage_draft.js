/* The risk screen's draft (研判草稿): every answer is saved on the server a moment after it is
 * given, and put back when the console shows the same call again (a reload, a new tab, the
 * connection back). console.js tells which call is shown with the "console:call" event; a save
 * that fails is kept and sent again when the connection returns, and once more as the page goes.
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  var form = document.getElementById("triage");
  var status = document.getElementById("draft-status");
  if (!root || !form || !status) return;
  var API = root.dataset.api;
  var T = JSON.parse(document.getElementById("console-messages").textContent);
  var SAVE_AFTER_MS = 600;
  var RETRY_MS = 5000;

  var draft = { call: null, restoredFor: null, timer: null, retry: null, pending: false, restoring: false };

  function url(callId) { return API + "calls/" + callId + "/triage-draft/"; }

  function request(method, callId, body, keepalive) {
    return window.ConsoleApi.request(method, url(callId), body, keepalive);
  }

  // 24-hour hh:mm in every language (a clock on a shift that runs through the night).
  function clock(iso) {
    var d = new Date(iso);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function show(message, state) {
    status.textContent = message;
    status.dataset.state = state;
    status.classList.toggle("error", state === "unsaved");
    root.dataset.draft = state;
  }

  // The form's answers as the triage API takes them; unanswered items are left out.
  function answers() {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.tagName === "BUTTON" || el.type === "submit") return;
      if (el.type === "radio") {
        if (el.checked) out[el.name] = el.value === "yes";
      } else if (el.type === "checkbox" && el.name === "protective_factors") {
        out.protective_factors = out.protective_factors || [];
        if (el.checked) out.protective_factors.push(el.value);
      } else if (el.type === "checkbox") {
        out[el.name] = el.checked;
      } else if (!(el.tagName === "SELECT" && el.value === "")) {
        out[el.name] = el.value;
      }
    });
    return out;
  }

  function fill(saved) {
    draft.restoring = true;
    try {
      Object.keys(saved).forEach(function (name) {
        var value = saved[name];
        var els = form.querySelectorAll("[name='" + name + "']");
        els.forEach(function (el) {
          var changed = false;
          if (el.type === "radio") {
            var on = (el.value === "yes") === value;
            changed = el.checked !== on;
            el.checked = on;
          } else if (el.type === "checkbox" && Array.isArray(value)) {
            var tick = value.indexOf(el.value) >= 0;
            changed = el.checked !== tick;
            el.checked = tick;
          } else if (el.type === "checkbox") {
            changed = el.checked !== !!value;
            el.checked = !!value;
          } else {
            changed = el.value !== String(value);
            el.value = value == null ? "" : String(value);
          }
          // console.js follows the answers (follow-up items, derived risk, reasons to give).
          if (changed) el.dispatchEvent(new Event("change", { bubbles: true }));
        });
      });
    } finally {
      draft.restoring = false;
    }
  }

  function save(keepalive) {
    clearTimeout(draft.timer);
    clearTimeout(draft.retry);
    var callId = draft.call;
    if (!callId || draft.restoredFor !== callId) return Promise.resolve();
    var body = { answers: answers() };
    draft.pending = true;
    show(T.draft_saving, "saving");
    return request("PUT", callId, body, keepalive).then(function (data) {
      if (draft.call !== callId) return;
      draft.pending = false;
      show(T.draft_saved.replace("%s", clock(data.saved_at)), "saved");
    }).catch(function (err) {
      if (draft.call !== callId) return;
      if (err.status === 409 || err.status === 403) {
        // The call is no longer mine to screen (triaged, ended, taken over): nothing to keep.
        draft.pending = false;
        show("", "none");
        return;
      }
      show(T.draft_unsaved, "unsaved");
      draft.retry = setTimeout(function () { if (draft.pending) save(); }, RETRY_MS);
    });
  }

  function saveSoon() {
    if (draft.restoring || !draft.call || draft.restoredFor !== draft.call) return;
    draft.pending = true;
    root.dataset.draft = "pending";
    clearTimeout(draft.timer);
    draft.timer = setTimeout(save, SAVE_AFTER_MS);
  }

  function restore(callId) {
    draft.restoredFor = null;
    var blank = answers();  // the untouched form: what differs from it later was typed
    return request("GET", callId).then(function (data) {
      if (draft.call !== callId) return;
      var now = answers();
      var typed = {};
      Object.keys(now).forEach(function (k) {
        if (JSON.stringify(now[k]) !== JSON.stringify(blank[k])) typed[k] = now[k];
      });
      fill(data.answers || {});
      draft.restoredFor = callId;
      if (data.saved_at) show(T.draft_saved.replace("%s", clock(data.saved_at)), "saved");
      else show("", "none");
      // Something typed before the draft came back (a slow line) is kept, and saved too.
      if (Object.keys(typed).length) { fill(typed); saveSoon(); }
    }).catch(function () {
      if (draft.call !== callId) return;
      draft.retry = setTimeout(function () { if (draft.call === callId) restore(callId); }, RETRY_MS);
    });
  }

  root.addEventListener("console:call", function (e) {
    var call = e.detail;
    var screening = call && call.status === "in_progress" && !call.triage;
    if (!screening) {
      if (draft.call && (!call || call.id !== draft.call || call.triage)) {
        clearTimeout(draft.timer);
        clearTimeout(draft.retry);
        draft.call = null;
        draft.restoredFor = null;
        draft.pending = false;
        show("", "none");
      }
      return;
    }
    if (draft.call === call.id) return;
    draft.call = call.id;
    show("", "none");
    restore(call.id);
  });

  form.addEventListener("input", saveSoon);
  form.addEventListener("change", saveSoon);
  // The triage itself is recorded by console.js; a save racing it would only meet a 409.
  form.addEventListener("submit", function () { clearTimeout(draft.timer); });

  function online() { if (draft.pending && draft.call) save(); }
  window.addEventListener("online", online);
  if (window.Live) window.Live.on("status", function (s) { if (s === "live") online(); });
  window.addEventListener("pagehide", function () { if (draft.pending && draft.call) save(true); });
})();
