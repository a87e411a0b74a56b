/* Test only: a stand-in for the Twilio Voice SDK's Device and Call, installed before the page's
 * scripts (the vendored SDK keeps a Twilio.Device already defined). It records what the console
 * asks of it and lets the test raise the SDK's events: window.softphoneStub.
 */
(function () {
  "use strict";

  function Emitter() { this.handlers = {}; }
  Emitter.prototype.on = function (name, fn) {
    (this.handlers[name] = this.handlers[name] || []).push(fn);
    return this;
  };
  Emitter.prototype.emit = function (name) {
    var args = Array.prototype.slice.call(arguments, 1);
    (this.handlers[name] || []).forEach(function (fn) { fn.apply(null, args); });
  };

  var stub = { devices: [], calls: [], log: [] };
  function record(what) { stub.log.push(what); }

  function StubCall(params) {
    Emitter.call(this);
    this.parameters = params || {};
    this.muted = false;
    this.digits = "";
    this.state = "pending";
  }
  StubCall.prototype = Object.create(Emitter.prototype);
  StubCall.prototype.accept = function () { record("accept"); this.state = "open"; this.emit("accept", this); };
  StubCall.prototype.reject = function () { record("reject"); this.state = "closed"; this.emit("reject"); };
  StubCall.prototype.disconnect = function () { record("disconnect"); this.state = "closed"; this.emit("disconnect", this); };
  StubCall.prototype.mute = function (on) { record("mute:" + on); this.muted = on; this.emit("mute", on, this); };
  StubCall.prototype.isMuted = function () { return this.muted; };
  StubCall.prototype.sendDigits = function (d) { record("digits:" + d); this.digits += d; };
  StubCall.prototype.status = function () { return this.state; };

  function device(label, id) { return { deviceId: id, label: label, kind: "audioinput" }; }

  function StubDevice(token, options) {
    Emitter.call(this);
    this.token = token;
    this.options = options;
    this.state = "unregistered";
    var audio = new Emitter();
    audio.availableInputDevices = new Map([
      ["default", device("默认", "default")], ["mic-usb", device("USB 耳麦", "mic-usb")],
    ]);
    audio.availableOutputDevices = new Map([
      ["default", device("默认", "default")], ["spk-usb", device("USB 耳麦", "spk-usb")],
    ]);
    audio.isOutputSelectionSupported = true;
    audio.inputDevice = null;
    audio.setInputDevice = function (id) { record("input:" + id); return Promise.resolve(); };
    audio.unsetInputDevice = function () { record("input:unset"); return Promise.resolve(); };
    var speakers = new Set();
    audio.speakerDevices = {
      get: function () { return speakers; },
      set: function (id) { record("speaker:" + id); return Promise.resolve(); },
    };
    this.audio = audio;
    stub.devices.push(this);
  }
  StubDevice.prototype = Object.create(Emitter.prototype);
  StubDevice.prototype.register = function () {
    record("register");
    var self = this;
    return Promise.resolve().then(function () { self.state = "registered"; self.emit("registered"); });
  };
  StubDevice.prototype.updateToken = function (token) { record("updateToken"); this.token = token; };
  StubDevice.prototype.destroy = function () { record("destroy"); };

  // What the test calls: a leg arriving (the server dialling the operator's client), a warning.
  stub.ring = function () {
    var call = new StubCall({ From: "hotline" });
    stub.calls.push(call);
    stub.devices[stub.devices.length - 1].emit("incoming", call);
    return stub.calls.length - 1;
  };
  stub.current = function () { return stub.calls[stub.calls.length - 1]; };

  window.Twilio = { Device: StubDevice, Call: StubCall };
  window.softphoneStub = stub;
})();
