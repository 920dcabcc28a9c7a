"""Blocking keys as text, for a key index kept outside the matcher (the service's database).

Per record: its key value under each blocking rule, and, for a resident ID with a broken
checksum, the one-edit keys (``ID_SUB``: the ID with one position deleted, tagged with the
position; ``ID_SWAP``: the ID with two different adjacent characters swapped). A new record
then finds every stored one of the same blocks, or one ID edit away, by equality lookups
(``neighbour_probes``): the index form of ``blocking.one_edit_id_pairs``. Vectorised with
Arrow string kernels, one pass per character position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher import columns as c
from matcher.blocking import ID_FORM_CHECKSUM_OK, id_encoding
from matcher.settings import MatchSettings

__all__ = [
    "ID_LENGTH",
    "ID_SUB",
    "ID_SWAP",
    "KEY_COLUMNS",
    "MAX_KEY_LENGTH",
    "KeyProbes",
    "key_text",
    "neighbour_probes",
    "record_keys",
]

KEY_COLUMNS = ("record_id", "rule", "value")
ID_SUB, ID_SWAP = "id_sub", "id_swap"  # rules of the one-edit ID keys
ID_LENGTH = 18
MAX_KEY_LENGTH = 300  # characters of a stored key value
_ID18 = "0123456789X"
_JOIN = "\x1f"  # between the key values of a rule with several keys


def key_text(column: pd.Series) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """A key column as strings (``str`` of the value) and where it is missing (None, NA, NaN,
    an empty string or 0)."""
    values = column.astype(object).to_numpy(copy=True)
    missing = np.asarray(pd.isna(values), dtype=bool)
    values[missing] = None
    missing |= np.asarray(values == "", dtype=bool) | np.asarray(values == 0, dtype=bool)
    text = np.array([v if type(v) is str else str(v) for v in values.tolist()], dtype=object)
    return text, missing


def record_keys(
    records: pd.DataFrame, settings: MatchSettings, ids: npt.NDArray[np.int64]
) -> pd.DataFrame:
    """(record id, rule, value) for every blocking rule, plus one-edit keys of bad-checksum IDs.

    ``ids``: the id stored for each record. Columns ``KEY_COLUMNS``; a value joins the rule's
    key values with U+001F (at most ``MAX_KEY_LENGTH`` characters).
    """
    parts: list[pd.DataFrame] = []
    texts: dict[str, tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]] = {}
    for rule in settings.blocking_rules:
        for key in rule.keys:
            if key not in texts:
                texts[key] = key_text(records[key])
        value = texts[rule.keys[0]][0]
        missing = texts[rule.keys[0]][1].copy()
        for key in rule.keys[1:]:
            value = value + _JOIN + texts[key][0]
            missing |= texts[key][1]
        keep = ~missing
        values = value[keep]
        if len(values) and max(map(len, values)) > MAX_KEY_LENGTH:
            values = np.array([v[:MAX_KEY_LENGTH] for v in values], dtype=object)
        parts.append(pd.DataFrame({"record_id": ids[keep], "rule": rule.name, "value": values}))
    if settings.one_edit_id_rule:
        status = records[c.ID_STATUS].astype(object).to_numpy()
        bad = np.flatnonzero(status == "checksum_error")
        edits = _edit_keys(records[c.ID_KEY].iloc[bad], ids[bad])
        if len(edits):
            parts.append(edits.drop_duplicates())
    if not parts:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in KEY_COLUMNS})
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True, slots=True)
class KeyProbes:
    """What to look up for new records: ``rule_values`` among stored keys (rule → values),
    ``id_keys`` among stored records' ID keys."""

    rule_values: dict[str, set[str]] = field(default_factory=dict)
    id_keys: set[str] = field(default_factory=set)


def neighbour_probes(records: pd.DataFrame, settings: MatchSettings) -> KeyProbes:
    """The lookups finding stored records that share a blocking key with ``records`` or whose
    ID is one edit away: the records' own keys; with the one-edit rule, per 18-character ID
    its deletion keys (finding bad-checksum IDs one substitution away) and itself as a swap
    key (finding those one transposition away), and, when its own checksum is broken, every
    ID one edit away (finding the valid ones)."""
    wanted: dict[str, set[str]] = {}
    keys = record_keys(records, settings, np.zeros(len(records), dtype=np.int64))
    plain = ~keys["rule"].isin([ID_SUB, ID_SWAP])
    for rule, values in keys[plain].groupby("rule", sort=False)["value"]:
        wanted[str(rule)] = set(values.tolist())
    id_keys: set[str] = set()
    if settings.one_edit_id_rule:
        ids = records[c.ID_KEY].dropna().astype(str)
        ids = ids[ids.str.len() == ID_LENGTH]
        if len(ids):
            text = _arrow(ids)
            wanted.setdefault(ID_SUB, set()).update(_deletions(text).to_pylist())
            wanted.setdefault(ID_SWAP, set()).update(text.to_pylist())
            _, _, form = id_encoding(ids.reset_index(drop=True))
            broken = text.filter(pa.array(form != ID_FORM_CHECKSUM_OK))
            id_keys.update(_substitutions(broken).to_pylist())
            id_keys.update(_swaps(broken)[0].to_pylist())
    return KeyProbes(rule_values=wanted, id_keys=id_keys)


def _arrow(keys: pd.Series) -> pa.Array:
    return pa.array(keys.astype(object).to_numpy(), type=pa.string())


def _edit_keys(keys: pd.Series, ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    """``ID_SUB`` and ``ID_SWAP`` keys of 18-character IDs, per record: its deletions by
    position, then its swaps by position."""
    text = keys.astype(object).to_numpy()
    full = np.flatnonzero([type(k) is str and len(k) == ID_LENGTH for k in text.tolist()])
    if not len(full):
        return pd.DataFrame({k: pd.Series(dtype=object) for k in KEY_COLUMNS})
    arrow = pa.array(text[full], type=pa.string())
    owners = ids[full]
    deletions = _deletions(arrow, grouped=True)
    swaps, swap_owner = _swaps(arrow, grouped=True)
    order = np.argsort(np.r_[np.repeat(np.arange(len(full)), ID_LENGTH), swap_owner], kind="stable")
    record = np.r_[np.repeat(owners, ID_LENGTH), owners[swap_owner]]
    rule = np.repeat(np.array([ID_SUB, ID_SWAP], dtype=object), [len(deletions), len(swaps)])
    value = np.array(deletions.to_pylist() + swaps.to_pylist(), dtype=object)
    return pd.DataFrame({"record_id": record[order], "rule": rule[order], "value": value[order]})


def _cut(text: pa.Array, i: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Characters before position ``i``, at it, and after it."""
    head = pc.utf8_slice_codeunits(text, 0, i)
    return head, pc.utf8_slice_codeunits(text, i, i + 1), pc.utf8_slice_codeunits(text, i + 1)


def _deletions(text: pa.Array, *, grouped: bool = False) -> pa.Array:
    """``"i:"`` + the ID without its character ``i``, for every position (by position, or by
    ID then position when ``grouped``)."""
    parts = []
    for i in range(ID_LENGTH):
        head, _, tail = _cut(text, i)
        parts.append(pc.binary_join_element_wise(pa.scalar(f"{i}:"), head, tail, ""))
    if not grouped:
        return pa.concat_arrays(parts)
    table = pa.table({str(i): part for i, part in enumerate(parts)})
    columns = [table.column(i).to_numpy(zero_copy_only=False) for i in range(ID_LENGTH)]
    return pa.array(np.stack(columns, axis=1).reshape(-1), type=pa.string())


def _swaps(text: pa.Array, *, grouped: bool = False) -> tuple[pa.Array, npt.NDArray[np.intp]]:
    """IDs with two different adjacent characters swapped, and the position of each one's ID
    (by position, or by ID then position when ``grouped``)."""
    values: list[pa.Array] = []
    owners: list[npt.NDArray[np.intp]] = []
    for i in range(ID_LENGTH - 1):
        head, first, rest = _cut(text, i)
        second = pc.utf8_slice_codeunits(text, i + 1, i + 2)
        tail = pc.utf8_slice_codeunits(text, i + 2)
        moved = pc.not_equal(first, second)
        swapped = pc.binary_join_element_wise(head, second, first, tail, "")
        values.append(swapped.filter(moved))
        owners.append(np.flatnonzero(moved.to_numpy(zero_copy_only=False)))
    value = pa.concat_arrays(values) if values else pa.array([], type=pa.string())
    owner = np.concatenate(owners) if owners else np.empty(0, dtype=np.intp)
    if grouped:
        order = np.argsort(owner, kind="stable")
        return value.take(pa.array(order)), owner[order]
    return value, owner


def _substitutions(text: pa.Array) -> pa.Array:
    """Every ID one substitution away (any of 0-9 and X at any position)."""
    parts = []
    for i in range(ID_LENGTH):
        head, char, tail = _cut(text, i)
        for ch in _ID18:
            other = pc.not_equal(char, pa.scalar(ch))
            joined = pc.binary_join_element_wise(head, pa.scalar(ch), tail, "")
            parts.append(joined.filter(other))
    return pa.concat_arrays(parts) if parts else pa.array([], type=pa.string())
