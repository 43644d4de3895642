"""Codes that people read from an SMS and type back: intake's tracking numbers and the
prosecution's tracking codes are both made here, with a length of their own.

A code is random symbols of Crockford's base 32 (from `secrets`, 5 bits each, so it can be
neither guessed nor enumerated) and a Luhn mod 32 check symbol that catches any one mistyped
symbol and most swapped neighbours.  Lower case, missing dashes and the look-alikes O/I/L are
accepted when typed.
"""
import secrets
from dataclasses import dataclass

# Crockford's base 32: no I, L, O or U, so nothing is mistaken for 1, 0 or another letter.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_symbol(symbols: str) -> str:
    """Luhn mod 32: catches every single wrong symbol and most swaps of neighbours."""
    factor, total, n = 2, 0, len(ALPHABET)
    for char in reversed(symbols):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


@dataclass(frozen=True)
class CodeFormat:
    """`random_symbols` random symbols and a check symbol, shown in dash-separated `groups`."""
    random_symbols: int
    groups: tuple[int, ...]

    def __post_init__(self):
        if sum(self.groups) != self.random_symbols + 1:
            raise ValueError("the groups must hold the random symbols and the check symbol")

    def new(self) -> str:
        body = "".join(secrets.choice(ALPHABET) for _ in range(self.random_symbols))
        return self.format(body + check_symbol(body))

    def format(self, compact: str) -> str:
        """Short groups are easier to read out and type from an SMS."""
        parts, start = [], 0
        for size in self.groups:
            parts.append(compact[start:start + size])
            start += size
        return "-".join(parts)

    def normalize(self, typed: str) -> str | None:
        """The canonical form of what someone typed, or None if it cannot be such a code."""
        compact = "".join(ch for ch in (typed or "").upper() if ch.isalnum()).translate(_LOOKALIKES)
        if len(compact) != self.random_symbols + 1 or any(ch not in ALPHABET for ch in compact):
            return None
        if check_symbol(compact[:-1]) != compact[-1]:
            return None
        return self.format(compact)
