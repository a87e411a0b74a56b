/* The operator console (热线接线台): live queue, current call, risk screen, dispositions.
 *
 * Everything it changes goes through the REST API (/api/v1/); the live stream (window.Live, see
 * live.js) only tells it when to refresh. The server decides risk and permissions.
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var API = root.dataset.api;
  var ME = parseInt(root.dataset.user, 10);
  var T = JSON.parse(document.getElementById("console-messages").textContent);
  var WAITING = ["queued", "offered"];
  var TEXT_CHANNELS = ["sms", "webchat", "wechat"];
  var MINE_ACTIVE = ["offered", "in_progress", "wrap_up"];

  var state = {
    queue: [], callbacks: [], call: null, dirty: false, previewTimer: null, refreshTimer: null, wrapped: {},
    dispatch: null, dockCase: null, placeMode: "dispatch", placeSearch: null,
  };
  var $ = function (id) { return document.getElementById(id); };

  function api(method, path, body) {
    return window.ConsoleApi.request(method, API + path, body);
  }

  function results(data) { return Array.isArray(data) ? data : data.results; }

  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  // A case nobody has screened is "not assessed", never "no risk".
  function riskBadge(el, risk, assessed) {
    if (!risk || (risk === "none" && !assessed)) {
      el.className = "badge risk-unassessed";
      text(el, T.not_assessed);
      return;
    }
    el.className = "badge risk-" + risk;
    text(el, T.risk_badges[risk] || risk);
  }

  // Errors in words, where the person is looking: each field's message beside it, in the page's
  // language and under its label, the field marked (class and aria-invalid) and the first one
  // scrolled into view; the summary line names only what has no field on the page.
  function showError(out, err, scope) {
    clearFieldErrors(scope);
    var fields = (err && err.data && err.data.fields) || {};
    var unplaced = [];
    var first = null;
    Object.keys(fields).forEach(function (name) {
      var words = [].concat(fields[name]).join(" ");
      var box = scope && fieldBox(scope, name);
      if (!box) {
        unplaced.push((T.fields[name] || name) + "：" + words);
        return;
      }
      var hiddenParent = box.closest("[hidden]");
      if (hiddenParent && scope.contains(hiddenParent)) hiddenParent.hidden = false;
      var details = box.closest("details");
      if (details) details.open = true;
      box.classList.add("invalid");
      var note = document.createElement("span");
      note.className = "field-error error small";
      note.id = "field-error-" + (scope.id || "form") + "-" + name;
      text(note, (T.fields[name] || "") + (T.fields[name] ? "：" : "") + words);
      box.after(note);
      box.querySelectorAll("input, select, textarea").forEach(mark);
      if (box.matches("input, select, textarea")) mark(box);
      function mark(el) {
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", note.id);
      }
      if (!first) first = box;
    });
    var placed = Object.keys(fields).length - unplaced.length;
    // Several items marked beside themselves: the line below says how many, not all again.
    var summary = placed > 1 && !unplaced.length ? T.fix_marked.replace("%s", placed)
      : ((err && err.message) || T.network_error);
    text(out, summary + (unplaced.length ? "（" + unplaced.join("；") + "）" : ""));
    if (first) {
      first.scrollIntoView({ block: "center" });
      var input = first.matches("input, select, textarea") ? first : first.querySelector("input, select, textarea");
      if (input) input.focus({ preventScroll: true });
    } else {
      out.scrollIntoView({ block: "nearest" });
    }
  }
  var FIELD_INPUT = { region: "region_search", leave_out: "leave_out_reason" };

  // The element that stands for a field: a screen item's row, a group of ticks, or the input.
  function fieldBox(scope, name) {
    var item = scope.querySelector("[data-item='" + name + "']");
    if (item) return item;
    var el = scope.querySelector("[name='" + (FIELD_INPUT[name] || name) + "']");
    if (!el) return null;
    if (el.type === "checkbox" && name === "protective_factors") return el.closest("fieldset") || el;
    return el;
  }

  function clearFieldErrors(scope) {
    if (!scope) return;
    scope.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    scope.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    scope.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
  }

  function clearError(out, scope) {
    text(out, "");
    clearFieldErrors(scope);
  }

  function since(iso) {
    var s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    var m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }

  // In the page's language and the hotline's time zone, always on the 24-hour clock (the browser's
  // own locale may be 12-hour while the page is Chinese).
  var LANG = document.documentElement.lang || "zh-CN";
  var timeFormat = new Intl.DateTimeFormat(LANG, {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  var dateTimeFormat = new Intl.DateTimeFormat(LANG, {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  });

  function localTime(iso) {
    return iso ? timeFormat.format(new Date(iso)) : "";
  }

  /* --- the queue --------------------------------------------------------------------- */

  function renderQueue() {
    var list = $("queue");
    list.innerHTML = "";
    state.queue.forEach(function (call) {
      var li = document.createElement("li");
      li.className = "queue-item risk-" + (call.risk || "none");
      li.dataset.call = call.id;
      if (call.offered_to === ME) li.classList.add("offered-to-me");
      var who = document.createElement("div");
      who.className = "who";
      var name = document.createElement("strong");
      text(name, call.person_name || call.caller_name || call.from_number || T.anonymous);
      var num = document.createElement("span");
      num.className = "muted small";
      text(num, " " + (call.from_number || ""));
      who.append(name, num);
      var meta = document.createElement("div");
      meta.className = "meta small";
      var badge = document.createElement("span");
      riskBadge(badge, call.risk, call.risk_assessed);
      var wait = document.createElement("span");
      wait.className = "wait";
      wait.dataset.since = call.queued_at;
      text(wait, T.waiting + " " + since(call.queued_at));
      meta.append(badge, " ", wait);
      if (call.channel && call.channel !== "twilio_voice") {  // SMS, web chat, walk-in...
        var channel = document.createElement("span");
        channel.className = "tag channel channel-" + call.channel;
        text(channel, T.channels[call.channel] || call.channel);
        meta.append(" ", channel);
      }
      (call.priority_reasons || []).forEach(function (reason) {
        var tag = document.createElement("span");
        tag.className = "tag priority-reason";
        text(tag, T.priority_reasons[reason] || reason);
        meta.append(" ", tag);
      });
      (call.person_flags || []).forEach(function (flag) {
        var tag = document.createElement("span");
        tag.className = "tag person-flag flag-" + flag.kind;
        tag.title = flag.reason;
        text(tag, flag.kind_display);
        meta.append(" ", tag);
      });
      if (call.overflowed_from) {
        var overflow = document.createElement("span");
        overflow.className = "tag overflow";
        text(overflow, T.overflow_from.replace("%s", call.overflowed_from));
        meta.append(" ", overflow);
      }
      if (call.offered_to === ME) {
        var offered = document.createElement("span");
        offered.className = "tag offered";
        text(offered, T.offered_to_you);
        meta.append(" ", offered);
      }
      if (call.offered_to === ME && call.offer_expires_at) meta.append(" ", offerCountdown(call.offer_expires_at));
      var accept = document.createElement("button");
      accept.type = "button";
      accept.className = "accept";
      text(accept, T.accept);
      accept.addEventListener("click", function () { acceptCall(call.id); });
      li.append(who, meta, accept);
      list.append(li);
    });
    text($("queue-count"), state.queue.length);
    $("queue-empty").hidden = state.queue.length > 0;
    // Holding a text conversation, another may still be taken (the server counts the limit).
    var holdsText = !!state.call && TEXT_CHANNELS.indexOf(state.call.channel) >= 0;
    $("accept-next").disabled = state.queue.length === 0 || (!!state.call && !holdsText);
    renderDock();
    // conversation.js adds a text conversation's preview to the card offered to me.
    root.dispatchEvent(new CustomEvent("console:queue", { detail: state.queue }));
  }

  function tickTalk() {
    var call = state.call;
    var talking = call && call.answered_at && ["in_progress", "wrap_up"].indexOf(call.status) >= 0;
    text($("talk-time"), talking ? since(call.answered_at) : "0:00");
  }

  function tickWaits() {
    tickTalk();
    document.querySelectorAll("#queue .wait").forEach(function (el) {
      text(el, T.waiting + " " + since(el.dataset.since));
    });
  }

  /* --- call-backs of abandoned calls ------------------------------------------------- */

  function renderCallbacks() {
    var list = $("callbacks");
    list.innerHTML = "";
    (state.callbacks || []).forEach(function (task) {
      var li = document.createElement("li");
      li.className = "queue-item callback-item risk-" + (task.risk || "none");
      li.dataset.callback = task.id;
      var who = document.createElement("div");
      who.className = "who";
      var name = document.createElement("strong");
      text(name, task.person_name || task.from_number);
      var num = document.createElement("span");
      num.className = "muted small";
      text(num, " " + task.from_number);
      who.append(name, num);
      var meta = document.createElement("div");
      meta.className = "meta small";
      var badge = document.createElement("span");
      riskBadge(badge, task.risk, task.risk !== "none");
      var wait = document.createElement("span");
      wait.className = "callback-wait";
      text(wait, T.hung_up.replace("%s", since(task.waiting_since)));
      var tries = document.createElement("span");
      tries.className = "tag attempts";
      text(tries, T.attempts.replace("%s", task.attempts.length));
      meta.append(badge, " ", wait, " ", tries);
      if (!task.queue_call && Date.parse(task.due_at) > Date.now()) {
        var due = document.createElement("span");
        due.className = "tag";
        text(due, T.due_in.replace("%s", localTime(task.due_at)));
        meta.append(" ", due);
      }
      var take = document.createElement("button");
      take.type = "button";
      take.className = "take-callback";
      text(take, T.call_back);
      take.disabled = !!state.call || !!task.dialled_by;
      take.addEventListener("click", function () { takeCallback(task.id); });
      li.append(who, meta, take);
      list.append(li);
    });
    text($("callback-count"), (state.callbacks || []).length);
    renderAttemptForm();
  }

  function loadCallbacks() {
    return api("GET", "callbacks/?limit=200").then(function (data) {
      state.callbacks = results(data);
      renderCallbacks();
    });
  }

  function currentCallback() {
    if (!state.call || state.call.channel !== "callback") return null;
    return (state.callbacks || []).filter(function (t) { return t.queue_call === state.call.id; })[0] || null;
  }

  function renderAttemptForm() {
    var task = currentCallback();
    $("callback-attempt").hidden = !task || state.call.status !== "in_progress";
  }

  function takeCallback(id) {
    return api("POST", "callbacks/" + id + "/take/", {}).then(function (call) {
      resetTriage();
      return loadCall(call.id).then(loadCallbacks);
    }).catch(function (err) {
      flash(err.message);
      loadCallbacks();
    });
  }

  $("callback-attempt").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var task = currentCallback();
    if (!task) return;
    var out = form.querySelector("[data-error]");
    var outcome = form.elements.outcome.value;
    api("POST", "callbacks/" + task.id + "/attempts/", { outcome: outcome, note: form.elements.note.value })
      .then(function (call) {
        form.reset();
        text(out, "");
        if (call.status === "completed") {
          state.wrapped[call.id] = true;
          showCall(null);
          loadPresence();
        }
        loadCallbacks();
      })
      .catch(function (err) { showError(out, err, form); });
  });

  function loadQueue() {
    return api("GET", "calls/?view=queue&limit=200").then(function (data) {
      state.queue = results(data);
      renderQueue();
    });
  }

  function refreshSoon() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(function () {
      loadQueue();
      loadCallbacks();
      if (!state.call) loadMine();
    }, 150);
  }

  /* --- the current call -------------------------------------------------------------- */

  function showCall(call) {
    state.call = call;
    $("no-call").hidden = !!call;
    $("call").hidden = !call;
    $("no-triage").hidden = !!call;
    if (!call) {
      text($("call-title"), T.call_title);
      root.dispatchEvent(new CustomEvent("console:call", { detail: null }));
      $("triage").hidden = true;
      $("triaged").hidden = true;
      renderQueue();
      renderCallbacks();
      root.dispatchEvent(new CustomEvent("console:call", { detail: null }));
      return;
    }
    var isText = TEXT_CHANNELS.indexOf(call.channel) >= 0;
    text($("call-title"), isText ? T.conversation_title : T.call_title);
    text($("talk-label"), isText ? T.conversation_time : T.talk_time);
    text($("call-from"), call.from_number || call.caller_name || T.anonymous);
    text($("call-channel"), (T.channels[call.channel] || call.channel) +
      (call.overflowed_from ? " · " + T.overflow_from.replace("%s", call.overflowed_from) : ""));
    text($("call-status"), T.statuses[call.status] || call.status);
    text($("call-answered"), localTime(call.answered_at));
    riskBadge($("call-risk"), call.risk, call.risk_assessed);
    tickTalk();
    var history = call.history || {};
    var c = history.case;
    text($("call-person"), call.person_name || T.anonymous);
    text($("call-case"), c ? "#" + c.id + " · " + c.owning_organisation_name : "—");
    text($("call-stage"), c ? c.stage_display : "—");
    $("caller-relation").value = call.caller_relation || "unknown";
    var prev = $("previous-calls");
    prev.innerHTML = "";
    (history.previous_calls || []).forEach(function (p) {
      var li = document.createElement("li");
      var outcome = p.triage
        ? (T.risks[p.triage.risk] || p.triage.risk) + " · " + (T.dispositions[p.triage.disposition] || p.triage.disposition)
        : (T.statuses[p.status] || p.status);
      text(li, dateTimeFormat.format(new Date(p.queued_at)) + " — " + outcome);
      prev.append(li);
    });
    if (!prev.children.length) {
      var none = document.createElement("li");
      none.className = "muted";
      text(none, T.no_previous);
      prev.append(none);
    }
    var triaged = call.status === "wrap_up" || !!call.triage;
    $("triage").hidden = triaged || call.status !== "in_progress";
    $("triaged").hidden = !triaged;
    if (call.triage) {
      text($("triage-result"), T.triaged + ": " + (T.risks[call.triage.risk] || call.triage.risk) + " · " +
        (T.dispositions[call.triage.disposition] || call.triage.disposition));
    }
    renderQueue();
    renderCallbacks();
    if (c) loadTimeline(c.id);
    loadOpenReferral(c);
    // The person panel (person.js) follows the call in hand.
    root.dispatchEvent(new CustomEvent("console:call", { detail: call }));
  }

  var LABELS = (function () {
    try { return JSON.parse(document.getElementById("live-labels").textContent); } catch (e) { return {}; }
  })();

  function loadTimeline(caseId) {
    api("GET", "cases/" + caseId + "/timeline/").then(function (events) {
      var ol = $("timeline");
      ol.innerHTML = "";
      events.slice(-15).reverse().forEach(function (e) {
        var li = document.createElement("li");
        text(li, localTime(e.at) + " " + (LABELS[e.type] || LABELS["*"] || e.type) + (e.actor ? " · " + e.actor : ""));
        ol.append(li);
      });
    }).catch(function () { /* the call panel still works without the timeline */ });
  }

  // "Continue the existing referral" only fits a case with an open referral: the button
  // names it, or is hidden and a line says why.
  function loadOpenReferral(c) {
    var button = $("continue-referral");
    var none = $("no-open-referral");
    button.hidden = true;
    none.hidden = true;
    if (!c) return;
    api("GET", "referrals/?case=" + c.id + "&active=1&limit=1").then(function (data) {
      if (!state.call || !state.call.history || !state.call.history.case ||
          state.call.history.case.id !== c.id) return;
      var open = results(data)[0];
      button.hidden = !open;
      none.hidden = !!open;
      if (open) text($("continue-referral-to"), open.receiver_name + " · " + open.state_display);
    }).catch(function () { none.hidden = false; });
  }

  function loadCall(id) {
    return api("GET", "calls/" + id + "/").then(function (call) {
      // A read that started before the wrap-up may answer after it: a call that is no longer
      // this operator's live call must not come back onto the panel.
      if (MINE_ACTIVE.indexOf(call.status) < 0 || call.operator !== ME || state.wrapped[call.id]) {
        if (!state.call || state.call.id === call.id) showCall(null);
        return;
      }
      showCall(call);
    });
  }

  function loadMine() {
    return api("GET", "calls/?view=mine&limit=20").then(function (data) {
      var active = results(data).filter(function (c) {
        return MINE_ACTIVE.indexOf(c.status) >= 0 && c.operator === ME;
      })[0];
      if (active) return loadCall(active.id);
      showCall(null);
    });
  }

  function acceptCall(id) {
    var path = id ? "calls/" + id + "/accept/" : "calls/next/accept/";
    return api("POST", path, {}).then(function (call) {
      resetTriage();
      return loadCall(call.id);
    }).catch(function (err) {
      flash(err.status === 409 ? (err.message || T.accepted_elsewhere) : err.message);
      loadQueue();
    });
  }

  function flash(message) {
    text(state.call ? $("triage-error") : $("console-error"), message);
  }

  /* --- the risk screen --------------------------------------------------------------- */

  function screenValues() {
    var form = $("triage");
    var body = {};
    form.querySelectorAll(".screen .item").forEach(function (item) {
      var name = item.dataset.item;
      var checked = form.querySelector("input[name='" + name + "']:checked");
      body[name] = checked ? checked.value === "yes" : null;
    });
    return body;
  }

  function updateFollowUps() {
    var active = screenValues().active_thoughts === true;
    document.querySelectorAll(".screen .follow-up").forEach(function (el) { el.hidden = !active; });
  }

  function previewRisk() {
    clearTimeout(state.previewTimer);
    state.previewTimer = setTimeout(function () {
      api("POST", "triage/preview/", screenValues()).then(function (r) {
        state.derived = r.derived_risk;
        text($("derived-risk"), r.derived_risk ? T.risks[r.derived_risk] : "—");
        $("derived-risk").className = "badge risk-" + (r.derived_risk || "none");
        updateLowered();
      });
    }, 120);
  }

  var ORDER = ["none", "low", "moderate", "high", "imminent"];
  function updateLowered() {
    var chosen = $("triage").elements.risk.value;
    var lower = chosen && state.derived && ORDER.indexOf(chosen) < ORDER.indexOf(state.derived);
    $("lowered-reason").hidden = !lower;
  }

  function resetTriage() {
    $("triage").reset();
    clearError($("triage-error"), $("triage"));
    text($("derived-risk"), "—");
    state.derived = null;
    state.dirty = false;
    $("consent-override").hidden = true;
    updateFollowUps();
    updateLowered();
  }

  function submitTriage(event) {
    event.preventDefault();
    var disposition = event.submitter ? event.submitter.value : "resolved";
    var form = $("triage");
    var body = screenValues();
    Object.keys(body).forEach(function (k) { if (body[k] === null) delete body[k]; });
    body.disposition = disposition;
    body.protective_factors = Array.prototype.map.call(
      form.querySelectorAll("input[name=protective_factors]:checked"), function (el) { return el.value; });
    ["notes", "lowered_reason", "override_reason", "consent_override_reason", "contact_phone", "location"].forEach(function (k) {
      body[k] = form.elements[k].value;
    });
    if (form.elements.risk.value) body.risk = form.elements.risk.value;
    body.consent = form.elements.consent.checked;
    clearError($("triage-error"), form);
    // The dispatch itself goes out from the one-key dock; an emergency disposition with no
    // dispatch running yet starts one on the server, in the triage's transaction.
    api("POST", "calls/" + state.call.id + "/triage/", body).then(function () {
      state.dirty = false;
      if (disposition === "emergency") loadOpenDispatch(state.call.case);
      return loadCall(state.call.id);
    }).catch(function (err) {
      showError($("triage-error"), err, form);
    });
  }

  /* --- one key (一键智达) ------------------------------------------------------------ */

  // The call one key is for: the one in hand, or the one being offered to me right now.
  function oneKeyCall() {
    if (state.call) return state.call;
    return state.queue.filter(function (c) { return c.offered_to === ME && c.status === "offered"; })[0] || null;
  }

  function renderDock() {
    var call = oneKeyCall();
    $("one-key-dock").hidden = !call;
    if (!call) return;
    text($("dock-call"), (call.from_number || call.caller_name || T.anonymous) + " · " +
      (T.statuses[call.status] || call.status));
    if (state.dockCase !== call.case) {
      state.dockCase = call.case;
      state.dispatch = null;
      closeConfirm();
      clearError($("one-key-error"), $("one-key-dock"));
      renderDispatch();
      loadOpenDispatch(call.case);
    }
  }

  function loadOpenDispatch(caseId) {
    if (!caseId) return Promise.resolve();
    return api("GET", "dispatches/?status=open&limit=200").then(function (data) {
      var d = results(data).filter(function (x) { return x.case === caseId; })[0];
      if (d && state.dockCase === caseId) {
        state.dispatch = d;
        renderDispatch();
      }
    }).catch(function () { /* the dock still works; the next event retries */ });
  }

  function reloadDispatch() {
    if (!state.dispatch) return;
    api("GET", "dispatches/" + state.dispatch.id + "/").then(function (d) {
      state.dispatch = d;
      renderDispatch();
    });
  }

  function renderDispatch() {
    var d = state.dispatch;
    $("one-key-result").hidden = !d;
    $("one-key").hidden = !!d;
    root.dispatchEvent(new CustomEvent("console:dispatch", { detail: d }));
    if (!d) return;
    text($("dispatch-title"), T.dispatch_title.replace("%s", d.id) +
      (d.status === "closed" ? " · " + T.closed : ""));
    var place = [d.region_name, d.address].filter(Boolean).join(" ");
    text($("dispatch-place"), T.place + "：" + (d.brief && d.brief.location_known ? place : T.place_unknown + (place ? "（" + place + "）" : "")));
    var warn = $("dispatch-warnings");
    warn.innerHTML = "";
    (d.warning_messages || []).forEach(function (w) {
      var li = document.createElement("li");
      text(li, "⚠ " + w);
      warn.append(li);
    });
    var ul = $("dispatch-legs");
    ul.innerHTML = "";
    (d.legs || []).forEach(function (leg) {
      var li = document.createElement("li");
      li.dataset.kind = leg.kind;
      li.dataset.state = leg.state;
      var who = document.createElement("span");
      text(who, leg.kind_display + " · " + leg.organisation_name);
      var st = document.createElement("span");
      st.className = "leg-state state-" + leg.state;
      text(st, leg.state_display);
      li.append(who, st);
      ul.append(li);
    });
  }

  function openConfirm(mode) {
    state.placeMode = mode;
    $("one-key-confirm").hidden = false;
    text($("one-key-confirm-text"), mode === "dispatch" ? T.confirm_emergency : T.set_place_hint);
    $("one-key-options").open = mode !== "dispatch";
    $("with-police").closest("label").hidden = mode !== "dispatch";
    $("with-ambulance").closest("label").hidden = mode !== "dispatch";
    text($("one-key-go"), mode === "dispatch" ? T.confirm_send : T.confirm_place);
    if (mode === "dispatch" && !$("place-address").value) {
      $("place-address").value = $("triage").elements.location.value || "";
    }
    $("one-key-go").focus();
  }

  function closeConfirm() {
    $("one-key-confirm").hidden = true;
    $("one-key-go").disabled = false;
  }

  function updateLeaveOut() {
    $("leave-out-label").hidden = $("with-police").checked && $("with-ambulance").checked;
  }

  function sendOneKey() {
    var call = oneKeyCall();
    var dock = $("one-key-dock");
    clearError($("one-key-error"), dock);
    var body = { address: $("place-address").value };
    if ($("place-code").value) body.region = $("place-code").value;
    var request;
    if (state.placeMode === "place" && state.dispatch) {
      request = api("POST", "dispatches/" + state.dispatch.id + "/location/", body);
    } else {
      if (!call || !call.case) { text($("one-key-error"), T.no_case); return; }
      body.case = call.case;
      body.call = call.id;
      body.leave_out = [];
      if (!$("with-police").checked) body.leave_out.push("police");
      if (!$("with-ambulance").checked) body.leave_out.push("ambulance");
      body.leave_out_reason = $("leave-out-reason").value;
      request = api("POST", "dispatches/", body);
    }
    $("one-key-go").disabled = true;
    text($("one-key-error"), T.sending);
    request.then(function (d) {
      text($("one-key-error"), "");
      state.dispatch = d;
      closeConfirm();
      renderDispatch();
    }).catch(function (err) {
      $("one-key-go").disabled = false;
      if (err.status === 409 && err.data.code === "dispatch_open") {
        closeConfirm();
        text($("one-key-error"), err.message);
        loadOpenDispatch(call.case);
        return;
      }
      showError($("one-key-error"), err, dock);
    });
  }

  function searchPlaces() {
    if (!state.placeSearch) {
      state.placeSearch = window.ConsoleApi.regionPicker({
        input: $("place-search"),
        list: $("place-results"),
        code: $("place-code"),
        url: API,
        keep: function (r) { return r.level !== "city"; },
        emptyText: T.no_place_found,
      });
    }
    state.placeSearch();
  }

  function submitWrapUp(event) {
    event.preventDefault();
    var id = state.call.id;
    var form = $("wrap-up");
    clearError($("wrap-up-error"), form);
    api("POST", "calls/" + id + "/wrap-up/", {
      notes: form.elements.notes.value,
      sms_consent: form.elements.sms_consent.checked,
    })
      .then(function () {
        state.wrapped[id] = true;
        $("wrap-up").reset();
        showCall(null);
        loadPresence();
        loadQueue();
      })
      .catch(function (err) { showError($("wrap-up-error"), err, form); });
  }

  /* --- presence, manual calls -------------------------------------------------------- */

  function loadPresence() {
    api("GET", "operators/me/presence/").then(function (p) {
      var select = $("presence");
      var settable = Array.prototype.some.call(select.options, function (o) { return o.value === p.status; });
      select.value = settable ? p.status : select.value;
      select.disabled = !settable;
      text($("presence-now"), T.presence[p.status] || p.status);
    });
    api("GET", "operators/on-duty/").then(function (rows) {
      var row = rows[0];
      if (!row) return;
      var names = row.on_duty.map(function (s) { return s.operator_name; }).join("、");
      var el = $("presence-now");
      text(el, el.textContent + " · " + (row.covered ? T.on_duty + ": " + names : T.nobody_on_duty));
      el.classList.toggle("error", !row.covered);
    });
  }

  $("presence").addEventListener("change", function (e) {
    api("PUT", "operators/me/presence/", { status: e.target.value }).then(function () {
      text($("console-error"), "");
      loadPresence();
    }, function (err) {
      showError($("console-error"), err, null);
      loadPresence();
    });
  });

  $("manual-call").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var out = form.querySelector("[data-error]");
    api("POST", "calls/", {
      channel: form.elements.channel.value,
      from_number: form.elements.from_number.value,
      caller_name: form.elements.caller_name.value,
    }).then(function () {
      form.reset();
      text(out, "");
      loadQueue();
    }).catch(function (err) { showError(out, err, form); });
  });

  $("caller-relation").addEventListener("change", function (e) {
    if (!state.call) return;
    api("POST", "calls/" + state.call.id + "/identify/", { caller_relation: e.target.value })
      .then(function () { return loadCall(state.call.id); })
      .catch(function (err) { showError($("wrap-up-error"), err, form); });
  });

  // person.js saved something about the person on the call: show it.
  root.addEventListener("console:reload", function () { if (state.call) loadCall(state.call.id); });
  // conversation.js: the operator switches between the text conversations they hold.
  root.addEventListener("console:switch", function (e) {
    if (state.call && state.call.id === e.detail) return;
    resetTriage();
    loadCall(e.detail);
  });
  $("accept-next").addEventListener("click", function () { acceptCall(null); });
  $("one-key").addEventListener("click", function () { openConfirm("dispatch"); });
  $("set-place").addEventListener("click", function () { openConfirm("place"); });
  $("one-key-go").addEventListener("click", sendOneKey);
  $("one-key-cancel").addEventListener("click", closeConfirm);
  $("with-police").addEventListener("change", updateLeaveOut);
  $("with-ambulance").addEventListener("change", updateLeaveOut);
  $("place-search").addEventListener("input", searchPlaces);
  $("triage").addEventListener("submit", submitTriage);
  // An answer given clears the error beside it.
  function answered(e) {
    var box = e.target.closest("[data-item]") || e.target.closest("fieldset.protective") || e.target;
    if (!box.classList.contains("invalid")) return;
    box.classList.remove("invalid");
    var note = box.nextElementSibling;
    if (note && note.classList.contains("field-error")) note.remove();
    [box].concat(Array.prototype.slice.call(box.querySelectorAll("[aria-invalid]"))).forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
  }

  $("triage").addEventListener("change", function (e) {
    state.dirty = true;
    answered(e);
    if (e.target.type === "radio") {
      updateFollowUps();
      previewRisk();
    }
    if (e.target.name === "risk") updateLowered();
    if (e.target.name === "consent") $("consent-override").hidden = e.target.checked;
  });
  $("triage").addEventListener("input", function (e) { state.dirty = true; answered(e); });
  $("wrap-up").addEventListener("submit", submitWrapUp);
  // Answers the server holds as a draft (triage_draft.js) survive leaving; only unsaved ones warn.
  window.addEventListener("beforeunload", function (e) {
    if (state.dirty && state.call && root.dataset.draft !== "saved") {
      e.preventDefault();
      e.returnValue = T.unsaved;
      return T.unsaved;
    }
  });

  /* --- live -------------------------------------------------------------------------- */

  if (window.Live) {
    window.Live.on("call.*", function (event) {
      refreshSoon();
      if (state.call && event.data && event.data.call === state.call.id && event.type !== "call.triaged") {
        loadCall(state.call.id);
      }
    });
    window.Live.on("callback.*", function () { refreshSoon(); });
    window.Live.on("dispatch.*", function (event) {
      var d = event.data || {};
      if (state.dispatch && d.dispatch === state.dispatch.id) reloadDispatch();
      else if (state.dockCase && event.case === state.dockCase) loadOpenDispatch(state.dockCase);
    });
    window.Live.on("operator.presence_changed", function (event) {
      if (event.data && event.data.operator === ME) loadPresence();
    });
    window.Live.on("resync", function () { refreshSoon(); return true; });
    window.Live.on("status", function (status) { if (status === "live") refreshSoon(); });
  }

  /* --- presence follows the person: the offer's countdown, a lapsed offer told ---------- */

  function offerCountdown(expiresAt) {
    var el = document.createElement("span");
    el.className = "tag offer-countdown";
    el.dataset.expires = expiresAt;
    tickOffer(el);
    return el;
  }

  function tickOffer(el) {
    var left = Math.max(0, Math.ceil((Date.parse(el.dataset.expires) - Date.now()) / 1000));
    text(el, T.offer_left.replace("%s", left));
    el.classList.toggle("error", left <= 5);
  }

  var offerNotice = document.createElement("p");
  offerNotice.id = "offer-notice";
  offerNotice.className = "error";
  offerNotice.setAttribute("role", "status");
  offerNotice.hidden = true;
  $("queue").before(offerNotice);

  if (window.Live) {
    window.Live.on("call.offer_expired", function (event) {
      if (!event.data || event.data.missed_by !== ME) return;
      text(offerNotice, event.data.put_on_break
        ? T.offer_lapsed_break.replace("%s", event.data.missed_in_a_row)
        : T.offer_lapsed);
      offerNotice.hidden = false;
    });
    window.Live.on("call.offered", function (event) {
      if (event.data && event.data.offered_to === ME) offerNotice.hidden = true;
    });
  }

  setInterval(function () { document.querySelectorAll("#queue .offer-countdown").forEach(tickOffer); }, 1000);
  setInterval(tickWaits, 1000);
  loadQueue();
  loadCallbacks();
  loadMine();
  loadPresence();
})();
