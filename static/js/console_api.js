/* The console scripts' one REST client (console.js, person.js, triage_draft.js): JSON in and
 * out with the CSRF token; a refusal is an Error with the answer's status and data (its words
 * and field errors), so each script shows it where the person is looking.
 */
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function request(method, url, body, keepalive) {
    var opts = {
      method: method,
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { Accept: "application/json", "X-CSRFToken": csrf() },
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = text ? JSON.parse(text) : null;
        if (!r.ok) {
          var err = new Error((data && data.detail) || r.statusText);
          err.status = r.status;
          err.data = data || {};
          throw err;
        }
        return data;
      });
    });
  }

  window.ConsoleApi = { request: request };
})();
