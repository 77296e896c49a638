"""Text normalisation shared by the rule layer and the local intent provider.

One canonical form for free text: `fold()` lowercases (casefold), strips accents, collapses dotted
acronyms ("V.P." -> "vp"), spells "&" as "and", turns every other punctuation mark into a space and
collapses whitespace. Rules and the local provider compare folded text only, so "Sr. V.P., Sales &
Ops" and "sr vp sales and ops" are the same title.

`is_placeholder()` decides whether a field counts as missing: the *whole* trimmed value must be a
placeholder ("N/A", "-", "unknown"...), so a company called "Unknown Pleasures" is present.

`stem()` is the Snowball English stemmer (`snowballstemmer`) plus two folds it lacks: British
"-ise" spellings onto "-ize" and agent nouns onto their verb ("distributor" meets "distribution",
"insurer" meets "insurance"). The local provider uses it to see that a bio talks about what an
offer sells, the industry rule to see that two spellings name one industry. Cached: words repeat
across a million bios, and the pure-Python stemmer costs tens of microseconds a word.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

# "v.p." / "c.e.o." / "s.v.p." -> "vp" / "ceo" / "svp"; only runs of single letters, so "Sr." and
# "Dir." stay words and are expanded by the callers' abbreviation tables.
_DOTTED_ACRONYM = re.compile(r"\b(?:[a-z]\.){2,}")
# Everything that is not a letter or digit in any script separates words ("_" too).
_NON_WORD = re.compile(r"[\W_]+")
_HAS_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
# Cheap pre-check for _DOTTED_ACRONYM: any ".x." at all.
_DOTTED_HINT = re.compile(r"\.[a-z]\.")
# Combining marks left by NFKD (the common diacritic blocks).
_COMBINING_MARK = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# ASCII punctuation -> space (after "&" -> " and "): the fast path of `words()`, a byte table
# (one C lookup per character; a str.translate dict took twice as long per bio).
_ASCII_FOLD = bytes(code if chr(code).isalnum() else 32 for code in range(128)) + b" " * 128
_UNICODE_PUNCTUATION = str.maketrans(
    {c: " " for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026"
     "\u00b7\u00a0\u2009\u202f\u00ab\u00bb\u2122\u00ae\u00a9\u2192\u2715\u00d7"}
)

# Whole-value placeholders, compared after trimming, casefolding and dropping wrapping brackets or
# quotes. Values with no letter or digit at all ("-", "—", "?", "...", "") are placeholders too.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "n/a", "na", "n.a.", "n.a", "n a", "#n/a", "n/d", "nd", "none", "null", "nil", "nan",
        "unknown", "unk", "tbd", "tba", "tbc", "undefined", "not available", "not applicable",
        "not provided", "not specified", "unspecified", "no data", "blank", "empty", "missing",
        "none provided", "not set", "not known", "various", "other", "xxx", "xx",
    }
)
_WRAPPERS = "()[]{}<>\"'` \t"

# Words that carry no meaning about what a lead needs or what an offer sells. Offer keywords are
# built without them; lead words are only ever intersected with offer keywords, so they need no
# filtering of their own.
_STOP_WORDS_TEXT = """
    a about above across after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each else
    ever every few for from further get gets getting got had has have having he her here hers him
    his how i if in into is it its itself just let me more most much must my myself no nor not now
    of off on once only or other our ours out over own per same she should so some such than that
    the their theirs them then there these they this those through to too under until up upon us
    very via was we were what when where which while who whom why will with within without would
    you your yours yourself
    one two three four five six seven eight nine ten first new best better faster easier easy
    simple simply fast quick quickly less lot lots many make makes making made help helps helping
    use uses using used based way ways thing things time times day days week weeks month months
    year years place places single
    increase increases improve improves reduce reduces cut cuts save saves boost boosts drive
    drives enable enables including include includes
    company companies business businesses team teams solution solutions platform platforms tool
    tools product products service services software customer customers client clients people
    data system systems manage management managed managing manager
    b2b b2c mid market midmarket enterprise enterprises smb smbs sme smes startup startups
    scaleup scaleups firm firms provider providers industry sector segment
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())


def fold(text: str) -> str:
    """Canonical comparison form of free text (see module docstring)."""
    return " ".join(words(text))


def words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    if not text:
        return []
    if not text.isascii():
        # Accents off and typographic punctuation ("—", "’") to ASCII: most non-ASCII bios are
        # ASCII after that and take the fast path too.
        text = _COMBINING_MARK.sub("", unicodedata.normalize("NFKD", text)).translate(_UNICODE_PUNCTUATION)
        if not text.isascii():
            text = prefold(text)
            if "&" in text:
                text = text.replace("&", " and ")
            return _NON_WORD.sub(" ", text).split()
    # Fast path for the common case (a million bios): one table lookup per character instead of a
    # regex; same result as the general path above.
    text = text.lower()
    if "." in text and _DOTTED_HINT.search(text):
        text = _DOTTED_ACRONYM.sub(_undot, text)
    if "&" in text:
        text = text.replace("&", " and ")
    return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii").split()


def prefold(text: str) -> str:
    """Casefolded, accent-free text with dotted acronyms collapsed, punctuation still in place.

    For callers that must split on punctuation (title clauses, industry alternatives) before the
    punctuation is folded away.
    """
    if not text.isascii():
        # NFKD splits "é" into "e" + a combining accent, which is then dropped; full-width and
        # ligature forms become plain letters on the way.
        text = _COMBINING_MARK.sub("", unicodedata.normalize("NFKD", text))
    text = text.casefold()
    if "." in text and _DOTTED_HINT.search(text):
        text = _DOTTED_ACRONYM.sub(_undot, text)
    return text


def _undot(match: re.Match[str]) -> str:
    return match.group().replace(".", "")


def is_placeholder(value: str | None) -> bool:
    """True when the whole value means "missing": blank, punctuation only, or a known placeholder."""
    if value is None:
        return True
    trimmed = value.strip()
    if not trimmed or not _HAS_LETTER_OR_DIGIT.search(trimmed):
        return True
    return trimmed.strip(_WRAPPERS).casefold() in PLACEHOLDERS


def is_present(value: str | None) -> bool:
    return not is_placeholder(value)


# British spellings onto American ones before stemming, so "personalised" meets "personalized".
_BRITISH_IS = re.compile(r"is(e|es|ed|ing|ation|ations|er|ers)$")
_SNOWBALL = snowballstemmer.stemmer("english")
_VOWELS = frozenset("aeiouy")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The matching key of a folded word: "scaling"/"scale" -> "scale", "distributors" -> "distribut".

    Trap: this is a matching key, not always a dictionary word; only compare stems with stems.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word[-1] == "s" and _VOWELS.isdisjoint(word[:-1]):
        return word[:-1]  # acronym plurals: "sdrs" -> "sdr", "crms" -> "crm"
    key: str = _SNOWBALL.stemWord(_BRITISH_IS.sub(r"iz\1", word))
    # Agent nouns: Snowball keeps "distributor", "insurer" and "manufacturer" apart from their verb.
    if key.endswith(("or", "er")) and len(key) >= 7:
        key = key[:-2]
    return key
