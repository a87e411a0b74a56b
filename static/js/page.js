/* Small behaviours every page has, kept out of the HTML so the CSP can forbid inline script:
   a <select data-autosubmit> submits its form on change; a <button data-print> prints the page. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("[data-print]");
    if (el) window.print();
  });
})();
