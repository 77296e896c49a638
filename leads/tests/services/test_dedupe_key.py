"""The de-duplication key is stored with every lead: its form must not drift, or re-uploads would
create twins of leads imported before the change."""

from __future__ import annotations

import pytest

from leads.services.leads import lead_dedupe_key, normalise_key_part


@pytest.mark.parametrize(("value", "expected"), [
    ("Ada Lovelace", "ada lovelace"),
    ("  Ada   LOVELACE\t", "ada lovelace"),
    ("O'Neil, Jr.", "o neil jr."),
    ("Acme, Inc.", "acme inc."),
    ("Acme—Inc", "acme inc"),
    ("Ｆｕｌｌ Ｗｉｄｔｈ", "full width"),  # NFKC
    ("ﬁne", "fine"),  # a ligature
    ("Straße", "strasse"),  # casefold, not lower
    ("José Müller", "josé müller"),  # accents are kept: they tell people apart
    ("a\u00a0b", "a b"),  # a no-break space separates like a space
    ("snake_case", "snake_case"),
    ("dev+ops@x.io", "dev+ops@x.io"),
    ("(none)", "none"),
    ("", ""),
    ("   ", ""),
    ("!!!", ""),
])
def test_normalise_key_part(value: str, expected: str) -> None:
    assert normalise_key_part(value) == expected


def test_email_wins_over_name_and_company() -> None:
    assert lead_dedupe_key(name="Ada", company="Acme", email=" Ada@Acme.COM ") == "e:ada@acme.com"
    assert lead_dedupe_key(name="Ada  Lovelace", company="ACME, Inc.", email="") == "n:ada lovelace|acme inc."
