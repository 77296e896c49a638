"""Export cells: spreadsheet formulas neutralised, everything else kept as stored; extra columns named
and ordered as uploaded."""

from __future__ import annotations

import pytest

from leads.selectors import lead_attribute_keys
from leads.services.csv_export import attribute_headers, neutralise_cell
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1 555", "'+1 555"), ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"), ("Jane = CEO", "Jane = CEO"),
        ("", ""), ("VP Sales", "VP Sales"), (42, 42), (None, None), ("'quoted", "'quoted"),
    ],
)
def test_neutralise_cell(value: object, expected: object) -> None:
    assert neutralise_cell(value) == expected


def test_attribute_headers_never_shadow_a_fixed_column() -> None:
    # `score` and `Intent` come back as extra columns when an export is uploaded again.
    assert attribute_headers(["Phone", "score", "Intent", "score (attribute)"]) == [
        "Phone", "score (attribute)", "Intent (attribute)", "score (attribute) (attribute)"]


@pytest.mark.django_db
def test_attribute_keys_in_order_of_first_appearance_and_per_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    LeadFactory(workspace=tenant.workspace, attributes={})
    LeadFactory(workspace=tenant.workspace, attributes={"Phone": "+1 555", "Lead Source": "web"})
    LeadFactory(workspace=tenant.workspace, attributes={"Lead Source": "event", "Budget": "10k"})
    LeadFactory(workspace=other_tenant.workspace, attributes={"Secret": "x"})
    assert lead_attribute_keys(workspace=tenant.workspace, limit=10) == ["Phone", "Lead Source", "Budget"]
    assert lead_attribute_keys(workspace=tenant.workspace, limit=2) == ["Phone", "Lead Source"]
    assert lead_attribute_keys(workspace=other_tenant.workspace, limit=10) == ["Secret"]
