/* Keyboard shortcuts of the operator console (shown in its legend): A accepts the next call,
 * E opens the one-key confirm (Enter on its focused button sends, Esc cancels), W finishes the
 * wrap-up. Typed into a field they are letters; with Alt they work from anywhere. Each one
 * presses the button on the page, so the page's own checks and messages apply.
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };

  function visible(el) { return !!el && !el.disabled && el.getClientRects().length > 0; }

  function typing(target) {
    return !!target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  var ACTIONS = {
    KeyA: function () {
      var accept = $("accept-next");
      if (!visible(accept)) return false;
      accept.click();
      return true;
    },
    KeyE: function () {
      var oneKey = $("one-key");
      if (!visible(oneKey)) return false;
      oneKey.click();  // opens the confirm box; nothing is sent until it is confirmed
      return true;
    },
    KeyW: function () {
      var form = $("wrap-up");
      if (!form || !visible(form.querySelector("button[type=submit]"))) return false;
      form.requestSubmit();
      return true;
    },
  };

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.isComposing || e.ctrlKey || e.metaKey || e.repeat) return;
    if (e.key === "Escape" && !$("one-key-confirm").hidden) {
      $("one-key-cancel").click();
      e.preventDefault();
      return;
    }
    var act = ACTIONS[e.code];
    if (!act || e.shiftKey) return;
    if (typing(e.target) && !e.altKey) return;
    if (act()) e.preventDefault();
  });
})();
