"""Word normalisation so that a screenplay and the subtitles of its film spell the same speech alike.

Case, punctuation and apostrophe forms are folded; contractions are expanded (``it's`` -> ``it is``,
``won't`` -> ``will not``); numbers are spelled out (``20`` -> ``twenty``, ``1999`` -> ``nineteen
ninety nine``); common variants are unified (``OK``/``okay``, ``gonna`` -> ``going to``); hesitation
sounds get one spelling each (``umm`` -> ``um``). Every normalised token keeps the character span of the surface
word it came from, so positions in the original text can be recovered.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

__all__ = ["Token", "tokenize", "normalize_word", "number_words"]


class Token(NamedTuple):
    """A normalised word and the span ``[start, end)`` of its surface form in the source text (a
    named tuple: a film has tens of thousands, built several times faster than frozen dataclasses)."""

    norm: str
    start: int
    end: int


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINAL_SUFFIX = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                   "nine": "ninth", "twelve": "twelfth"}


def number_words(n: int) -> list[str]:
    """Spell a non-negative integer below a billion the way it is said (no "and")."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (number_words(n % 100) if n % 100 else [])
    for size, name in ((1_000_000, "million"), (1000, "thousand")):
        if n >= size:
            return number_words(n // size) + [name] + (number_words(n % size) if n % size else [])
    raise ValueError(n)


def _year_words(n: int) -> list[str]:
    """1999 -> nineteen ninety nine; 1905 -> nineteen oh five; 2000-2009 as thousands."""
    hi, lo = divmod(n, 100)
    if lo == 0:
        return number_words(hi) + ["hundred"]
    return number_words(hi) + (["oh"] + number_words(lo) if lo < 10 else number_words(lo))


def _spell_number(surface: str) -> list[str]:
    digits = surface.replace(",", "")
    if "." in digits:
        whole, frac = digits.split(".", 1)
        return (_spell_number(whole) if whole else ["zero"]) + ["point"] + [_ONES[int(d)] for d in frac if d.isdigit()]
    if not digits.isdigit():
        return [digits]
    if len(digits) > 1 and digits.startswith("0"):  # 007, 0800: said digit by digit
        return [("oh" if d == "0" else _ONES[int(d)]) for d in digits]
    n = int(digits)
    if n >= 1_000_000_000:
        return [_ONES[int(d)] for d in digits]
    if len(digits) == 4 and "," not in surface and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        return _year_words(n)
    return number_words(n)


def _ordinal(num: str) -> list[str]:
    words = _spell_number(num)
    last = words[-1]
    if last in _ORDINAL_SUFFIX:
        last = _ORDINAL_SUFFIX[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return words[:-1] + [last]


# One surface word -> several normalised words.
_VARIANTS: dict[str, tuple[str, ...]] = {
    "ok": ("okay",), "okey": ("okay",), "okie": ("okay",), "kay": ("okay",),
    "gonna": ("going", "to"), "wanna": ("want", "to"), "gotta": ("got", "to"), "hafta": ("have", "to"),
    "gimme": ("give", "me"), "lemme": ("let", "me"), "kinda": ("kind", "of"), "sorta": ("sort", "of"),
    "outta": ("out", "of"), "lotta": ("lot", "of"), "dunno": ("do", "not", "know"), "ya": ("you",),
    "yeah": ("yes",), "yep": ("yes",), "yup": ("yes",), "yea": ("yes",), "nope": ("no",), "nah": ("no",),
    "til": ("until",), "till": ("until",), "cause": ("because",), "cos": ("because",), "cuz": ("because",),
    "coz": ("because",), "alright": ("all", "right"), "mr": ("mister",), "mrs": ("missus",),
    "ms": ("miss",), "dr": ("doctor",), "st": ("saint",), "em": ("them",), "tv": ("television",),
    "goodbye": ("good", "bye"), "anymore": ("any", "more"),
    "everytime": ("every", "time"), "percent": ("percent",), "%": ("percent",), "&": ("and",),
    "cannot": ("can", "not"), "ain't": ("is", "not"), "can't": ("can", "not"), "won't": ("will", "not"),
    "shan't": ("shall", "not"), "let's": ("let", "us"), "y'all": ("you", "all"), "ma'am": ("madam",),
    "o'clock": ("oclock",),
}
# Hesitation sounds, spelled many ways: one spelling each. They are kept: a block that starts with
# "Uh," starts when the "Uh" is said.
FILLERS = {"uh": "uh", "uhh": "uh", "er": "uh", "erm": "um", "um": "um", "umm": "um", "uhm": "um",
           "ah": "ah", "ahh": "ah", "aah": "ah", "hmm": "hmm", "hm": "hmm", "mm": "hmm", "mmm": "hmm",
           "mhm": "hmm", "eh": "eh", "oh": "oh", "ohh": "oh", "ooh": "oh"}
_IS_BEFORE = frozenset(
    "it he she that what there here who where how when why everything nothing something everyone "
    "someone somebody nobody everybody this".split())
_SUFFIXES = (("n't", ("not",)), ("'re", ("are",)), ("'ve", ("have",)), ("'ll", ("will",)),
             ("'m", ("am",)), ("'d", ("would",)))

# Words (letters, digits, inner apostrophes and dots as in o.k. / p.m.), or a number with , or . inside.
_WORD = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?|[^\W_]+(?:['.][^\W_]+)*'?|[%&]", re.UNICODE)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})


def normalize_word(word: str) -> list[str]:
    """Normalised words for one surface word (possibly none, possibly several)."""
    return list(_normalized(word))


@functools.lru_cache(maxsize=65536)
def _normalized(word: str) -> tuple[str, ...]:
    # A film repeats its words: cached, tokenizing both sides costs a third of what it did.
    return tuple(_normalize(word))


def _normalize(word: str) -> list[str]:
    raw = word.lower().translate(_APOSTROPHES)
    w = raw.strip("'")
    if raw.endswith("'") and w.endswith("in") and len(w) > 3:  # goin' -> going
        w = w + "g"
    if not w:
        return []
    if w in _VARIANTS:
        return list(_VARIANTS[w])
    if w[0].isdigit():
        m = re.fullmatch(r"(\d+)(st|nd|rd|th)", w)
        if m:
            return _ordinal(m.group(1))
        if w.endswith("s") and w[:-1].isdigit():  # the 1960s -> nineteen sixties
            words = _spell_number(w[:-1])
            return words[:-1] + [words[-1][:-1] + "ies" if words[-1].endswith("y") else words[-1] + "s"]
        return _spell_number(w)
    if "." in w:  # o.k., p.m., u.s.
        joined = w.replace(".", "")
        return list(_VARIANTS.get(joined, (joined,)))
    if w in FILLERS:
        return [FILLERS[w]]
    if "'" in w:
        for suffix, expansion in _SUFFIXES:
            if w.endswith(suffix) and len(w) > len(suffix):
                return normalize_word(w[: -len(suffix)]) + list(expansion)
        if w.endswith("'s"):
            base = w[:-2]
            return [base, "is"] if base in _IS_BEFORE else [base]  # possessive 's carries nothing
        return [w.replace("'", "")]
    return [w]


def tokenize(text: str) -> list[Token]:
    """Normalised tokens of ``text`` with the spans of the surface words they came from.

    Hyphenated words split (``semi-pro`` -> ``semi pro``), so both spellings meet.
    """
    out: list[Token] = []
    for m in _WORD.finditer(text.translate(_APOSTROPHES)):  # one-to-one: spans stay valid
        for norm in _normalized(m.group(0)):
            out.append(Token(norm, m.start(), m.end()))
    return out
