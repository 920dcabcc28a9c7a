/* vaxlink workbench: shared helpers (no framework, no network but this server). */
"use strict";

const VX = (() => {
  const i18n = JSON.parse(document.getElementById("vx-i18n").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";

  // Keys asked for but absent from the message table: the page shows the key itself, and the
  // browser tests fail on any (document.documentElement.dataset.missingKeys).
  const missing = new Set();

  function t(key, vars) {
    let text = i18n.messages[key];
    if (text === undefined) {
      missing.add(String(key));
      document.documentElement.dataset.missingKeys = [...missing].join(" ");
      text = String(key);
    }
    for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, String(v));
    return text;
  }

  // Punctuation of the page language (full-width in Chinese).
  const zh = i18n.lang === "zh";
  const punct = { colon: zh ? "：" : ": ", list: zh ? "、" : ", ", sep: zh ? "；" : "; " };

  function paren(text) {
    return zh ? `（${text}）` : ` (${text})`;
  }

  function has(key) {
    return Object.prototype.hasOwnProperty.call(i18n.messages, key);
  }

  function province(code) {
    return i18n.provinces[code] || code;
  }

  async function api(path, options) {
    const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
    if (opts.body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.body);
    }
    if (opts.method && opts.method !== "GET") opts.headers["X-Vaxlink-Request"] = "1";
    const response = await fetch("/review/api" + path, opts);
    if (response.status === 401) {
      window.location.assign("/review/login");
      throw new Error("signed out");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      throw new Error(detail || response.statusText);
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, parent) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    if (parent) parent.append(node);
    return node;
  }

  function chart(container, width, height, label) {
    container.replaceChildren();
    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": label,
      class: "chart",
    });
    container.append(root);
    return root;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function toast(message, kind) {
    const box = document.getElementById("vx-toast");
    if (!box) return;
    box.textContent = message;
    box.className = "toast " + (kind || "info");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.className = "toast hidden"; }, 3500);
  }

  function fmt(n, digits) {
    return Number(n).toLocaleString(i18n.lang === "zh" ? "zh-CN" : "en-US", {
      maximumFractionDigits: digits ?? 0, minimumFractionDigits: digits ?? 0,
    });
  }

  const FILTER_KEYS = ["province", "band", "score_min", "score_max", "age_min", "age_max", "sort"];

  function savedFilters() {
    try { return JSON.parse(sessionStorage.getItem("vx-filters") || "{}"); } catch { return {}; }
  }

  function saveFilters(filters) {
    sessionStorage.setItem("vx-filters", JSON.stringify(filters));
  }

  function query(filters) {
    const params = new URLSearchParams();
    for (const k of FILTER_KEYS) if (filters[k] !== undefined && filters[k] !== "") params.set(k, filters[k]);
    return params.toString();
  }

  function typing(event) {
    const tag = (event.target && event.target.tagName) || "";
    return ["INPUT", "TEXTAREA", "SELECT"].includes(tag) || event.target.isContentEditable;
  }

  return { t, has, paren, punct, province, api, el, svg, chart, niceMax, toast, fmt, savedFilters, saveFilters,
           query, typing, FILTER_KEYS, lang: i18n.lang };
})();
