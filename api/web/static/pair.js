/* Pair view: records side by side, ID comparison and checks, waterfall, dose timeline, decisions. */
"use strict";

(() => {
  const { t, api, el, fmt, province, paren, punct } = VX;
  const root = document.getElementById("pair");
  const state = { id: Number(root.dataset.reviewId), view: null, busy: false };
  const SEGMENTS = [["region", 0, 6], ["birth", 6, 14], ["sequence", 14, 17], ["check", 17, 18]];

  function plainChars(masked) {
    return [...masked.text].map((ch, i) => (masked.diff[i] ? el("mark", { class: "diff" }, ch)
      : ch === "*" ? el("span", { class: "masked" }, ch) : ch));
  }

  function chars(masked) {
    if (!masked.text) return el("span", { class: "missing" }, t("missing"));
    return el("span", { class: "chars" }, plainChars(masked));
  }

  function nameChars(masked) {
    if (!masked.text) return el("span", { class: "missing" }, t("missing"));
    if (!masked.kinds || !masked.kinds.length) return chars(masked);
    return el("span", { class: "chars name" }, [...masked.text].map((ch, i) => {
      const kind = masked.kinds[i];
      return kind && kind !== "same"
        ? el("mark", { class: `diff kind-${kind}`, title: t("namekind_" + kind), "data-kind": kind }, ch) : ch;
    }));
  }

  function idChars(masked, resident) {
    if (!masked.text) return el("span", { class: "missing" }, t("missing"));
    if (!resident || masked.text.length !== 18) return chars(masked);
    const parts = SEGMENTS.map(([seg, lo, hi]) => el("span", { class: `seg seg-${seg}`, title: t("idseg_" + seg) },
      plainChars({ text: masked.text.slice(lo, hi), diff: masked.diff.slice(lo, hi) })));
    return el("span", { class: "chars id" }, parts);
  }

  function check(ok, label) {
    const cls = ok === null || ok === undefined ? "check na" : ok ? "check ok" : "check bad";
    const mark = ok === null || ok === undefined ? "–" : ok ? "✓" : "✗";
    return el("li", { class: cls }, el("span", { class: "mark" }, mark), " ", label);
  }

  function revealControl(record, side) {
    if (state.view.view !== "auditor" || !record.id_number.text) return "";
    const box = el("div", { class: "reveal", "data-side": side });
    const open = el("button", { type: "button", class: "link-button reveal-open" }, t("reveal_id"));
    const reason = el("input", { type: "text", class: "reveal-reason", maxlength: "500", placeholder: t("reveal_prompt"), "aria-label": t("reveal_prompt") });
    const confirm = el("button", { type: "button", class: "reveal-confirm" }, t("reveal_id"));
    const form = el("div", { class: "reveal-form", hidden: true }, el("label", { class: "note" }, t("reveal_prompt")), reason, confirm);
    open.addEventListener("click", () => { form.hidden = false; open.hidden = true; reason.focus(); });
    const submit = async () => {
      const why = reason.value.trim();
      if (why.length < 2) { VX.toast(t("reveal_reason_short"), "error"); return; }
      try {
        const result = await api(`/items/${state.id}/reveal`, { method: "POST", body: { record_id: record.record_id, reason: why } });
        const full = el("div", { class: "revealed chars" }, result.id_number);
        box.replaceChildren(full, result.as_written ? el("div", { class: "note" }, t("reveal_written", { value: result.as_written })) : "",
          el("div", { class: "note" }, t("reveal_done")));
        VX.toast(t("reveal_done"), "ok");
      } catch (err) { VX.toast(err.message, "error"); }
    };
    confirm.addEventListener("click", submit);
    reason.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); submit(); } });
    box.append(open, form);
    return box;
  }

  function birthValue(r) {
    const implied = r.id_checks.implied_birth;
    const stated = chars(r.birth_date);
    const showImplied = implied && (!r.birth_date.text || r.id_checks.implied_birth_matches === false);
    return [stated, showImplied ? el("div", { class: "derived" }, t("birth_from_id", { date: implied })) : ""];
  }

  function sexValue(r) {
    const stated = r.sex ? t("sex_" + r.sex) : el("span", { class: "missing" }, t("missing"));
    const derived = !r.sex && r.sex_from_id ? el("div", { class: "derived" }, t("sex_from_id", { sex: t("sex_" + r.sex_from_id) })) : "";
    return [stated, derived];
  }

  function idComparison(view) {
    const cmp = view.id_comparison;
    const lines = [el("div", { class: `idrel idrel-${cmp.relation}`, id: "id-relation" }, t("idrel_" + cmp.relation))];
    if (cmp.positions.length) {
      const segs = cmp.segments.map((s) => t("idseg_" + s)).join(punct.list);
      lines.push(el("div", { class: "note", id: "id-positions" },
        t("id_positions", { positions: cmp.positions.join(punct.list), segments: segs || "—" })));
      if (!cmp.revealed && view.view === "auditor") lines.push(el("div", { class: "note" }, t("id_many_hidden", { n: cmp.positions.length })));
    }
    return el("div", { class: "idcmp" }, lines);
  }

  function nameSummary(view) {
    if (!view.name_kinds.length) return el("div", { class: "note", id: "name-kinds" }, t("name_identical"));
    return el("div", { class: "namekinds", id: "name-kinds" },
      view.name_kinds.map((k) => el("span", { class: `kindchip kind-${k}`, "data-kind": k }, t("namekind_" + k))));
  }

  function renderRecords(view) {
    const [a, b] = view.records;
    const resident = (r) => r.id_number.text.length === 18;
    const rows = [
      ["field_source", (r) => `${province(r.source)}${paren(r.source)}`],
      ["field_person_ref", (r) => r.person_ref || "—"],
      ["field_person", (r) => r.person_id
        ? [el("a", { href: `/review/person/${r.person_id}`, class: "person-link" }, r.person_id),
          el("span", { class: "note" }, " · " + t("person_records", { n: r.n_person_records }))] : "—"],
      ["field_name", (r) => nameChars(r.name), nameSummary(view)],
      ["field_id", (r, side) => [idChars(r.id_number, resident(r)), revealControl(r, side)], idComparison(view)],
      ["field_birth", birthValue],
      ["field_sex", sexValue],
      ["field_phone", (r) => chars(r.phone)],
      ["field_doses", (r) => String(r.n_doses)],
    ];
    const head = el("div", { class: "rec-row rec-head" }, el("div", {}, ""), el("div", {}, t("record_left")), el("div", {}, t("record_right")));
    const body = rows.map(([key, fn, extra]) => [
      el("div", { class: "rec-row", "data-field": key.slice(6) },
        el("div", { class: "rec-field" }, t(key)),
        el("div", { class: "rec-val", "data-side": "A" }, el("span", { class: "side" }, "A"), fn(a, "A")),
        el("div", { class: "rec-val", "data-side": "B" }, el("span", { class: "side" }, "B"), fn(b, "B"))),
      extra ? el("div", { class: "rec-extra" }, extra) : "",
    ]);
    const checks = (r) => {
      const c = r.id_checks;
      const items = [
        el("li", { class: "check na" }, t("id_status") + punct.colon + (c.status ? t("status_" + c.status) : t("missing"))),
        check(c.checksum_valid, t("check_checksum")),
        check(c.upgraded_15_to_18 ? true : null, c.upgraded_15_to_18 ? t("check_upgraded") : t("check_not_upgraded")),
        check(c.implied_birth_matches, t("check_birth")),
        check(c.implied_sex_matches, t("check_sex") + (c.implied_sex ? paren(t("sex_" + c.implied_sex)) : "")),
      ];
      if (c.guardian_id) items.push(el("li", { class: "check bad guardian" }, el("span", { class: "mark" }, "!"), " ",
        t("check_guardian", { date: c.implied_birth, years: c.years_apart })));
      else if (c.implied_birth) items.push(el("li", { class: "check na" }, el("span", { class: "mark" }, "·"), " ", t("check_implied_birth", { date: c.implied_birth })));
      return el("ul", { class: "checks" }, items);
    };
    const checkRow = el("div", { class: "rec-row checks-row", "data-field": "checks" },
      el("div", { class: "rec-field" }, t("id_checks")),
      el("div", { class: "rec-val", "data-side": "A" }, el("span", { class: "side" }, "A"), checks(a)),
      el("div", { class: "rec-val", "data-side": "B" }, el("span", { class: "side" }, "B"), checks(b)));
    document.getElementById("records").replaceChildren(
      el("p", { class: "note view-note", id: "view-note" }, t(view.view === "auditor" ? "view_auditor" : "view_masked")),
      el("div", { class: "rec" }, head, body, checkRow));
  }

  function ticks(lo, hi) {
    const span = hi - lo, step = span > 60 ? 20 : span > 30 ? 10 : 5;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
    return out;
  }

  function renderWaterfall(view) {
    const steps = view.waterfall;
    const th = view.thresholds;
    const total = view.review.match_weight;
    const values = steps.flatMap((s) => [s.running, s.running - s.weight]).concat([0, th.review, th.match, total]);
    const lo = Math.floor(Math.min(...values)) - 1, hi = Math.ceil(Math.max(...values)) + 1;
    const pct = (v) => ((v - lo) / (hi - lo)) * 100;
    const lines = () => [
      el("span", { class: "wf-th review", "data-left": pct(th.review) }),
      el("span", { class: "wf-th match", "data-left": pct(th.match) }),
      el("span", { class: "wf-zero", "data-left": pct(0) }),
    ];
    const signed = (w) => `${w >= 0 ? "+" : ""}${fmt(w, 2)}`;
    const row = (cls, key, name, from, to, value, detail, tag) => {
      const bar = el("span", { class: "wf-bar " + cls, "data-key": key, "data-left": pct(Math.min(from, to)),
        "data-width": Math.max(Math.abs(pct(to) - pct(from)), 0.4) });
      return el("div", { class: "wf-row" + (tag ? " implied" : ""), "data-key": key },
        el("div", { class: "wf-name" }, name, tag ? el("span", { class: "wf-tag", title: t(tag) }, t("wf_tag_id")) : ""),
        el("div", { class: "wf-track" }, lines(), bar),
        el("div", { class: "wf-val" }, value),
        detail ? el("div", { class: "wf-level" }, detail) : "");
    };
    const rows = steps.map((s) => {
      const name = s.key === "prior" ? t("wf_prior") : s.key === "rules" ? t("wf_rules") : t("field_" + s.key);
      let detail = s.key === "prior" ? "" : t(s.level);
      if (s.key === "rules" && view.reasons.length) detail = view.reasons.map((k) => t(k)).join(punct.sep);
      if (s.implied) detail += " · " + t(s.implied);
      return row(s.weight >= 0 ? "pos" : "neg", s.key, name, s.running - s.weight, s.running, signed(s.weight), detail, s.implied);
    });
    rows.push(row("total", "total", t("wf_total"), 0, total, fmt(total, 2), "", null));
    const axis = el("div", { class: "wf-row wf-axisrow" }, el("div", {}, ""),
      el("div", { class: "wf-track wf-axis" }, ticks(lo, hi).filter((v) => pct(v) > 3 && pct(v) < 97)
        .map((v) => el("span", { class: "wf-tick", "data-left": pct(v) }, String(v)))), el("div", {}, ""));
    const legend = el("div", { class: "wf-legend" },
      el("span", { class: "wf-key review", id: "wf-key-review" }, `${t("threshold_review")} ${fmt(th.review, 1)}`),
      el("span", { class: "wf-key match", id: "wf-key-match" }, `${t("threshold_match")} ${fmt(th.match, 1)}`),
      el("span", { class: "wf-key idtag" }, el("span", { class: "wf-tag" }, t("wf_tag_id")), " ", t("source_id")));
    const note = el("p", { class: "note", id: "wf-repeat" }, view.repeated_weight > 0
      ? t("wf_repeated_note", { weight: fmt(view.repeated_weight, 2) }) : t("wf_no_repeat"));
    const box = el("div", { class: "wf" }, legend, rows, axis);
    document.getElementById("waterfall").replaceChildren(box, note);
    for (const node of box.querySelectorAll("[data-left]")) {
      node.style.left = `${node.dataset.left}%`;
      if (node.dataset.width) node.style.width = `${node.dataset.width}%`;
    }
  }

  function productName(d) {
    if (d.product) {
      const key = "product_" + d.product;
      if (VX.has(key)) return t(key);
    }
    return d.vaccine_text || t("product_unknown");
  }

  function renderTimeline(view) {
    const review = view.review;
    const lanes = [
      [t("lane_left"), review.histories[0]],
      [t("lane_right"), review.histories[1]],
      [t("lane_merged"), review.merged_history],
    ];
    const dates = lanes.flatMap(([, h]) => (h ? h.doses.map((d) => Date.parse(d.date)) : [])).filter((d) => !Number.isNaN(d));
    const box = document.getElementById("timeline");
    if (!dates.length) { box.replaceChildren(el("p", { class: "note" }, t("no_doses"))); return; }
    const day = 86400000;
    const lo = Math.min(...dates) - 20 * day, hi = Math.max(...dates) + 20 * day;
    const pct = (d) => ((d - lo) / Math.max(hi - lo, day)) * 100;
    const laneNodes = lanes.map(([label, h], i) => {
      const doses = h ? h.doses : [];
      const dots = doses.map((d) => {
        const flagged = d.flags && d.flags.length > 0;
        return el("span", { class: "tl-dot" + (flagged ? " flagged" : ""), "data-left": pct(Date.parse(d.date)),
          title: `${d.date} · ${productName(d)}` }, String(d.dose_number ?? "?"));
      });
      const list = doses.map((d) => el("li", { class: "tl-dose" + (d.flags && d.flags.length ? " flagged" : "") },
        el("span", { class: "tl-num" }, t("dose_chip", { n: d.dose_number ?? "?" })),
        el("span", { class: "tl-date" }, d.date),
        el("span", { class: "tl-product" }, productName(d)),
        el("span", { class: "note" }, province(d.administering_source || "")),
        d.kind ? el("span", { class: "note" }, t("kind_" + d.kind)) : "",
        (d.flags || []).map((f) => el("span", { class: "flag" }, t("flag_" + f)))));
      return el("div", { class: "tl-lane" + (i === 2 ? " merged" : ""), "data-lane": i },
        el("div", { class: "tl-name" }, label),
        el("div", { class: "tl-track" }, dots),
        el("ol", { class: "tl-doses" }, list.length ? list : el("li", { class: "note" }, t("no_doses"))));
    });
    const years = [...new Set(dates.map((d) => new Date(d).getUTCFullYear()))];
    const marks = [];
    for (const year of years) {
      for (const month of [0, 6]) {
        const d = Date.UTC(year, month, 1);
        if (d < lo || d > hi || pct(d) < 6 || pct(d) > 94) continue;
        marks.push(el("span", { class: "tl-tick", "data-left": pct(d) }, `${year}-${month ? "07" : "01"}`));
      }
    }
    const axis = el("div", { class: "tl-lane tl-axisrow" }, el("div", {}, ""), el("div", { class: "tl-track tl-axis" }, marks));
    const wrap = el("div", { class: "tl" }, laneNodes, axis);
    box.replaceChildren(wrap);
    for (const node of wrap.querySelectorAll("[data-left]")) node.style.left = `${node.dataset.left}%`;
    const merged = review.merged_history;
    const flags = merged ? [...new Set([...(merged.flags || []), ...merged.doses.flatMap((d) => d.flags || [])])] : [];
    document.getElementById("merged-status").replaceChildren(
      el("span", {}, t("merged_status") + punct.colon),
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
      ...view.reasons.map((x) => el("li", { class: x.startsWith("reason_band_") ? "rule none" : "rule", "data-key": x }, t(x))));
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
    root.dataset.next = String(view.next_review_id || "");
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

  async function skip() {
    if (state.busy || !state.view || !state.view.next_review_id) return;
    state.busy = true;
    try { await load(state.view.next_review_id, true); }
    catch (err) { VX.toast(err.message, "error"); }
    finally { state.busy = false; }
  }

  for (const button of document.querySelectorAll("[data-verdict]")) {
    button.addEventListener("click", () => decide(button.dataset.verdict));
  }
  document.getElementById("undo").addEventListener("click", undo);
  document.getElementById("skip").addEventListener("click", skip);
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
    else if (key === "n") { e.preventDefault(); skip(); }
    else if (key === "r") { e.preventDefault(); document.getElementById("reason").focus(); }
    else if (key === "q") { window.location.assign("/review"); }
  });
  window.addEventListener("popstate", (e) => { if (e.state && e.state.id) load(e.state.id, false); });
  history.replaceState({ id: state.id }, "", window.location.pathname);
  load(state.id, false).catch((err) => VX.toast(err.message, "error"));
})();
