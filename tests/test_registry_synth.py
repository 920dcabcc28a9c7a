"""benchmarks.registry_synth: determinism, the export contract, truth files and scenario rates."""

from __future__ import annotations

import calendar
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.registry_synth import COLUMNS, SCENARIOS, Dataset, generate, rates_for
from benchmarks.registry_synth.cli import main
from benchmarks.registry_synth.export import CHINESE_HEADERS
from benchmarks.registry_synth.ids import is_valid

N, K = 4000, 4
PRODUCTS = {
    "BBIBP",
    "WIBP",
    "CORONAVAC",
    "KCONVAC",
    "IMBCAMS",
    "AD5",
    "AD5_INH",
    "ZF2001",
    "SCTV01E",
    "WSK_SF9",
    "SYS6006",
    "LYB_V01",
}
INACTIVATED = {"BBIBP", "WIBP", "CORONAVAC", "KCONVAC", "IMBCAMS"}
ID_TAGS = (
    "id_missing",
    "id_15digit",
    "id_typo_substitution",
    "id_typo_transposition",
    "id_excel_scientific",
    "id_excel_000",
    "id_fullwidth",
    "id_spaces",
    "id_apostrophe",
    "id_placeholder",
    "id_lowercase_x",
    "guardian_id",
    "no_name_no_id",
    "id_gbk_lost",
)
_DATE_PATTERNS = (
    r"^\d{4}-\d{2}-\d{2}$",
    r"^\d{4}/\d{1,2}/\d{1,2}$",
    r"^\d{8}$",
    r"^\d{4}年\d{1,2}月\d{1,2}日$",
    r"^\d{4}\.\d{2}\.\d{2}$",
)


@pytest.fixture(scope="module")
def base() -> Dataset:
    return generate(N, K, 7, rates_for("baseline"))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    assert main(["--persons", "1500", "--provinces", "3", "--seed", "2", "--out", str(out)]) == 0
    return out


def _tags(ds: Dataset) -> pd.Series:
    return ds.truth["corruptions"].fillna("").str.split(";")


def _share(ds: Dataset, tag: str) -> float:
    return float(_tags(ds).map(lambda t: tag in t).mean())


def _date_format(text: str) -> int:
    return next((i for i, p in enumerate(_DATE_PATTERNS) if re.match(p, text)), -1)


def test_same_seed_same_data_other_seed_other_data(base: Dataset) -> None:
    again = generate(N, K, 7, rates_for("baseline"))
    pd.testing.assert_frame_equal(base.rows, again.rows)
    pd.testing.assert_frame_equal(base.truth, again.truth)
    pd.testing.assert_frame_equal(base.truth_doses, again.truth_doses)
    other = generate(N, K, 8, rates_for("baseline"))
    assert not base.truth_doses["dose_date"].equals(other.truth_doses["dose_date"])


def test_files_follow_the_export_contract(written: Path) -> None:
    provinces = sorted(p.stem for p in written.glob("[0-9][0-9].csv"))
    assert len(provinces) == 3
    truth = pd.read_csv(written / "truth.csv", dtype=str, keep_default_na=False)
    assert list(truth.columns) == ["source", "person_ref", "true_person_id", "corruptions"]
    seen = []
    gbk_files = 0
    for prov in provinces:
        raw = (written / f"{prov}.csv").read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gbk")
            gbk_files += 1
        header = text.splitlines()[0].split(",")
        assert header in (list(COLUMNS), list(CHINESE_HEADERS)), header
        frame = pd.read_csv(
            written / f"{prov}.csv",
            dtype=str,
            keep_default_na=False,
            encoding="gbk" if header == list(CHINESE_HEADERS) else "utf-8-sig",
        )
        frame.columns = list(COLUMNS)
        assert (frame["source"] == prov).all()
        seen.append(frame[["source", "person_ref"]].drop_duplicates())
    assert gbk_files == 1
    pairs = pd.concat(seen, ignore_index=True)
    # truth has exactly one row per registration found in the exports
    assert not truth.duplicated(["source", "person_ref"]).any()
    merged = pairs.merge(truth, on=["source", "person_ref"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    doses = pd.read_csv(written / "truth_doses.csv", dtype={"true_person_id": str})
    assert list(doses.columns) == [
        "true_person_id",
        "dose_date",
        "product_code",
        "lot_number",
        "site",
        "source",
        "dose_number",
        "kind",
    ]
    assert set(doses["true_person_id"]) <= set(truth["true_person_id"])
    unusable = pd.read_csv(written / "truth_unusable_rows.csv", dtype=str)
    assert list(unusable.columns) == ["source", "person_ref", "row_in_file", "reason"]


def test_unusable_rows_are_exactly_the_rows_without_dose_date(base: Dataset) -> None:
    rows = base.rows
    listed = set(zip(base.unusable["source"], base.unusable["row_in_file"], strict=True))
    empty = set(
        zip(
            rows.loc[rows["dose_date"] == "", "source"],
            rows.loc[rows["dose_date"] == "", "row_in_file"],
            strict=True,
        )
    )
    assert listed == empty and len(listed) > 0
    # every other dose date is a real date in one of the five formats
    dated = rows.loc[rows["dose_date"] != "", "dose_date"]
    assert (dated.map(_date_format) >= 0).all()
    # every true injection is reported by at least one usable row
    usable = rows.loc[rows["dose_date"] != "", "dose_id"].unique()
    assert set(usable) == set(range(len(base.truth_doses)))


def test_person_refs_are_registrations(base: Dataset) -> None:
    truth = base.truth
    assert not truth.duplicated(["source", "person_ref"]).any()
    per_ref = base.rows.groupby(["source", "person_ref"])["reg_id"].nunique()
    assert (per_ref == 1).all()
    assert len(per_ref) == len(truth)


def test_truth_doses_are_numbered_and_follow_the_schedules(base: Dataset) -> None:
    d = base.truth_doses.assign(date=pd.to_datetime(base.truth_doses["dose_date"]))
    assert set(d["product_code"]) <= PRODUCTS and set(d["kind"]) == {"primary", "booster"}
    d = d.sort_values(["true_person_id", "date"], kind="stable")
    expected = d.groupby("true_person_id").cumcount() + 1
    assert (d["dose_number"].to_numpy() == expected.to_numpy()).all()
    assert d["date"].between("2021-01-01", "2023-05-31").all()
    prev = d.groupby("true_person_id").shift()
    gap = (d["date"] - prev["date"]).dt.days
    both_inactivated = d["product_code"].isin(INACTIVATED) & prev["product_code"].isin(INACTIVATED)
    second = (d["kind"] == "primary") & (prev["kind"] == "primary")
    assert (gap[second & both_inactivated] >= 21).all()
    kangtai = second & ((d["product_code"] == "KCONVAC") | (prev["product_code"] == "KCONVAC"))
    assert (gap[kangtai] >= 28).all()
    assert (gap[second & (d["product_code"] == "ZF2001")] >= 28).all()
    # boosters: >= 6 calendar months after the previous series/booster; 60+ from 2022-11-29 >= 3
    booster = d["kind"] == "booster"
    six = d["date"] >= prev["date"] + pd.DateOffset(months=6)
    three = (d["date"] >= prev["date"] + pd.DateOffset(months=3)) & (d["date"] >= "2022-11-29")
    second_booster = booster & (prev["kind"] == "booster")
    assert (six | three)[booster].all()
    assert six[second_booster].all() and second_booster.sum() > 0
    late = d["product_code"].isin({"SCTV01E", "WSK_SF9", "SYS6006", "LYB_V01"})
    assert (d.loc[late, "date"] >= "2022-12-01").all() and (d.loc[late, "kind"] == "booster").all()
    assert (d.loc[d["product_code"] == "AD5_INH", "kind"] == "booster").all()
    # primary doses precede boosters; some people never boosted, some incomplete
    kinds = d.groupby("true_person_id")["kind"].agg(lambda k: "".join(x[0] for x in k))
    assert not kinds.str.contains("bp").any()
    assert (~kinds.str.contains("b")).mean() > 0.1
    one_inactivated = (
        d.groupby("true_person_id").filter(lambda g: len(g) == 1)["product_code"].isin(INACTIVATED)
    )
    assert one_inactivated.sum() > 0


def test_checksums_valid_where_intended_and_broken_by_typos(base: Dataset) -> None:
    rows = base.rows.drop_duplicates("reg_id").merge(base.truth, on=["source", "person_ref"])
    tags = rows["corruptions"].fillna("").str.split(";")
    clean = tags.map(lambda t: not any(x in t for x in ID_TAGS))
    resident = rows["id_type"].isin(["居民身份证", "身份证", "01"]) & clean
    assert resident.sum() > 1000
    assert rows.loc[resident, "id_number"].map(is_valid).all()
    typo = tags.map(lambda t: "id_typo_substitution" in t or "id_typo_transposition" in t)
    assert typo.sum() > 0 and not rows.loc[typo, "id_number"].map(is_valid).any()
    guardian = tags.map(
        lambda t: "guardian_id" in t and not any(x in t for x in ID_TAGS if x != "guardian_id")
    )
    assert guardian.sum() > 0 and rows.loc[guardian, "id_number"].map(is_valid).all()
    # a guardian's number: its birth date is not the child's
    born = rows.loc[guardian, "id_number"].str[6:14]
    assert (born.str[:4].astype(int) < 2000).all()


def test_twins_have_neighbouring_valid_ids_and_share_phone(base: Dataset) -> None:
    rows = base.rows.drop_duplicates("reg_id").merge(base.truth, on=["source", "person_ref"])
    twins = rows[
        rows["corruptions"]
        .fillna("")
        .str.split(";")
        .map(lambda t: "twin" in t and not any(x in t for x in ID_TAGS))
    ]
    twins = twins[twins["id_number"].str.len() == 18].drop_duplicates("true_person_id")
    key = twins["id_number"].str[:14]
    pairs = twins.groupby(key).filter(lambda g: g["true_person_id"].nunique() == 2)
    assert len(pairs) >= 10
    for _, g in pairs.groupby(pairs["id_number"].str[:14]):
        a, b = g["id_number"].tolist()
        assert is_valid(a) and is_valid(b) and abs(int(a[14:17]) - int(b[14:17])) in (2, 3)


def test_birth_date_corruptions_look_as_documented(base: Dataset) -> None:
    rows = base.rows.drop_duplicates("reg_id").merge(base.truth, on=["source", "person_ref"])
    tags = rows["corruptions"].fillna("").str.split(";")
    numbers = rows["birth_date"].str.findall(r"\d+")

    def real(parts: list[str]) -> bool:
        if len(parts) == 1:
            parts = [parts[0][:4], parts[0][4:6], parts[0][6:]]
        y, m, d = (int(x) for x in parts)
        return 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1]

    impossible = tags.map(lambda t: "birth_date_impossible" in t)
    assert impossible.sum() > 0 and not numbers[impossible].map(real).any()
    missing = tags.map(lambda t: "birth_date_missing" in t and "no_name_no_id" not in t)
    assert (rows.loc[missing, "birth_date"] == "").all()
    nothing = tags.map(lambda t: "no_name_no_id" in t)
    assert nothing.sum() > 0
    assert (rows.loc[nothing, ["name", "id_number"]] == "").all().all()
    assert (rows.loc[nothing, ["birth_date", "phone"]] != "").all().all()


def test_phenomena_present_in_baseline(base: Dataset) -> None:
    tags = set(_tags(base).explode())
    for tag in (
        "migrant",
        "split_registration",
        "reentry_registration",
        "reentry_inline",
        "duplicate_upload",
        "twin",
        "guardian_id",
        "namesake_same_dob_county",
        "shared_phone",
        "minority_name",
        "compound_surname",
        "heteronym_surname",
        "foreigner",
        "hk_resident",
        "taiwan_resident",
        "id_15digit",
        "id_excel_scientific",
        "id_missing",
        "name_homophone",
        "name_traditional",
        "phone_missing",
        "sex_contradicts_id",
    ):
        assert tag in tags, tag
    names = base.rows["name"]
    assert names.str.contains("\u00b7").any() and names.str.fullmatch(r"[A-Za-z /]+").any()


@pytest.mark.parametrize("scenario", sorted(set(SCENARIOS) - {"baseline"}))
def test_each_scenario_shifts_its_rate(base: Dataset, scenario: str) -> None:
    ds = generate(N, K, 7, rates_for(scenario))
    if scenario == "reentered_doses":
        assert _share(ds, "reentry_registration") > 3 * _share(base, "reentry_registration")
    elif scenario == "corruption_x3":

        def corrupted(d: Dataset) -> int:
            t = _tags(d).explode()
            return int(
                t.str.match(r"^(id_(?!missing|abolished)|name_(?!gbk)|birth_date_|sex_)").sum()
            )

        assert 2.3 < corrupted(ds) / corrupted(base) < 3.7
    elif scenario == "rare_phone":
        assert 0.80 < _share(ds, "phone_missing") < 0.90
        assert _share(base, "phone_missing") < 0.12
    elif scenario == "many_idless":
        no_id = ds.rows.drop_duplicates("reg_id")["id_number"].eq("").mean()
        assert 0.28 < no_id < 0.40
    elif scenario == "all_date_formats":
        fmt = ds.rows.loc[ds.rows["dose_date"] != ""].assign(
            f=lambda r: r["dose_date"].map(_date_format)
        )
        assert (fmt.groupby("source")["f"].nunique() == 5).all()
        own = base.rows.loc[base.rows["dose_date"] != ""].assign(
            f=lambda r: r["dose_date"].map(_date_format)
        )
        assert (
            own.groupby("source")["f"].agg(lambda f: f.value_counts(normalize=True).iloc[0]) > 0.85
        ).all()
        assert (
            fmt.groupby("source")["f"].agg(lambda f: f.value_counts(normalize=True).iloc[0]) < 0.4
        ).all()
    elif scenario == "split_registrations":
        assert _share(ds, "split_registration") > 4 * _share(base, "split_registration")
    else:
        pytest.fail(f"no check for scenario {scenario}")


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        rates_for("baseline,nope")
    assert np.isclose(rates_for("rare_phone,many_idless").phone_collected, 0.15)


def test_help_lists_every_scenario(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in SCENARIOS)
