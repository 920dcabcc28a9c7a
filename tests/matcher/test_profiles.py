"""Mapping profiles: loading, validation, the shipped examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.errors import ProfileError
from matcher.profiles import MappingProfile, load_profile, parse_profile

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "profiles"


def test_load_full_profile(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        """
description = "test"
source = "41"
encoding = "GBK"
sheet = "Sheet2"
date_format = "%d/%m/%Y"
[columns]
name = " 受种者 "
manufacturer = "厂家"
[values.sex]
"1" = "M"
[values.id_type]
"01" = "居民身份证"
[values.vaccine]
"5601" = "BBIBP"
""",
        encoding="utf-8",
    )
    profile = load_profile(path)
    assert profile.source == "41"
    assert profile.encoding == "gbk"  # normalised codec name
    assert profile.sheet == "Sheet2"
    assert profile.columns == {"name": "受种者", "manufacturer": "厂家"}
    assert profile.values.sex == {"1": "M"}
    assert profile.values.vaccine == {"5601": "BBIBP"}
    assert profile.date_format == "%d/%m/%Y"
    with pytest.raises(ValueError):
        profile.source = "42"  # type: ignore[misc]  # frozen


def test_empty_profile_is_valid() -> None:
    assert parse_profile("") == MappingProfile()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('sorce = "41"', "sorce: unknown key"),
        ('[columns]\nnmae = "姓名"', "unknown canonical column(s) nmae"),
        ('[values.gender]\n"1" = "M"', "values.gender: unknown key"),
        ('[values.sex]\n"1" = "male"', "must map to M, F or U"),
        ('source = "99"', "not a 2-digit GB/T 2260 province code"),
        ('encoding = "klingon"', "unknown encoding"),
        ('date_format = "dd/mm/yyyy"', "no strftime directive"),
        ('[columns]\nname = "x"\nid_number = "x"', "mapped twice"),
        ("source = ", "not valid TOML"),
    ],
)
def test_invalid_profiles_raise_profile_error(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        parse_profile(text, origin="p.toml")
    assert str(info.value).startswith("p.toml: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "none.toml")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_examples_load(path: Path) -> None:
    profile = load_profile(path)
    assert profile.description


def test_readme_documents_every_key() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for key in set(MappingProfile.model_fields) - {"values"}:
        assert f"`{key}`" in readme or f"`[{key}]`" in readme, key
    for key in ("values.sex", "values.id_type", "values.vaccine"):
        assert f"`[{key}]`" in readme


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[values.id_type]\n"01" = "身份卡"', "id_type values not known"),
        ('[values.vaccine]\n"5601" = "Sputnik"', "does not recognise: Sputnik"),
    ],
)
def test_value_targets_are_checked(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        parse_profile(text)


def test_value_targets_accepted() -> None:
    profile = parse_profile(
        '[values.id_type]\n"01" = "居民身份证"\n"9" = "passport"\n[values.vaccine]\n"a" = "AD5"\n"b" = "科兴"'
    )
    assert profile.values.id_type == {"01": "居民身份证", "9": "passport"}
