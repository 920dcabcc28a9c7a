"""What the repository modules share: the dose columns stored, chunked IN lists, tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    Table,
)

from api.db import models as m
from matcher import columns as c

CHUNK = 500  # values per IN (...) list
DOSE_COLUMNS = (
    c.SOURCE,
    c.PERSON_REF,
    c.ID_TYPE,
    c.ID_NUMBER,
    c.NAME,
    c.SEX,
    c.BIRTH_DATE,
    c.PHONE,
    c.DOSE_DATE,
    c.VACCINE,
    c.LOT_NUMBER,
    c.DOSE_SEQ,
    c.SITE,
)


def orm_table(model: type[m.Base]) -> Table:
    """The Core table of a model (Core statements skip the ORM's per-row work)."""
    return cast(Table, model.__table__)


def in_chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
