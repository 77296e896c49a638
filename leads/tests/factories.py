"""factory_boy factories for leads and offers; they fill the dedupe key like the services do."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from leads.models import Lead, Offer
from leads.services.leads import lead_dedupe_key, lead_name_key


class OfferFactory(DjangoModelFactory):
    class Meta:
        model = Offer

    name = factory.Sequence(lambda n: f"Offer {n}")
    value_props = factory.LazyFunction(lambda: ["24/7 outreach", "6x more meetings"])
    ideal_use_cases = factory.LazyFunction(lambda: ["B2B SaaS mid-market"])


class LeadFactory(DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Faker("name")
    role = factory.Faker("job")
    company = factory.Faker("company")
    industry = "B2B SaaS"
    location = factory.Faker("city")
    linkedin_bio = factory.Faker("sentence", nb_words=20)
    email = ""
    dedupe_key = factory.LazyAttribute(lambda o: lead_dedupe_key(name=o.name, company=o.company, email=o.email))
    name_key = factory.LazyAttribute(lambda o: lead_name_key(name=o.name, company=o.company))
