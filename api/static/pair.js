/* Pair view: records side by side, ID checks, waterfall, dose timeline, decisions. */
"use strict";

(() => {
  const { t, api, el, svg, fmt, province } = VX;
  const root = document.getElementById("pair");
  const state = { id: Number(root.dataset.reviewId), view: null, busy: false };

  function chars(masked) {
    if (!masked.text) return el("span", { class: "missing" }, t("missing"));
    return el("span", { class: "chars" }, [...masked.text].map((ch, i) =>
      masked.diff[i] ? el("mark", { class: "diff" }, ch) : ch));
  }

  function check(ok, label) {
    const cls = ok === null || ok === undefined ? "check na" : ok ? "check ok" : "check bad";
    const mark = ok === null || ok === undefined ? "–" : ok ? "✓" : "✗";
    return el("li", { class: cls }, el("span", { class: "mark" }, mark), " ", label);
  }

  function renderRecords(view) {
    const [a, b] = view.records;
    const sex = (s) => (s ? t("sex_" + s) : t("missing"));
    const rows = [
      ["field_source", (r) => `${province(r.source)} (${r.source})`],
      ["field_person_ref", (r) => r.person_ref || "—"],
      ["field_person", (r) => r.person_id
        ? el("a", { href: `/review/person/${r.person_id}`, class: "person-link" }, r.person_id) : "—"],
      ["field_name", (r) => chars(r.name)],
      ["field_id", (r) => chars(r.id_number)],
      ["field_birth", (r) => chars(r.birth_date)],
      ["field_sex", (r) => sex(r.sex)],
      ["field_phone", (r) => chars(r.phone)],
      ["field_doses", (r) => String(r.n_doses)],
    ];
    const table = el("table", { class: "records" },
      el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, t("record_left")), el("th", {}, t("record_right")))),
      el("tbody", {}, rows.map(([key, fn]) => el("tr", {}, el("th", {}, t(key)), el("td", {}, fn(a)), el("td", {}, fn(b))))),
    );
    const checks = (r) => {
      const c = r.id_checks;
      return el("ul", { class: "checks" },
        el("li", { class: "check na" }, t("id_status") + ": " + (c.status ? t("status_" + c.status) : t("missing"))),
        check(c.checksum_valid, t("check_checksum")),
        check(c.upgraded_15_to_18 ? true : null, c.upgraded_15_to_18 ? t("check_upgraded") : t("check_not_upgraded")),
        check(c.implied_birth_matches, t("check_birth")),
        check(c.implied_sex_matches, t("check_sex") + (c.implied_sex ? ` (${t("sex_" + c.implied_sex)})` : "")),
      );
    };
    const checkRow = el("table", { class: "records checks-table" }, el("tbody", {},
      el("tr", {}, el("th", {}, t("id_checks")), el("td", {}, checks(a)), el("td", {}, checks(b)))));
    document.getElementById("records").replaceChildren(table, checkRow);
  }

  function renderWaterfall(view) {
    const steps = view.waterfall;
    const th = view.thresholds;
    const W = 640, rowH = 26, top = 24, left = 150, right = 70;
    const H = top + rowH * (steps.length + 1) + 30;
    const values = steps.flatMap((s) => [s.running, s.running - s.weight]).concat([0, th.review, th.match]);
    const lo = Math.floor(Math.min(...values)) - 1, hi = Math.ceil(Math.max(...values)) + 1;
    const x = (v) => left + ((v - lo) / (hi - lo)) * (W - left - right);
    const root = VX.chart(document.getElementById("waterfall"), W, H, t("waterfall"));
    for (const [value, cls, label] of [[th.review, "threshold review", t("threshold_review")],
                                       [th.match, "threshold match", t("threshold_match")]]) {
      svg("line", { x1: x(value), x2: x(value), y1: top - 8, y2: H - 24, class: cls }, root);
      svg("text", { x: x(value), y: top - 12, "text-anchor": "middle", class: "axis-label " + cls, text: `${label} ${fmt(value, 1)}` }, root);
    }
    svg("line", { x1: x(0), x2: x(0), y1: top, y2: H - 24, class: "zero" }, root);
    steps.forEach((s, i) => {
      const y = top + i * rowH;
      const start = s.running - s.weight;
      const name = s.key === "prior" ? t("wf_prior") : s.key === "rules" ? t("wf_rules") : t("field_" + s.key);
      svg("text", { x: left - 8, y: y + 17, "text-anchor": "end", class: "wf-label", text: name }, root);
      const x0 = Math.min(x(start), x(s.running)), w = Math.max(Math.abs(x(s.running) - x(start)), 1.5);
      const bar = svg("rect", { x: x0, y: y + 4, width: w, height: rowH - 8,
        class: s.weight >= 0 ? "wf-bar pos" : "wf-bar neg", "data-key": s.key }, root);
      svg("title", { text: `${name}: ${s.level || ""} ${s.weight >= 0 ? "+" : ""}${fmt(s.weight, 2)}` }, bar);
      svg("text", { x: x0 + w + 4, y: y + 17, "text-anchor": "start", class: "wf-value",
        text: `${s.weight >= 0 ? "+" : ""}${fmt(s.weight, 2)}${s.level && s.key !== "prior" ? " · " + levelName(s) : ""}` }, root);
      if (i < steps.length - 1) {
        svg("line", { x1: x(s.running), x2: x(s.running), y1: y + rowH - 4, y2: y + rowH + 4, class: "wf-link" }, root);
      }
    });
    const y = top + steps.length * rowH;
    const total = view.review.match_weight;
    svg("text", { x: left - 8, y: y + 17, "text-anchor": "end", class: "wf-label total", text: t("wf_total") }, root);
    svg("rect", { x: Math.min(x(0), x(total)), y: y + 4, width: Math.max(Math.abs(x(total) - x(0)), 1.5),
      height: rowH - 8, class: "wf-bar total" }, root);
    svg("text", { x: Math.max(x(0), x(total)) + 4, y: y + 17, class: "wf-value total", text: fmt(total, 2) }, root);
    for (let v = Math.ceil(lo / 5) * 5; v <= hi; v += 5) {
      svg("text", { x: x(v), y: H - 8, "text-anchor": "middle", class: "tick", text: String(v) }, root);
    }
  }

  function levelName(step) {
    const key = `level_${step.key}_${step.level}`;
    const text = t(key);
    return text === key ? step.level : text;
  }

  function renderTimeline(view) {
    const review = view.review;
    const lanes = [
      [t("lane_left"), review.histories[0]],
      [t("lane_right"), review.histories[1]],
      [t("lane_merged"), review.merged_history],
    ];
    const dates = lanes.flatMap(([, h]) => (h ? h.doses.map((d) => Date.parse(d.date)) : [])).filter((d) => !Number.isNaN(d));
    const W = 1100, laneH = 48, top = 24, left = 120, right = 40;
    const H = top + laneH * lanes.length + 30;
    const root = VX.chart(document.getElementById("timeline"), W, H, t("timeline"));
    if (!dates.length) { svg("text", { x: 10, y: 30, text: t("no_doses") }, root); return; }
    const day = 86400000;
    const lo = Math.min(...dates) - 20 * day, hi = Math.max(...dates) + 20 * day;
    const x = (d) => left + ((d - lo) / Math.max(hi - lo, day)) * (W - left - right);
    lanes.forEach(([label, h], i) => {
      const y = top + i * laneH + laneH / 2;
      svg("text", { x: left - 10, y: y + 4, "text-anchor": "end", class: "lane-label" + (i === 2 ? " merged" : ""), text: label }, root);
      svg("line", { x1: left, x2: W - right, y1: y, y2: y, class: "lane" + (i === 2 ? " merged" : "") }, root);
      if (!h) return;
      h.doses.forEach((d) => {
        const cx = x(Date.parse(d.date));
        const flagged = d.flags && d.flags.length > 0;
        const g = svg("g", { class: "dose" + (flagged ? " flagged" : "") + (d.valid === false ? " invalid" : ""), "data-lane": i }, root);
        svg("circle", { cx, cy: y, r: 9, class: "dose-dot src-" + (d.administering_source || "x") }, g);
        svg("text", { x: cx, y: y + 4, "text-anchor": "middle", class: "dose-num", text: d.dose_number ?? "?" }, g);
        svg("text", { x: cx, y: y - 14, "text-anchor": "middle", class: "dose-label", text: `${d.product || "?"}` }, g);
        svg("title", { text: `${d.date} · ${d.product_name || d.vaccine_text || ""} · ${province(d.administering_source || "")}` +
          (flagged ? `\n${t("flags")}: ${d.flags.map((f) => t("flag_" + f)).join(", ")}` : "") }, g);
      });
    });
    const years = new Set(dates.map((d) => new Date(d).getFullYear()));
    for (const year of years) {
      for (const month of [0, 6]) {
        const d = Date.UTC(year, month, 1);
        if (d < lo || d > hi) continue;
        svg("line", { x1: x(d), x2: x(d), y1: top, y2: H - 24, class: "grid" }, root);
        svg("text", { x: x(d), y: H - 8, "text-anchor": "middle", class: "tick", text: `${year}-${month ? "07" : "01"}` }, root);
      }
    }
    const merged = review.merged_history;
    const flags = merged ? [...new Set([...(merged.flags || []), ...merged.doses.flatMap((d) => d.flags || [])])] : [];
    document.getElementById("merged-status").replaceChildren(
      el("span", {}, t("merged_status") + ": "),
      el("strong", {}, merged ? t("state_" + merged.status.state) : "—"),
      el("span", {}, " · " + t("merged_doses", { n: merged ? merged.doses.length : 0 })),
    );
    document.getElementById("merged-flags").replaceChildren(
      ...(flags.length ? flags.map((f) => el("li", { class: "flag" }, t("flag_" + f)))
                       : [el("li", { class: "flag none" }, t("no_flags"))]));
  }

  function render(view) {
    state.view = view;
    const r = view.review;
    document.title = `#${r.review_id} · ${t("pair_title")}`;
    document.getElementById("pair-id").textContent = `#${r.review_id}`;
    document.getElementById("pair-score").textContent = fmt(r.match_weight, 2);
    const band = document.getElementById("pair-band");
    band.textContent = t("band_" + r.band);
    band.className = `band band-${r.band}`;
    const status = document.getElementById("pair-status");
    status.textContent = t("status_item_" + r.status);
    status.className = "status status-" + r.status;
    document.getElementById("rules").replaceChildren(
      ...(r.rules_fired.length ? r.rules_fired.map((x) => el("li", { class: "rule" }, t("rule_" + x))) : [el("li", { class: "rule none" }, t("no_rules"))]));
    const active = r.decisions.filter((d) => !d.undone_at);
    document.getElementById("decided").textContent = active.length
      ? t("decided_as", { verdict: t("verdict_" + active[active.length - 1].verdict) }) : "";
    for (const b of document.querySelectorAll("[data-verdict]")) b.disabled = r.status !== "open";
    document.getElementById("next-id").textContent = view.next_review_id ? `#${view.next_review_id}` : "—";
    renderRecords(view);
    renderWaterfall(view);
    renderTimeline(view);
    root.dataset.reviewId = String(r.review_id);
    root.dataset.status = r.status;
  }

  function filterQuery() {
    return VX.query(VX.savedFilters());
  }

  async function load(id, push) {
    const view = await api(`/items/${id}?${filterQuery()}`);
    state.id = id;
    if (push) history.pushState({ id }, "", `/review/pair/${id}`);
    render(view);
    document.getElementById("reason").value = "";
    root.classList.remove("loading");
  }

  async function decide(verdict) {
    if (state.busy || !state.view || state.view.review.status !== "open") return;
    state.busy = true;
    root.classList.add("loading");
    const reason = document.getElementById("reason").value.trim() || t("default_reason", { verdict: t("verdict_" + verdict) });
    try {
      const result = await api(`/items/${state.id}/decision?${filterQuery()}`, {
        method: "POST", body: { decision: verdict, reason },
      });
      VX.toast(t("decided_toast", { id: state.id, verdict: t("verdict_" + verdict) }), "ok");
      if (result.next_review_id) await load(result.next_review_id, true);
      else { await load(state.id, false); VX.toast(t("queue_done"), "ok"); }
    } catch (err) {
      VX.toast(err.message, "error");
    } finally {
      state.busy = false;
      root.classList.remove("loading");
    }
  }

  async function undo() {
    if (state.busy) return;
    state.busy = true;
    try {
      const result = await api(`/undo`, { method: "POST", body: { reason: t("undo_reason") } });
      VX.toast(t("undone_toast", { id: result.decision.decision_id }), "ok");
      const target = result.decision.review_id || state.id;
      await load(target, target !== state.id);
    } catch (err) {
      VX.toast(err.message, "error");
    } finally {
      state.busy = false;
    }
  }

  for (const button of document.querySelectorAll("[data-verdict]")) {
    button.addEventListener("click", () => decide(button.dataset.verdict));
  }
  document.getElementById("undo").addEventListener("click", undo);
  document.getElementById("skip").addEventListener("click", () => {
    if (state.view && state.view.next_review_id) load(state.view.next_review_id, true);
  });
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (VX.typing(e)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const key = e.key.toLowerCase();
    const verdict = { s: "same", d: "different", u: "unsure" }[key];
    if (verdict) { e.preventDefault(); decide(verdict); }
    else if (key === "z") { e.preventDefault(); undo(); }
    else if (key === "n") { e.preventDefault(); document.getElementById("skip").click(); }
    else if (key === "r") { e.preventDefault(); document.getElementById("reason").focus(); }
    else if (key === "q") { window.location.assign("/review"); }
  });
  window.addEventListener("popstate", (e) => { if (e.state && e.state.id) load(e.state.id, false); });
  history.replaceState({ id: state.id }, "", window.location.pathname);
  load(state.id, false).catch((err) => VX.toast(err.message, "error"));
})();
