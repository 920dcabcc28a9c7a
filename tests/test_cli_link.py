"""``vaxlink link`` as a process: outputs complete and the summary printed before its fast exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from api.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_link_process_writes_everything_and_exits_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "synth"
    assert (
        main(["synth", "--persons", "300", "--provinces", "3", "--seed", "5", "--out", str(data)])
        == 0
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "link",
            str(data),
            "--out",
            str(out),
            "--today",
            "2026-11-26",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "person records" in done.stdout and "outputs in" in done.stdout  # flushed
    truth = pd.read_csv(data / "truth.csv", dtype=str)
    persons = pd.read_csv(out / "persons.csv", dtype=str)
    assert len(persons) == len(truth[["source", "person_ref"]].drop_duplicates())
    assert (out / "summary.json").stat().st_size > 0
    assert (out / "histories.jsonl").read_text(encoding="utf-8").endswith("\n")

    failed = subprocess.run(
        [sys.executable, "-m", "api.cli", "link", str(tmp_path / "absent"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert failed.returncode == 2 and "no such file or folder" in failed.stderr


def test_closed_output_pipe_ends_quietly(tmp_path: Path) -> None:
    """``vaxlink ... | head``: the reader closing the pipe is no crash and no traceback."""
    import os

    reader, writer = os.pipe()
    os.close(reader)  # nobody reads: the first write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", "synth", "--persons", "50", "--out", str(tmp_path)],
            cwd=ROOT,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
