/* The console's link to the safety plan (安全计划) of the call's case: shown while a call with a
 * case is in hand (console.js announces it with "console:call"); the plan page opens beside the
 * console so the call stays on screen.
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  var dock = document.getElementById("safety-plan-dock");
  var link = document.getElementById("safety-plan-open");
  if (!root || !dock || !link) return;
  var pattern = link.dataset.href;

  root.addEventListener("console:call", function (e) {
    var call = e.detail;
    var caseId = call && (call.case || (call.history && call.history.case && call.history.case.id));
    dock.hidden = !caseId;
    link.href = caseId ? pattern.replace("/0/", "/" + caseId + "/") : "#";
  });
})();
