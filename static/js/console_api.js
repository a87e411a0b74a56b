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

  // The region picker (区县/乡镇): the places matching what is typed, a moment after typing
  // stops; choosing one fills the code field. ``opts``: input, list, code (elements), url
  // (the API's base), keep (which places to offer), emptyText; returns the search function.
  function regionPicker(opts) {
    var timer = null;
    function textOf(el, value) { el.textContent = value == null ? "" : String(value); }
    return function search() {
      clearTimeout(timer);
      opts.code.value = "";
      var q = opts.input.value.trim();
      var list = opts.list;
      if (!q) { list.innerHTML = ""; return; }
      timer = setTimeout(function () {
        request("GET", opts.url + "regions/?limit=20&q=" + encodeURIComponent(q)).then(function (data) {
          list.innerHTML = "";
          var rows = Array.isArray(data) ? data : data.results;
          rows.filter(opts.keep || function () { return true; }).forEach(function (r) {
            var li = document.createElement("li");
            li.setAttribute("role", "option");
            li.dataset.code = r.code;
            textOf(li, r.label);
            li.addEventListener("click", function () {
              opts.code.value = r.code;
              opts.input.value = r.label;
              list.innerHTML = "";
            });
            list.append(li);
          });
          if (!list.children.length) {
            var none = document.createElement("li");
            none.className = "muted";
            textOf(none, opts.emptyText);
            list.append(none);
          }
        });
      }, 200);
    };
  }

  window.ConsoleApi = { request: request, regionPicker: regionPicker };
})();
