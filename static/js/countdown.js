/* Deadline countdown on the counselling inbox: minutes left until each referral must be
   acknowledged. The words come from data-min-label / data-overdue-label on the inbox. */
(function () {
  "use strict";
  var inbox = document.getElementById("inbox");
  if (!inbox) return;
  var minLabel = inbox.dataset.minLabel || "min";
  var overdueLabel = inbox.dataset.overdueLabel || "Overdue";
  function tick() {
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Math.round((new Date(el.dataset.due) - new Date()) / 60000);
      el.textContent = left > 0 ? left + " " + minLabel : overdueLabel;
      el.classList.toggle("overdue", left <= 0);
    });
  }
  tick();
  setInterval(tick, 30000);
})();
