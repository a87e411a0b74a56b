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
    what.textContent = " " + (labels[event.type] || event.type);
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

  // The open-cases table is re-read from the server (one request per burst of case events),
  // so it is rendered and authorised exactly as on page load.
  var pending = null;
  function refreshCases() {
    clearTimeout(pending);
    pending = setTimeout(function () {
      var section = document.getElementById("open-cases");
      if (!section) return;
      fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("open-cases");
          if (fresh) section.innerHTML = fresh.innerHTML;
        })
        .catch(function () { /* the next event or reconnect refreshes again */ });
    }, 250);
  }
  Live.on("case.*", refreshCases);
  Live.on("person.updated", refreshCases);
  Live.on("resync", refreshCases);
})();
