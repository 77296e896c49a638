"""The rule layer: deterministic points, 0–50 (DESIGN "Scoring — the exact semantics").

    role_rule / industry_rule / completeness_rule (lead, offer) -> RuleHit | None

The readings behind the built-in matchers of scoring models (`role_level`, `industry_fit`,
`profile_complete`, see `model.py`): the built-in default model is these three rules with the
points below, and the three functions keep the spec's labels and points for its tables.

Role relevance reads a title as a person would, in steps that are all data (tables below):

1. A title-wide "no current role" marker ("open to work", "seeking new opportunities") -> nothing.
2. The title is cut into clauses at separators ("Founder / CTO", "VP, Sales", "CEO | Advisor") and
   each clause loses its "at <company>" tail, so "Analyst at Sequoia Partners" is not a partner.
3. Abbreviations are expanded per word ("Sr." -> senior, "V.P." -> vp, "Mgr" -> manager, "Hd" ->
   head, a few German/French/Spanish titles), whole words only: "Headhunter" and "Directory" never
   match "head"/"director".
4. Clauses that only *mention* authority are cut: everything after "to", "of", "for", "in"
   ("Executive Assistant to the CEO" -> "executive assistant", "Head of Sales" -> "head",
   "Intern, Office of the CTO" -> "intern", "office"); possessives ("CEO's Office", "Founder's
   Associate") drop the possessor; a clause whose head noun is a support role (assistant,
   secretary, student, intern...) has no authority; a clause marked as past or not-yet
   ("Former", "Ex-", "Retired", "Aspiring", "Intern") has none either. Decision: former and
   retired holders are *not* current authority — they can't sign today.
5. Look-alikes are neutralised in context: "Product/Process Owner" is not an owner, "Business/
   Channel Partner" and "Partner Manager" are not partners, "Lead Generation" is not a level.
6. Patterns then give a level per clause; the highest clause wins ("Senior Vice President" ->
   decision maker). "Associate/Assistant Director" (and VP, head, partner) is one level down.
   "Chief of Staff" is an influencer: it runs the executive's projects but doesn't own budget.

Industry match compares canonical forms (see `taxonomy`), per offer profile built once and cached.
Word forms are one term: each form is also compared by its stems ("Pharmaceutical Distribution" is
the ICP "Pharmaceutical distributors", "Insurer" is "Insurance"). `OfferProfile.fit_reason` says
in words why an industry fits, for reasoning a sales person reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache

from leads.scoring.normalize import is_placeholder, prefold, stem, words
from leads.scoring.taxonomy import (
    GENERIC_INDUSTRY_WORDS,
    KNOWN_INDUSTRIES,
    canonical_industry,
    industry_core,
    sectors_of,
)
from leads.scoring.types import LeadData, OfferData, RuleHit

# --- labels and points (DESIGN: these exact labels) -------------------------------------------

LABEL_DECISION_MAKER = "Decision maker role"
LABEL_INFLUENCER = "Influencer role"
LABEL_EXACT_ICP = "Exact ICP match"
LABEL_ADJACENT_INDUSTRY = "Adjacent industry"
LABEL_COMPLETE_PROFILE = "Complete profile"

HIT_DECISION_MAKER = RuleHit(LABEL_DECISION_MAKER, 20)
HIT_INFLUENCER = RuleHit(LABEL_INFLUENCER, 10)
HIT_EXACT_ICP = RuleHit(LABEL_EXACT_ICP, 20)
HIT_ADJACENT_INDUSTRY = RuleHit(LABEL_ADJACENT_INDUSTRY, 10)
HIT_COMPLETE_PROFILE = RuleHit(LABEL_COMPLETE_PROFILE, 10)

RULE_LAYER_MAX = 50


class Authority(IntEnum):
    NONE = 0
    INFLUENCER = 1
    DECISION_MAKER = 2


class IndustryFit(IntEnum):
    NONE = 0
    ADJACENT = 1
    EXACT = 2


# --- role relevance: data ----------------------------------------------------------------------

# "Open to work | Former VP Sales": the whole title says there is no current role.
_NO_CURRENT_ROLE = re.compile(
    r"\bopen to work\b|\bopentowork\b|\bjob seeker\b|\bjob hunting\b|\bunemployed\b|"
    r"\bbetween (?:roles|jobs|positions)\b|\bavailable for (?:hire|work)\b|\bactively looking\b|"
    r"\bcareer break\b|"
    r"\b(?:seeking|looking for|searching for)\b(?:\s\w+){0,3}?\s"
    r"(?:role|roles|job|jobs|position|positions|opportunity|opportunities|employment|internships?)\b"
)
# Clause separators; a hyphen only when spaced, so "Co-Founder" stays one word.
_CLAUSE_SPLIT = re.compile(r"[,|;/\\•·()\[\]{}+–—]|\s-\s|\s:\s|\s-$|^-\s")
# "Head of Sales at Acme Partners": the company never contributes a role word.
_AT_COMPANY = re.compile(r"(?:\s(?:at|chez|bei|en)\s|@).*$")

TITLE_ABBREVIATIONS: dict[str, str] = {
    "sr": "senior", "snr": "senior", "jr": "junior", "dir": "director", "mgr": "manager",
    "mngr": "manager", "mgmt": "management", "hd": "head", "asst": "assistant", "assoc": "associate",
    "exec": "executive", "md": "managing director", "gm": "general manager", "pres": "president",
    "avp": "assistant vp", "vicepresident": "vp", "cofounder": "founder", "coowner": "owner",
    "chairman": "chair", "chairwoman": "chair", "chairperson": "chair", "tl": "team lead",
    "pm": "product manager", "ea": "assistant", "pa": "assistant", "ceo": "ceo",
    # A few non-English titles that come up in imported lists.
    "directeur": "director", "directrice": "director", "directora": "director",
    "geschaftsfuhrer": "managing director", "geschaftsfuhrerin": "managing director",
    "grunder": "founder", "grunderin": "founder", "mitgrunder": "founder", "mitgrunderin": "founder",
    "inhaber": "owner", "inhaberin": "owner", "leiter": "head", "leiterin": "head",
    "fondateur": "founder", "fondatrice": "founder", "cofondateur": "founder",
    "cofondatrice": "founder", "fundador": "founder", "fundadora": "founder",
    "cofundador": "founder", "cofundadora": "founder", "pdg": "ceo", "presidente": "president",
    "gerente": "manager", "jefe": "head", "jefa": "head", "responsable": "manager",
    "praktikant": "intern", "praktikantin": "intern", "stagiaire": "intern", "becario": "intern",
    "becaria": "intern", "estudiante": "student", "etudiant": "student", "etudiante": "student",
    "werkstudent": "student", "werkstudentin": "student",
}

# Letters after a name or title ("Physician, MD", "Engineer | PhD"): a credential, never a role. Only
# a clause after the first counts as one, so "MD, Investment Banking" stays a managing director.
POST_NOMINALS: tuple[list[str], ...] = (["md"], ["phd"], ["mba"], ["cpa"], ["rn"], ["do"], ["dds"])

# Rewrites before anything is cut, so the phrases survive as one unit.
_PHRASE_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bvice president\b", "vp"),
        (r"\bvice pres\b", "vp"),
        (r"\bco (founder|owner)\b", r"\1"),
        (r"\bchief of staff\b", "chiefofstaff"),
        (r"\bchief executive\b", "ceo"),
        (r"\bgerente general\b", "general manager"),
        (r"\bhead (?:hunter|hunting|count)\b", ""),
        (r"\bpresidents club\b", ""),
    )
)
# "Assistant to the CEO", "Director of Sales", "Office of the CTO": what follows only names whom
# the person serves or what they are responsible for, never their own level.
_MENTION_TAIL = re.compile(
    r"(?:^|\s)(?:to|of|for|in|with|supporting|reporting|reports|under|on behalf)\b.*$"
)
# "CEO s office", "founder s associate": the possessor is mentioned, not held.
_POSSESSIVE = re.compile(r"\b\w+ s\b")
# A clause marked as past, future or training has no current authority.
CLAUSE_DISQUALIFIERS: frozenset[str] = frozenset(
    {"intern", "interns", "internship", "trainee", "apprentice", "former", "formerly", "ex",
     "retired", "past", "previously", "aspiring", "future", "wannabe", "emeritus", "incoming"}
)
# Head nouns of support roles: "Executive Assistant", "CEO Assistant", "PhD Student".
SUPPORT_HEADS: frozenset[str] = frozenset(
    {"assistant", "secretary", "receptionist", "clerk", "aide", "student", "intern", "trainee",
     "apprentice", "office", "volunteer"}
)
# Words that look like a level but, in these phrases, name something else.
_LOOKALIKES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # Product/process owner is a responsibility, not ownership of the business.
        (r"\b(product|process|data|system|systems|service|content|account|risk|control|platform|"
         r"feature|program|programme|project|application|app|asset|technical|relationship|solution|"
         r"domain|change|incident|problem|release|model|backlog|budget holder) owner\b", r"\1"),
        # HR business partner, channel partner: a counterpart, not a partner of the firm.
        (r"\b(business|channel|limited|strategic|alliance|alliances|technology|tech|solution|"
         r"solutions|referral|reseller|sparring|implementation|integration|ecosystem|cloud|agency|"
         r"hr|people|finance|talent|learning) partner\b", r"\1"),
    )
)
# One level down: "Associate Director", "Assistant VP" (AVP), "Associate Partner".
_DOWNGRADED = re.compile(
    r"\b(?:associate|assistant|sub) (?:vp|director|head|partner|general manager|"
    r"managing director|president|principal)\b"
)

DECISION_MAKER_PATTERNS: tuple[str, ...] = (
    r"\b(?:ceo|cto|cfo|coo|cmo|cro|cio|ciso|cso|cpo|cdo|cco|cxo|chro|cao|clo|cno|cbo|cdao|caio|"
    r"cgo|cvo|cpto|cseco|cuo|cino)\b",
    r"\bchief (?:\w+ ){0,4}?officer\b",
    r"\bfounder\b",
    r"\bowner\b",
    r"\bproprietor\b",
    r"\bpresident\b",
    r"\b(?:vp|svp|evp)\b",
    r"\bhead\b",
    r"\bdirector\b",
    r"\bgeneral manager\b",
    # Partner as the head noun ("Managing Partner", "Partner and CFO"), not a modifier
    # ("Partner Manager", "Partner Marketing Lead").
    r"\bpartner\b(?! (?!and\b)\w)",
    r"\bchair\b",
)
INFLUENCER_PATTERNS: tuple[str, ...] = (
    r"\bchiefofstaff\b",
    r"\bchief\b",  # "Chief Architect", "Chief Scientist": senior, but no "officer"
    r"\bmanager\b",
    # Lead as a level ("Lead Developer", "Team Lead"), not sales leads ("Lead Generation").
    r"\blead\b(?! (?:generation|gen|generator|nurturing|nurture|qualification|qualifier|development|"
    r"routing|scoring|management|capture|sourcing|acquisition|conversion|list|lists|data|research|"
    r"researcher|enrichment))",
    r"\bleader\b",
    r"\bprincipal\b",
    r"\bsenior\b",
    r"\barchitect\b",
    r"\bsupervisor\b",
)
_DECISION_MAKER = re.compile("|".join(DECISION_MAKER_PATTERNS))
_INFLUENCER = re.compile("|".join(INFLUENCER_PATTERNS))


@lru_cache(maxsize=100_000)
def classify_title(title: str) -> Authority:
    """Authority a job title carries today (see module docstring for how a title is read)."""
    if is_placeholder(title):
        return Authority.NONE
    text = prefold(title)
    if _NO_CURRENT_ROLE.search(" ".join(words(text))):
        return Authority.NONE
    best = Authority.NONE
    for position, clause in enumerate(_CLAUSE_SPLIT.split(text)):
        if position and words(clause) in POST_NOMINALS:
            continue  # "Physician, MD": a degree after the title, not a managing director
        best = max(best, _classify_clause(_AT_COMPANY.sub("", clause)))
        if best is Authority.DECISION_MAKER:
            break
    return best


def _classify_clause(clause: str) -> Authority:
    tokens: list[str] = []
    for word in words(clause):
        tokens.extend(TITLE_ABBREVIATIONS.get(word, word).split())
    if not tokens or CLAUSE_DISQUALIFIERS.intersection(tokens):
        return Authority.NONE
    text = " ".join(tokens)
    for pattern, replacement in _PHRASE_REWRITES:
        text = pattern.sub(replacement, text)
    text = _POSSESSIVE.sub(" ", _MENTION_TAIL.sub("", text)).strip()
    if not text or text.rsplit(" ", 1)[-1] in SUPPORT_HEADS:
        return Authority.NONE
    for pattern, replacement in _LOOKALIKES:
        text = pattern.sub(replacement, text)
    downgraded, hits = _DOWNGRADED.subn(" ", text)
    if _DECISION_MAKER.search(downgraded):
        return Authority.DECISION_MAKER
    if hits or _INFLUENCER.search(downgraded):
        return Authority.INFLUENCER
    return Authority.NONE


# --- industry match ----------------------------------------------------------------------------

_ALTERNATIVES = re.compile(r"[/,;|()\[\]+]|\s-\s|\bor\b")


@lru_cache(maxsize=50_000)
def industry_forms(industry: str) -> tuple[str, ...]:
    """Canonical forms one industry value stands for: each alternative and its segment-free core.

    "Fintech / Payments" -> ("fintech", "payments"); "SaaS companies" -> ("saas companies", "saas").
    """
    forms: list[str] = []
    if is_placeholder(industry):  # before splitting: "N/A" is not "N" or "A"
        return ()
    for part in _ALTERNATIVES.split(prefold(industry)):
        if is_placeholder(part):
            continue
        canonical = canonical_industry(part)
        if not canonical:
            continue
        for form in (canonical, industry_core(canonical)):
            if form not in forms:
                forms.append(form)
    return tuple(forms)


def _icp_forms(entry: str) -> list[str]:
    """An ICP entry's forms, plus the parts of "X and Y" entries the taxonomy doesn't know as one.

    "Warehousing and distribution" is two industries; "Food and beverage" is one.
    """
    forms = list(industry_forms(entry))
    for form in tuple(forms):
        if " and " in form and form not in KNOWN_INDUSTRIES:
            for part in form.split(" and "):
                part = part.strip()
                if part and part not in GENERIC_INDUSTRY_WORDS and part not in forms:
                    forms.append(part)
    return forms


@lru_cache(maxsize=50_000)
def stem_key(form: str) -> str:
    """A canonical form with every word stemmed: "pharma distributors" -> "pharma distribut"."""
    return " ".join(stem(word) for word in form.split())


_GENERIC_STEMS: frozenset[str] = frozenset(stem(word) for word in GENERIC_INDUSTRY_WORDS)


@dataclass(slots=True)
class OfferProfile:
    """Per-offer data the rules need, computed once per offer; holds a bounded match cache.

    `exact` and `adjacent` map each stem key to the offer's entry it came from, so a match can
    name the entry it matched.
    """

    exact: dict[str, str]
    adjacent: dict[str, str]
    word_sets: tuple[tuple[frozenset[str], str], ...]
    sectors: dict[str, str]
    _fits: dict[str, tuple[IndustryFit, str]] = field(default_factory=dict)

    def industry_fit(self, industry: str) -> IndustryFit:
        return self._fit(industry)[0]

    def fit_reason(self, industry: str) -> str:
        """Why the industry fits, in words: "a target industry (Hospitals)", "same healthcare
        sector as Hospitals"; empty when it doesn't fit."""
        return self._fit(industry)[1]

    def _fit(self, industry: str) -> tuple[IndustryFit, str]:
        fit = self._fits.get(industry)
        if fit is None:
            if len(self._fits) > 50_000:  # bound memory on adversarial inputs
                self._fits.clear()
            fit = self._fits[industry] = self._match(industry)
        return fit

    def _match(self, industry: str) -> tuple[IndustryFit, str]:
        if is_placeholder(industry):
            return IndustryFit.NONE, ""
        keys = [stem_key(form) for form in industry_forms(industry)]
        for key in keys:
            if key in self.exact:
                return IndustryFit.EXACT, f"a target industry ({self.exact[key]})"
        for key in keys:
            if key in self.adjacent:
                return IndustryFit.ADJACENT, f"listed as related ({self.adjacent[key]})"
        for key in keys:
            lead_words = frozenset(key.split())
            for offer_words, entry in self.word_sets:
                # Broader or narrower form of the same term ("SaaS" vs "B2B SaaS"), as long as what
                # they share is more than a generic head ("Services" vs "IT services").
                if (lead_words < offer_words or offer_words < lead_words) and (
                    (lead_words & offer_words) - _GENERIC_STEMS
                ):
                    return IndustryFit.ADJACENT, f"a broader or narrower form of {entry}"
        for form in industry_forms(industry):
            for sector in sorted(sectors_of(form)):
                if sector in self.sectors:
                    return IndustryFit.ADJACENT, f"same {sector} sector as {self.sectors[sector]}"
        return IndustryFit.NONE, ""


def _build_profile(offer: OfferData) -> OfferProfile:
    exact: dict[str, str] = {}
    sectors: dict[str, str] = {}
    word_sets: dict[frozenset[str], str] = {}
    for entry in offer.ideal_use_cases:
        for form in _icp_forms(entry):
            exact.setdefault(stem_key(form), entry)
            word_sets.setdefault(frozenset(stem_key(form).split()), entry)
            for sector in sectors_of(form):
                sectors.setdefault(sector, entry)
    adjacent: dict[str, str] = {}
    for entry in offer.adjacent_industries:
        for form in _icp_forms(entry):
            adjacent.setdefault(stem_key(form), entry)
            word_sets.setdefault(frozenset(stem_key(form).split()), entry)
    return OfferProfile(exact=exact, adjacent=adjacent, word_sets=tuple(word_sets.items()), sectors=sectors)


_build_profile_cached = lru_cache(maxsize=256)(_build_profile)
# Scoring a batch passes the same OfferData object for every lead: an identity check is cheaper
# than hashing the offer's tuples each time. A race only costs a recomputation.
_last_profile: tuple[OfferData | None, OfferProfile | None] = (None, None)


def offer_profile(offer: OfferData) -> OfferProfile:
    """The cached `OfferProfile` of an offer (by identity first, then by value)."""
    global _last_profile
    last_offer, profile = _last_profile
    if last_offer is offer and profile is not None:
        return profile
    profile = _build_profile_cached(offer)
    _last_profile = (offer, profile)
    return profile


def industry_fit(industry: str, offer: OfferData) -> IndustryFit:
    """How the lead's industry relates to the offer's ICP: exact, adjacent or none."""
    return offer_profile(offer).industry_fit(industry)


# --- completeness ------------------------------------------------------------------------------

COMPLETENESS_FIELDS: tuple[str, ...] = ("name", "role", "company", "industry", "location", "linkedin_bio")


def is_complete(lead: LeadData) -> bool:
    """All six profile fields hold a real value (blank, whitespace and placeholders are missing)."""
    return not (
        is_placeholder(lead.name)
        or is_placeholder(lead.role)
        or is_placeholder(lead.company)
        or is_placeholder(lead.industry)
        or is_placeholder(lead.location)
        or is_placeholder(lead.linkedin_bio)
    )


# --- the ruleset -------------------------------------------------------------------------------


def role_rule(lead: LeadData, offer: OfferData) -> RuleHit | None:
    authority = classify_title(lead.role)
    if authority is Authority.DECISION_MAKER:
        return HIT_DECISION_MAKER
    if authority is Authority.INFLUENCER:
        return HIT_INFLUENCER
    return None


def industry_rule(lead: LeadData, offer: OfferData) -> RuleHit | None:
    fit = offer_profile(offer).industry_fit(lead.industry)
    if fit is IndustryFit.EXACT:
        return HIT_EXACT_ICP
    if fit is IndustryFit.ADJACENT:
        return HIT_ADJACENT_INDUSTRY
    return None


def completeness_rule(lead: LeadData, offer: OfferData) -> RuleHit | None:
    return HIT_COMPLETE_PROFILE if is_complete(lead) else None
