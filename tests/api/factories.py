"""Small synthetic provinces with ground truth, written as CSV bytes (no matcher.synthetic)."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import pandas as pd

from matcher.columns import CANONICAL_COLUMNS
from matcher.resident_id import checksum_char

SURNAMES = ["张", "王", "李", "刘", "陈", "杨", "欧阳", "黄", "赵", "吴", "周", "徐", "孙", "马"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]
TRADITIONAL = {"张": "張", "刘": "劉", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "伟": "偉"}
PROVINCES = ("11", "31", "44")


@dataclass(frozen=True)
class Person:
    """One true person."""

    truth: str
    id_number: str
    name: str
    phone: str


@dataclass(frozen=True)
class Synthetic:
    """Dose rows of every province plus the truth per (source, person_ref)."""

    doses: pd.DataFrame
    truth: dict[tuple[str, str], str]
    persons: list[Person]

    def csv(self, province: str) -> bytes:
        """The province's export as UTF-8 CSV."""
        part = self.doses[self.doses["source"] == province]
        buffer = io.StringIO()
        part.to_csv(buffer, index=False)
        return buffer.getvalue().encode("utf-8")


def make_synthetic(n_persons: int = 120, seed: int = 3) -> Synthetic:
    """Persons registered in 1-3 provinces; later registrations sometimes corrupted."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    truth: dict[tuple[str, str], str] = {}
    persons: list[Person] = []
    for pid in range(n_persons):
        birth = pd.Timestamp("1950-01-01") + pd.Timedelta(days=rng.randrange(20000))
        first17 = f"{rng.choice(PROVINCES)}0101{birth:%Y%m%d}{rng.randrange(1000):03d}"
        id18 = first17 + checksum_char(first17)
        sex = "男" if int(first17[16]) % 2 else "女"
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=2))
        if pid % 10 == 0:
            name = name[:-1] + "伟"
        phone = "13" + "".join(rng.choices("0123456789", k=9))
        persons.append(Person(f"T{pid}", id18, name, phone))
        for reg in range(rng.choice([1, 1, 2, 2, 3])):
            source = PROVINCES[(pid + reg) % len(PROVINCES)]
            ref = f"R{pid:05d}{reg}"
            reg_id, reg_name = id18, name
            roll = rng.random()
            if reg and roll < 0.15:
                reg_id = id18[:6] + id18[8:17]  # 15-digit form
            elif reg and roll < 0.3:
                reg_id = ""
            elif reg and roll < 0.45:
                reg_name = "".join(TRADITIONAL.get(ch, ch) for ch in name)
            weak = reg > 0 and pid % 10 == 0  # no ID, no phone: left for a human
            if weak:
                reg_id, reg_name = "", name[:-1] + "玮"  # homophone, no ID
            truth[(source, ref)] = f"T{pid}"
            for dose in range(rng.choice([1, 2])):
                rows.append(
                    {
                        "source": source,
                        "person_ref": ref,
                        "id_type": "居民身份证" if reg_id else "",
                        "id_number": reg_id,
                        "name": reg_name,
                        "sex": sex,
                        "birth_date": birth.strftime("%Y-%m-%d"),
                        "phone": "" if weak else (phone if rng.random() < 0.7 else ""),
                        "dose_date": (
                            pd.Timestamp("2021-03-01") + pd.Timedelta(days=40 * dose + 200 * reg)
                        ).strftime("%Y-%m-%d"),
                        "vaccine": "新冠病毒灭活疫苗(Vero细胞) 北京生物",
                        "lot_number": f"L{rng.randrange(10**6):06d}",
                        "dose_seq": str(dose + 1),
                        "site": f"{source}0101001",
                    }
                )
    return Synthetic(pd.DataFrame(rows, columns=list(CANONICAL_COLUMNS)), truth, persons)
