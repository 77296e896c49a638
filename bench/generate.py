"""Deterministic lead CSVs for benchmarks: `python -m bench.generate N out.csv [--seed S]`.

The same (N, seed) always writes the same bytes, so runs on different machines import the same
file. Rows look like a real CRM export: a mix of decision makers, influencers and everyone else
(including titles that only *mention* a decision maker), companies and locations with commas, bios
of ~100–250 characters with quotes, the odd newline and non-ASCII text, and four extra columns that
the import keeps in `attributes`: Phone, Lead Source, and two numeric ones written the ways people
write numbers (Company Size: "51-200", "1,000+", "about 250"; Budget: "50k €", "12.000", "$120k",
"1,5 Mio €", and blanks), which the scoring models' number rules read. Every row has a unique email,
so N rows import as N leads.

The numeric columns come from a second random source seeded from the same seed, so the first nine
columns are byte for byte what they were before those columns existed: import figures stay
comparable (the file grows by the two columns only).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

DEFAULT_SEED = 20240611

# Real exports name their columns loosely; the import matches these by alias.
HEADER = ["Name", "Job Title", "Company", "Industry", "Location", "LinkedIn Bio", "Email", "Phone", "Lead Source",
          "Company Size", "Budget"]

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Priya", "Arjun", "Aarav", "Ananya", "Wei", "Mei", "Hiroshi", "Yuki", "Min-jun", "Seo-yeon",
    "José", "María", "Zoë", "Chloé", "François", "Hélène", "Søren", "Åsa", "Björn", "Łukasz",
    "Małgorzata", "Jürgen", "Müge", "Ngozi", "Chinedu", "Kwame", "Amara", "Fatima", "Omar", "Leila",
    "Olga", "Dmitri", "Ines", "João", "Tomás", "Siobhán", "Eoin", "Renée", "Noël", "Ebru",
    "Lars", "Ingrid", "Matteo", "Giulia", "Ahmed", "Yasmin", "Carlos", "Lucía", "Ethan", "Olivia",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernández", "López", "González", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin",
    "Lee", "Chen", "Wang", "Zhang", "Kim", "Park", "Nguyen", "Tanaka", "Sato", "Suzuki",
    "Patel", "Sharma", "Gupta", "Singh", "Okafor", "Adeyemi", "Mensah", "Haddad", "Khan", "Ali",
    "Müller", "Schmidt", "Schäfer", "Nowak", "Wójcik", "Kowalski", "Dubois", "Lefèvre", "Rossi", "Bianchi",
    "Jensen", "Nielsen", "Øberg", "Lindqvist", "Andersson", "Novák", "Dvořák", "Yılmaz", "Öztürk", "Ivanova",
    "O'Brien", "O'Connor", "McCarthy", "Van der Berg", "De la Cruz", "Silva", "Santos", "Costa", "Kovač", "Horvat",
]

# (title, weight): roughly a quarter decision makers, a third influencers, the rest everyone else.
TITLES: list[tuple[str, int]] = [
    # decision makers
    ("CEO", 5), ("Chief Executive Officer", 3), ("CTO", 4), ("CFO", 2), ("COO", 2), ("CMO", 2), ("CRO", 1),
    ("CIO", 1), ("Chief Revenue Officer", 1), ("Chief Data Officer", 1), ("Founder", 4), ("Co-Founder & CEO", 3),
    ("Owner", 2), ("President", 1), ("VP of Sales", 4), ("VP Engineering", 3), ("SVP, Marketing", 1),
    ("EVP Operations", 1), ("Vice President, Growth", 2), ("V.P. Business Development", 1),
    ("Head of Growth", 3), ("Head of Data", 2), ("Head of Revenue Operations", 2), ("Director of Marketing", 3),
    ("Sr. Director, Product", 2), ("Managing Director", 2), ("General Manager", 2), ("Partner", 1),
    ("IT Director", 2), ("Dir. of Operations", 1),
    # influencers
    ("Marketing Manager", 6), ("Product Manager", 6), ("Engineering Manager", 5), ("Sales Manager", 5),
    ("Team Lead, Customer Success", 3), ("Tech Lead", 3), ("Principal Engineer", 3), ("Senior Data Analyst", 4),
    ("Sr. Software Engineer", 5), ("Solutions Architect", 3), ("Senior Account Executive", 4),
    ("Lead Data Scientist", 2), ("Senior Product Designer", 2), ("Operations Manager", 4),
    # everyone else (and titles that only look senior)
    ("Software Engineer", 8), ("Data Analyst", 5), ("Account Executive", 5), ("Sales Development Representative", 5),
    ("Marketing Coordinator", 4), ("Customer Success Specialist", 4), ("Recruiter", 3), ("Headhunter", 1),
    ("Executive Assistant to the CEO", 2), ("Intern, Office of the CTO", 1), ("Lead Generation Specialist", 2),
    ("Product Owner", 2), ("Student", 2), ("Consultant", 3), ("Office Administrator", 2), ("Analyst", 3),
    ("Graphic Designer", 2), ("Retired", 1), ("Open to work", 1), ("N/A", 1),
]

COMPANY_HEADS = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne",
    "Northwind", "Contoso", "Fabrikam", "Blue Harbor", "Red Rock", "Silver Line", "Green Valley", "Bright Path",
    "Nordlicht", "Müller & Söhne", "Café Lumière", "Sakura", "Tidewater", "Quantum Leaf", "Pioneer", "Summit",
    "Evergreen", "Atlas", "Nimbus", "Helix", "Orbit", "Vertex", "Cobalt", "Juniper", "Falcon", "Beacon",
    "Unknown Pleasures", "Smith, Jones", "Ørsted Digital", "São Paulo Tech", "Zürich Analytics", "Polaris",
]
COMPANY_TAILS = [
    "Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Labs", "Systems", "Software", "Analytics", "Group", "& Partners",
    "Technologies", "Health", "Logistics", "Capital", "Studio", "Cloud", "AI", "Data", "Co.",
]

INDUSTRIES: list[tuple[str, int]] = [
    ("B2B SaaS", 8), ("SaaS", 5), ("Software", 6), ("FinTech", 4), ("Financial Services", 4), ("Banking", 2),
    ("Insurance", 2), ("Healthcare", 4), ("HealthTech", 2), ("Pharmaceuticals", 2), ("E-commerce", 4),
    ("Retail", 4), ("Manufacturing", 4), ("Logistics & Supply Chain", 3), ("Education", 3), ("EdTech", 2),
    ("Marketing & Advertising", 3), ("Media", 2), ("Real Estate", 2), ("Construction", 2), ("Energy", 2),
    ("Telecommunications", 2), ("Cybersecurity", 2), ("IT Services", 3), ("Consulting", 3), ("Non-profit", 1),
    ("Government", 1), ("Hospitality", 1), ("Automotive", 2), ("Agriculture", 1), ("n/a", 1), ("", 1),
]

LOCATIONS = [
    "San Francisco, CA, USA", "New York, NY, USA", "Austin, TX, USA", "Seattle, WA, USA", "Chicago, IL, USA",
    "Boston, MA, USA", "Toronto, ON, Canada", "Vancouver, BC, Canada", "London, UK", "Manchester, UK",
    "Dublin, Ireland", "Berlin, Germany", "München, Germany", "Paris, France", "Lyon, France", "Amsterdam, NL",
    "København, Denmark", "Stockholm, Sweden", "Oslo, Norway", "Helsinki, Finland", "Zürich, Switzerland",
    "Madrid, Spain", "Barcelona, Spain", "Lisbon, Portugal", "Milan, Italy", "Warsaw, Poland", "Kraków, Poland",
    "Praha, Czechia", "İstanbul, Türkiye", "Tel Aviv, Israel", "Dubai, UAE", "Lagos, Nigeria", "Nairobi, Kenya",
    "Cape Town, South Africa", "Bengaluru, India", "Mumbai, India", "Singapore", "Tokyo, Japan", "Seoul, Korea",
    "Sydney, Australia", "Melbourne, Australia", "São Paulo, Brazil", "Ciudad de México, Mexico",
    "Buenos Aires, Argentina", "Remote", "unknown", "",
]

BIO_OPENERS = [
    "{years}+ years in {field}.", "Building {thing} at {company}.", "Passionate about {field}, {field2} and people.",
    "I help {audience} {verb} faster.", "Former consultant, now leading {field} at {company}.",
    "Ex-{ex}, now at {company}.", "Obsessed with \"{buzz}\" and clean dashboards.",
    "Hands-on {field} leader; {years} years, 3 continents.", "Curious engineer turned {field} person.",
]
BIO_SIGNALS = [
    "We're scaling the team from 10 to 50 this year.", "Currently hiring SDRs and AEs, DM me!",
    "Evaluating tools to automate our outbound pipeline.", "Expanding into EMEA and APAC in Q3.",
    "Migrating our stack to the cloud, one service at a time.", "Looking for ways to cut CAC, without burning reps.",
    "Growing revenue 3x, \"the boring way\": process and data.", "Automating reporting so the team can sell.",
]
BIO_NEUTRAL = [
    "Speaker, mentor, occasional writer.", "Coffee, cycling and spreadsheets.", "Opinions are my own.",
    "Proud parent of two, and a very loud dog.", "Board member at a local non-profit.",
    "Fan of open source; maintainer of a few small libraries.", "Based in {city}, working with teams worldwide.",
    "Let's connect — always happy to chat about {field}.", "Ask me about {buzz}.", "🚀 {field} · 📈 growth · ☕",
]
BIO_NEGATIVE = [
    "Student at the University of Lagos, graduating 2025.", "Retired after 30 years in banking.",
    "Open to work: looking for my next role in {field}.", "Job seeker; previously at {company}.",
]
FIELDS = [
    "revenue operations", "data engineering", "demand generation", "product management", "customer success",
    "B2B sales", "cloud infrastructure", "analytics", "growth marketing", "supply chain", "cybersecurity",
    "machine learning", "partnerships", "digital transformation", "e-commerce", "fintech", "healthcare IT",
]
THINGS = ["the data platform", "a sales org", "payments infrastructure", "our ML team", "a new product line",
          "the partner channel", "developer tools", "an analytics practice"]
AUDIENCES = ["SaaS founders", "sales teams", "mid-market CFOs", "hospitals", "retailers", "marketing teams"]
VERBS = ["close deals", "ship software", "grow revenue", "hire", "make decisions", "scale operations"]
EXES = ["Google", "Salesforce", "McKinsey", "Stripe", "SAP", "Deloitte", "Amazon", "Shopify", "Zalando"]
BUZZ = ["product-led growth", "data-driven decisions", "AI", "RevOps", "zero-trust", "ICP fit", "pipeline velocity"]
SOURCES = ["webinar", "trade show", "website form", "LinkedIn ad", "referral", "cold outbound", "partner list"]
# Company Size: one band per company (weights), as a CRM holds it; read as the band's lower bound.
COMPANY_SIZES: list[tuple[str, int]] = [
    ("1-10", 8), ("11-50", 14), ("51-200", 18), ("201-500", 14), ("501-1,000", 10), ("1,001-5,000", 10),
    ("1,000+", 4), ("5,000+", 6), ("10,001+", 4), ("about 250", 2), ("~40", 2), ("500+ employees", 1),
    ("n/a", 2), ("", 5),
]
# Budget: a round amount per lead in one of the ways exports write money; ~15% missing.
BUDGET_AMOUNTS = [1, 2, 2.5, 3, 5, 7.5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 80, 100, 120, 150, 200, 250, 300,
                  400, 500, 750, 1000, 1500, 2000]  # thousands
BUDGET_MISSING = ["", "", "", "", "n/a", "TBD"]
EXTRA_TAILS = [
    " Previously led teams at {ex} and {ex2}, across sales, marketing, and ops.",
    " Interested in {field}, {field2}, and how teams adopt new tools.",
    " Based in {city}; working across time zones (EMEA, APAC, and the Americas).",
]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _weighted(pairs: list[tuple[str, int]]) -> list[str]:
    return [value for value, weight in pairs for _ in range(weight)]


def _budget(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return rng.choice(BUDGET_MISSING)
    thousands = rng.choice(BUDGET_AMOUNTS)
    amount = int(thousands * 1000)
    style = rng.randrange(8)
    if style == 0:
        return f"{thousands:g}k €"
    if style == 1:
        return f"{amount:,}".replace(",", ".")  # German thousands: "12.000"
    if style == 2:
        return f"€ {amount:,}"
    if style == 3:
        return f"${thousands:g}k"
    if style == 4:
        return f"{amount:,} USD"
    if style == 5 and amount >= 1_000_000:
        return f"{amount / 1_000_000:g}".replace(".", ",") + " Mio €"
    if style == 6:
        return f"{amount:,}".replace(",", ".") + " EUR"
    return str(amount)


class LeadGenerator:
    """Rows of a lead CSV (lists of cells, HEADER order) from a seeded random source."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.rng = random.Random(seed)
        # The numeric columns draw from their own source, so the other columns don't change with them.
        # (A str seed is hashed with SHA-512: the same on every machine, whatever PYTHONHASHSEED says.)
        self.numeric_rng = random.Random(f"{seed}/numeric columns")
        self.titles = _weighted(TITLES)
        self.industries = _weighted(INDUSTRIES)
        self.companies = [f"{head} {tail}" for head in COMPANY_HEADS for tail in COMPANY_TAILS]
        sizes = _weighted(COMPANY_SIZES)
        self.company_size = {company: self.numeric_rng.choice(sizes) for company in self.companies}

    def _fill(self, template: str, company: str, city: str) -> str:
        rng = self.rng
        if "{" not in template:
            return template
        return template.format(
            years=rng.randint(3, 25), field=rng.choice(FIELDS), field2=rng.choice(FIELDS), thing=rng.choice(THINGS),
            company=company, audience=rng.choice(AUDIENCES), verb=rng.choice(VERBS), ex=rng.choice(EXES),
            ex2=rng.choice(EXES), buzz=rng.choice(BUZZ), city=city or "Europe",
        )

    def _bio(self, company: str, city: str) -> str:
        rng = self.rng
        parts = [self._fill(rng.choice(BIO_OPENERS), company, city)]
        roll = rng.random()
        if roll < 0.45:
            parts.append(rng.choice(BIO_SIGNALS))
        elif roll < 0.52:
            parts.append(self._fill(rng.choice(BIO_NEGATIVE), company, city))
        parts.append(self._fill(rng.choice(BIO_NEUTRAL), company, city))
        bio = (" " if rng.random() < 0.9 else "\n").join(parts)
        while len(bio) < 100:
            bio += self._fill(rng.choice(EXTRA_TAILS), company, city)
        if len(bio) > 250:
            bio = bio[:249].rstrip() + "…"
        return bio

    def rows(self, count: int) -> Iterator[list[str]]:
        rng = self.rng
        for index in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            company = rng.choice(self.companies)
            location = rng.choice(LOCATIONS)
            city = location.split(",")[0] if location not in ("Remote", "unknown") else ""
            domain = _ascii(company.split()[0]) or "example"
            # The index makes every email (and so every lead) unique.
            email = f"{_ascii(first)}.{_ascii(last)}.{index}@{domain}.example.com"
            phone = f"+1 ({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
            yield [f"{first} {last}", rng.choice(self.titles), company, rng.choice(self.industries), location,
                   self._bio(company, city), email, phone, rng.choice(SOURCES), self.company_size[company],
                   _budget(self.numeric_rng)]


# --- outcomes with a known signal (the `learned` phase) ----------------------------------------------

# Who wins, by construction: the log-odds of a generated lead's deal, from its own fields, before
# the coin toss. A model that learned anything names these (Lead Source, industry, the bio's words,
# the title) among its top factors.
OUTCOME_BASE_LOGIT = -1.4
WARM_SOURCES = frozenset({"referral", "webinar"})
SOFTWARE_INDUSTRIES = frozenset({"B2B SaaS", "SaaS", "Software", "FinTech"})
BUYING_WORDS = ("hiring", "automat", "evaluating")
NOT_BUYING_WORDS = ("student", "retired", "open to work", "job seeker")
SENIOR_WORDS = ("ceo", "cto", "founder", "vp", "head of", "director")


def outcome_logit(row: list[str]) -> float:
    """The known signal of one generated row (HEADER order): log-odds of a won deal."""
    title, industry, bio, source = row[1].casefold(), row[3], row[5].casefold(), row[8]
    logit = OUTCOME_BASE_LOGIT
    logit += 1.5 if source in WARM_SOURCES else 0.0
    logit += 0.8 if industry in SOFTWARE_INDUSTRIES else 0.0
    logit += 1.0 if any(word in bio for word in BUYING_WORDS) else 0.0
    logit -= 1.5 if any(word in bio for word in NOT_BUYING_WORDS) else 0.0
    logit += 0.6 if any(word in title for word in SENIOR_WORDS) else 0.0
    return logit


def outcomes(count: int, *, seed: int = DEFAULT_SEED) -> Iterator[tuple[str, bool]]:
    """(email, won) of the first `count` generated leads: won with probability sigmoid(outcome_logit),
    drawn from a source of its own (seeded from `seed`), so the same (count, seed) gives the same
    outcomes everywhere."""
    toss = random.Random(f"{seed}/outcomes")
    for row in LeadGenerator(seed).rows(count):
        yield row[6], toss.random() < 1.0 / (1.0 + math.exp(-outcome_logit(row)))


def write_csv(path: Path, count: int, *, seed: int = DEFAULT_SEED) -> int:
    """Write `count` leads (plus the header) to `path`; returns the file's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        batch: list[list[str]] = []
        for row in LeadGenerator(seed).rows(count):
            batch.append(row)
            if len(batch) >= 10_000:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a deterministic CSV of realistic leads.")
    parser.add_argument("count", type=int, help="number of leads (rows after the header)")
    parser.add_argument("out", type=Path, help="output CSV path")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("count must be 0 or more")
    started = time.perf_counter()
    size = write_csv(args.out, args.count, seed=args.seed)
    print(f"Wrote {args.count:,} leads ({size / 1e6:.1f} MB) to {args.out} in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
