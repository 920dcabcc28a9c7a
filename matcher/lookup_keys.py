"""One identity's lookup keys, as the vectorised normalisers compute them: the scalar path
of a history query (an ID number and a name in, the stored record keys out)."""

from __future__ import annotations

import re

import pandas as pd

from matcher import columns as c
from matcher.doc_types import DocType, doc_type_of
from matcher.names import keys_of_uniques
from matcher.regions import PROVINCES
from matcher.resident_id import IdStatus, normalise_ids, resident_id_status

__all__ = [
    "id_key_of",
    "name_keys_of",
]

_PLAIN_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")


def id_key_of(id_type: str, id_number: str) -> str | None:
    """``ID_KEY`` of one identity, as ``normalise_ids`` computes it.

    Fast path (no frames): a clean, valid 18-character resident ID declared as a resident ID
    of a mainland province is its own key. Anything else goes through ``normalise_ids``.
    """
    if (
        _PLAIN_RESIDENT_ID.fullmatch(id_number)
        and id_number[:2] in PROVINCES
        and doc_type_of(id_type) == DocType.RESIDENT_ID
        and resident_id_status(id_number) == IdStatus.VALID
    ):
        return id_number
    ids = normalise_ids(pd.Series([id_number], dtype=object), pd.Series([id_type], dtype=object))
    key = ids[c.ID_KEY].iloc[0]
    return key if isinstance(key, str) else None


def name_keys_of(name: str) -> tuple[str | None, bool, str | None]:
    """(simplified name, is Latin, pinyin) of one name, as ``normalise_names`` computes them."""
    keys = keys_of_uniques([name])
    simplified, latin, pinyin = (
        keys[k][0] for k in (c.NAME_SIMPLIFIED, c.NAME_IS_LATIN, c.NAME_PINYIN)
    )
    return (
        simplified if isinstance(simplified, str) else None,
        bool(latin),
        pinyin if isinstance(pinyin, str) else None,
    )
