"""A small built-in industry taxonomy: aliases, segment words and sectors.

Everything here is data so the industry rule (and later, workspace rulesets) can grow without code
changes. All keys are in folded form (see `normalize.fold`).

- `INDUSTRY_ALIASES` rewrites spellings and abbreviations of one industry onto one canonical form
  ("Fin Tech", "financial technology" -> "fintech"; "Hospital & Health Care" -> "healthcare").
- `SEGMENT_PREFIXES` / `SEGMENT_SUFFIXES` are the words an ICP entry adds to an industry to name a
  *segment* of it ("B2B SaaS mid-market", "Fintech startups", "Enterprise software"). Stripping them
  gives the entry's industry part. "B2B"/"B2C" are not segment words: DESIGN treats "SaaS" vs "B2B
  SaaS" as broader/narrower, i.e. adjacent, not exact.
- `SECTORS` groups canonical industries that a sales person would call related. Sectors are kept
  tight on purpose: a wide sector would make every lead "adjacent".
"""

from __future__ import annotations

import re
from functools import lru_cache

from leads.scoring.normalize import fold

INDUSTRY_ALIASES: dict[str, str] = {
    # software / IT
    "information technology": "it",
    "information technology and services": "it services",
    "it and services": "it services",
    "it service": "it services",
    "managed services": "it services",
    "msp": "it services",
    "computer software": "software",
    "software development": "software",
    "software as a service": "saas",
    "saas software": "saas",
    "artificial intelligence": "ai",
    "machine learning": "ml",
    "ai ml": "ai",
    "cloud computing": "cloud",
    "internet software": "software",
    "cyber security": "cybersecurity",
    "cyber": "cybersecurity",
    "information security": "cybersecurity",
    "infosec": "cybersecurity",
    "computer and network security": "cybersecurity",
    "it security": "cybersecurity",
    # finance
    "fin tech": "fintech",
    "financial technology": "fintech",
    "finance": "financial services",
    "financial": "financial services",
    "finserv": "financial services",
    "financial service": "financial services",
    "bank": "banking",
    "banks": "banking",
    "insur tech": "insurtech",
    "reg tech": "regtech",
    "payment": "payments",
    "vc": "venture capital",
    "pe": "private equity",
    "wealth": "wealth management",
    # healthcare
    "health care": "healthcare",
    "hospital and health care": "healthcare",
    "hospitals and health care": "healthcare",
    "health": "healthcare",
    "health tech": "healthtech",
    "health technology": "healthtech",
    "digital health": "healthtech",
    "e health": "healthtech",
    "ehealth": "healthtech",
    "med tech": "medtech",
    "medical devices": "medtech",
    "medical device": "medtech",
    "pharmaceutical": "pharma",
    "pharmaceuticals": "pharma",
    "biotechnology": "biotech",
    "tele health": "telehealth",
    "telemedicine": "telehealth",
    "hospitals": "hospital",
    "clinics": "clinic",
    # logistics
    "third party logistics": "3pl",
    "3 pl": "3pl",
    "3rd party logistics": "3pl",
    "logistics and supply chain": "logistics",
    "transportation logistics supply chain and storage": "logistics",
    "supply chain management": "supply chain",
    "warehouse": "warehousing",
    "warehouses": "warehousing",
    "fulfillment": "fulfilment",
    "freight forwarding": "freight",
    "trucking": "freight",
    "shipping": "freight",
    "logistic": "logistics",
    # retail / commerce
    "e commerce": "ecommerce",
    "e com": "ecommerce",
    "ecom": "ecommerce",
    "online retail": "ecommerce",
    "online shopping": "ecommerce",
    "internet retail": "ecommerce",
    "retailer": "retail",
    "retailers": "retail",
    "d2c": "dtc",
    "direct to consumer": "dtc",
    "fmcg": "cpg",
    "consumer packaged goods": "cpg",
    "consumer goods": "cpg",
    "apparel and fashion": "fashion",
    "apparel": "fashion",
    # industry
    "manufacturer": "manufacturing",
    "manufacturers": "manufacturing",
    "industrial automation": "automation",
    "robot": "robotics",
    "automobile": "automotive",
    "automotive industry": "automotive",
    # people / services
    "human resources": "hr",
    "hr tech": "hrtech",
    "human resources technology": "hrtech",
    "staffing and recruiting": "recruiting",
    "staffing": "recruiting",
    "recruitment": "recruiting",
    "talent acquisition": "recruiting",
    "management consulting": "consulting",
    "legal services": "legal",
    "law practice": "legal",
    "law": "legal",
    "accountancy": "accounting",
    # marketing / media
    "marketing and advertising": "marketing",
    "digital marketing": "marketing",
    "mar tech": "martech",
    "marketing technology": "martech",
    "ad tech": "adtech",
    "advertising technology": "adtech",
    "lead gen": "lead generation",
    "pr": "public relations",
    # education
    "ed tech": "edtech",
    "education technology": "edtech",
    "e learning": "elearning",
    "higher ed": "higher education",
    "education management": "education",
    # other
    "non profit": "nonprofit",
    "not for profit": "nonprofit",
    "non profit organization management": "nonprofit",
    "ngo": "nonprofit",
    "telco": "telecom",
    "telecoms": "telecom",
    "telecommunications": "telecom",
    "prop tech": "proptech",
    "realestate": "real estate",
    "commercial real estate": "real estate",
    "oil": "oil and gas",
    "food and beverages": "food and beverage",
    "f and b": "food and beverage",
    "food beverage": "food and beverage",
    "restaurants": "restaurant",
    "hotels": "hospitality",
    "travel and tourism": "travel",
    "tourism": "travel",
    "government administration": "government",
    "public sector": "government",
    # Canonical forms that contain a shorter alias key map onto themselves, so the longest-first
    # rewrite leaves them alone ("financial services" must not become "financial services services").
    "financial services": "financial services",
    "wealth management": "wealth management",
    "oil and gas": "oil and gas",
    "mental health": "mental health",
    "health insurance": "health insurance",
    "home health": "home health",
}

# Words an ICP entry puts before or after the industry to name a segment of it. Multi-word
# entries are matched as whole phrases at the edges, longest first.
SEGMENT_PREFIXES: tuple[str, ...] = (
    "small and medium sized", "small and medium", "small and mid sized", "small and mid size",
    "mid market", "midmarket", "mid size", "mid sized", "midsize", "enterprise", "smb", "sme",
    "small", "large", "early stage", "growth stage", "late stage", "seed stage", "series a",
    "series b", "series c", "venture backed", "vc backed", "pe backed", "fast growing",
    "high growth", "scaling", "global", "us", "uk", "eu", "european", "north american", "local",
    "regional", "independent", "leading", "top", "modern",
)
SEGMENT_SUFFIXES: tuple[str, ...] = (
    "mid market", "midmarket", "enterprise", "enterprises", "smb", "smbs", "sme", "smes",
    "companies", "company", "firms", "firm", "businesses", "organizations", "organisations",
    "orgs", "startups", "startup", "scaleups", "scale ups", "teams", "vendors", "providers",
    "provider", "players", "brands", "operators", "sector", "industry", "space", "market",
    "segment", "agencies", "agency", "clients", "customers", "leaders",
)

# Heads too generic to make two industries related on their own ("Services" vs "IT services").
GENERIC_INDUSTRY_WORDS: frozenset[str] = frozenset(
    {"services", "solutions", "products", "goods", "general", "other", "and", "the", "of", "for"}
)

SECTORS: dict[str, frozenset[str]] = {
    name: frozenset(terms.split(","))
    for name, terms in {
        "software": "software,saas,b2b saas,b2b software,enterprise software,it,it services,"
        "it consulting,cloud,internet,ai,ml,data analytics,analytics,big data,developer tools,devops,"
        "cybersecurity",
        "finance": "fintech,financial services,banking,insurance,insurtech,payments,lending,"
        "investment banking,asset management,wealth management,investment management,capital markets,"
        "accounting,venture capital,private equity,crypto,blockchain,regtech,credit union,"
        "credit unions,mortgage,mortgages",
        "healthcare": "healthcare,healthtech,hospital,clinic,medtech,pharma,biotech,life sciences,"
        "telehealth,mental health,dental,pharmacy,health insurance,healthcare it,veterinary,"
        "senior care,home health,nursing,medical practice,wellness",
        "security": "cybersecurity,network security,identity management,physical security",
        "logistics": "logistics,3pl,supply chain,transportation,freight,warehousing,distribution,"
        "fulfilment,courier,last mile,cold chain,cold storage,maritime,postal,parcel delivery,"
        "wholesale",
        "manufacturing": "manufacturing,automation,robotics,automotive,electronics,machinery,"
        "aerospace,chemicals,industrial,packaging,plastics,metals,semiconductors,textiles,"
        "industrial machinery",
        "retail": "retail,ecommerce,dtc,cpg,fashion,grocery,online grocery,wholesale,marketplace,"
        "marketplaces,consumer electronics,luxury goods,furniture,home goods",
        "marketing": "marketing,advertising,martech,adtech,public relations,lead generation,"
        "demand generation,market research,marketing services,branding,seo",
        "professional services": "consulting,legal,accounting,recruiting,hr,hrtech,outsourcing,bpo",
        "education": "education,edtech,higher education,elearning,k 12,schools,universities,"
        "training",
        "real estate": "real estate,proptech,construction,property management,architecture,facilities",
        "energy": "energy,oil and gas,renewables,renewable energy,solar,utilities,cleantech,"
        "climate tech",
        "public sector": "government,defense,nonprofit",
        "hospitality": "hospitality,travel,restaurant,food and beverage,leisure,events",
        "media": "media,publishing,entertainment,music,gaming,film,broadcasting,news",
        "telecom": "telecom,wireless",
    }.items()
}

_SECTORS_BY_TERM: dict[str, frozenset[str]] = {}
for _sector, _terms in SECTORS.items():
    for _term in _terms:
        _SECTORS_BY_TERM[_term] = _SECTORS_BY_TERM.get(_term, frozenset()) | {_sector}

#: Every canonical industry the taxonomy places in a sector.
KNOWN_INDUSTRIES: frozenset[str] = frozenset(_SECTORS_BY_TERM)

_ALIAS_PATTERN = re.compile(
    r"\b(?:" + "|".join(re.escape(k) for k in sorted(INDUSTRY_ALIASES, key=len, reverse=True)) + r")\b"
)


_GEOGRAPHY_TAIL = re.compile(r" (?:in|across|based in|from) .*$")


def _alias(match: re.Match[str]) -> str:
    return INDUSTRY_ALIASES[match.group()]


@lru_cache(maxsize=50_000)
def canonical_industry(text: str) -> str:
    """Folded industry with aliases applied ("E-Commerce" -> "ecommerce", "IT" -> "it")."""
    folded = fold(text)
    return _ALIAS_PATTERN.sub(_alias, folded) if folded else folded


@lru_cache(maxsize=50_000)
def industry_core(canonical: str) -> str:
    """The industry part of a canonical ICP entry: segment words stripped from both ends.

    Never strips everything: "Enterprise" alone stays "enterprise".
    """
    # "Fintech startups in Europe" -> "fintech startups": a trailing geography names a segment too.
    core = f" {_GEOGRAPHY_TAIL.sub('', canonical)} "
    changed = True
    while changed:
        changed = False
        for prefix in SEGMENT_PREFIXES:
            if core.startswith(f" {prefix} ") and len(core) > len(prefix) + 3:
                core = core[len(prefix) + 1 :]
                changed = True
        for suffix in SEGMENT_SUFFIXES:
            if core.endswith(f" {suffix} ") and len(core) > len(suffix) + 3:
                core = core[: -len(suffix) - 1]
                changed = True
    return core.strip() or canonical


@lru_cache(maxsize=50_000)
def sectors_of(canonical: str) -> frozenset[str]:
    """Sectors of a canonical industry; a multi-word industry not in the taxonomy takes its words'."""
    known = _SECTORS_BY_TERM.get(canonical)
    if known is not None:
        return known
    found: frozenset[str] = frozenset()
    for word in canonical.split():
        found |= _SECTORS_BY_TERM.get(word, frozenset())
    return found
