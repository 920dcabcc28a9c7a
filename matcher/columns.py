"""Canonical column names of the provincial export, the normalised frame and the rejects frame.

Every module names columns through these constants; pair frames use the suffixes ``_l``/``_r``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BIRTH_DATE",
    "BIRTH_DATE_UNUSABLE",
    "CANONICAL_COLUMNS",
    "DOSE_DATE",
    "DOSE_SEQ",
    "FEMALE",
    "FIELD",
    "FILE",
    "ID_BIRTH_DATE",
    "ID_DOC_TYPE",
    "ID_KEY",
    "ID_NUMBER",
    "ID_PROVINCE",
    "ID_SEX",
    "ID_STATUS",
    "ID_TYPE",
    "ID_UPGRADED",
    "LOT_NUMBER",
    "MALE",
    "NAME",
    "NAME_IS_LATIN",
    "NAME_NORM",
    "NAME_PINYIN",
    "NAME_SIMPLIFIED",
    "NAME_TOKENS",
    "PERSON_ID",
    "PERSON_REF",
    "PHONE",
    "PRODUCT_CODE",
    "REASON",
    "RECORD_ID",
    "REJECT_COLUMNS",
    "REQUIRED_COLUMNS",
    "ROW",
    "SEX",
    "SITE",
    "SOURCE",
    "SURNAME",
    "SURNAME_PINYIN",
    "UNKNOWN_SEX",
    "VACCINE",
    "VACCINE_KNOWN",
]

# --- The canonical provincial export: one row per dose event -------------------------------
SOURCE: Final = "source"  # 2-digit GB/T 2260 province code of the reporting system
PERSON_REF: Final = "person_ref"  # the person's id in that province's system
ID_TYPE: Final = "id_type"
ID_NUMBER: Final = "id_number"
NAME: Final = "name"
SEX: Final = "sex"
BIRTH_DATE: Final = "birth_date"
PHONE: Final = "phone"
DOSE_DATE: Final = "dose_date"
VACCINE: Final = "vaccine"
LOT_NUMBER: Final = "lot_number"
DOSE_SEQ: Final = "dose_seq"
SITE: Final = "site"

CANONICAL_COLUMNS: Final[tuple[str, ...]] = (
    SOURCE,
    PERSON_REF,
    ID_TYPE,
    ID_NUMBER,
    NAME,
    SEX,
    BIRTH_DATE,
    PHONE,
    DOSE_DATE,
    VACCINE,
    LOT_NUMBER,
    DOSE_SEQ,
    SITE,
)
# Columns without which a row cannot be used at all.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (SOURCE, PERSON_REF, NAME, DOSE_DATE, VACCINE)

# --- Provenance added by the readers ------------------------------------------------------
FILE: Final = "file"  # file the row came from (base name)
ROW: Final = "row"  # 1-based line number in that file (the header is line 1)

# --- Normalised columns (added by matcher.normalise) --------------------------------------
ID_KEY: Final = "id_key"  # comparable key: 18-char resident id, permit prefix, … (NA if none)
ID_STATUS: Final = "id_status"  # see resident_id.IdStatus
ID_UPGRADED: Final = "id_upgraded"  # True when a 15-digit number was upgraded to 18
ID_BIRTH_DATE: Final = "id_birth_date"  # birth date implied by a resident id (NaT otherwise)
ID_SEX: Final = "id_sex"  # sex implied by a resident id: "M" / "F" / "U"
ID_PROVINCE: Final = "id_province"  # 2-digit province code of the id's address code
NAME_NORM: Final = "name_norm"  # NFKC, spaces removed, dot variants → U+00B7 (raw kept in NAME)
NAME_SIMPLIFIED: Final = "name_simplified"  # traditional → simplified key
NAME_PINYIN: Final = "name_pinyin"  # tone-less pinyin, no separators; Latin names: sorted tokens
SURNAME: Final = "surname"  # simplified surname (1 or 2 hanzi; first token for Latin names)
SURNAME_PINYIN: Final = "surname_pinyin"
NAME_IS_LATIN: Final = "name_is_latin"
BIRTH_DATE_UNUSABLE: Final = "birth_date_unusable"  # a birth date given but unusable (now NA)
PRODUCT_CODE: Final = "product_code"  # vaccine catalogue code (NA when the text is unknown)
VACCINE_KNOWN: Final = "vaccine_known"

# --- Rejects -------------------------------------------------------------------------------
FIELD: Final = "field"
REASON: Final = "reason"
REJECT_COLUMNS: Final[tuple[str, ...]] = (FILE, ROW, SOURCE, FIELD, REASON)

# --- Sex values ----------------------------------------------------------------------------
MALE: Final = "M"
FEMALE: Final = "F"
UNKNOWN_SEX: Final = "U"

# Added for the normalised frame (see docs/ARCHITECTURE.md).
ID_DOC_TYPE: Final = "id_doc_type"  # see resident_id.DocType
NAME_TOKENS: Final = (
    "name_tokens"  # order-insensitive key: sorted pinyin/Latin tokens, space-joined
)

# --- Linking -------------------------------------------------------------------------------
RECORD_ID: Final = "record_id"  # integer index of a person record (one per source, person_ref)
PERSON_ID: Final = "person_id"  # opaque resolved-person id
