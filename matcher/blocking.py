"""Candidate pairs from several blocking rules, unioned without duplicates, large blocks capped."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c
from matcher.settings import BlockingRule, MatchSettings

ONE_EDIT_RULE = "id_one_edit"
_RESIDENT_DOCS = frozenset({"resident_id", "residence_permit", "foreign_pr_new"})
RULES_COLUMN = "rules"  # bit mask: bit k set when rule k produced the pair


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
    masks: list[npt.NDArray[np.int64]] = []
    per_rule: dict[str, int] = {}
    capped_blocks: dict[str, int] = {}
    capped_records: dict[str, int] = {}
    n = len(records)
    for bit, rule in enumerate(settings.blocking_rules):
        left, right, skipped_blocks, skipped_records = _pairs_for_rule(records, rule)
        codes = left * n + right
        per_rule[rule.name] = len(codes)
        capped_blocks[rule.name] = skipped_blocks
        capped_records[rule.name] = skipped_records
        encoded.append(codes)
        masks.append(np.full(len(codes), 1 << bit, dtype=np.int64))
    if settings.one_edit_id_rule:
        left, right = one_edit_id_pairs(records)
        codes = left * n + right
        per_rule[ONE_EDIT_RULE] = len(codes)
        encoded.append(codes)
        masks.append(np.full(len(codes), 1 << (len(rule_names) - 1), dtype=np.int64))
    all_codes = np.concatenate(encoded) if encoded else np.empty(0, dtype=np.int64)
    all_masks = np.concatenate(masks) if masks else np.empty(0, dtype=np.int64)
    order = np.argsort(all_codes, kind="stable")
    all_codes, all_masks = all_codes[order], all_masks[order]
    starts = (
        np.flatnonzero(np.r_[True, all_codes[1:] != all_codes[:-1]])
        if len(all_codes)
        else np.empty(0, dtype=np.int64)
    )
    unique_codes = all_codes[starts]
    rule_masks = np.bitwise_or.reduceat(all_masks, starts) if len(starts) else all_masks
    pairs = pd.DataFrame(
        {
            f"{c.RECORD_ID}_l": unique_codes // n if n else unique_codes,
            f"{c.RECORD_ID}_r": unique_codes % n if n else unique_codes,
            RULES_COLUMN: rule_masks,
        }
    )
    report = BlockingReport(
        pairs_per_rule=per_rule,
        capped_blocks=capped_blocks,
        capped_records=capped_records,
        total_pairs=len(pairs),
        rule_names=tuple(rule_names),
    )
    return pairs, report


def _block_codes(records: pd.DataFrame, keys: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """One integer block code per record (-1 where any key is missing or empty)."""
    combined = np.zeros(len(records), dtype=np.int64)
    missing = np.zeros(len(records), dtype=bool)
    for key in keys:
        col = records[key]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            values = col.to_numpy(dtype=np.int64, na_value=0)
            codes, _ = pd.factorize(values)
            missing |= values == 0
        else:
            codes, uniques = pd.factorize(col)
            missing |= codes < 0
            empty = np.flatnonzero(np.asarray(uniques, dtype=object) == "")
            if len(empty):
                missing |= codes == empty[0]
        # mix into one key; factorize again to keep the numbers small
        combined, _ = pd.factorize(combined * (int(codes.max()) + 2) + codes + 1)
        combined = combined.astype(np.int64)
    combined[missing] = -1
    return combined


def _pairs_for_rule(
    records: pd.DataFrame, rule: BlockingRule
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, int]:
    """All pairs within blocks of ``rule``; oversize blocks are sub-blocked, then skipped."""
    rid = records[c.RECORD_ID].to_numpy(dtype=np.int64)
    codes = _block_codes(records, rule.keys)
    lefts: list[npt.NDArray[np.int64]] = []
    rights: list[npt.NDArray[np.int64]] = []
    skipped_blocks = skipped_records = 0
    active = codes >= 0
    level_keys = list(rule.keys)
    for depth in range(len(rule.sub_keys) + 1):
        sizes = np.bincount(codes[active]) if active.any() else np.empty(0, dtype=np.int64)
        size_of = np.zeros(len(codes), dtype=np.int64)
        size_of[active] = sizes[codes[active]]
        ok = active & (size_of >= 2) & (size_of <= rule.max_block_size)
        left, right = pairs_within_blocks(codes[ok], rid[ok])
        lefts.append(left)
        rights.append(right)
        oversize = active & (size_of > rule.max_block_size)
        if not oversize.any():
            break
        if depth == len(rule.sub_keys):
            skipped_blocks += len(np.unique(codes[oversize]))
            skipped_records += int(oversize.sum())
            break
        level_keys.append(rule.sub_keys[depth])
        codes = _block_codes(records, tuple(level_keys))
        active = oversize & (codes >= 0)
    return np.concatenate(lefts), np.concatenate(rights), skipped_blocks, skipped_records


def pairs_within_blocks(
    codes: npt.NDArray[np.int64], rid: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair (i < j) of record ids sharing a block code, vectorised over all blocks."""
    if len(codes) < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    order = np.lexsort((rid, codes))
    codes, rid = codes[order], rid[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    multi = sizes >= 2
    starts, sizes = starts[multi], sizes[multi]
    if len(starts) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    # For each block of size s, each member at offset k pairs with the s-1-k members after it.
    member_start = np.repeat(starts, sizes)
    offsets = np.arange(len(member_start)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    member_size = np.repeat(sizes, sizes)
    partners = member_size - 1 - offsets
    first = np.repeat(member_start + offsets, partners)
    # partner index: first + 1 .. first + partners
    within = np.arange(partners.sum()) - np.repeat(np.cumsum(partners) - partners, partners)
    second = first + 1 + within
    return rid[first], rid[second]


def one_edit_id_pairs(
    records: pd.DataFrame,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs of 18-character IDs one substitution or adjacent transposition apart.

    A single error always breaks the MOD 11-2 checksum, so one side of such a pair has status
    ``checksum_error``: only those records are probed, against every 18-character key.
    """
    keys = records[c.ID_KEY].astype(object)
    status = records[c.ID_STATUS].astype(object).to_numpy()
    # valid and checksum_error resident numbers are exactly the 17-digit + [0-9X] keys
    shaped = (
        np.isin(status, ["valid", "checksum_error"]) & (keys.str.len() == 18).eq(True).to_numpy()
    )
    shaped &= records[c.ID_DOC_TYPE].astype(object).isin(list(_RESIDENT_DOCS)).to_numpy()
    rid_all = records[c.RECORD_ID].to_numpy(dtype=np.int64)[shaped]
    probe = status[shaped] == "checksum_error"
    if not probe.any():
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    matrix = id_digit_matrix(keys[shaped])
    weights = 11 ** np.arange(17, -1, -1, dtype=np.int64)
    lefts: list[npt.NDArray[np.int64]] = []
    rights: list[npt.NDArray[np.int64]] = []
    # Substitution at position p: the two keys are equal once p is deleted from both.
    # Deletion keys from running prefix and suffix values (base 11), no 17-column copies.
    digits = matrix.astype(np.int64)
    suffix = np.zeros((len(matrix), 19), dtype=np.int64)  # suffix[:, i] = value of digits i..17
    for i in range(17, -1, -1):
        suffix[:, i] = digits[:, i] * weights[i] + suffix[:, i + 1]
    prefix = np.zeros(len(matrix), dtype=np.int64)  # value of digits 0..p-1 (base 11)
    for p in range(18):
        deleted = prefix * weights[p] + suffix[:, p + 1]
        prefix = prefix * 11 + digits[:, p]
        left, right = _match_probes(deleted, probe, rid_all)
        lefts.append(left)
        rights.append(right)
    # Adjacent transposition at p, p+1: the probe with those two swapped equals a key.
    full = digits @ weights
    order = np.argsort(full, kind="stable")
    sorted_keys, sorted_rids = full[order], rid_all[order]
    probe_digits = digits[probe]
    probe_rid = rid_all[probe]
    for p in range(17):
        changed = probe_digits[:, p] != probe_digits[:, p + 1]
        swapped = probe_digits[changed]
        swapped[:, [p, p + 1]] = swapped[:, [p + 1, p]]
        src, dst = _lookup(sorted_keys, sorted_rids, swapped @ weights, probe_rid[changed])
        lefts.append(src)
        rights.append(dst)
    left = np.concatenate(lefts)
    right = np.concatenate(rights)
    keep = left != right
    left, right = left[keep], right[keep]
    return np.minimum(left, right), np.maximum(left, right)


def _lookup(
    sorted_keys: npt.NDArray[np.int64],
    sorted_rids: npt.NDArray[np.int64],
    queries: npt.NDArray[np.int64],
    query_rids: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(query record, target record) for every target whose key equals a query key."""
    lo = np.searchsorted(sorted_keys, queries, side="left")
    hi = np.searchsorted(sorted_keys, queries, side="right")
    counts = hi - lo
    src = np.repeat(query_rids, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    dst = sorted_rids[np.repeat(lo, counts) + offsets]
    return src, dst


def _match_probes(
    deleted: npt.NDArray[np.int64], probe: npt.NDArray[np.bool_], rid: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pairs (probe record, any record) sharing a deletion key."""
    hit = pd.Index(np.unique(deleted[probe])).get_indexer(pd.Index(deleted)) >= 0
    probes = pd.DataFrame({"key": deleted[probe], "src": rid[probe]})
    targets = pd.DataFrame({"key": deleted[hit], "dst": rid[hit]})
    joined = probes.merge(targets, on="key")
    joined = joined[joined["src"] != joined["dst"]]
    return joined["src"].to_numpy(dtype=np.int64), joined["dst"].to_numpy(dtype=np.int64)


def id_digit_matrix(keys: pd.Series) -> npt.NDArray[np.uint8]:
    """(n, 18) matrix of digit values (X = 10) of 18-character ID keys."""
    joined = "".join(keys.tolist()).encode("ascii")
    raw = np.frombuffer(joined, dtype=np.uint8).reshape(-1, 18)
    return np.where(raw == ord("X"), 10, raw - ord("0")).astype(np.uint8)
