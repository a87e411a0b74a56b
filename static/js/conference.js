/* The call's conference at the screen: the operator's hold / hang-up / transfer controls
 * (#conference-panel) and a transfer receiver's offer card (#transfer-offer), which shows the
 * case before they join. Both follow the call.* events of the live socket.
 */
(function () {
  "use strict";
  if (window.ConferenceUi) return; // both partials load this script
  window.ConferenceUi = true;

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.text().then(function (text) {
        var data = text ? JSON.parse(text) : {};
        if (!r.ok) {
          var fields = data.fields ? Object.values(data.fields).join(" ") : "";
          throw new Error([data.detail || r.statusText, fields].filter(Boolean).join(" "));
        }
        return data;
      });
    });
  }

  function text(el, value) { if (el) el.textContent = value == null ? "" : String(value); }
  function $(id) { return document.getElementById(id); }

  // --- the operator's controls -------------------------------------------------------------
  var panel = $("conference-panel");
  var callId = null;

  function render(state) {
    var legs = (state && state.conference && state.conference.participants) || [];
    var caller = legs.filter(function (l) { return l.role === "caller" && l.status !== "left"; })[0];
    var transfer = legs.filter(function (l) {
      return l.role === "transfer_target" && l.status !== "left";
    })[0];
    var held = !!(caller && caller.on_hold);
    $("conf-hold").hidden = held;
    $("conf-resume").hidden = !held;
    text($("conference-state"), held ? panel.dataset.wordHold : panel.dataset.wordLive);
    $("transfer-form").hidden = !!transfer;
    $("transfer-actions").hidden = !transfer;
    if (transfer) {
      text($("transfer-who"), panel.dataset.wordTransferTo + " " + transfer.name + " · " +
        (transfer.status === "joined" ? panel.dataset.wordJoined : panel.dataset.wordWaiting));
      $("transfer-complete").disabled = transfer.status !== "joined";
    }
  }

  function loadMine() {
    return fetch(panel.dataset.api + "calls/?view=mine", {
      credentials: "same-origin", headers: { Accept: "application/json" },
    })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (page) {
        var calls = page.results || page;
        var live = calls.filter(function (c) {
          return c.status === "in_progress" && c.channel === "twilio_voice" && !c.ended_at;
        })[0];
        callId = live ? live.id : null;
        panel.hidden = !callId;
        if (!callId) return null;
        return fetch(panel.dataset.api + "calls/" + callId + "/conference/", {
          credentials: "same-origin", headers: { Accept: "application/json" },
        }).then(function (r) { return r.ok ? r.json() : null; }).then(render);
      })
      .catch(function () { /* the next event retries */ });
  }

  function act(path, body) {
    text($("conference-error"), "");
    return post(panel.dataset.api + "calls/" + callId + "/" + path, body)
      .then(render)
      .catch(function (err) { text($("conference-error"), err.message); });
  }

  if (panel) {
    $("conf-hold").addEventListener("click", function () { act("hold/", { on: true }); });
    $("conf-resume").addEventListener("click", function () { act("hold/", { on: false }); });
    $("conf-hang-up").addEventListener("click", function () { act("hang-up/"); });
    $("transfer-complete").addEventListener("click", function () { act("transfer/complete/"); });
    $("transfer-cancel").addEventListener("click", function () { act("transfer/cancel/"); });
    var target = $("transfer-target");
    target.addEventListener("change", function () {
      $("transfer-user-label").hidden = target.value !== "operator";
      $("transfer-number-label").hidden = target.value !== "number";
    });
    $("transfer-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var body = {
        mode: (e.submitter && e.submitter.value) || "warm",
        target: target.value,
        reason: $("transfer-reason").value,
      };
      if (target.value === "operator" && $("transfer-user").value) body.user = parseInt($("transfer-user").value, 10);
      if (target.value === "number") body.number = $("transfer-number").value.trim();
      act("transfer/", body).then(loadMine);
    });
    loadMine();
    if (window.Live) {
      window.Live.on("call.*", function () { loadMine(); });
      window.Live.on("status", function (s) { if (s === "live") loadMine(); });
    }
  }

  // --- a transfer's receiver ---------------------------------------------------------------
  var offer = $("transfer-offer");
  var offered = null;

  function showOffer(data) {
    offered = data;
    text($("offer-person"), data.person_name || data.from_number);
    var riskWord = data.risk ? offer.dataset["risk" + data.risk.charAt(0).toUpperCase() + data.risk.slice(1)] : "";
    text($("offer-risk"), riskWord || data.risk);
    text($("offer-from"), data.from_operator_name);
    text($("offer-reason"), data.reason);
    text($("offer-summary"), data.case_summary);
    $("offer-case").href = offer.dataset.caseUrl.replace("/0/", "/" + data.case + "/");
    $("offer-join").hidden = false;
    text($("offer-state"), "");
    text($("offer-error"), "");
    offer.hidden = false;
    offer.scrollIntoView({ block: "nearest" });
  }

  if (offer && window.Live) {
    var ME = parseInt(offer.dataset.user || "0", 10);
    window.Live.on("call.transfer_offered", function (event) {
      var d = event.data || {};
      if (!d.receiver || (ME && d.receiver !== ME)) return;
      showOffer(d);
    });
    window.Live.on("call.transfer_cancelled", function (event) {
      if (offered && event.data && event.data.call === offered.call) {
        text($("offer-state"), offer.dataset.wordCancelled);
        $("offer-join").hidden = true;
      }
    });
    window.Live.on("call.transfer_joined", function (event) {
      if (offered && event.data && event.data.call === offered.call) text($("offer-state"), offer.dataset.wordJoined);
    });
    window.Live.on("call.transfer_completed", function (event) {
      if (offered && event.data && event.data.call === offered.call) text($("offer-state"), offer.dataset.wordCompleted);
    });
    $("offer-join").addEventListener("click", function () {
      text($("offer-error"), "");
      post(offer.dataset.api + "calls/" + offered.call + "/transfer/join/")
        .then(function () {
          $("offer-join").hidden = true;
          text($("offer-state"), offer.dataset.wordJoining);
        })
        .catch(function (err) { text($("offer-error"), err.message); });
    });
  }
})();
