"""Checks run inside a rendered page: untranslated keys, text that leaves its box, overflow."""

from __future__ import annotations

import re
from typing import Any

# Raw keys and level names as they would leak through an untranslated lookup.
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
_ENGLISH = re.compile(
    r"\b(missing|exact|different|same|valid|open|decided|unknown|high|mid|low|prior|rules|"
    r"total|homophone|traditional|pinyin|undefined|null|NaN|true|false|object)\b"
)

# Every text node must lie inside the box of the element that lays it out (its nearest
# non-inline ancestor; an SVG text its <svg>), and inside every ancestor that clips.
_OUTSIDE_JS = """
(selector) => {
  const out = [];
  const roots = document.querySelectorAll(selector);
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (!node.textContent.trim()) continue;
      const elem = node.parentElement;
      if (!elem || elem.closest("[hidden], title, script, style, .visually-hidden")) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const r = range.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      let box = elem.closest("svg");
      if (!box) {
        box = elem;
        while (box.parentElement && getComputedStyle(box).display === "inline") box = box.parentElement;
      }
      const boxes = [box];
      for (let a = box.parentElement; a && a !== document.body; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflowX !== "visible" || s.overflowY !== "visible") boxes.push(a);
      }
      for (const b of boxes) {
        const c = b.getBoundingClientRect();
        if (r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.bottom > c.bottom + 1) {
          out.push({ text: node.textContent.trim().slice(0, 40), tag: elem.tagName, cls: elem.className.baseVal ?? elem.className,
                     text_box: [r.left, r.top, r.right, r.bottom], box: [c.left, c.top, c.right, c.bottom] });
          break;
        }
      }
    }
  }
  return out;
}
"""

_SMALL_TEXT_JS = """
(args) => {
  const [selector, minimum] = args;
  const out = [];
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      const elem = node.parentElement;
      if (!node.textContent.trim() || !elem || elem.closest("[hidden], title, .visually-hidden")) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const rects = range.getClientRects();
      if (!rects.length) continue;
      // rendered height of one line of the text (an SVG scaled down shrinks it)
      const h = Math.min(...[...rects].map((x) => x.height));
      if (h > 0 && h < minimum) out.push({ text: node.textContent.trim().slice(0, 30), height: h });
    }
  }
  return out;
}
"""


def untranslated(page: Any) -> list[str]:
    """Keys the page asked for and did not find, and raw identifiers or English level names in
    its visible text (the Chinese pages must have none)."""
    missing = page.evaluate("document.documentElement.dataset.missingKeys || ''").split()
    text = page.evaluate("document.body.innerText")
    return missing + _IDENTIFIER.findall(text) + _ENGLISH.findall(text)


def text_outside_boxes(page: Any, selector: str = "main") -> list[dict[str, Any]]:
    """Text nodes under ``selector`` that stick out of the box laying them out (clipped text)."""
    found: list[dict[str, Any]] = page.evaluate(_OUTSIDE_JS, selector)
    return found


def small_text(page: Any, selector: str, minimum: float = 11.0) -> list[dict[str, Any]]:
    """Text under ``selector`` rendered less than ``minimum`` px high."""
    found: list[dict[str, Any]] = page.evaluate(_SMALL_TEXT_JS, [selector, minimum])
    return found


def horizontal_overflow(page: Any) -> int:
    """How many px the page is wider than the window (0: no sideways scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def overlapping(page: Any, first: str, second: str) -> list[list[str]]:
    """Pairs of elements matching the two selectors whose boxes overlap."""
    js = """
    ([a, b]) => {
      const out = [];
      const A = [...document.querySelectorAll(a)], B = [...document.querySelectorAll(b)];
      for (const x of A) for (const y of B) {
        if (x === y) continue;
        const r = x.getBoundingClientRect(), s = y.getBoundingClientRect();
        if (r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom)
          out.push([x.textContent.slice(0, 20), y.textContent.slice(0, 20)]);
      }
      return out;
    }
    """
    found: list[list[str]] = page.evaluate(js, [first, second])
    return found
