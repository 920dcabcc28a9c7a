/* Review queue: filters, sorting, paging, counts and progress. */
"use strict";

(() => {
  const { t, api, el, fmt, province, paren, punct } = VX;
  const form = document.getElementById("filters");
  const body = document.getElementById("queue-body");
  const state = { offset: 0, limit: 50, rows: [], cursor: 0, selected: new Set() };

  function filters() {
    const data = new FormData(form);
    const out = {};
    for (const k of VX.FILTER_KEYS) {
      const v = String(data.get(k) ?? "").trim();
      if (v !== "") out[k] = v;
    }
    return out;
  }

  function restore() {
    const url = new URLSearchParams(window.location.search);
    const saved = VX.savedFilters();
    for (const k of VX.FILTER_KEYS) {
      const v = url.get(k) ?? saved[k];
      if (v !== undefined && v !== null && form.elements[k]) form.elements[k].value = v;
    }
  }

  function age(year) {
    return year ? new Date().getFullYear() - year : "—";
  }

  function renderProgress(p) {
    document.getElementById("count-open").textContent = fmt(p.open);
    document.getElementById("count-mine-today").textContent = fmt(p.mine_today);
    document.getElementById("count-mine-total").textContent = fmt(p.mine_total);
    const done = p.decided, all = p.decided + p.open;
    const share = all ? done / all : 0;
    document.getElementById("progress-bar").value = Math.round(share * 1000) / 10;
    document.getElementById("progress-text").textContent =
      t("progress_text", { done: fmt(done), all: fmt(all), pct: fmt(share * 100, 1) });
  }

  function render(page) {
    state.rows = page.data;
    state.cursor = Math.min(state.cursor, Math.max(page.data.length - 1, 0));
    document.getElementById("count-filtered").textContent = fmt(page.count);
    const to = Math.min(page.offset + page.data.length, page.count);
    document.getElementById("page-info").textContent =
      t("page_info", { from: page.count ? fmt(page.offset + 1) : 0, to: fmt(to), count: fmt(page.count) });
    document.getElementById("prev").disabled = page.offset === 0;
    document.getElementById("next").disabled = page.offset + page.limit >= page.count;
    renderProgress(page.progress);
    body.replaceChildren(...page.data.map((row, i) => {
      const width = Math.max(0, Math.min(100, (row.match_weight + 10) * 4));
      const bar = el("span", { class: "scorebar" });
      bar.style.width = `${width}%`;
      const box = el("input", { type: "checkbox", class: "pick", "aria-label": `#${row.review_id}`, value: row.review_id });
      box.checked = state.selected.has(row.review_id);
      box.addEventListener("click", (e) => e.stopPropagation());
      box.addEventListener("change", () => toggle(row.review_id, box.checked));
      return el("tr", {
        class: i === state.cursor ? "row selected" : "row", "data-review-id": row.review_id,
        tabindex: "0", onclick: () => open(row.review_id),
      },
        el("td", { class: "sel" }, box),
        el("td", { class: "num id" }, "#" + row.review_id),
        el("td", { class: "num" }, el("span", { class: "score" }, fmt(row.match_weight, 2)), bar),
        el("td", {}, el("span", { class: `band band-${row.band}` }, t("band_" + row.band))),
        el("td", { class: "reason" }, row.reasons.map((k, j) => [j ? punct.sep : "",
          el("span", { class: k.startsWith("reason_band_") ? "rule none" : "rule", "data-key": k }, t(k))])),
        el("td", { class: "provinces" }, row.provinces.map(province).join(" ↔ ")),
        el("td", { class: "num meta" }, row.birth_year ? `${age(row.birth_year)}${paren(row.birth_year)}` : "—"),
        el("td", { class: "meta" }, new Date(row.created_at).toLocaleDateString(VX.lang === "zh" ? "zh-CN" : "en-US")),
      );
    }));
    if (!page.data.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "8", class: "empty" }, t("queue_empty"))));
    }
    renderSelection();
  }

  function toggle(reviewId, on) {
    if (on) state.selected.add(reviewId); else state.selected.delete(reviewId);
    renderSelection();
  }

  function renderSelection() {
    document.getElementById("batch-count").textContent = t("batch_selected", { n: state.selected.size });
    const all = document.getElementById("select-all");
    all.checked = state.rows.length > 0 && state.rows.every((r) => state.selected.has(r.review_id));
    for (const box of body.querySelectorAll("input.pick")) box.checked = state.selected.has(Number(box.value));
  }

  async function batch(verdict) {
    const ids = [...state.selected];
    const reason = document.getElementById("batch-reason").value.trim();
    if (!ids.length) { VX.toast(t("batch_pick"), "error"); return; }
    if (!reason) { VX.toast(t("batch_need_reason"), "error"); document.getElementById("batch-reason").focus(); return; }
    try {
      const result = await api("/decisions/batch", { method: "POST", body: { review_ids: ids, decision: verdict, reason } });
      state.selected.clear();
      document.getElementById("batch-reason").value = "";
      const skipped = result.skipped.length ? " · " + t("batch_skipped", { n: result.skipped.length }) : "";
      VX.toast(t("batch_done", { n: result.decisions.length }) + skipped, "ok");
      await load();
    } catch (err) {
      VX.toast(err.message, "error");
    }
  }

  async function load() {
    const f = filters();
    VX.saveFilters(f);
    const q = VX.query(f);
    history.replaceState(null, "", q ? `?${q}` : window.location.pathname);
    const started = performance.now();
    try {
      const page = await api(`/queue?${q}&offset=${state.offset}&limit=${state.limit}`);
      render(page);
      document.getElementById("timing").textContent = t("loaded_in", { ms: fmt(performance.now() - started) });
    } catch (err) {
      VX.toast(err.message, "error");
    }
  }

  function open(reviewId) {
    window.location.assign(`/review/pair/${reviewId}`);
  }

  function move(delta) {
    if (!state.rows.length) return;
    state.cursor = (state.cursor + delta + state.rows.length) % state.rows.length;
    body.querySelectorAll("tr.row").forEach((tr, i) => tr.classList.toggle("selected", i === state.cursor));
  }

  document.getElementById("select-all").addEventListener("change", (e) => {
    for (const r of state.rows) toggle(r.review_id, e.target.checked);
  });
  for (const button of document.querySelectorAll("[data-batch]")) {
    button.addEventListener("click", () => batch(button.dataset.batch));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); state.offset = 0; state.selected.clear(); load(); });
  form.addEventListener("change", () => { state.offset = 0; state.selected.clear(); load(); });
  document.getElementById("reset").addEventListener("click", () => {
    form.reset(); state.offset = 0; state.selected.clear(); load();
  });
  document.getElementById("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - state.limit); load();
  });
  document.getElementById("next").addEventListener("click", () => { state.offset += state.limit; load(); });
  document.addEventListener("keydown", (e) => {
    if (VX.typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j" || e.key === "ArrowDown") { move(1); e.preventDefault(); }
    else if (e.key === "k" || e.key === "ArrowUp") { move(-1); e.preventDefault(); }
    else if (e.key === "Enter" && state.rows[state.cursor]) open(state.rows[state.cursor].review_id);
    else if (e.key === "x" && state.rows[state.cursor]) {
      const id = state.rows[state.cursor].review_id;
      toggle(id, !state.selected.has(id));
    }
  });

  restore();
  load();
})();
