/* The console's calls for help on a live call: "need help" (求助) alerts the on-duty
 * coordinator, who can listen in from the board; from the one-key dispatch panel, 110, 120 or
 * the expert are joined to the call's conference. Both answer in words beside the button.
 * console.js announces the call in hand ("console:call") and the dispatch shown ("console:dispatch").
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var API = root.dataset.api;
  var W = JSON.parse(document.getElementById("console-help-words").textContent);
  var call = null;
  var dispatch = null;
  var JOINABLE = { police: "110", ambulance: "120", expert: "expert" };

  function $(id) { return document.getElementById(id); }
  function text(el, value) { el.textContent = value == null ? "" : String(value); }
  function api(method, path, body) { return window.ConsoleApi.request(method, API + path, body); }
  function live() { return !!call && call.status === "in_progress"; }
  // Joining 110/120 to the call is a voice leg: a text conversation has no conference to join.
  function voice() { return !!call && ["sms", "webchat", "wechat"].indexOf(call.channel) < 0; }

  function renderHelp() {
    var box = $("need-help").parentNode;
    box.hidden = !live();
  }

  $("need-help").addEventListener("click", function () {
    if (!live()) return;
    var button = $("need-help");
    var said = $("need-help-said");
    button.disabled = true;
    said.className = "small";
    text(said, W.sending);
    api("POST", "calls/" + call.id + "/need-help/").then(function (answer) {
      said.className = "small success";
      text(said, W.helpSent.replace("%s", answer.target));
    }).catch(function (err) {
      said.className = "small error";
      text(said, (err && err.message) || W.failed);
    }).then(function () { button.disabled = false; });
  });

  function renderJoin() {
    var box = $("join-responders");
    var buttons = $("join-buttons");
    buttons.innerHTML = "";
    var legs = (dispatch && dispatch.status === "open" && dispatch.legs) || [];
    var services = [];
    var seen = {};
    legs.forEach(function (leg) {
      var service = JOINABLE[leg.kind];
      if (service && !seen[service]) {
        seen[service] = true;
        services.push({ service: service, leg: leg });
      }
    });
    box.hidden = !live() || !voice() || !services.length;
    services.forEach(function (s) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.dataset.service = s.service;
      text(b, "☎ " + ((W.joinService[s.service]) || s.leg.kind_display));
      b.addEventListener("click", function () { join(s.service, b); });
      buttons.append(b);
    });
  }

  function join(service, button) {
    text($("join-error"), "");
    text($("join-said"), W.sending);
    button.disabled = true;
    api("POST", "dispatches/" + dispatch.id + "/conference/", { service: service }).then(function () {
      text($("join-said"), W.joined.replace("%s", button.textContent.replace("☎ ", "")));
    }).catch(function (err) {
      text($("join-said"), "");
      text($("join-error"), (err && err.message) || W.failed);
    }).then(function () { button.disabled = false; });
  }

  root.addEventListener("console:call", function (e) {
    var next = e.detail;
    if (!next || !call || next.id !== call.id) text($("need-help-said"), "");
    call = next;
    renderHelp();
    renderJoin();
  });
  root.addEventListener("console:dispatch", function (e) {
    dispatch = e.detail;
    renderJoin();
  });
  renderHelp();
})();
