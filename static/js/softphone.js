/* The console's softphone (浏览器软电话): Twilio's Voice JS SDK (vendored, window.Twilio.Device).
 *
 * The server dials the operator's browser (client:operator-<id>) into the call's conference once
 * they accept; this script answers that leg by itself when the console holds the call, else it
 * rings with an Answer button (a transfer to this operator). Mute is local to the browser; hold
 * and hang-up go through the API, so the caller hears hold music and stays in the conference.
 * Where browser calling cannot work (no token, no SDK, a device error) it says where calls ring
 * instead (the desk phone or SIP address on the profile) and lets the operator choose.
 */
(function () {
  "use strict";

  var box = document.getElementById("softphone");
  var root = document.getElementById("console");
  if (!box || !root) return;
  var API = root.dataset.api;
  var CFG = JSON.parse(document.getElementById("softphone-config").textContent);
  var T = CFG.messages;
  var ME = parseInt(root.dataset.user, 10);
  var $ = function (id) { return document.getElementById(id); };

  var state = {
    device: null,       // Twilio.Device, once registered with a token
    call: null,         // the browser's call leg (Twilio.Call)
    pending: null,      // an incoming leg waiting for the console's call
    consoleCall: null,  // the call the console holds (REST representation)
    onHold: false,
    where: CFG.device,  // where calls ring (presence device)
    broken: "",         // why the browser phone is unavailable, "" when it works
    warnings: {},
    hungUp: {},         // calls this console hung up (the call stays in progress for triage)
  };

  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  function api(method, path, body) {
    return window.ConsoleApi.request(method, API + path, body);
  }

  function showError(message) { text($("sp-error"), message || ""); }

  /* --- what is shown ---------------------------------------------------------------- */

  // A text conversation (SMS, web chat) has no voice leg: no hold, hang-up or keypad beside it.
  var TEXT = ["sms", "webchat", "wechat"];

  function textInHand() {
    var c = state.consoleCall;
    return !!c && TEXT.indexOf(c.channel) >= 0;
  }

  function live() {
    var c = state.consoleCall;
    var talking = c && c.status === "in_progress" && c.operator === ME && !c.ended_at;
    return talking && !textInHand() && !state.hungUp[c.id] ? c : null;
  }

  function render() {
    var call = state.call;
    var ringing = !!state.pending && !call;
    var inCall = !!call;
    var status;
    if (state.where !== "browser") status = T.elsewhere.replace("%s", CFG.devices[state.where] || state.where);
    else if (state.broken) status = T.unavailable;
    else if (ringing) status = T.ringing;
    else if (inCall && state.onHold) status = T.on_hold;
    else if (inCall && call.status && call.status() === "connecting") status = T.connecting;
    else if (inCall) status = T.in_call;
    else if (state.device && state.device.state === "registered") status = T.ready;
    else if (state.device) status = T.offline;
    else status = T.starting;
    text($("sp-status"), status);
    box.dataset.state = ringing ? "ringing" : inCall ? (state.onHold ? "held" : "in-call")
      : state.broken || state.where !== "browser" ? "fallback" : state.device ? "ready" : "starting";

    $("sp-answer").hidden = !ringing;
    $("sp-mute").hidden = !inCall;
    // Hold and hang-up act on the conference: they work whichever device rings.
    $("sp-hold").hidden = !live();
    $("sp-hangup").hidden = !(inCall || ringing || live());
    text($("sp-hangup"), ringing ? T.decline : T.hang_up);
    var muted = inCall && call.isMuted && call.isMuted();
    $("sp-mute").setAttribute("aria-pressed", muted ? "true" : "false");
    text($("sp-mute"), muted ? T.unmute : T.mute);
    $("sp-hold").setAttribute("aria-pressed", state.onHold ? "true" : "false");
    text($("sp-hold"), state.onHold ? T.resume : T.hold);
    $("sp-keypad").hidden = !inCall;
    $("sp-audio").hidden = !state.device;
    // Beside a text conversation the phone is out of the way, unless a leg rings or is live.
    box.hidden = textInHand() && !ringing && !inCall;
    $("sp-device").value = state.where;
    renderFallback();
    renderWarnings();
  }

  function renderFallback() {
    var show = state.where !== "browser" || !!state.broken;
    $("sp-fallback").hidden = !show;
    if (!show) return;
    text($("sp-fallback-why"), state.where === "browser" ? state.broken : "");
    var where;
    if (state.where === "sip" && CFG.sip_address) where = T.fallback_sip.replace("%s", CFG.sip_address);
    else if (state.where === "desk_phone" && CFG.desk_phone) where = T.fallback_desk.replace("%s", CFG.desk_phone);
    // The browser is chosen but cannot ring: calls reach nobody until another device is chosen.
    else if (state.where === "browser" && CFG.desk_phone) where = T.offer_desk.replace("%s", CFG.desk_phone);
    else if (state.where === "browser" && CFG.sip_address) where = T.offer_sip.replace("%s", CFG.sip_address);
    else where = T.fallback_none;
    text($("sp-fallback-where"), where);
  }

  function renderWarnings() {
    var list = $("sp-warnings");
    list.innerHTML = "";
    Object.keys(state.warnings).forEach(function (name) {
      var li = document.createElement("li");
      li.dataset.warning = name;
      text(li, T.warnings[name] || T.warning_other.replace("%s", name));
      list.append(li);
    });
  }

  /* --- the device: token, registration, refresh --------------------------------------- */

  function fetchToken() {
    return api("POST", "operators/me/voice-token/", {});
  }

  function unavailable(message) {
    state.broken = message;
    render();
  }

  function start() {
    if (state.where !== "browser") { render(); return; }
    if (!window.Twilio || !window.Twilio.Device) { unavailable(T.sdk_missing); return; }
    fetchToken().then(function (answer) {
      var device = new window.Twilio.Device(answer.token, {
        codecPreferences: ["opus", "pcmu"],
        edge: CFG.edge,
        closeProtection: true,
        logLevel: "warn",
      });
      state.device = device;
      state.broken = "";
      device.on("registered", render);
      device.on("unregistered", render);
      device.on("error", deviceError);
      device.on("incoming", incoming);
      device.on("tokenWillExpire", function () {
        fetchToken().then(function (fresh) { device.updateToken(fresh.token); })
          .catch(function (err) { showError(err.message || T.network_error); });
      });
      if (device.audio) {
        device.audio.on("deviceChange", fillAudioDevices);
        fillAudioDevices();
      }
      render();
      return device.register();
    }).catch(function (err) {
      if (err && err.status === 409) unavailable(T.not_configured);
      else if (err && err.status) unavailable(err.message);
      else deviceError(err);
    });
  }

  // Twilio's token errors (20101-20107, 31204-31207) are mended by a fresh token; anything
  // else means the browser cannot take calls now.
  var TOKEN_ERRORS = [20101, 20103, 20104, 20105, 20107, 31204, 31205, 31206, 31207];

  function deviceError(err) {
    var code = err && err.code;
    if (state.device && TOKEN_ERRORS.indexOf(code) >= 0) {
      fetchToken().then(function (fresh) { state.device.updateToken(fresh.token); })
        .catch(function () { unavailable(T.device_error.replace("%s", code)); });
      return;
    }
    if (code === 31401 || code === 31208 || (err && err.name === "NotAllowedError")) {
      micWarning(T.mic_denied);
      return;
    }
    unavailable(T.device_error.replace("%s", code || (err && err.message) || "?"));
  }

  /* --- the call leg ------------------------------------------------------------------- */

  function incoming(call) {
    state.pending = call;
    call.on("cancel", function () { legEnded(call); });
    call.on("disconnect", function () { legEnded(call); });
    call.on("reject", function () { legEnded(call); });
    call.on("accept", render);
    call.on("mute", render);
    call.on("error", deviceError);
    call.on("warning", function (name) { state.warnings[name] = true; render(); });
    call.on("warning-cleared", function (name) { delete state.warnings[name]; render(); });
    // The console holds the call the server just dialled us into: answer without a click.
    if (live()) answer(); else render();
  }

  function answer() {
    var call = state.pending;
    if (!call) return;
    state.pending = null;
    state.call = call;
    state.onHold = false;
    call.accept();
    render();
  }

  function legEnded(call) {
    if (state.pending === call) state.pending = null;
    if (state.call === call) state.call = null;
    state.warnings = {};
    state.onHold = false;
    render();
  }

  function hangUp() {
    showError("");
    var c = live();
    var leg = state.call;
    var ringing = state.pending;
    if (ringing && !leg) { state.pending = null; ringing.reject(); render(); return; }
    // The conference ends for the caller through the API; the browser's leg is dropped at
    // once either way, so a failed request never leaves the operator's microphone open.
    var done = c ? api("POST", "calls/" + c.id + "/hang-up/", {}) : Promise.resolve();
    done.then(function () { if (c) state.hungUp[c.id] = true; })
      .catch(function (err) { showError(err.message || T.network_error); })
      .then(function () { if (leg) leg.disconnect(); render(); });
  }

  function toggleHold() {
    var c = live();
    if (!c) return;
    showError("");
    var on = !state.onHold;
    $("sp-hold").disabled = true;
    api("POST", "calls/" + c.id + "/hold/", { on: on }).then(function () {
      state.onHold = on;
    }).catch(function (err) {
      showError(err.message || T.network_error);
    }).then(function () {
      $("sp-hold").disabled = false;
      render();
    });
  }

  function toggleMute() {
    if (!state.call) return;
    state.call.mute(!state.call.isMuted());
    render();
  }

  /* --- audio devices and the microphone ----------------------------------------------- */

  function fillSelect(select, devices, current) {
    select.innerHTML = "";
    var def = document.createElement("option");
    def.value = "";
    text(def, T.default_device);
    select.append(def);
    devices.forEach(function (info, id) {
      if (id === "default") return;
      var opt = document.createElement("option");
      opt.value = id;
      text(opt, info.label || id);
      select.append(opt);
    });
    select.value = current && devices.has(current) ? current : "";
  }

  function fillAudioDevices() {
    var audio = state.device && state.device.audio;
    if (!audio) return;
    var input = audio.inputDevice ? audio.inputDevice.deviceId : "";
    fillSelect($("sp-input"), audio.availableInputDevices, input);
    var outputs = $("sp-output");
    outputs.disabled = !audio.isOutputSelectionSupported;
    $("sp-output-note").hidden = !!audio.isOutputSelectionSupported;
    text($("sp-output-note"), T.no_output_choice);
    var speaker = "";
    audio.speakerDevices.get().forEach(function (info) { speaker = info.deviceId; });
    fillSelect(outputs, audio.availableOutputDevices, speaker);
  }

  function micWarning(message) {
    $("sp-mic").hidden = !message;
    text($("sp-mic"), message || "");
  }

  function checkMicrophone() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      micWarning(T.mic_missing);
      return;
    }
    if (!navigator.permissions || !navigator.permissions.query) return;
    navigator.permissions.query({ name: "microphone" }).then(function (status) {
      function show() { micWarning(status.state === "denied" ? T.mic_denied : ""); }
      show();
      status.onchange = show;
    }).catch(function () { /* a browser that cannot say: the first call asks */ });
  }

  /* --- wiring ------------------------------------------------------------------------- */

  $("sp-answer").addEventListener("click", answer);
  $("sp-hangup").addEventListener("click", hangUp);
  $("sp-hold").addEventListener("click", toggleHold);
  $("sp-mute").addEventListener("click", toggleMute);
  $("sp-keypad").addEventListener("click", function (e) {
    var key = e.target.closest("button[data-digit]");
    if (key && state.call) state.call.sendDigits(key.dataset.digit);
  });
  $("sp-input").addEventListener("change", function (e) {
    var audio = state.device && state.device.audio;
    if (!audio) return;
    var done = e.target.value ? audio.setInputDevice(e.target.value) : audio.unsetInputDevice();
    Promise.resolve(done).then(function () { micWarning(""); })
      .catch(function () { micWarning(T.mic_failed); });
  });
  $("sp-output").addEventListener("change", function (e) {
    var audio = state.device && state.device.audio;
    if (!audio || !audio.isOutputSelectionSupported) return;
    Promise.resolve(audio.speakerDevices.set(e.target.value || "default"))
      .catch(function (err) { showError(err.message); });
  });
  $("sp-device").addEventListener("change", function (e) {
    var choice = e.target.value;
    showError("");
    api("PUT", "operators/me/presence/", { device: choice }).then(function (p) {
      state.where = p.device;
      if (state.where === "browser" && !state.device) { state.broken = ""; start(); }
      render();
    }).catch(function (err) {
      var words = err.data && err.data.fields && err.data.fields.device;
      showError(words ? [].concat(words).join(" ") : err.message || T.network_error);
      render();
    });
  });
  root.addEventListener("console:call", function (e) {
    var before = live();
    state.consoleCall = e.detail;
    if (!before || !live() || before.id !== live().id) state.onHold = false;
    if (state.pending && live()) answer(); else render();
  });

  checkMicrophone();
  render();
  start();
})();
