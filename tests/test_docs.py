"""The documents a newcomer reads first are whole: no merge left half-resolved in them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(<{7}|>{7}) |^={7}$", re.MULTILINE)


def test_no_conflict_markers_in_tracked_text() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.md", "*.py", "*.toml", "*.html", "*.js", "*.css", "Makefile"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert tracked, "git ls-files found no tracked files"
    marked = [p for p in tracked if MARKER.search((ROOT / p).read_text(encoding="utf-8"))]
    assert marked == [], f"merge conflict markers left in {marked}"
