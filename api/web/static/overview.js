/* Overview charts, drawn as inline SVG from /review/api/overview. */
"use strict";

(() => {
  const { t, api, svg, fmt } = VX;
  const OUTCOMES = ["open", "same", "different", "unsure", "decided"];

  function pname(data, code) {
    return VX.lang === "zh" ? (data.province_names[code] || code).replace(/(省|市|自治区|特别行政区|壮族|回族|维吾尔)/g, "") : VX.province(code);
  }

  function empty(root, W, H) {
    svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty", text: t("no_data") }, root);
  }

  // Charts are drawn at their container's width (text stays 11 px on a phone), at least MIN_W.
  const MIN_W = 300;

  function widthOf(id, preferred) {
    const box = document.getElementById(id);
    return Math.max(MIN_W, Math.min(preferred, Math.floor(box.clientWidth || preferred)));
  }

  // Legend items wrap onto more lines when the chart is narrow; returns the height used.
  function legend(root, items, x, y, W) {
    const step = 96, perLine = Math.max(1, Math.floor((W - x) / step));
    items.forEach(([label, cls], i) => {
      const lx = x + (i % perLine) * step, ly = y + Math.floor(i / perLine) * 16;
      svg("rect", { x: lx, y: ly, width: 12, height: 12, class: cls }, root);
      svg("text", { x: lx + 16, y: ly + 11, class: "legend", text: label }, root);
    });
    return Math.ceil(items.length / perLine) * 16;
  }

  function yAxis(root, max, x0, x1, y, H0) {
    for (let i = 0; i <= 5; i++) {
      const v = (max * i) / 5, yy = y(v);
      svg("line", { x1: x0, x2: x1, y1: yy, y2: yy, class: "grid" }, root);
      svg("text", { x: x0 - 6, y: yy + 4, "text-anchor": "end", class: "tick", text: fmt(v) }, root);
    }
    return H0;
  }

  function provinces(data) {
    const W = widthOf("chart-provinces", 560), H = 280, L = 50, R = 10, B = 40;
    const T = 14 + Math.ceil(2 / Math.max(1, Math.floor((W - L) / 96))) * 16;
    const root = VX.chart(document.getElementById("chart-provinces"), W, H, t("chart_provinces"));
    const rows = data.provinces;
    if (!rows.length) return empty(root, W, H);
    const max = VX.niceMax(Math.max(...rows.map((r) => r.records)));
    const y = (v) => H - B - (v / max) * (H - T - B);
    yAxis(root, max, L, W - R, y);
    const band = (W - L - R) / rows.length, bw = Math.min(28, band / 2.6);
    rows.forEach((r, i) => {
      const cx = L + band * i + band / 2;
      for (const [k, value, cls, dx] of [["records", r.records, "bar records", -bw], ["persons", r.persons, "bar persons", 0]]) {
        const bar = svg("rect", { x: cx + dx, y: y(value), width: bw, height: H - B - y(value), class: cls, "data-key": k }, root);
        svg("title", { text: `${pname(data, r.province)} · ${t("legend_" + k)}: ${fmt(value)}` }, bar);
      }
      svg("text", { x: cx, y: H - B + 16, "text-anchor": "middle", class: "tick", text: pname(data, r.province) }, root);
    });
    legend(root, [[t("legend_records"), "bar records"], [t("legend_persons"), "bar persons"]], L, 6, W);
  }

  function flows(data) {
    const W = widthOf("chart-flows", 560), H = 280, L = 40, R = 40, base = H - 50;
    const root = VX.chart(document.getElementById("chart-flows"), W, H, t("chart_flows"));
    const codes = [...new Set(data.provinces.map((p) => p.province).concat(data.flows.flatMap((f) => [f.from, f.to])))].sort();
    if (!data.flows.length) return empty(root, W, H);
    const x = (code) => L + (codes.indexOf(code) / Math.max(codes.length - 1, 1)) * (W - L - R);
    const max = Math.max(...data.flows.map((f) => f.persons));
    for (const f of data.flows) {
      const x1 = x(f.from), x2 = x(f.to), mid = (x1 + x2) / 2, r = Math.abs(x2 - x1) / 2;
      const path = svg("path", {
        d: `M ${x1} ${base} A ${r} ${Math.min(r, base - 20)} 0 0 1 ${x2} ${base}`,
        class: "flow", "stroke-width": 2 + 18 * (f.persons / max),
      }, root);
      svg("title", { text: `${pname(data, f.from)} ↔ ${pname(data, f.to)}: ${fmt(f.persons)} ${t("persons_unit")}` }, path);
      svg("text", { x: mid, y: base - Math.min(r, base - 20) - 6, "text-anchor": "middle", class: "flow-label", text: fmt(f.persons) }, root);
    }
    for (const code of codes) {
      svg("circle", { cx: x(code), cy: base, r: 7, class: "node" }, root);
      svg("text", { x: x(code), y: base + 24, "text-anchor": "middle", class: "tick", text: pname(data, code) }, root);
    }
  }

  function weights(data) {
    const W = widthOf("chart-weights", 560), H = 300, L = 50, R = 10, B = 40;
    const T = 40 + Math.ceil(OUTCOMES.length / Math.max(1, Math.floor((W - L) / 96))) * 16;
    const root = VX.chart(document.getElementById("chart-weights"), W, H, t("chart_weights"));
    const th = data.thresholds;
    const bins = [...new Set(data.weights.map((w) => w.bin))];
    const lo = Math.min(...bins, Math.floor(th.review)) - 1, hi = Math.max(...bins, Math.ceil(th.match)) + 2;
    const byBin = new Map();
    for (const w of data.weights) {
      const entry = byBin.get(w.bin) || {};
      entry[w.outcome] = (entry[w.outcome] || 0) + w.count;
      byBin.set(w.bin, entry);
    }
    const totals = [...byBin.values()].map((e) => Object.values(e).reduce((a, b) => a + b, 0));
    const max = VX.niceMax(Math.max(1, ...totals));
    const x = (v) => L + ((v - lo) / (hi - lo)) * (W - L - R);
    const y = (v) => H - B - (v / max) * (H - T - B);
    yAxis(root, max, L, W - R, y);
    const bw = Math.max(2, x(1) - x(0) - 1);
    for (const [bin, entry] of byBin) {
      let acc = 0;
      for (const outcome of OUTCOMES) {
        const n = entry[outcome] || 0;
        if (!n) continue;
        const rect = svg("rect", { x: x(bin), y: y(acc + n), width: bw, height: y(acc) - y(acc + n), class: "hist " + outcome }, root);
        svg("title", { text: `[${bin}, ${bin + 1}) · ${t("outcome_" + outcome)}: ${fmt(n)}` }, rect);
        acc += n;
      }
    }
    // Threshold names on two rows, anchored inwards, so they neither collide nor leave the chart.
    [[th.review, "threshold review", t("threshold_review")], [th.match, "threshold match", t("threshold_match")]]
      .forEach(([value, cls, label], i) => {
        svg("line", { x1: x(value), x2: x(value), y1: T - 6, y2: H - B, class: cls }, root);
        const right = x(value) > W / 2;
        svg("text", { x: x(value) + (right ? -4 : 4), y: T - 20 + i * 12, "text-anchor": right ? "end" : "start",
          class: "axis-label " + cls, text: `${label} ${fmt(value, 1)}` }, root);
      });
    const step = Math.max(1, Math.ceil((hi - lo) / 12));
    for (let v = Math.ceil(lo); v <= hi; v += step) {
      svg("text", { x: x(v), y: H - B + 16, "text-anchor": "middle", class: "tick", text: String(v) }, root);
    }
    svg("text", { x: (W + L) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label", text: t("axis_weight") }, root);
    legend(root, OUTCOMES.map((o) => [t("outcome_" + o), "hist " + o]), L, 4, W);
  }

  function backlog(data) {
    const W = widthOf("chart-backlog", 560), H = 280, L = 50, R = 10, B = 40;
    const T = 14 + Math.ceil(3 / Math.max(1, Math.floor((W - L) / 96))) * 16;
    const root = VX.chart(document.getElementById("chart-backlog"), W, H, t("chart_backlog"));
    const rows = data.backlog;
    if (!rows.length) return empty(root, W, H);
    const max = VX.niceMax(Math.max(...rows.map((r) => Math.max(r.backlog, r.created, r.decided))));
    const n = rows.length;
    const x = (i) => L + (n === 1 ? (W - L - R) / 2 : (i / (n - 1)) * (W - L - R));
    const y = (v) => H - B - (v / max) * (H - T - B);
    yAxis(root, max, L, W - R, y);
    const bw = Math.max(2, Math.min(16, (W - L - R) / n / 3));
    rows.forEach((r, i) => {
      svg("rect", { x: x(i) - bw, y: y(r.created), width: bw, height: H - B - y(r.created), class: "bar created" }, root);
      svg("rect", { x: x(i), y: y(r.decided), width: bw, height: H - B - y(r.decided), class: "bar decided" }, root);
    });
    const points = rows.map((r, i) => `${x(i)},${y(r.backlog)}`).join(" ");
    svg("polyline", { points, class: "line backlog" }, root);
    rows.forEach((r, i) => {
      const dot = svg("circle", { cx: x(i), cy: y(r.backlog), r: 3.5, class: "dot backlog" }, root);
      svg("title", { text: `${r.date}: ${t("legend_backlog")} ${fmt(r.backlog)}, ${t("legend_created")} ${fmt(r.created)}, ${t("legend_decided")} ${fmt(r.decided)}` }, dot);
    });
    const every = Math.max(1, Math.ceil(n / 6));
    rows.forEach((r, i) => {
      if (i % every === 0 || i === n - 1) svg("text", { x: x(i), y: H - B + 16, "text-anchor": "middle", class: "tick", text: r.date.slice(5) }, root);
    });
    legend(root, [[t("legend_backlog"), "line-key backlog"], [t("legend_created"), "bar created"], [t("legend_decided"), "bar decided"]], L, 6, W);
  }

  // Flags as HTML rows: labels wrap instead of running out of a fixed-width drawing.
  function flags(data) {
    const rows = data.flags.slice().sort((a, b) => b.count - a.count);
    const box = document.getElementById("chart-flags");
    if (!rows.length) { box.replaceChildren(VX.el("p", { class: "note" }, t("no_data"))); return; }
    const max = Math.max(...rows.map((r) => r.count));
    box.replaceChildren(...rows.map((r) => {
      const label = r.kind === "history" ? t("flag_" + r.flag) : t("rule_" + r.flag);
      const bar = VX.el("span", { class: "hbar bar " + (r.kind === "history" ? "flag-history" : "flag-rule"), title: `${label}: ${fmt(r.count)}` });
      bar.style.width = `${Math.max(0.5, (r.count / max) * 100)}%`;
      return VX.el("div", { class: "hbar-row", "data-flag": r.flag },
        VX.el("span", { class: "hbar-label" }, label), VX.el("span", { class: "hbar-track" }, bar),
        VX.el("span", { class: "num" }, fmt(r.count)));
    }));
  }

  api("/overview").then((data) => {
    provinces(data); flows(data); weights(data); backlog(data); flags(data);
    document.getElementById("overview").dataset.ready = "1";
  }).catch((err) => VX.toast(err.message, "error"));
})();
