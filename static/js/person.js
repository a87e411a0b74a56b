/* The console's person panel and search (hotline/_person.html, hotline/_person_search.html).
 *
 * Identify: what is known of the person on the call (name, alias, age, school, region, language,
 * numbers, guardian) is saved through PATCH /api/v1/people/<id>/. Flags are set and cleared
 * through /api/v1/people/<id>/flags/. Search is GET /api/v1/people/?search=. console.js tells
 * this script which call is in hand ("console:call") and is asked to reload it ("console:reload").
 */
(function () {
  "use strict";

  var root = document.getElementById("console");
  var messages = document.getElementById("person-messages");
  if (!root || !messages) return;
  var API = root.dataset.api;
  var T = JSON.parse(messages.textContent);
  var $ = function (id) { return document.getElementById(id); };
  var state = { call: null, person: null, regionSearch: null, clearing: null };

  function api(method, path, body) {
    return window.ConsoleApi.request(method, API + path, body);
  }

  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  // The message, then each field in words, with the field highlighted.
  function showError(out, err, form) {
    form.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    var fields = (err && err.data && err.data.fields) || {};
    var parts = [];
    Object.keys(fields).forEach(function (name) {
      var input = form.querySelector("[name='" + (INPUT_OF[name] || name) + "']");
      if (input) input.classList.add("invalid");
      parts.push((T.fields[name] || name) + "：" + flatten(fields[name]).join(" "));
    });
    text(out, ((err && err.message) || T.network_error) + (parts.length ? "（" + parts.join("；") + "）" : ""));
  }
  var INPUT_OF = { birth_year: "age_or_year", home_region: "home_region_search", guardians: "guardian_phone" };

  function flatten(value) {
    if (Array.isArray(value)) return [].concat.apply([], value.map(flatten));
    if (value && typeof value === "object") {
      return [].concat.apply([], Object.keys(value).map(function (k) { return flatten(value[k]); }));
    }
    return [String(value)];
  }

  /* --- the person on the call -------------------------------------------------------- */

  function profileLine(p) {
    var parts = [];
    if (p.gender && p.gender !== "unknown") parts.push(T.genders[p.gender]);
    if (p.birth_year) parts.push(T.age.replace("%s", new Date().getFullYear() - p.birth_year));
    if (p.school) parts.push(p.school);
    if (p.home_region_name) parts.push(p.home_region_name);
    if (p.language) parts.push(T.languages[p.language]);
    var numbers = [p.phone].concat(p.phones || []).filter(Boolean);
    if (numbers.length) parts.push(numbers.join("、"));
    return parts.join(" · ");
  }

  function renderFlags(p) {
    var ul = $("person-flags");
    ul.innerHTML = "";
    (p ? p.flags : []).forEach(function (flag) {
      var li = document.createElement("li");
      li.className = "person-flag flag-" + flag.kind;
      li.dataset.kind = flag.kind;
      var what = document.createElement("strong");
      text(what, flag.kind_display);
      var why = document.createElement("span");
      var extra = [flag.reason];
      if (flag.expires_at) extra.push(T.until.replace("%s", new Date(flag.expires_at).toLocaleDateString()));
      if (flag.set_by_name) extra.push(T.set_by.replace("%s", flag.set_by_name));
      text(why, " " + extra.join(" · ") + " ");
      var clear = document.createElement("button");
      clear.type = "button";
      clear.className = "small flag-clear";
      text(clear, T.clear);
      // The API keeps why a flag was cleared: ask for it in a small form beside the flag.
      var form = document.createElement("form");
      form.className = "flag-clear-form";
      // Kept open across a re-render (a live event reloads the call while one types).
      form.hidden = state.clearing !== flag.id;
      var label = document.createElement("label");
      text(label, T.clear_why + " ");
      var input = document.createElement("input");
      input.name = "reason";
      input.maxLength = 300;
      label.append(input);
      var go = document.createElement("button");
      go.type = "submit";
      go.className = "small";
      text(go, T.clear_confirm);
      var out = document.createElement("p");
      out.className = "error small";
      out.setAttribute("role", "alert");
      form.append(label, out, go);
      clear.addEventListener("click", function () {
        form.hidden = !form.hidden;
        state.clearing = form.hidden ? null : flag.id;
        if (!form.hidden) input.focus();
      });
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (!input.value.trim()) {
          input.classList.add("invalid");
          text(out, T.fields.reason + "：" + T.clear_why_needed);
          return;
        }
        api("POST", "people/" + p.id + "/flags/" + flag.id + "/clear/", { reason: input.value.trim() })
          .then(function () { state.clearing = null; return reloadCall(); })
          .catch(function (err) { showError(out, err, form); });
      });
      li.append(what, why, clear, form);
      ul.append(li);
    });
  }

  function fillForm(p) {
    var form = $("identify");
    form.reset();
    form.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    text($("identify-error"), "");
    var el = form.elements;
    el.name.value = p.name || "";
    el.alias.value = p.alias || "";
    el.gender.value = p.gender || "unknown";
    el.age_or_year.value = p.birth_year || "";
    el.school.value = p.school || "";
    el.language.value = p.language || "";
    el.home_region.value = p.home_region || "";
    el.home_region_search.value = p.home_region_name || "";
    el.phones.value = [p.phone].concat(p.phones || []).filter(Boolean).join("\n");
    var g = (p.guardians || [])[0] || {};
    el.guardian_name.value = g.name || "";
    el.guardian_relation.value = g.relation || "";
    el.guardian_phone.value = g.phone || "";
  }

  function showPerson(call) {
    var p = call && call.history ? call.history.person : null;
    var samePerson = state.person && p && state.person.id === p.id;
    state.call = call;
    state.person = p;
    $("person-panel").hidden = !p;
    if (!p) return;
    text($("person-profile"), profileLine(p));
    renderFlags(p);
    // Not while the operator is typing into the form for this same person.
    if (!samePerson || !$("identify-details").open) fillForm(p);
  }

  function reloadCall() {
    root.dispatchEvent(new CustomEvent("console:reload"));
  }

  // An age (under 150) or a year of birth, as the caller says it.
  function birthYear(value) {
    var n = parseInt(value, 10);
    if (!value.trim() || isNaN(n)) return null;
    return n < 150 ? new Date().getFullYear() - n : n;
  }

  function saveIdentify(event) {
    event.preventDefault();
    if (!state.person) return;
    var form = $("identify");
    var el = form.elements;
    var numbers = el.phones.value.split(/[\n,，;；]+/).map(function (s) { return s.trim(); }).filter(Boolean);
    var body = {
      name: el.name.value.trim(),
      alias: el.alias.value.trim(),
      gender: el.gender.value,
      birth_year: birthYear(el.age_or_year.value),
      school: el.school.value.trim(),
      language: el.language.value,
      home_region: el.home_region.value || null,
      phone: numbers[0] || "",
      phones: numbers.slice(1),
    };
    if (el.guardian_name.value.trim() || el.guardian_phone.value.trim()) {
      body.guardians = [{
        name: el.guardian_name.value.trim(),
        relation: el.guardian_relation.value.trim(),
        phone: el.guardian_phone.value.trim(),
      }];
    }
    text($("identify-error"), "");
    api("PATCH", "people/" + state.person.id + "/", body).then(function () {
      text($("identify-error"), T.saved);
      $("identify-details").open = false;
      reloadCall();
    }).catch(function (err) { showError($("identify-error"), err, form); });
  }

  function searchRegions() {
    if (!state.regionSearch) {
      state.regionSearch = window.ConsoleApi.regionPicker({
        input: $("person-region-search"),
        list: $("person-region-results"),
        code: $("identify").elements.home_region,
        url: API,
        emptyText: T.no_place_found,
      });
    }
    state.regionSearch();
  }

  function setFlag(event) {
    event.preventDefault();
    if (!state.person) return;
    var form = $("flag-form");
    var body = { kind: form.elements.kind.value, reason: form.elements.reason.value.trim() };
    if (form.elements.expires_on.value) {
      body.expires_at = new Date(form.elements.expires_on.value + "T23:59:59").toISOString();
    }
    text($("flag-error"), "");
    api("POST", "people/" + state.person.id + "/flags/", body).then(function () {
      form.reset();
      $("flag-details").open = false;
      reloadCall();
    }).catch(function (err) { showError($("flag-error"), err, form); });
  }

  /* --- search ------------------------------------------------------------------------ */

  function search(event) {
    event.preventDefault();
    var q = $("person-search").elements.search.value.trim();
    var out = $("person-results");
    var status = $("person-search-status");
    out.innerHTML = "";
    if (!q) { text(status, T.too_short); return; }
    text(status, T.searching);
    api("GET", "people/?limit=20&search=" + encodeURIComponent(q)).then(function (data) {
      var people = data.results || data;
      text(status, people.length ? T.found.replace("%s", people.length) : T.no_results);
      people.forEach(function (p) { out.append(resultItem(p)); });
    }).catch(function (err) { text(status, err.message || T.network_error); });
  }

  function resultItem(p) {
    var li = document.createElement("li");
    li.className = "person-result";
    li.dataset.person = p.id;
    var name = document.createElement("strong");
    text(name, p.display_name);
    var facts = document.createElement("div");
    facts.className = "muted";
    var cases = (p.cases || []).map(function (id) {
      return "#" + id + (id === p.open_case ? "（" + T.open_case + "）" : "");
    });
    text(facts, [profileLine(p), cases.length ? T.case + " " + cases.join(" ") : ""].filter(Boolean).join(" · "));
    li.append(name, facts);
    (p.flags || []).forEach(function (flag) {
      var tag = document.createElement("span");
      tag.className = "tag person-flag flag-" + flag.kind;
      tag.title = flag.reason;
      text(tag, flag.kind_display);
      li.append(" ", tag);
    });
    if (state.call && state.call.status === "in_progress" && (!state.person || state.person.id !== p.id)) {
      var use = document.createElement("button");
      use.type = "button";
      use.className = "small";
      text(use, T.use_for_call);
      use.addEventListener("click", function () {
        api("POST", "calls/" + state.call.id + "/identify/", {
          caller_relation: state.call.caller_relation || "unknown",
          person: p.id,
        }).then(reloadCall).catch(function (err) { text($("person-search-status"), err.message); });
      });
      li.append(" ", use);
    }
    return li;
  }

  root.addEventListener("console:call", function (e) { showPerson(e.detail); });
  $("identify").addEventListener("submit", saveIdentify);
  $("flag-form").addEventListener("submit", setFlag);
  $("person-region-search").addEventListener("input", searchRegions);
  $("person-search").addEventListener("submit", search);
})();
