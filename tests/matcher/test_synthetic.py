"""Synthetic provinces: determinism, corruption rates, families, ID structure, exports."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matcher.errors import VaxlinkError
from matcher.resident_id import checksum_char, is_valid_resident_id, upgrade_15_to_18
from matcher.synthetic import (
    CHINESE_HEADERS,
    CORRUPTIONS,
    CorruptionRates,
    SyntheticConfig,
    generate,
    write_synthetic,
)
from matcher.synthetic_export import GENERIC_VACCINE_TEXTS
from matcher.synthetic_people import bytes_to_str, make_people
from matcher.synthetic_scenarios import SCENARIOS, apply_scenarios
from matcher.synthetic_tables import surname_pool
from matcher.vaccines import CATALOGUE, TEXT_VARIANTS

TAGS = {"guardian_id", "twin", "reentered_registration", "split_registration"}


@pytest.fixture(scope="module")
def data20k():
    return generate(SyntheticConfig(persons=20_000, provinces=6, seed=7))


def _registrations(data) -> pd.DataFrame:
    """One row per registration: identity fields of its first dose row plus the truth."""
    first = data.doses.drop_duplicates(["source", "person_ref"])
    return first.merge(data.truth, on=["source", "person_ref"], validate="1:1")


def _has(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame["corruptions"].str.split(";").apply(lambda tags: name in tags)


def _parse_date(text: str) -> tuple[int, int, int]:
    parts = re.findall(r"\d+", text)
    if len(parts) == 1:
        return int(text[:4]), int(text[4:6]), int(text[6:8])
    y, m, d = (int(p) for p in parts)
    return y, m, d


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    config = SyntheticConfig(persons=1500, provinces=4, seed=3)
    first = write_synthetic(generate(config), tmp_path / "a")
    second = write_synthetic(generate(config), tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))
    other = write_synthetic(generate(replace(config, seed=4)), tmp_path / "c")
    assert (tmp_path / "a" / "truth.csv").read_bytes() != other[-2].read_bytes()


def test_every_corruption_at_roughly_its_rate(data20k) -> None:
    rates = CorruptionRates()
    truth = data20k.truth
    for name in CORRUPTIONS:
        if name in TAGS:
            continue
        share = _has(truth, name).mean()
        expected = getattr(rates, name)
        assert 0.6 * expected <= share <= 1.5 * expected, (name, share, expected)


def test_population_shares(data20k) -> None:
    truth = data20k.truth
    twins = truth.loc[_has(truth, "twin"), "true_person_id"].nunique()
    assert 0.007 <= twins / 20_000 <= 0.013
    provinces = truth.groupby("true_person_id")["source"].nunique()
    assert 0.08 <= (provinces >= 2).mean() <= 0.2
    assert (provinces == 3).sum() > 0
    children = _has(truth, "guardian_id").sum()
    assert 0.01 <= children / len(truth) <= 0.06


def test_surnames_include_heteronyms_and_compounds_at_low_rates() -> None:
    pool = surname_pool()
    share = dict(zip(pool.names.tolist(), pool.weights.tolist(), strict=True))
    assert share["王"] > 0.06 and share["李"] > 0.06
    for rare in (
        "曾",
        "单",
        "解",
        "仇",
        "区",
        "查",
        "朴",
        "盖",
        "翟",
        "乐",
        "欧阳",
        "司马",
        "诸葛",
        "上官",
    ):
        assert rare in share and share[rare] < 0.01
    assert dict(zip(pool.names.tolist(), pool.pinyin.tolist(), strict=True))["单"] == "Shan"


def test_many_people_share_a_full_name(data20k) -> None:
    names = _registrations(data20k).drop_duplicates("true_person_id")["name"]
    assert names.value_counts().iloc[0] >= 10
    assert names.duplicated().mean() > 0.2


def test_twins_have_different_valid_ids_and_same_birth_date() -> None:
    rng = np.random.default_rng(11)
    people = make_people(20_000, np.arange(5, dtype=np.int64), rng)
    first = np.flatnonzero(people.twin >= 0)
    second = people.twin[first]
    assert 150 <= len(first) <= 250
    ids = bytes_to_str(people.id18)
    assert all(is_valid_resident_id(i) for i in ids[first])
    assert all(checksum_char(i[:17]) == i[17] for i in ids[:2000])
    assert (ids[first] != ids[second]).all()
    assert (people.birth[first] == people.birth[second]).all()
    assert (people.county[first] == people.county[second]).all()
    assert (people.surname[first] == people.surname[second]).all()
    gap = np.abs(people.seq[first] - people.seq[second])
    assert ((gap >= 1) & (gap <= 3)).all()
    assert len(set(ids.tolist())) == len(ids)  # every person has their own number
    parity_male = (people.seq % 2 == 1) == people.male
    assert parity_male.all()


def test_guardian_id_children_carry_an_id_of_another_birth_date(data20k) -> None:
    regs = _registrations(data20k)
    children = regs[_has(regs, "guardian_id") & regs["birth_date"].notna()]
    other = "birth_date_error|birth_date_unusable|no_name_no_id"
    clean = children[~children["corruptions"].str.contains(other)]
    assert len(clean) > 100
    for id_number, birth in zip(clean["id_number"], clean["birth_date"], strict=True):
        assert is_valid_resident_id(id_number)
        implied = (int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        assert implied != _parse_date(birth)
        assert _parse_date(birth)[0] >= 2007  # the child is under 14 in 2021


def test_15_digit_registrations_upgrade_to_the_persons_18_digit_id(data20k) -> None:
    regs = _registrations(data20k)
    ids = regs["id_number"].fillna("")
    plain = regs[(regs["corruptions"].isin(["", "twin", "missing_phone", "sex_missing"]))]
    own = plain.set_index("true_person_id")["id_number"]
    own = own[~own.index.duplicated()]
    fifteen = regs[ids.str.len().eq(15) & ids.str.isdigit()]
    assert len(fifteen) > 100
    checked = 0
    for person, number in zip(fifteen["true_person_id"], fifteen["id_number"], strict=True):
        if person in own.index:
            assert upgrade_15_to_18(number) == own[person]
            checked += 1
    assert checked > 50
    # Double registrations: the same person twice in one province, 15- and 18-digit.
    doubled = regs.groupby(["true_person_id", "source"]).size()
    assert (doubled >= 2).sum() > 50


def test_schedules_follow_the_catalogue(data20k) -> None:
    doses = data20k.truth_doses.sort_values(["true_person_id", "dose_number"])
    dates = pd.to_datetime(doses["dose_date"])
    assert dates.min() >= pd.Timestamp("2021-01-01")
    assert dates.max() <= pd.Timestamp("2022-12-31")
    same = doses["true_person_id"].eq(doses["true_person_id"].shift())
    gap = (dates - dates.shift()).dt.days[same]
    assert gap.min() >= 21
    booster_gap = gap[doses["kind"][same].eq("booster")]
    assert booster_gap.min() >= 180
    assert set(doses["product_code"]) <= set(CATALOGUE)
    assert {"BBIBP", "CORONAVAC", "AD5", "ZF2001", "WIBP", "KCONVAC"} <= set(doses["product_code"])
    per_person = doses.groupby("true_person_id")["product_code"]
    zf = doses.groupby("true_person_id")["product_code"].first().eq("ZF2001")
    assert per_person.size()[zf].max() == 3
    mixed = doses[doses["kind"].eq("primary")].groupby("true_person_id")["product_code"].nunique()
    assert (mixed > 1).sum() > 20
    # Re-entered historical doses and double registrations: more rows than true events.
    assert len(data20k.doses) > len(data20k.truth_doses)
    variants = {t for texts in TEXT_VARIANTS.values() for t in texts}
    variants |= set(GENERIC_VACCINE_TEXTS)  # doses re-entered from a certificate
    assert set(data20k.doses["vaccine"]) <= variants
    assert data20k.doses["vaccine"].nunique() > 30


def test_export_columns_formats_and_legacy_file(tmp_path: Path) -> None:
    data = generate(SyntheticConfig(persons=800, provinces=3, seed=5))
    paths = write_synthetic(data, tmp_path)
    assert {p.name for p in paths} == {f"{c}.csv" for c in data.sources} | {
        "truth.csv",
        "truth_doses.csv",
    }
    legacy = tmp_path / f"{data.legacy_sources[0]}.csv"
    header = legacy.read_bytes().decode("gbk").splitlines()[0]
    assert header.replace('"', "").split(",") == list(CHINESE_HEADERS.values())
    with pytest.raises(UnicodeDecodeError):
        legacy.read_bytes().decode("utf-8")
    plain = pd.read_csv(tmp_path / f"{data.sources[0]}.csv", dtype=str)
    assert list(plain.columns) == list(CHINESE_HEADERS)
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str, keep_default_na=False)
    assert list(truth.columns) == ["source", "person_ref", "true_person_id", "corruptions"]
    assert len(truth) == data.doses.drop_duplicates(["source", "person_ref"]).shape[0]


def test_rates_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "rates.toml"
    path.write_text("missing_id = 0.2\nname_pinyin = 0\n", encoding="utf-8")
    rates = CorruptionRates.from_toml(path)
    assert rates.missing_id == 0.2 and rates.name_pinyin == 0.0 and rates.id_typo == 0.01
    data = generate(SyntheticConfig(persons=3000, provinces=2, seed=1, rates=rates))
    assert 0.17 <= _has(data.truth, "missing_id").mean() <= 0.23
    assert not _has(data.truth, "name_pinyin").any()
    path.write_text("missing_idd = 0.2\n", encoding="utf-8")
    with pytest.raises(VaxlinkError, match="missing_idd"):
        CorruptionRates.from_toml(path)


def test_unusable_birth_dates_and_anonymous_rows(data20k) -> None:
    regs = _registrations(data20k)
    unusable = regs[_has(regs, "birth_date_unusable")]
    assert len(unusable) > 0
    for text in unusable["birth_date"]:
        y, m, d = (int(p) for p in re.findall(r"\d+", text))
        impossible = not 1 <= m <= 12 or (m == 2 and d == 30)
        assert impossible or y > 2023, text
    anonymous = regs[_has(regs, "no_name_no_id")]
    assert len(anonymous) > 0
    assert anonymous["name"].isna().all() and anonymous["id_number"].isna().all()


def test_reentered_registration_holds_one_retyped_dose() -> None:
    config = apply_scenarios(
        SyntheticConfig(persons=5000, provinces=5, seed=2), ["reentered_doses"]
    )
    data = generate(config)
    regs = _registrations(data)
    retyped = regs[_has(regs, "reentered_registration")]
    assert 0.08 <= retyped["true_person_id"].nunique() / 5000 <= 0.2
    rows = data.doses.merge(retyped[["source", "person_ref"]], on=["source", "person_ref"])
    assert (rows.groupby(["source", "person_ref"]).size() == 1).all()
    # Each re-entered dose is a true dose of that person, at most a day off.
    true = data.truth_doses.assign(day=pd.to_datetime(data.truth_doses["dose_date"]))
    rows = rows.merge(data.truth, on=["source", "person_ref"])
    rows["day"] = [pd.Timestamp(*_parse_date(t)) for t in rows["dose_date"]]
    near = rows.merge(true, on="true_person_id", suffixes=("", "_true"))
    gap = (near["day"] - near["day_true"]).abs().dt.days
    assert near.assign(gap=gap).groupby(["source", "person_ref"])["gap"].min().max() <= 1
    lots = set(data.truth_doses["lot_number"])
    assert rows["lot_number"].notna().any() and not rows["lot_number"].dropna().isin(lots).all()


def test_split_registrations_share_the_home_doses() -> None:
    config = apply_scenarios(
        SyntheticConfig(persons=5000, provinces=5, seed=2), ["split_registrations"]
    )
    regs = _registrations(generate(config))
    split = regs[_has(regs, "split_registration")]
    assert 0.03 <= split["true_person_id"].nunique() / 5000 <= 0.12
    both = regs[regs["true_person_id"].isin(split["true_person_id"])]
    assert (both.groupby("true_person_id")["source"].value_counts() >= 2).any()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_generates(name: str) -> None:
    data = generate(apply_scenarios(SyntheticConfig(persons=500, provinces=3, seed=1), [name]))
    assert len(data.truth) >= 500


def test_scenarios_shift_their_rates() -> None:
    base = SyntheticConfig(persons=10)
    assert apply_scenarios(base, ["many_idless"]).rates.missing_id == 0.3
    assert apply_scenarios(base, ["rare_phone"]).rates.missing_phone == 0.85
    assert apply_scenarios(base, ["corruption_x3"]).rates.id_typo == 3 * base.rates.id_typo
    assert apply_scenarios(base, ["all_date_formats"]).mixed_date_formats
    combined = apply_scenarios(base, ["many_idless", "rare_phone"])
    assert combined.rates.missing_id == 0.3 and combined.rates.missing_phone == 0.85
    with pytest.raises(VaxlinkError, match="unknown scenario"):
        apply_scenarios(base, ["nope"])
