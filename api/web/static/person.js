/* Person page: linked records, merged history, split selected records off. */
"use strict";

(() => {
  const { t, api, el, fmt, province } = VX;
  const root = document.getElementById("person");
  let personId = root.dataset.personId;

  function historyTable(history) {
    return el("div", { class: "scroll" }, el("table", { class: "doses" },
      el("thead", {}, el("tr", {}, ["dose_date", "dose_number", "dose_product", "dose_source", "dose_lot", "flags"].map((k) => el("th", {}, t(k))))),
      el("tbody", {}, history.doses.map((d) => el("tr", { class: d.flags.length ? "flagged" : "" },
        el("td", {}, d.date), el("td", { class: "num" }, d.dose_number ?? "—"),
        el("td", {}, d.product && VX.has("product_" + d.product) ? t("product_" + d.product) : d.vaccine_text || t("product_unknown")),
        el("td", {}, province(d.administering_source || "")),
        el("td", {}, d.lot_number || "—"),
        el("td", {}, d.flags.map((f) => t("flag_" + f)).join(", ")),
      )))));
  }

  function personCard(person, selectable) {
    const h = person.history;
    const rows = person.records.map((r) => el("tr", { "data-record-id": r.record_id },
      el("td", {}, selectable ? el("input", { type: "checkbox", name: "record", value: r.record_id, "aria-label": `record ${r.record_id}` }) : ""),
      el("td", { class: "num" }, r.record_id),
      el("td", {}, `${province(r.source)} (${r.source})`),
      el("td", {}, r.person_ref || "—"),
      el("td", { class: "mono" }, r.name_masked),
      el("td", { class: "mono" }, r.id_masked || "—"),
      el("td", { class: "num" }, r.n_doses),
    ));
    const head = ["field_record", "field_source", "field_person_ref", "field_name", "field_id", "field_doses"];
    return el("section", { class: "card person-card", "data-person-id": person.person_id },
      el("h2", {}, el("a", { href: `/review/person/${person.person_id}` }, person.person_id),
        " · ", t("state_" + h.status.state), " · ", t("merged_doses", { n: h.doses.length })),
      el("div", { class: "scroll" }, el("table", { class: "linked" },
        el("thead", {}, el("tr", {}, el("th", {}, ""), head.map((k) => el("th", {}, t(k))))),
        el("tbody", {}, rows))),
      historyTable(h),
      (h.flags || []).length ? el("ul", { class: "flags" }, h.flags.map((f) => el("li", { class: "flag" }, t("flag_" + f)))) : "",
    );
  }

  async function load() {
    const data = await api(`/persons/${personId}`);
    const several = data.person.records.length >= 2;
    document.getElementById("person-body").replaceChildren(personCard(data.person, several),
      several ? "" : el("p", { class: "note", id: "split-single" }, t("split_single")));
    document.getElementById("split-form").hidden = !several;
  }

  document.getElementById("split-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const ids = [...document.querySelectorAll("input[name=record]:checked")].map((x) => Number(x.value));
    const reason = document.getElementById("split-reason").value.trim();
    if (!ids.length) { VX.toast(t("split_pick"), "error"); return; }
    if (!reason) { VX.toast(t("split_reason_needed"), "error"); return; }
    try {
      const result = await api(`/persons/${personId}/split`, { method: "POST", body: { record_ids: ids, reason } });
      VX.toast(t("split_done", { n: result.persons.length }), "ok");
      document.getElementById("split-form").hidden = true;
      document.getElementById("person-body").replaceChildren(
        el("p", { class: "note", id: "split-result" }, t("split_result", { n: result.persons.length })),
        ...result.persons.map((p) => personCard(p, false)));
    } catch (err) {
      VX.toast(err.message, "error");
    }
  });

  load().catch((err) => VX.toast(err.message, "error"));
})();
