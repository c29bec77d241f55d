/**
 * The page's own script, generic over every app: it polls `status.json` every `intervalMs` (only the samples after
 * the last one it has), keeps them for `windowMs`, and draws the charts with uPlot and the sections as cards and
 * sortable tables. Every text from the server goes through `textContent`: topic and app names come from clients.
 * Plain ES2020 in a string, so the page needs no build step and no second request.
 */
export const clientScript = String.raw`
(function () {
  "use strict";
  var palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
    "#4b5563", "#ea580c", "#0d9488", "#9333ea"];
  var state = { samples: [], doc: null, charts: {}, sorts: {}, lastT: undefined, intervalMs: 1000 };
  var root = document.getElementById("status");
  var conn = document.getElementById("conn");
  var updated = document.getElementById("updated");
  var banner = document.getElementById("error");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function merge(doc) {
    state.doc = doc;
    state.intervalMs = doc.intervalMs > 0 ? doc.intervalMs : 1000;
    var fresh = Array.isArray(doc.samples) ? doc.samples : [];
    if (state.lastT === undefined) state.samples = fresh.slice();
    else for (var i = 0; i < fresh.length; i++) if (fresh[i].t > state.lastT) state.samples.push(fresh[i]);
    if (state.samples.length > 0) {
      var newest = state.samples[state.samples.length - 1].t;
      var oldest = newest - (doc.windowMs > 0 ? doc.windowMs : 900000);
      var first = 0;
      while (first < state.samples.length && state.samples[first].t < oldest) first++;
      if (first > 0) state.samples = state.samples.slice(first);
      state.lastT = newest;
    }
  }

  function lines(spec) {
    return spec.series.concat(spec.detail || []);
  }

  function chartData(spec) {
    var names = lines(spec);
    var xs = [];
    var columns = names.map(function () { return []; });
    var points = 0;
    var nonzero = 0;
    for (var i = 0; i < state.samples.length; i++) {
      var sample = state.samples[i];
      xs.push(sample.t / 1000);
      var any = false;
      var moving = false;
      for (var s = 0; s < names.length; s++) {
        var value = sample.v ? sample.v[names[s]] : undefined;
        var ok = typeof value === "number" && isFinite(value);
        columns[s].push(ok ? value : null);
        if (ok) any = true;
        if (ok && value !== 0) moving = true;
      }
      if (any) points++;
      if (moving) nonzero++;
    }
    return { data: [xs].concat(columns), points: points, nonzero: nonzero };
  }

  function renderChart(spec, holder) {
    var key = spec.id + "\u0000" + spec.series.join("\u0000") + "\u0001" + (spec.detail || []).join("\u0000");
    var chart = state.charts[spec.id];
    var built = chartData(spec);
    // For tests and curious operators: how many samples have a value, and how many a value other than 0.
    holder.setAttribute("data-points", String(built.points));
    holder.setAttribute("data-nonzero", String(built.nonzero));
    holder.setAttribute("data-series", String(lines(spec).length));
    var width = Math.max(280, (holder.clientWidth || 600) - 4);
    if (chart && chart.key === key && chart.plot) {
      chart.plot.setData(built.data);
      if (Math.abs(chart.plot.width - width) > 8) chart.plot.setSize({ width: width, height: 200 });
      return;
    }
    if (chart && chart.plot) chart.plot.destroy();
    holder.textContent = "";
    if (lines(spec).length === 0 || typeof uPlot !== "function") {
      holder.appendChild(el("p", "muted", "no data yet"));
      state.charts[spec.id] = { key: key };
      return;
    }
    var opts = {
      width: width,
      height: 200,
      scales: { x: { time: true } },
      legend: { live: false },
      axes: [
        { values: function (u, splits) { return splits.map(function (s) { return new Date(s * 1000).toLocaleTimeString(); }); } },
        { label: spec.unit, size: 60 },
      ],
      series: [{}].concat(lines(spec).map(function (name, i) {
        var line = { label: name, stroke: palette[i % palette.length], width: 2 };
        if (i >= spec.series.length) {
          line.width = 1;
          line.dash = [5, 3];
        }
        return line;
      })),
    };
    state.charts[spec.id] = { key: key, plot: new uPlot(opts, built.data, holder) };
  }

  function renderCards(section, box) {
    var grid = el("div", "cards");
    (section.cards || []).forEach(function (card) {
      var node = el("div", "card" + (card.tone ? " " + card.tone : ""));
      node.appendChild(el("div", "label", card.label));
      node.appendChild(el("div", "value", card.value));
      grid.appendChild(node);
    });
    if (!section.cards || section.cards.length === 0) grid.appendChild(el("p", "muted", "nothing yet"));
    box.appendChild(grid);
  }

  function compare(a, b, numeric) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    if (numeric) return Number(a) - Number(b);
    return String(a) < String(b) ? -1 : 1;
  }

  function renderTable(section, box) {
    var columns = section.columns || [];
    var sort = state.sorts[section.id];
    var rows = (section.rows || []).slice();
    if (sort) {
      var column = columns.filter(function (c) { return c.key === sort.key; })[0];
      rows.sort(function (a, b) { return sort.dir * compare(a[sort.key], b[sort.key], column && column.numeric); });
    }
    var table = el("table");
    table.id = "table-" + section.id;
    var head = el("tr");
    columns.forEach(function (column) {
      var mark = sort && sort.key === column.key ? (sort.dir > 0 ? " ▲" : " ▼") : "";
      var th = el("th", column.numeric ? "num sortable" : "sortable", column.label + mark);
      th.setAttribute("data-key", column.key);
      th.addEventListener("click", function () {
        var now = state.sorts[section.id];
        state.sorts[section.id] = { key: column.key, dir: now && now.key === column.key ? -now.dir : column.numeric ? -1 : 1 };
        render();
      });
      head.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr", "row");
      columns.forEach(function (column) {
        var value = row[column.key];
        tr.appendChild(el("td", column.numeric ? "num" : "", value === null || value === undefined ? "–" : value));
      });
      body.appendChild(tr);
    });
    if (rows.length === 0) {
      var empty = el("tr", "empty");
      var td = el("td", "muted", section.empty || "no rows yet");
      td.colSpan = Math.max(1, columns.length);
      empty.appendChild(td);
      body.appendChild(empty);
    }
    table.appendChild(body);
    box.appendChild(table);
    if (section.omitted > 0) box.appendChild(el("p", "muted", section.omitted + " more rows not shown"));
  }

  function render() {
    var doc = state.doc;
    if (!doc) return;
    document.title = doc.title;
    document.getElementById("title").textContent = doc.title;
    updated.textContent = doc.generatedAt > 0 ? "updated " + new Date(doc.generatedAt).toLocaleTimeString() : "waiting for the first sample";
    banner.textContent = doc.error ? "metrics could not be read: " + doc.error : "";
    banner.hidden = !doc.error;
    var charts = document.getElementById("charts");
    var wanted = {};
    (doc.charts || []).forEach(function (spec) {
      wanted[spec.id] = true;
      var box = document.getElementById("chart-box-" + spec.id);
      if (!box) {
        box = el("section", "panel chart");
        box.id = "chart-box-" + spec.id;
        box.appendChild(el("h2", "", spec.title));
        var holder = el("div", "plot");
        holder.id = "chart-" + spec.id;
        box.appendChild(holder);
        charts.appendChild(box);
      }
      renderChart(spec, document.getElementById("chart-" + spec.id));
    });
    Object.keys(state.charts).forEach(function (id) {
      if (wanted[id]) return;
      if (state.charts[id].plot) state.charts[id].plot.destroy();
      delete state.charts[id];
      var gone = document.getElementById("chart-box-" + id);
      if (gone) gone.remove();
    });
    var sections = document.getElementById("sections");
    sections.textContent = "";
    (doc.sections || []).forEach(function (section) {
      var box = el("section", "panel");
      box.id = "section-" + section.id;
      box.appendChild(el("h2", "", section.title));
      if (section.kind === "cards") renderCards(section, box);
      else if (section.kind === "table") renderTable(section, box);
      sections.appendChild(box);
    });
  }

  function apply(doc) {
    merge(doc);
    render();
    conn.textContent = "live";
    conn.className = "ok";
  }

  // Drawing runs in a timer of its own, outside the fetch's promise chain: a bug in it is an uncaught error the
  // browser reports, not a rejection taken for a lost connection.
  function poll() {
    var url = "status.json" + (state.lastT === undefined ? "" : "?since=" + state.lastT);
    fetch(url, { cache: "no-store", headers: { accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(
        function (doc) { setTimeout(function () { apply(doc); }, 0); },
        function (err) {
          conn.textContent = "disconnected (" + (err && err.message ? err.message : "error") + "), retrying";
          conn.className = "bad";
        },
      )
      .then(function () { setTimeout(poll, state.intervalMs); });
  }
  window.addEventListener("resize", function () { render(); });
  poll();
})();
`;
