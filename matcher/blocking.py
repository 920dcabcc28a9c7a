"""Candidate pairs from several blocking rules, unioned without duplicates, large blocks capped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c
from matcher.dictionary import distinct, is_dictionary, known_text
from matcher.resident_id import check_bytes
from matcher.settings import BlockingRule, MatchSettings
from matcher.sorting import group_order

__all__ = [
    "BlockingReport",
    "ID_CHARS",
    "ID_FORM",
    "ID_FORM_CHECKSUM_OK",
    "ID_FORM_OTHER",
    "KEY_PREFIX",
    "ONE_EDIT_RULE",
    "block_pairs",
    "column_codes",
    "encode",
    "id_encoding",
    "key_columns",
    "one_edit_id_pairs",
    "pairs_within_blocks",
]

ONE_EDIT_RULE = "id_one_edit"
_RESIDENT_DOCS = frozenset({"resident_id", "residence_permit", "foreign_pr_new"})
RULES_COLUMN = "rules"  # bit mask: bit k set when rule k produced the pair

# Integer codes of record columns, cached by ``compare.prepare_records`` as ``key_<column>``.
KEY_PREFIX = "key_"
ID_CHARS = KEY_PREFIX + "id_chars"  # id_key as 18 ASCII bytes (b"" unless 18 ASCII chars)
ID_FORM = KEY_PREFIX + "id_form"  # see the ID_FORM_* values
ID_FORM_OTHER = 0  # missing, or not 18 ASCII characters
ID_FORM_18 = 1  # 18 ASCII characters, not 17 digits + [0-9X]
ID_FORM_BAD_CHECKSUM = 2  # 17 digits + [0-9X] with a wrong MOD 11-2 check character
ID_FORM_CHECKSUM_OK = 3  # 17 digits + [0-9X] with the right check character
_POWERS_11 = 11 ** np.arange(17, -1, -1, dtype=np.int64)
Int32Array = npt.NDArray[np.int32]


def encode(values: pd.Series) -> Int32Array:
    """Integer code per value (equal values share a code; -1 for missing or empty).

    Works on object, string and categorical columns alike (a categorical is not decoded). The
    numbering itself carries no meaning: codes are compared, counted and sorted on, never
    read as values.
    """
    if _dense_dictionary(values):
        return _encode_dictionary(values)
    raw, uniques = pd.factorize(values)
    return _blank_as_missing(raw, np.asarray(uniques, dtype=object))


def _dense_dictionary(values: pd.Series) -> bool:
    """True for a dictionary-encoded column with no more categories than rows: work per
    category is then no more than work per row."""
    return is_dictionary(values) and len(values.cat.categories) <= len(values)


def _encode_dictionary(values: pd.Series) -> Int32Array:
    """``encode`` of a Categorical without hashing: its own codes (its categories are distinct)."""
    categories = np.asarray(values.cat.categories, dtype=object)
    codes = np.asarray(values.array.codes).astype(np.int32)
    return _blank_as_missing(codes, categories)


def _blank_as_missing(
    raw: npt.NDArray[np.signedinteger[Any]], uniques: npt.NDArray[np.object_]
) -> Int32Array:
    """Factorize codes as int32, with the empty string's code also turned into -1."""
    codes: Int32Array = raw.astype(np.int32, copy=False)
    empty = np.flatnonzero(uniques == "")
    if len(empty):
        codes[codes == empty[0]] = -1
    return codes


def column_codes(records: pd.DataFrame, column: str) -> Int32Array:
    """``encode`` of a record column, from the ``key_<column>`` cache when present."""
    cached = KEY_PREFIX + column
    if cached in records:
        return records[cached].to_numpy(dtype=np.int32)
    return encode(records[column])


def value_mask(
    values: pd.Series, wanted: frozenset[str] | tuple[str, ...]
) -> npt.NDArray[np.bool_]:
    """True where a (low-cardinality) column's value is one of ``wanted``; checks distinct values."""
    codes, uniques = pd.factorize(values)
    hit = np.isin(np.asarray(uniques, dtype=object), list(wanted))
    return np.append(hit, False)[codes]  # code -1 (missing) → False


def id_encoding(
    keys: pd.Series,
) -> tuple[Int32Array, npt.NDArray[np.bytes_], npt.NDArray[np.int8]]:
    """Per ID key: its ``encode`` code, its 18 ASCII bytes (b"" otherwise), its ``ID_FORM_*``.

    The bytes and forms are worked out once per distinct key (per category when ``keys`` is
    dictionary-encoded).
    """
    if _dense_dictionary(keys):
        value_codes, values = distinct(keys)
        codes = encode(keys)
    else:
        raw, uniques = pd.factorize(keys)
        values = np.asarray(uniques, dtype=object)
        value_codes, codes = raw, _blank_as_missing(raw, values)
    chars, form = _id_shapes(values)
    return codes, chars[value_codes], form[value_codes]


def _id_shapes(
    values: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int8]]:
    """Per text value, plus a last slot for missing: its 18 bytes when it is 18 ASCII
    characters (else b""), and its ``ID_FORM_*`` (Arrow kernels find the 18-character ones)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chars = np.zeros(len(values) + 1, dtype="S18")
    form = np.zeros(len(values) + 1, dtype=np.int8)
    known = known_text(values)
    text = (
        pa.array(values, type=pa.large_string()) if known is None else known.cast(pa.large_string())
    )
    is_full = pc.and_(pc.equal(pc.utf8_length(text), 18), pc.string_is_ascii(text))
    full = np.flatnonzero(is_full.to_numpy(zero_copy_only=False))
    if len(full):
        packed = pc.filter(text, is_full)  # their bytes back to back, 18 each
        _, offsets, data = packed.buffers()
        start = int(np.frombuffer(offsets, np.int64)[packed.offset])
        raw = np.frombuffer(data, np.uint8, count=18 * len(full), offset=start)
        chars[full] = raw.view("S18")
        form[full] = _id_forms(raw.reshape(-1, 18))
    return chars, form


def _id_forms(matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.int8]:
    """``ID_FORM_*`` of 18-character IDs, given as rows of ASCII bytes; worked out in blocks
    that stay in the CPU cache."""
    forms = np.empty(len(matrix), dtype=np.int8)
    for start in range(0, len(matrix), _ID_BLOCK):
        forms[start : start + _ID_BLOCK] = _block_forms(matrix[start : start + _ID_BLOCK])
    return forms


_ID_BLOCK = 1 << 14  # IDs per block (their digits transposed: 272 KiB)


def _block_forms(matrix: npt.NDArray[np.uint8]) -> npt.NDArray[np.int8]:
    """``_id_forms`` of one block."""
    # One contiguous row per position; a byte below "0" wraps around to a large value.
    digits = np.ascontiguousarray(matrix[:, :17].T)
    digits -= np.uint8(ord("0"))
    shaped = (digits <= 9).all(axis=0)
    last = matrix[:, 17]
    shaped &= ((last >= ord("0")) & (last <= ord("9"))) | (last == ord("X"))
    ok = check_bytes(digits) == last
    forms = np.where(ok, ID_FORM_CHECKSUM_OK, ID_FORM_BAD_CHECKSUM)
    return np.where(shaped, forms, ID_FORM_18).astype(np.int8)


def id_arrays(records: pd.DataFrame) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int8]]:
    """The ID keys' 18 bytes and forms (``id_encoding``), from the cache when present."""
    if ID_CHARS in records and ID_FORM in records:
        return records[ID_CHARS].to_numpy(), records[ID_FORM].to_numpy(dtype=np.int8)
    _, chars, form = id_encoding(records[c.ID_KEY])
    return chars, form


def id_digits(chars: npt.NDArray[np.bytes_]) -> npt.NDArray[np.int64]:
    """(n, 18) digit values (X = 10) of IDs shaped as 17 digits + [0-9X]."""
    raw = chars.astype("S18").view(np.uint8).reshape(-1, 18).astype(np.int64)
    return np.where(raw == ord("X"), 10, raw - ord("0"))


@dataclass(frozen=True, slots=True)
class BlockingReport:
    """Candidate pairs produced per rule and blocks that were too large."""

    pairs_per_rule: dict[str, int]
    capped_blocks: dict[str, int]  # rule → number of blocks skipped as too large
    capped_records: dict[str, int]  # rule → records in those blocks
    total_pairs: int
    rule_names: tuple[str, ...] = field(default_factory=tuple)


def block_pairs(
    records: pd.DataFrame, settings: MatchSettings
) -> tuple[pd.DataFrame, BlockingReport]:
    """Candidate pairs ``record_id_l < record_id_r`` with the bit mask of rules that found them."""
    rule_names = [r.name for r in settings.blocking_rules]
    if settings.one_edit_id_rule:
        rule_names.append(ONE_EDIT_RULE)
    encoded: list[npt.NDArray[np.int64]] = []
    masks: list[npt.NDArray[np.uint8]] = []
    per_rule: dict[str, int] = {}
    capped_blocks: dict[str, int] = {}
    capped_records: dict[str, int] = {}
    n = len(records)
    keys = _KeyCodes(records)
    for bit, rule in enumerate(settings.blocking_rules):
        left, right, skipped_blocks, skipped_records = _pairs_for_rule(records, rule, keys)
        codes = left * n + right
        per_rule[rule.name] = len(codes)
        capped_blocks[rule.name] = skipped_blocks
        capped_records[rule.name] = skipped_records
        encoded.append(codes)
        masks.append(np.full(len(codes), bit, dtype=np.uint8))
    del keys
    if settings.one_edit_id_rule:
        left, right = one_edit_id_pairs(records)
        codes = left * n + right
        per_rule[ONE_EDIT_RULE] = len(codes)
        encoded.append(codes)
        masks.append(np.full(len(codes), len(rule_names) - 1, dtype=np.uint8))
    # One sort of (pair code, rule bit) packed into an int64, then one row per pair code.
    packed = np.concatenate(encoded) if encoded else np.empty(0, dtype=np.int64)
    del encoded
    shift = max(len(rule_names) - 1, 1).bit_length()
    packed <<= shift
    packed |= np.concatenate(masks) if masks else np.empty(0, dtype=np.uint8)
    del masks
    packed.sort()
    all_codes = packed >> shift
    starts = (
        np.flatnonzero(np.r_[True, all_codes[1:] != all_codes[:-1]])
        if len(all_codes)
        else np.empty(0, dtype=np.int64)
    )
    unique_codes = all_codes[starts]
    del all_codes
    rule_bits = np.left_shift(np.int64(1), packed & ((1 << shift) - 1))
    del packed
    rule_masks = np.bitwise_or.reduceat(rule_bits, starts) if len(starts) else rule_bits
    del rule_bits
    pairs = pd.DataFrame(
        {
            f"{c.RECORD_ID}_l": unique_codes // n if n else unique_codes,
            f"{c.RECORD_ID}_r": unique_codes % n if n else unique_codes,
            RULES_COLUMN: rule_masks,
        },
        copy=False,  # new arrays: no consolidating copy
    )
    report = BlockingReport(
        pairs_per_rule=per_rule,
        capped_blocks=capped_blocks,
        capped_records=capped_records,
        total_pairs=len(pairs),
        rule_names=tuple(rule_names),
    )
    return pairs, report


class _KeyCodes:
    """Integer codes of blocking key columns, computed once per column (-1 = missing)."""

    def __init__(self, records: pd.DataFrame) -> None:
        self._records = records
        self._codes: dict[str, Int32Array] = {}

    def __call__(self, key: str) -> Int32Array:
        if key not in self._codes:
            col = self._records[key]
            dtype = col.dtype
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                values = col.to_numpy(dtype=np.int64, na_value=0)
                self._codes[key] = _number_codes(values)
            else:
                self._codes[key] = column_codes(self._records, key)
        return self._codes[key]


def _number_codes(values: npt.NDArray[np.int64]) -> Int32Array:
    """Codes of a numeric key (0 = missing → -1): small numbers (a year, a month) as they are,
    a narrow range (dates as YYYYMMDD) shifted to start at 0, others factorized."""
    n = len(values)
    present = values != 0
    low = int(values[present].min()) if present.any() else 0
    high = int(values.max()) if n else 0
    if int(values.min(initial=0)) >= 0 and high < max(4 * n, 256):
        codes = values.astype(np.int32)
    elif low > 0 and high - low < 4 * n:
        codes = (values - low).astype(np.int32)
    else:
        codes = pd.factorize(values)[0].astype(np.int32)
    codes[~present] = -1
    return codes


def key_columns(settings: MatchSettings) -> tuple[str, ...]:
    """Every column a blocking rule of ``settings`` reads (keys and sub-keys)."""
    names = [k for rule in settings.blocking_rules for k in (*rule.keys, *rule.sub_keys)]
    return tuple(dict.fromkeys(names))


def _pairs_for_rule(
    records: pd.DataFrame, rule: BlockingRule, keys: _KeyCodes
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, int]:
    """All pairs within blocks of ``rule``; oversize blocks are sub-blocked, then skipped."""
    rid = records[c.RECORD_ID].to_numpy(dtype=np.int64)
    present = np.ones(len(rid), dtype=bool)
    for key in rule.keys:
        present &= keys(key) >= 0
    rows = np.flatnonzero(present)  # the records in play
    if not bool(np.all(rid[1:] >= rid[:-1])):
        rows = rows[np.argsort(rid[rows], kind="stable")]
    rows, starts = _sorted_blocks(rows, [keys(key)[rows] for key in rule.keys])
    lefts: list[npt.NDArray[np.int64]] = []
    rights: list[npt.NDArray[np.int64]] = []
    skipped_blocks = skipped_records = 0
    for depth in range(len(rule.sub_keys) + 1):
        sizes = np.diff(np.append(starts, len(rows)))
        ok = (sizes >= 2) & (sizes <= rule.max_block_size)
        left, right = _pairs_in_runs(rid[rows], starts[ok], sizes[ok])
        lefts.append(left)
        rights.append(right)
        oversize = sizes > rule.max_block_size
        if not oversize.any():
            break
        if depth == len(rule.sub_keys):
            skipped_blocks += int(oversize.sum())
            skipped_records += int(sizes[oversize].sum())
            break
        # Split the oversize blocks by the next sub-key (only their records are re-sorted).
        in_oversize = np.repeat(oversize, sizes)
        parent = np.repeat(np.arange(len(sizes)), sizes)[in_oversize]
        rows = rows[in_oversize]
        sub_codes = keys(rule.sub_keys[depth])[rows]
        keep = sub_codes >= 0
        rows, starts = _sorted_blocks(rows[keep], [parent[keep], sub_codes[keep]])
    return np.concatenate(lefts), np.concatenate(rights), skipped_blocks, skipped_records


def _sorted_blocks(
    rows: npt.NDArray[np.intp], columns: Sequence[npt.NDArray[np.integer[Any]]]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``rows`` ordered by their key ``columns`` (one code per row, all >= 0), ties kept in
    their order, and where each block of equal keys starts.

    One counting sort per key, last key first (a radix sort): no combined code is hashed.
    """
    *earlier, last = columns
    order = group_order(last)
    for column in reversed(earlier):
        order = order[group_order(column[order])]
    if len(order) == 0:
        return rows, np.empty(0, dtype=np.intp)
    boundary = np.zeros(len(order), dtype=bool)
    boundary[0] = True
    for column in columns:
        ordered = column[order]
        boundary[1:] |= ordered[1:] != ordered[:-1]
    return rows[order], np.flatnonzero(boundary)


def pairs_within_blocks(
    codes: npt.NDArray[np.int64], rid: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair (i < j) of record ids sharing a block code, vectorised over all blocks."""
    if len(codes) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if bool(np.all(rid[1:] >= rid[:-1])):  # already in record order: one stable sort
        order = group_order(codes)
    else:
        order = np.lexsort((rid, codes))
    codes, rid = codes[order], rid[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    multi = sizes >= 2
    return _pairs_in_runs(rid, starts[multi], sizes[multi])


def _pairs_in_runs(
    rid: npt.NDArray[np.int64], starts: npt.NDArray[np.intp], sizes: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair (i < j) of ``rid`` within each run ``rid[start : start + size]``.

    Made one distance at a time: the members ``k`` or more places from the end of their run
    pair with the member ``k`` places on (most runs are short, so the set soon empties).
    """
    if len(starts) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    position = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    position += np.arange(len(position))  # each member's position in ``rid``
    end = np.repeat(starts + sizes, sizes)  # where its run ends
    lefts: list[npt.NDArray[np.int64]] = []
    rights: list[npt.NDArray[np.int64]] = []
    distance = 1
    while True:
        keep = position + distance < end
        position, end = position[keep], end[keep]
        if len(position) == 0:
            break
        lefts.append(rid[position])
        rights.append(rid[position + distance])
        distance += 1
    return np.concatenate(lefts), np.concatenate(rights)


def one_edit_id_pairs(
    records: pd.DataFrame,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct pairs (left < right) of resident-type IDs equal or one edit apart.

    One edit is one substitution or one adjacent transposition. A single error always breaks
    the MOD 11-2 checksum, so one side of such a pair has status ``checksum_error``: only those
    records (the probes, a few thousand in a million) are expanded into every key one edit
    away, and the variants are looked up among all 18-character keys (status ``valid`` or
    ``checksum_error``). Records sharing a probe's key are paired too.
    """
    empty = np.empty(0, dtype=np.int64)
    chars, form = id_arrays(records)
    status_codes, statuses = pd.factorize(records[c.ID_STATUS])
    known = np.asarray(statuses, dtype=object)
    status_ok = np.append(np.isin(known, ["valid", "checksum_error"]), False)[status_codes]
    shaped = (form >= ID_FORM_BAD_CHECKSUM) & status_ok
    shaped &= value_mask(records[c.ID_DOC_TYPE], _RESIDENT_DOCS)
    probe = shaped & np.append(known == "checksum_error", False)[status_codes]
    if not probe.any():
        return empty, empty.copy()
    rid = records[c.RECORD_ID].to_numpy(dtype=np.int64)
    targets = np.flatnonzero(shaped)
    probes = np.flatnonzero(probe)
    queries, sources = _one_edit_variants(id_digits(chars[probes]), rid[probes])
    values = _id_values(chars[targets])
    # Only the targets some query finds (~10 thousand of a million) are sorted and searched:
    # one hash lookup per target instead of sorting them all and searching every query there.
    hit = pd.Series(values, copy=False).isin(queries).to_numpy()
    values, targets = values[hit], targets[hit]
    order = np.argsort(values)
    sorted_values, sorted_rid = values[order], rid[targets[order]]
    del values, order
    if len(sorted_values) == 0:
        return empty, empty.copy()
    lo = np.minimum(np.searchsorted(sorted_values, queries), len(sorted_values) - 1)
    found = sorted_values[lo] == queries
    queries, sources, lo = queries[found], sources[found], lo[found]
    counts = np.searchsorted(sorted_values, queries, side="right") - lo
    src = np.repeat(sources, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    dst = sorted_rid[np.repeat(lo, counts) + offsets]
    keep = src != dst
    left = np.minimum(src[keep], dst[keep])
    right = np.maximum(src[keep], dst[keep])
    n = max(len(records), 1)
    unique = np.unique(left * n + right)
    return unique // n, unique % n


def _id_values(chars: npt.NDArray[np.bytes_]) -> npt.NDArray[np.int64]:
    """Base-11 value of IDs shaped as 17 digits + [0-9X] (distinct IDs, distinct values)."""
    raw = np.asarray(chars, dtype="S18").view(np.uint8).reshape(-1, 18)
    rows = np.ascontiguousarray(raw.T)  # one contiguous row per character position
    value = np.zeros(len(raw), dtype=np.int64)
    for row in rows[:17]:
        value *= 11
        value += row
        value -= ord("0")
    last = rows[17]
    return value * 11 + np.where(last == ord("X"), 10, last.astype(np.int64) - ord("0"))


def _one_edit_variants(
    digits: npt.NDArray[np.int64], rid: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Base-11 values of each ID itself and of every shaped ID one edit away, with its record."""
    value = digits @ _POWERS_11
    # Substitutions: any other digit at positions 0-16, any other digit or X at position 17.
    alternatives = np.arange(11, dtype=np.int64)
    substituted = (
        value[:, None, None]
        + (alternatives[None, None, :] - digits[:, :, None]) * _POWERS_11[None, :, None]
    )
    allowed = alternatives[None, None, :] != digits[:, :, None]
    allowed[:, :17, 10] = False
    # Adjacent transpositions of two different characters.
    swapped = (
        value[:, None]
        + (digits[:, 1:] - digits[:, :-1]) * _POWERS_11[None, :-1]
        + (digits[:, :-1] - digits[:, 1:]) * _POWERS_11[None, 1:]
    )
    moved = digits[:, 1:] != digits[:, :-1]
    queries = np.concatenate([value, substituted[allowed], swapped[moved]])
    sources = np.concatenate(
        [
            rid,
            np.repeat(rid, allowed.reshape(len(rid), -1).sum(axis=1)),
            np.repeat(rid, moved.sum(axis=1)),
        ]
    )
    return queries, sources
