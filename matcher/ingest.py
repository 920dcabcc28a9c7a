"""Readers for provincial exports: CSV and XLSX → the canonical export frame plus rejects.

What the readers do, in order (see also ``docs/profiles/README.md``):

1. **Encoding** (CSV only). An ``encoding`` in the profile is used as given. Otherwise the file
   is read as strict UTF-8 (a BOM is allowed and removed: every cell read is validated); if
   that fails, ``detect_encoding`` decodes the whole file, streaming, as UTF-8 and then as
   strict GB18030 (a superset of GBK and GB2312). If both fail, ``EncodingDetectionError``
   names the file and the first byte offset each decoder rejected. Nothing is guessed.
2. **Headers**. Each header is matched, after NFKC, case folding and removing spaces, ``_`` and
   ``-``, against the profile's ``[columns]`` first and then the built-in ``HEADER_ALIASES``.
   Two headers mapping to one column, or a required column missing, is an ``InputFormatError``
   (``MissingColumnError`` for the latter). Unmapped headers are ignored.
3. **Cells** are read as text (IDs never become numbers), stripped; empty cells become missing.
   Text columns are dictionary-encoded over all files read together (``matcher.dictionary``),
   so every clean-up below runs once per distinct value. Rows with no value in any recognised
   column are skipped and counted (``blank_rows``); every other line is either in ``frame`` or
   in ``rejects``.
4. **Profile value maps** (sex, ID type, vaccine) and the ``date_format`` hint are applied.
5. **Manufacturer**: if the file has a manufacturer column (生产企业/生产厂家), its text is
   appended to the vaccine text (``"<vaccine> <manufacturer>"``) unless the vaccine text already
   contains it, so the vaccine mapper sees both.
6. **Source** (province code), first rule that applies: the profile's ``source`` for every row;
   else the file's source column (province names such as 河南/河南省 and 6-digit province-level
   codes such as 410000 are turned into the 2-digit code), with empty cells taken from the file
   name; else the file name: a name whose stem starts with exactly two digits (``41.csv``,
   ``41_henan.xlsx``) gives those digits. Otherwise the source column is missing.
7. **Required values**: a row whose ``source`` or ``dose_date`` is empty cannot be placed and goes
   to the rejects. Nothing else drops a dose: a row without ``person_ref`` becomes a registration
   of its own (``~row:<file>:<row>``), one without vaccine text a dose of unknown product, one
   without name or ID number a person record linked on its other fields (``matcher.normalise``).

``row`` is the 1-based line number with the header on line 1 (for XLSX, the sheet row number).
A quoted CSV field spanning several lines shifts the numbers of the rows after it.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.columns import (
    BIRTH_DATE,
    CANONICAL_COLUMNS,
    DOSE_DATE,
    DOSE_SEQ,
    FIELD,
    FILE,
    ID_NUMBER,
    ID_TYPE,
    LOT_NUMBER,
    NAME,
    PERSON_REF,
    PHONE,
    REASON,
    REJECT_COLUMNS,
    REQUIRED_COLUMNS,
    ROW,
    SEX,
    SITE,
    SOURCE,
    VACCINE,
)
from matcher.dictionary import (
    as_object,
    constant,
    dictionary_column,
    distinct,
    encode,
    fill_missing,
    from_arrow,
    map_distinct,
    per_file,
)
from matcher.errors import EncodingDetectionError, InputFormatError, MissingColumnError
from matcher.profiles import MANUFACTURER, MappingProfile
from matcher.regions import PROVINCES

__all__ = [
    "DEFAULT_PATTERNS",
    "EXCLUDED_PREFIX",
    "ROW_REF_PREFIX",
    "empty_rejects",
    "expand_inputs",
    "read_export",
    "read_exports",
]

logger = logging.getLogger(__name__)

# Built-in header aliases: canonical column → headers seen in provincial exports. Matching is
# insensitive to case, spaces, "_" and "-" (see ``header_key``).
HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    NAME: ("姓名", "受种者姓名", "受种人姓名", "name"),
    ID_NUMBER: ("身份证号码", "证件号码", "身份证号", "证件号", "受种者身份证号码", "id_number"),
    ID_TYPE: ("证件类型", "id_type"),
    SEX: ("性别", "受种者性别", "sex", "gender"),
    BIRTH_DATE: ("出生日期", "出生年月日", "受种者出生日期", "birth_date"),
    PHONE: ("联系电话", "手机号码", "手机号", "电话", "phone"),
    DOSE_DATE: ("接种日期", "接种时间", "dose_date"),
    VACCINE: ("疫苗名称", "疫苗", "vaccine"),
    MANUFACTURER: ("生产企业", "生产厂家", "疫苗生产企业", "manufacturer"),
    LOT_NUMBER: ("疫苗批号", "批号", "lot_number"),
    DOSE_SEQ: ("剂次", "针次", "接种剂次", "dose_seq"),
    SITE: ("接种单位", "接种点", "接种地点", "接种单位名称", "site"),
    SOURCE: ("省份", "省份代码", "来源", "source"),
    PERSON_REF: ("个案编号", "受种者编码", "人员编号", "person_ref"),
}

# Folder inputs: files matching these patterns (case-insensitive) are read, except files whose
# name starts with ``truth`` (ground truth written by ``vaxlink synth``).
DEFAULT_PATTERNS: Final[tuple[str, ...]] = ("*.csv", "*.xlsx")
EXCLUDED_PREFIX: Final = "truth"

CHUNK_ROWS: Final = 200_000
# Arrow parses blocks of a file on several threads: small blocks keep both cores busy on the
# typical provincial file of a few MB (measured: 1 MB blocks read 1M persons 35 % faster
# than 16 MB).
_ARROW_BLOCK: Final = 1 << 20
# Columns nearly unique per person are read as plain text, the others dictionary-encoded while
# parsing: a block's dictionary of nearly unique values hashes every cell for nothing, since the
# merge in ``from_arrow`` hashes them again (1M persons: parsing 1.9 → 1.4 s).
_PLAIN_TEXT_COLUMNS: Final = frozenset({PERSON_REF, ID_NUMBER, NAME, BIRTH_DATE, PHONE})
_DETECT_BLOCK: Final = 1 << 20
_DELIMITERS: Final = (",", "\t", ";", "|")
_SOURCE_FROM_NAME = re.compile(r"^([0-9]{2})(?![0-9])")
_PROVINCE_SUFFIXES: Final = (
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)

# (bytes or rows done, total) → None; called while a file is read.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ReadResult:
    """Rows read from one or more exports.

    Attributes:
        frame: the canonical columns plus ``file`` and ``row``; text columns are
            dictionary-encoded (pandas Categorical of strings, missing = NA; see
            ``matcher.dictionary``), ``row`` is int64.
        rejects: rows that cannot be used, as ``REJECT_COLUMNS``.
        files: base names of the files read, in order.
    """

    frame: pd.DataFrame
    rejects: pd.DataFrame
    files: tuple[str, ...] = ()
    blank_rows: int = 0

    @property
    def rows_read(self) -> int:
        """Data rows read: accepted plus rejected (blank rows not counted)."""
        return len(self.frame) + len(self.rejects)


def header_key(text: str) -> str:
    """Comparison key of a header: NFKC, case-folded, without spaces, ``_``, ``-`` or a BOM."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\s_\-\ufeff]+", "", folded)


_ALIAS_LOOKUP: Final[dict[str, str]] = {
    header_key(alias): column for column, aliases in HEADER_ALIASES.items() for alias in aliases
}


def _province_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, full in PROVINCES.items():
        lookup[code] = code
        lookup[code + "0000"] = code
        lookup[full] = code
        for suffix in _PROVINCE_SUFFIXES:
            if full.endswith(suffix):
                lookup[full.removesuffix(suffix)] = code
                break
    return lookup


_PROVINCE_LOOKUP: Final[dict[str, str]] = _province_lookup()


# --- Encoding ----------------------------------------------------------------------------------


def _first_decode_error(path: Path, encoding: str) -> int | None:
    """Byte offset of the first byte ``encoding`` rejects in the file, or None if it all decodes."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(_DETECT_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                # exc.start counts from the start of the decoder's pending bytes plus this block.
                pending = len(exc.object) - len(block)
                return max(offset - pending + exc.start, 0)
            if not block:
                return None
            offset += len(block)


def detect_encoding(path: str | Path) -> str:
    """``utf-8-sig`` if the whole file is valid UTF-8, else ``gb18030`` if valid GB18030.

    Raises:
        EncodingDetectionError: neither decodes the file; names the file and byte offsets.
    """
    path = Path(path)
    utf8_error = _first_decode_error(path, "utf-8-sig")
    if utf8_error is None:
        return "utf-8-sig"
    gb_error = _first_decode_error(path, "gb18030")
    if gb_error is None:
        return "gb18030"
    raise EncodingDetectionError(
        f"{path.name}: cannot determine the text encoding: not UTF-8 (invalid byte at offset "
        f"{utf8_error}) and not GB18030/GBK (invalid byte at offset {gb_error}); "
        "set `encoding` in a mapping profile if the file uses another encoding"
    )


# --- Headers -----------------------------------------------------------------------------------


def resolve_headers(
    headers: Sequence[str], *, file: str, profile: MappingProfile | None = None
) -> dict[str, str]:
    """Map the file's headers onto canonical columns: header → column.

    The profile's ``[columns]`` wins over the built-in aliases for the columns it names.

    Raises:
        InputFormatError: two headers map to the same column, or a profile header is absent.
    """
    explicit = {header_key(h): col for col, h in (profile.columns if profile else {}).items()}
    overridden = set(explicit.values())
    mapping: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for header in headers:
        key = header_key(header)
        column = explicit.get(key)
        if column is None:
            alias = _ALIAS_LOOKUP.get(key)
            column = alias if alias not in overridden else None
        if column is None:
            continue
        if column in claimed:
            raise InputFormatError(
                f"{file}: headers {claimed[column]!r} and {header!r} both map to column "
                f"{column!r}; name the right one under [columns] in a mapping profile"
            )
        claimed[column] = header
        mapping[header] = column
    if profile:
        for column, header in profile.columns.items():
            if column not in claimed:
                raise MissingColumnError(
                    file, f"{column} (profile header {header!r})", list(headers)
                )
    return mapping


def _source_from_name(path: Path) -> str | None:
    match = _SOURCE_FROM_NAME.match(path.stem)
    return match.group(1) if match else None


def _check_required(
    mapping: dict[str, str], headers: Sequence[str], *, file: str, fixed_source: str | None
) -> None:
    present = set(mapping.values())
    for column in REQUIRED_COLUMNS:
        if column == SOURCE and fixed_source is not None:
            continue
        if column not in present:
            raise MissingColumnError(file, column, list(headers))


# --- Readers -----------------------------------------------------------------------------------


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        first_line = fh.readline()
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _iter_csv(
    path: Path, encoding: str, profile: MappingProfile | None, on_progress: ProgressCallback | None
) -> Iterator[tuple[pd.DataFrame, dict[str, str], list[str]]]:
    """Yield (chunk with canonical column names and a ``row`` column, mapping, headers)."""
    file = path.name
    try:
        delimiter = _sniff_delimiter(path, encoding)
        header_frame = pd.read_csv(
            path, sep=delimiter, encoding=encoding, nrows=0, dtype=str, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError:
        raise InputFormatError(f"{file}: the file is empty (no header line)") from None
    except UnicodeDecodeError as exc:
        raise EncodingDetectionError(
            f"{file}: not valid {encoding} (invalid byte at offset {exc.start})"
        ) from None
    except pd.errors.ParserError as exc:  # e.g. a quote opened in the header, never closed
        raise InputFormatError(f"{file}: malformed CSV header: {exc}") from None
    headers = [str(h) for h in header_frame.columns]
    mapping = resolve_headers(headers, file=file, profile=profile)
    wanted = list(mapping)
    total = path.stat().st_size
    start = 0
    with path.open("rb") as fh:
        reader = pd.read_csv(
            fh,
            sep=delimiter,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            usecols=wanted,
            chunksize=CHUNK_ROWS,
        )
        try:
            for chunk in reader:
                chunk = chunk.rename(columns=mapping)
                chunk[ROW] = pd.RangeIndex(start + 2, start + 2 + len(chunk))
                start += len(chunk)
                if on_progress is not None:
                    on_progress(fh.tell(), total)
                yield chunk, mapping, headers
        except UnicodeDecodeError as exc:
            raise EncodingDetectionError(
                f"{file}: not valid {encoding} (invalid byte near offset {fh.tell()}: {exc.reason})"
            ) from None
        except pd.errors.ParserError as exc:
            raise InputFormatError(f"{file}: malformed CSV: {exc}") from None
    if start == 0:
        empty = pd.DataFrame({col: pd.Series(dtype=object) for col in mapping.values()})
        empty[ROW] = pd.Series(dtype="int64")
        yield empty, mapping, headers


def _read_csv_arrow(
    path: Path, profile: MappingProfile | None
) -> tuple[tuple[Any, dict[str, str], list[str]] | None, str]:
    """The fast path: Arrow's multithreaded CSV reader → (table of the mapped columns as
    text, "" for empty cells; mapping; headers).

    Without a profile encoding, UTF-8 is tried first: Arrow validates every cell it converts
    and the header is decoded strictly, so a file that is not UTF-8 fails and is retried in
    the encoding ``detect_encoding`` finds. Empty lines are kept as rows (every cell empty),
    so row numbers stay line numbers. Returns (None, encoding) when the file needs the pandas
    path (quoted line breaks, ragged rows), which reports problems with the file's name and
    reuses the encoding found here.
    """
    if profile and profile.encoding:
        return _try_csv_arrow(path, profile, profile.encoding), profile.encoding
    read = _try_csv_arrow(path, profile, "utf-8-sig")
    if read is not None:
        return read, "utf-8-sig"
    encoding = detect_encoding(path)
    if encoding == "utf-8-sig":
        return None, encoding  # UTF-8 after all: Arrow failed on the layout, not the text
    return _try_csv_arrow(path, profile, encoding), encoding


def _plain_headers(path: Path, delimiter: str, encoding: str) -> list[str] | None:
    """The header line's cells, or None unless they are all non-blank and distinct (pandas
    then reads the header, naming such cells as everywhere else)."""
    import csv

    with path.open("r", encoding=encoding, newline="") as fh:
        headers = next(csv.reader(fh, delimiter=delimiter), None)
    if not headers or any(not h.strip() for h in headers) or len(set(headers)) < len(headers):
        return None
    return headers


def _try_csv_arrow(
    path: Path, profile: MappingProfile | None, encoding: str
) -> tuple[Any, dict[str, str], list[str]] | None:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    try:
        delimiter = _sniff_delimiter(path, encoding)
        headers = _plain_headers(path, delimiter, encoding)
        if headers is None:  # let pandas name blank and repeated headers
            header_frame = pd.read_csv(path, sep=delimiter, encoding=encoding, nrows=0, dtype=str)
            headers = [str(h) for h in header_frame.columns]
    except (pd.errors.EmptyDataError, UnicodeDecodeError, pd.errors.ParserError):
        return None
    mapping = resolve_headers(headers, file=path.name, profile=profile)
    arrow_encoding = (
        "utf8" if encoding.replace("-", "").lower() in {"utf8", "utf8sig"} else encoding
    )
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=arrow_encoding, block_size=_ARROW_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                # Dictionary-encoded while parsing, on the reader's threads: the merge in
                # ``_canonicalise`` then hashes each block's distinct values, not every cell
                # (except for the nearly unique columns, see ``_PLAIN_TEXT_COLUMNS``).
                column_types={
                    h: pa.string()
                    if mapping.get(h) in _PLAIN_TEXT_COLUMNS
                    else pa.dictionary(pa.int32(), pa.string())
                    for h in headers
                },
                include_columns=list(mapping),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    # (An empty include list reads every column: keep only the mapped ones.)
    table = table.select([h for h in table.column_names if h in mapping])
    table = table.rename_columns([mapping[h] for h in table.column_names])
    return table, mapping, headers


def _cell_text(value: Any) -> str | None:
    """Text of an XLSX cell as a person would read it in Excel."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


# An XLSX is a zip: its parts inflate ~5-20× (repetitive sheets rarely 50×). A part that would
# inflate past both limits below is a zip bomb, refused before a byte of it is inflated.
XLSX_MAX_INFLATED_BYTES: Final = 4 << 30
XLSX_MAX_RATIO: Final = 100
XLSX_RATIO_FROM_BYTES: Final = 32 << 20


def _refuse_zip_bomb(path: Path) -> None:
    """InputFormatError when the workbook's declared sizes say it would inflate absurdly (the
    zip reader stops at a part's declared size, so a lying header cannot get past this)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFormatError(f"{path.name}: cannot open as an XLSX workbook: {exc}") from None
    total = sum(p.file_size for p in parts)
    if total > XLSX_MAX_INFLATED_BYTES:
        raise InputFormatError(
            f"{path.name}: the workbook would inflate to {total >> 20} MB "
            f"(limit {XLSX_MAX_INFLATED_BYTES >> 20} MB); split the export"
        )
    for part in parts:
        ratio = part.file_size / max(1, part.compress_size)
        if part.file_size > XLSX_RATIO_FROM_BYTES and ratio > XLSX_MAX_RATIO:
            raise InputFormatError(
                f"{path.name}: part {part.filename} would inflate {ratio:.0f}× to "
                f"{part.file_size >> 20} MB (a zip bomb?); refused"
            )


def _read_xlsx(
    path: Path, profile: MappingProfile | None, on_progress: ProgressCallback | None
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    import zipfile

    from openpyxl import load_workbook

    file = path.name
    _refuse_zip_bomb(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputFormatError(f"{file}: cannot open as an XLSX workbook: {exc}") from None
    try:
        if profile and profile.sheet:
            if profile.sheet not in workbook.sheetnames:
                raise InputFormatError(
                    f"{file}: no sheet {profile.sheet!r} (sheets: {', '.join(workbook.sheetnames)})"
                )
            sheet: Any = workbook[profile.sheet]
        else:
            sheet = workbook.worksheets[0]
        if not hasattr(sheet, "iter_rows"):
            raise InputFormatError(f"{file}: sheet {sheet.title!r} is a chart, not a table")
        total = int(sheet.max_row or 0)
        rows = sheet.iter_rows(values_only=True)
        headers: list[str] = []
        header_row = 0
        for number, values in enumerate(rows, start=1):
            if any(v is not None and str(v).strip() for v in values):
                headers = [_cell_text(v) or "" for v in values]
                header_row = number
                break
        if not header_row:
            raise InputFormatError(f"{file}: the sheet {sheet.title!r} is empty (no header row)")
        mapping = resolve_headers(headers, file=file, profile=profile)
        positions = {i: mapping[h] for i, h in enumerate(headers) if h in mapping}
        data: dict[str, list[str | None]] = {col: [] for col in positions.values()}
        row_numbers: list[int] = []
        for number, values in enumerate(rows, start=header_row + 1):
            for i, col in positions.items():
                data[col].append(_cell_text(values[i]) if i < len(values) else None)
            row_numbers.append(number)
            if on_progress is not None and number % 10_000 == 0:
                on_progress(number, total)
        if on_progress is not None:
            on_progress(total, total)
    finally:
        workbook.close()
    frame = pd.DataFrame({col: pd.Series(values, dtype=object) for col, values in data.items()})
    frame[ROW] = pd.Series(row_numbers, dtype="int64")
    return frame, mapping, headers


# --- Canonicalisation --------------------------------------------------------------------------


def _map_values(column: pd.Series, table: dict[str, str]) -> pd.Series:
    if not table:
        return column
    return map_distinct(column, lambda v: table.get(v, v))


def _apply_date_format(column: pd.Series, fmt: str) -> pd.Series:
    def reformat(text: str) -> str:
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
        except ValueError:
            return text

    return map_distinct(column, reformat)


def _combine_manufacturer(vaccine: pd.Series, maker: pd.Series) -> pd.Series:
    vaccine_codes, vaccines = distinct(vaccine)
    maker_codes, makers = distinct(maker)
    both = (vaccine_codes >= 0) & (maker_codes >= 0)
    if not both.any():
        return vaccine
    # Once per distinct (vaccine, manufacturer) pair.
    pair_codes, pairs = pd.factorize(vaccine_codes[both] * (len(makers) + 1) + maker_codes[both])
    texts = [
        (v if m in v else f"{v} {m}")
        for v, m in (
            (vaccines[p // (len(makers) + 1)], makers[p % (len(makers) + 1)]) for p in pairs
        )
    ]
    combined = as_object(vaccine)
    combined[both] = np.array(texts, dtype=object).take(pair_codes)
    return pd.Series(combined, index=vaccine.index, dtype=object)


def _province_codes(column: pd.Series) -> pd.Series:
    return map_distinct(column, lambda u: _PROVINCE_LOOKUP.get(unicodedata.normalize("NFKC", u), u))


@dataclass(frozen=True, slots=True)
class _RawExport:
    """One file as read: its mapped columns as Arrow text (canonical names), line numbers."""

    name: str
    table: Any  # pyarrow.Table of text columns (string or dictionary); "" or null = empty cell
    rows: npt.NDArray[np.int64]
    source: str | None  # the source for cells without one (profile or file name)


def _load(
    path: Path, profile: MappingProfile | None, on_progress: ProgressCallback | None
) -> _RawExport:
    """Read one file's mapped columns (see ``read_export`` for the errors)."""
    import pyarrow as pa

    if not path.is_file():
        raise InputFormatError(f"{path}: no such file")
    fixed_source = profile.source if profile and profile.source else _source_from_name(path)
    is_xlsx = path.suffix.lower() == ".xlsx"
    arrow, encoding = (None, "") if is_xlsx else _read_csv_arrow(path, profile)
    if arrow is not None:
        table, mapping, headers = arrow
        rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
        if on_progress is not None:
            size = path.stat().st_size
            on_progress(size, size)
    else:
        if is_xlsx:
            chunks = iter([_read_xlsx(path, profile, on_progress)])
        else:
            chunks = _iter_csv(path, encoding, profile, on_progress)
        parts = list(chunks)
        frames = [chunk for chunk, _, _ in parts]
        mapping, headers = parts[0][1], parts[0][2]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        rows = frame[ROW].to_numpy(dtype=np.int64)
        table = pa.table(
            {
                col: pa.array(frame[col].to_numpy(dtype=object), type=pa.string(), from_pandas=True)
                for col in frame.columns
                if col != ROW
            }
        )
    _check_required(mapping, headers, file=path.name, fixed_source=fixed_source)
    return _RawExport(path.name, table, rows, fixed_source)


def _canonicalise(
    exports: Sequence[_RawExport], *, profile: MappingProfile | None
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Canonical frame, rejects and blank-row count of the files read, in file order.

    Every text column is dictionary-encoded over all files at once, so the clean-ups below run
    once per distinct value.
    """
    import pyarrow as pa

    lengths = [e.table.num_rows for e in exports]
    present_in = {col for e in exports for col in e.table.column_names}
    names = [col for col in (*CANONICAL_COLUMNS, MANUFACTURER) if col in present_in]

    def column_of(col: str) -> list[Any]:
        # Each file's blocks in file order; a file without the column contributes nulls.
        return [
            e.table.column(col) if col in e.table.column_names else pa.nulls(e.table.num_rows)
            for e in exports
        ]

    # Arrow releases the GIL while it hashes: merge columns side by side.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        encoded = list(pool.map(from_arrow, [column_of(col) for col in names]))
    columns: dict[str, pd.Series] = dict(zip(names, encoded, strict=True))
    del encoded
    present = np.zeros(sum(lengths), dtype=bool)
    for series in columns.values():
        present |= series.notna().to_numpy()
    if profile is not None:
        for col, values in (
            (SEX, profile.values.sex),
            (ID_TYPE, profile.values.id_type),
            (VACCINE, profile.values.vaccine),
        ):
            if col in columns:
                columns[col] = _map_values(columns[col], values)
        if profile.date_format:
            for col in (BIRTH_DATE, DOSE_DATE):
                if col in columns:
                    columns[col] = _apply_date_format(columns[col], profile.date_format)
    maker = columns.pop(MANUFACTURER, None)
    if maker is not None and VACCINE in columns:
        columns[VACCINE] = encode(_combine_manufacturer(columns[VACCINE], maker))

    file_codes = np.repeat(np.arange(len(exports)), lengths)
    file_column = per_file([e.name for e in exports], file_codes)
    if profile is not None and profile.source is not None:
        columns[SOURCE] = constant(profile.source, len(file_codes))
    else:
        fallback = per_file([e.source for e in exports], file_codes)
        if SOURCE in columns:
            source = _province_codes(columns[SOURCE])
            columns[SOURCE] = fill_missing(source, fallback)
        else:
            columns[SOURCE] = fallback

    frame = pd.DataFrame(
        {col: columns.get(col, constant(None, len(file_codes))) for col in CANONICAL_COLUMNS}
        | {FILE: file_column, ROW: np.concatenate([e.rows for e in exports])},
        copy=False,  # the columns are new: no second copy of them
    )
    del columns
    blank = int((~present).sum())
    if blank:
        frame = frame[present].reset_index(drop=True)

    frame[PERSON_REF] = _registration_refs(frame)
    # A dose without vaccine text is still a dose (its product is unknown and flagged later);
    # without a dose date, or without a source, it cannot be placed: only those are rejected.
    required = [c for c in REQUIRED_COLUMNS if c not in (NAME, PERSON_REF, VACCINE)]
    missing = pd.DataFrame({c: frame[c].isna() for c in required}, index=frame.index)
    bad = missing.any(axis=1)
    if not bad.any():
        return frame, empty_rejects(), blank
    bad_rows = missing[bad]
    field = bad_rows.idxmax(axis=1)
    listed = pd.Series("", index=bad_rows.index, dtype=object)
    for col in required:
        flag = bad_rows[col]
        listed = listed.where(~flag, listed.where(listed == "", listed + ", ") + col)
    rejects = pd.DataFrame(
        {
            FILE: as_object(frame.loc[bad, FILE]),
            ROW: frame.loc[bad, ROW].to_numpy(),
            SOURCE: as_object(frame.loc[bad, SOURCE]),
            FIELD: field.to_numpy(dtype=object),
            REASON: ("required value missing: " + listed).to_numpy(dtype=object),
        }
    )
    return frame[~bad.to_numpy()].reset_index(drop=True), rejects, blank


# Prefix of the registration reference given to a row without one (never a provincial id).
ROW_REF_PREFIX: Final = "~row:"


def _registration_refs(frame: pd.DataFrame) -> pd.Series:
    """``person_ref`` with each empty cell replaced by ``~row:<file>:<row>``: such a row is a
    registration of its own (its dose is kept and linked on its identity fields)."""
    refs = frame[PERSON_REF]
    missing = np.flatnonzero(refs.isna().to_numpy())
    if not len(missing):
        return refs
    files = as_object(frame[FILE].iloc[missing])
    rows = frame[ROW].to_numpy()[missing]
    made = np.array(
        [f"{ROW_REF_PREFIX}{f}:{r}" for f, r in zip(files, rows.tolist(), strict=True)],
        dtype=object,
    )
    codes = np.full(len(frame), -1, dtype=np.int64)
    codes[missing] = np.arange(len(missing))
    return fill_missing(refs, dictionary_column(codes, made))


def empty_rejects() -> pd.DataFrame:
    """A rejects frame without rows."""
    return pd.DataFrame(
        {
            FILE: pd.Series(dtype=object),
            ROW: pd.Series(dtype="int64"),
            SOURCE: pd.Series(dtype=object),
            FIELD: pd.Series(dtype=object),
            REASON: pd.Series(dtype=object),
        }
    )[list(REJECT_COLUMNS)]


def _empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({col: constant(None, 0) for col in (*CANONICAL_COLUMNS, FILE)})
    frame[ROW] = pd.Series(dtype="int64")
    return frame


def _read(
    files: Sequence[Path],
    profile: MappingProfile | None,
    progress: Callable[[Path], ProgressCallback | None],
) -> ReadResult:
    exports = [_load(path, profile, progress(path)) for path in files]
    exports = [e for e in exports if e.table.num_rows]
    if not exports:
        return ReadResult(_empty_frame(), empty_rejects(), tuple(p.name for p in files))
    frame, rejects, blank = _canonicalise(exports, profile=profile)
    del exports
    _release_arrow_memory()
    return ReadResult(frame, rejects, tuple(p.name for p in files), blank)


def _release_arrow_memory() -> None:
    """Hand the raw text buffers Arrow's allocator keeps cached back to the OS (~0.6 GB at 1M
    persons), so they do not add to the peak of every later stage."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def read_export(
    path: str | Path,
    *,
    profile: MappingProfile | None = None,
    on_progress: ProgressCallback | None = None,
) -> ReadResult:
    """Read one CSV or XLSX export into the canonical frame plus rejects.

    Args:
        path: a ``.csv`` file (any other suffix except ``.xlsx`` is read as CSV too) or ``.xlsx``.
        profile: mapping profile for headers, code lists, source, encoding, sheet, date format.
        on_progress: called with (bytes or rows done, total) while the file is read.

    Raises:
        EncodingDetectionError: the CSV is neither UTF-8 nor GB18030 (and no profile encoding).
        MissingColumnError: a required column is absent (the message names it and the file).
        InputFormatError: the file cannot be read as an export for another reason.
    """
    return _read([Path(path)], profile, lambda _: on_progress)


def expand_inputs(
    paths: Sequence[str | Path], *, patterns: Sequence[str] | None = None
) -> list[Path]:
    """The files to read: files as given; folders → their matching files, sorted by name.

    With ``patterns=None`` a folder contributes its ``*.csv`` and ``*.xlsx`` files
    (case-insensitive) except those whose name starts with ``truth``. With explicit patterns
    (shell globs such as ``"41*.csv"``), every matching file is taken.

    Raises:
        InputFormatError: a path does not exist, or a folder holds no matching file.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files.append(path)
            continue
        if not path.is_dir():
            raise InputFormatError(f"{path}: no such file or folder")
        found: list[Path] = []
        for child in sorted(path.iterdir()):
            if not child.is_file():
                continue
            if patterns is None:
                matches = any(child.suffix.lower() == p[1:] for p in DEFAULT_PATTERNS)
                if matches and child.name.lower().startswith(EXCLUDED_PREFIX):
                    logger.info("skipping %s (ground-truth file)", child.name)
                    matches = False
            else:
                matches = any(child.match(p) for p in patterns)
            if matches:
                found.append(child)
        if not found:
            wanted = ", ".join(patterns or DEFAULT_PATTERNS)
            raise InputFormatError(f"{path}: no export files matching {wanted}")
        files.extend(found)
    return files


def read_exports(
    paths: Sequence[str | Path],
    *,
    profile: MappingProfile | None = None,
    progress: bool = False,
    patterns: Sequence[str] | None = None,
) -> ReadResult:
    """Read several exports (files or folders, see ``expand_inputs``) into one result.

    Args:
        paths: files and folders.
        profile: mapping profile applied to every file.
        progress: show a tqdm bar per file (bytes for CSV, rows for XLSX) on stderr when it is
            a terminal; silent when stderr is piped.
        patterns: folder file patterns replacing the default (see ``expand_inputs``).
    """
    files = expand_inputs(paths, patterns=patterns)
    if not progress:
        return _read(files, profile, lambda _: None)
    from contextlib import ExitStack

    from tqdm import tqdm

    with ExitStack() as bars:

        def bar_for(path: Path) -> ProgressCallback:
            unit = "row" if path.suffix.lower() == ".xlsx" else "B"
            bar = bars.enter_context(
                tqdm(desc=path.name, unit=unit, unit_scale=True, disable=None, leave=False)
            )

            def update(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)
                if done >= total:
                    bar.close()

            return update

        return _read(files, profile, bar_for)
