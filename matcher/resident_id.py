"""Resident identity numbers (GB 11643-1999) and other identity documents (DOMAIN.md §1).

Scalar helpers here are the reference; the vectorised normaliser is ``normalise_ids``.
"""

from __future__ import annotations

from typing import Final

WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final[str] = "10X98765432"  # indexed by S mod 11


def checksum_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def is_valid_resident_id(number: str) -> bool:
    """True when an 18-character number has 17 digits and the right check character."""
    return (
        len(number) == 18
        and number[:17].isdigit()
        and number[17] in "0123456789X"
        and checksum_char(number[:17]) == number[17]
    )


def upgrade_15_to_18(number: str) -> str:
    """Upgrade a legacy 15-digit number: insert the century, append the check character.

    Sequence codes 996-999 were reserved for centenarians and get century 18 (DOMAIN.md §1.1).
    """
    century = "18" if number[12:15] in {"996", "997", "998", "999"} else "19"
    first17 = number[:6] + century + number[6:]
    return first17 + checksum_char(first17)
