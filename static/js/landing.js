/* Landing pages: a live activity feed, and the open-cases table refreshed on case events. */
(function () {
  "use strict";
  if (!window.Live) return;
  var feed = document.getElementById("live-feed");
  var labels = {};
  try {
    labels = JSON.parse(document.getElementById("live-labels").textContent);
  } catch (e) {
    /* labels are cosmetic */
  }
  var FEED_KEPT = 30;
  var timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  Live.on("*", function (event, meta) {
    if (!feed) return;
    var empty = feed.querySelector(".live-feed-empty");
    if (empty) empty.remove();
    var li = document.createElement("li");
    li.dataset.eventId = event.id;
    li.dataset.type = event.type;
    li.className = "live-feed-item" + (meta.replayed ? " replayed" : " fresh");
    var when = document.createElement("time");
    when.dateTime = event.at;
    when.textContent = timeFormat.format(new Date(event.at));
    var what = document.createElement("span");
    what.textContent = " " + (labels[event.type] || labels["*"] || event.type);
    li.appendChild(when);
    li.appendChild(what);
    if (event.case) {
      var a = document.createElement("span");
      a.className = "muted";
      a.textContent = " · " + (labels["case"] || "Case") + " #" + event.case;
      li.appendChild(a);
    }
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > FEED_KEPT) feed.removeChild(feed.lastChild);
  });

  // Live regions: any element with an id and data-live-refresh="type type.* ..." is re-read from
  // the server on those events (one request per burst), so it is rendered and authorised exactly
  // as on page load. A region someone is typing in is left alone until they leave it.
  var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live-refresh][id]"));
  var pending = null;
  var stale = new Set();

  function busy(el) {
    return el.contains(document.activeElement) && document.activeElement !== document.body;
  }

  function refresh(ids) {
    ids.forEach(function (id) { stale.add(id); });
    clearTimeout(pending);
    pending = setTimeout(function () {
      var wanted = Array.from(stale).filter(function (id) {
        var el = document.getElementById(id);
        return el && !busy(el);
      });
      if (!wanted.length) return;
      say(wanted, "loading");
      fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { say(wanted, "error"); return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          wanted.forEach(function (id) {
            var el = document.getElementById(id);
            var fresh = doc.getElementById(id);
            if (el && fresh && !busy(el)) {
              el.innerHTML = fresh.innerHTML;
              stale.delete(id);
            }
          });
        })
        .catch(function () { say(wanted, "error"); /* the next event or reconnect retries */ });
    }, 250);
  }

  // A region's own line (.region-state, with data-loading and data-error words) says that it
  // is being updated, or that the update failed; the fresh copy replaces it when one arrives.
  function say(ids, state) {
    ids.forEach(function (id) {
      var el = document.getElementById(id);
      var line = el && el.querySelector(".region-state");
      if (!line) return;
      line.textContent = line.dataset[state] || "";
      line.hidden = false;
    });
  }

  function matches(pattern, type) {
    return pattern === type || pattern === "*" ||
      (pattern.slice(-2) === ".*" && type.indexOf(pattern.slice(0, -1)) === 0);
  }

  Live.on("*", function (event) {
    var ids = regions.filter(function (el) {
      return el.dataset.liveRefresh.split(/\s+/).some(function (p) { return matches(p, event.type); });
    }).map(function (el) { return el.id; });
    if (ids.length) refresh(ids);
  });
  Live.on("resync", function () { refresh(regions.map(function (el) { return el.id; })); });
  document.addEventListener("focusout", function () { if (stale.size) refresh([]); });
})();
