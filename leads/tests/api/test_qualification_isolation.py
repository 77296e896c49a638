import json
import pytest
from leads.tests.factories import LeadFactory, OfferFactory

def p(r):
    print(r.status_code, json.dumps(r.json(), default=str)[:2500])

@pytest.mark.django_db
def test_explore(tenant):
    c = tenant.client
    offer = OfferFactory(workspace=tenant.workspace)
    mid = c.post("/api/scoring-models/", {"name": "Four", "template": "budget_size_industry_urgency"}, format="json").json()["id"]
    p(c.patch(f"/api/offer/{offer.pk}/", {"scoring_model": mid}, format="json"))
    a = LeadFactory(workspace=tenant.workspace, industry="Software", attributes={"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"})
    b = LeadFactory(workspace=tenant.workspace, industry="Retail", attributes={"budget": "20k", "company_size": "150", "urgency": "diese Woche"})
    p(c.post("/api/lead-scores/calculate/", {"lead_id": a.pk, "offer": offer.pk}, format="json"))
    p(c.post("/api/lead-scores/calculate/", {"lead_id": b.pk}, format="json"))
    p(c.post("/api/lead-scores/calculate/", {"lead_id": b.pk}, format="json"))
    p(c.get(f"/api/lead-scores/history/?lead_id={b.pk}"))
    p(c.get(f"/api/lead-scores/distribution/?offer={offer.pk}"))
    p(c.post("/api/lead-scores/set_stage/", {"lead_id": b.pk, "stage": "sql"}, format="json"))
    p(c.post("/api/lead-scores/set_stage/", {"lead_id": b.pk, "stage": "zzz"}, format="json"))
    p(c.post("/api/scoring-rules/8/test_rule/", {"lead_id": a.pk}, format="json"))
    p(c.post(f"/api/scoring-models/{mid}/preview/", {"rules": [{"name": "Big", "operator": "greater_than", "field_name": "budget", "value": 30000, "points": 40}]}, format="json"))
    p(c.post(f"/api/scoring-models/{mid}/preview/", {"rules": [{"name": "Big", "operator": "greater_than", "field_name": "budget", "value": "abc", "points": 40}]}, format="json"))
    p(c.get("/api/leads/results/"))
    p(c.post("/api/lead-scores/bulk_calculate/", {"lead_ids": [a.pk]}, format="json"))
