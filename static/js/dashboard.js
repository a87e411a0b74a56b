/* The one-screen view: ECharts over the plain tables, re-read on live events (debounced) and
 * every few seconds (decision makers' consoles get no case events). Tables stay the source:
 * every chart is drawn from the same JSON the tables are rendered from, read from the data URL
 * at once on load (the page carries no copy of it: its codes are for the script, not to show). */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) return;
  var tables = {};
  var charts = {};
  var DEBOUNCE_MS = 1500;
  var pollSeconds = parseInt(root.dataset.poll, 10) || 15;
  var updated = document.getElementById("dash-updated");
  var timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function col(table, key) {
    return table.rows.map(function (r) { return r[key] == null ? 0 : r[key]; });
  }
  function label(table, key) {
    var c = table.columns.filter(function (c) { return c.key === key; })[0];
    return c ? c.label : key;
  }
  function bar(table, cat, val, horizontal) {
    var names = col(table, cat).map(String);
    // Every name shown (interval 0), none over its neighbour: side by side names that do not fit
    // (English district names, or many districts) are stood upright, and any too long is cut with "…"
    // (the tooltip and the table below give it whole); containLabel keeps them in the chart.
    var longest = names.reduce(function (m, n) { return Math.max(m, n.length); }, 0);
    var crowded = !horizontal && names.length * Math.max(longest, 3) > 24;
    var axisCat = {
      type: "category", data: names,
      axisLabel: {
        interval: 0, rotate: crowded ? 90 : 0, hideOverlap: false,
        width: horizontal ? 110 : (crowded ? 96 : 72), overflow: "truncate", ellipsis: "…",
      },
    };
    var axisVal = { type: "value", minInterval: 1 };
    return {
      grid: { left: 8, right: 28, top: 20, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: horizontal ? axisVal : axisCat,
      yAxis: horizontal ? Object.assign(axisCat, { inverse: true }) : axisVal,
      series: [{ type: "bar", name: label(table, val), data: col(table, val), label: { show: true, position: horizontal ? "right" : "top" } }],
    };
  }
  var builders = {
    open_cases_by_stage: function (t) {
      return {
        tooltip: { trigger: "item" },
        series: [{
          type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "20%",
          label: { show: true, position: "inside", formatter: "{b}: {c}" },
          data: t.rows.map(function (r) { return { name: r.stage, value: r.cases }; }),
        }],
      };
    },
    open_cases_by_district: function (t) { return bar(t, "district", "cases", false); },
    open_cases_by_risk: function (t) { return bar(t, "risk", "cases", true); },
    time_in_stage: function (t) { return bar(t, "stage", "median_hours", true); },
    open_alerts: function (t) {
      var o = bar(t, "severity", "open", true);
      o.series.push({ type: "bar", name: label(t, "acknowledged"), data: col(t, "acknowledged") });
      o.legend = { bottom: 0 };
      return o;
    },
    repeat_callers: function (t) {
      return {
        grid: { left: 40, right: 16, top: 16, bottom: 28 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: col(t, "week") },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "line", name: label(t, "people"), data: col(t, "people") }],
      };
    },
    weekly_trends: function (t) {
      return {
        grid: { left: 48, right: 48, top: 32, bottom: 40 },
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        xAxis: { type: "category", data: col(t, "week") },
        yAxis: [{ type: "value", name: label(t, "calls") }, { type: "value" }],
        series: [
          { type: "line", name: label(t, "calls"), data: col(t, "calls"), showSymbol: false },
          { type: "line", name: label(t, "cases_opened"), data: col(t, "cases_opened"), yAxisIndex: 1, showSymbol: false },
          { type: "bar", name: label(t, "dispatches"), data: col(t, "dispatches"), yAxisIndex: 1 },
        ],
      };
    },
    call_pattern: function (t) {
      var hours = t.columns.slice(1).map(function (c) { return c.key; });
      var data = [];
      var max = 1;
      t.rows.forEach(function (r, y) {
        hours.forEach(function (h, x) { data.push([x, y, r[h]]); max = Math.max(max, r[h]); });
      });
      return {
        grid: { left: 48, right: 16, top: 8, bottom: 56 },
        tooltip: { position: "top" },
        xAxis: { type: "category", data: t.columns.slice(1).map(function (c) { return c.label; }) },
        yAxis: { type: "category", data: col(t, "weekday"), inverse: true },
        visualMap: { min: 0, max: max, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120 },
        series: [{ type: "heatmap", data: data }],
      };
    },
  };

  function draw() {
    if (!window.echarts) return;
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (el) {
      var key = el.dataset.chart;
      if (!tables[key] || !builders[key]) return;
      if (!charts[key]) charts[key] = echarts.init(el, null, { renderer: "svg" });
      charts[key].setOption(builders[key](tables[key]), true);
    });
  }

  function cellNode(table, tableEl, row, key, index) {
    var td = document.createElement("td");
    var value = row[key] == null ? "" : row[key];
    var kind = tableEl.dataset.drillKind;
    if (index === 1 && kind && row.code) {
      var a = document.createElement("a");
      a.href = root.dataset.casesUrl + "?kind=" + encodeURIComponent(kind) + "&value=" +
        encodeURIComponent(row.code) + "&" + root.dataset.query;
      a.textContent = value;
      td.appendChild(a);
    } else {
      td.textContent = value;
    }
    return td;
  }

  function fill(table) {
    Array.prototype.forEach.call(
      document.querySelectorAll('table[data-table="' + table.key + '"]'),
      function (tableEl) {
        var body = document.createElement("tbody");
        table.rows.forEach(function (row) {
          var tr = document.createElement("tr");
          table.columns.forEach(function (c, i) { tr.appendChild(cellNode(table, tableEl, row, c.key, i)); });
          body.appendChild(tr);
        });
        if (!table.rows.length) {
          var tr = document.createElement("tr");
          var td = document.createElement("td");
          td.colSpan = table.columns.length;
          td.textContent = "—";
          tr.appendChild(td);
          body.appendChild(tr);
        }
        tableEl.replaceChild(body, tableEl.tBodies[0]);
      });
  }

  var inflight = false;
  function reload() {
    if (inflight) return;
    inflight = true;
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        tables = body.tables;
        Object.keys(tables).forEach(function (k) { fill(tables[k]); });
        draw();
        if (updated) updated.textContent = " · " + updated.dataset.label + " " + timeFormat.format(new Date(body.at));
        root.dataset.refreshed = body.at;
      })
      .catch(function () { /* the next event or poll tries again */ })
      .finally(function () { inflight = false; });
  }

  var pending = null;
  function soon() {
    clearTimeout(pending);
    pending = setTimeout(reload, DEBOUNCE_MS);
  }

  var types = (root.dataset.liveTypes || "").split(/\s+/).filter(Boolean);
  if (window.Live) {
    types.forEach(function (t) { Live.on(t, soon); });
    Live.on("resync", soon);
  }
  setInterval(function () { if (!document.hidden) reload(); }, pollSeconds * 1000);

  // Countdowns of unacknowledged dispatch legs tick between refreshes.
  setInterval(function () {
    var t = tables.open_dispatches;
    if (!t) return;
    var moved = false;
    t.rows.forEach(function (r) {
      if (r.seconds_left != null) { r.seconds_left -= 1; moved = true; }
    });
    if (moved) fill(t);
  }, 1000);

  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  reload();
  if (!window.echarts) window.addEventListener("load", draw);
  window.Dashboard = { reload: reload, tables: function () { return tables; } };
})();
