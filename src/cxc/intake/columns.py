"""Form columns to participant fields, and cells to the format's values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from cxc import model as m
from cxc.format.countries import EU_ALIASES, ISO_COUNTRIES

FIELDS = ("email", "name", "first_name", "last_name", "organisation", "org_type", "country",
          "partner", "interests", "status")

# Header names (normalised: lower case, single spaces, no trailing `:`, `?`, `*` or
# `(shortname)`) that name a field, as Google Forms, Microsoft Forms, EUSurvey and
# Eventbrite write them or people title their questions.
HEADERS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email address", "e-mail", "e-mail address", "mail", "your email",
              "your email address", "attendee email", "work email", "contact email"),
    "first_name": ("first name", "firstname", "given name", "forename", "first names"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "name": ("name", "full name", "your name", "participant name", "attendee name",
             "name and surname", "first and last name"),
    "organisation": ("organisation", "organization", "company", "company name",
                     "organisation name", "organization name", "institution", "employer",
                     "name of organisation", "name of organization", "name of your organisation",
                     "name of your organization", "your organisation", "your organization"),
    "org_type": ("organisation type", "organization type", "type of organisation",
                 "type of organization", "org type", "company type", "type of company",
                 "type of entity", "entity type", "type of your organisation",
                 "type of your organization"),
    "country": ("country", "country of residence", "country of your organisation",
                "country of your organization", "country of organisation",
                "country of organization", "your country"),
    "partner": ("delegation", "partner", "cluster", "your cluster", "travelling with",
                "traveling with", "cluster partner", "partner cluster", "sending cluster"),
    "interests": ("interests", "interest", "topics", "topic", "themes", "areas of interest",
                  "topics of interest", "fields of interest"),
    "status": ("status", "attendee status", "registration status"),
}

# When no header is one of the names above: words a question title contains (in order).
CONTAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", ("e-mail", "email")),
    ("org_type", ("type of organi", "organisation type", "organization type", "type of entity",
                  "type of company")),
    ("country", ("country",)),
    ("first_name", ("first name", "firstname", "given name")),
    ("last_name", ("last name", "lastname", "surname", "family name")),
    ("partner", ("delegation", "cluster", "travelling with", "traveling with")),
    ("interests", ("interest", "topic")),
    ("organisation", ("organisation", "organization", "company", "institution")),
)

ORG_TYPES: dict[str, str] = {
    "sme": "sme", "smes": "sme", "small or medium enterprise": "sme",
    "small and medium enterprise": "sme", "small and medium-sized enterprise": "sme",
    "small or medium-sized enterprise": "sme", "small or medium company": "sme",
    "small business": "sme", "micro enterprise": "sme", "microenterprise": "sme",
    "pme": "sme", "pyme": "sme", "kmu": "sme",
    "startup": "startup", "start-up": "startup", "start up": "startup", "scale-up": "startup",
    "scaleup": "startup",
    "large company": "large_company", "large_company": "large_company",
    "large enterprise": "large_company", "corporate": "large_company",
    "corporation": "large_company", "big company": "large_company", "industry": "large_company",
    "university": "research", "research": "research", "research organisation": "research",
    "research organization": "research", "university/research organisation": "research",
    "university/research organization": "research", "academia": "research",
    "university or research organisation": "research", "research institute": "research",
    "research centre": "research", "research center": "research", "rto": "research",
    "hospital": "hospital", "clinic": "hospital", "healthcare provider": "hospital",
    "care provider": "hospital", "hospital/clinic": "hospital",
    "public authority": "public", "public": "public", "public administration": "public",
    "government": "public", "public body": "public", "public sector": "public",
    "municipality": "public", "public authority/government": "public",
    "cluster": "cluster", "cluster organisation": "cluster", "cluster organization": "cluster",
    "other": "other", "others": "other",
}

# Words a longer answer contains (in order), when it is none of the names above.
ORG_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("start", "startup"), ("sme", "sme"), ("small", "sme"), ("medium", "sme"),
    ("large", "large_company"), ("univers", "research"), ("research", "research"),
    ("academ", "research"), ("hospital", "hospital"), ("clinic", "hospital"),
    ("public", "public"), ("government", "public"), ("cluster", "cluster"), ("other", "other"),
)

STATUSES: dict[str, str] = {
    "registered": "registered", "attending": "registered", "confirmed": "registered",
    "checked in": "registered", "not checked in": "registered", "accepted": "registered",
    "complete": "registered", "completed": "registered",
    "waitlisted": "waitlisted", "waitlist": "waitlisted", "waiting list": "waitlisted",
    "wait list": "waitlisted", "on waitlist": "waitlisted", "pending": "waitlisted",
    "withdrawn": "withdrawn", "cancelled": "withdrawn", "canceled": "withdrawn",
    "refunded": "withdrawn", "not attending": "withdrawn", "declined": "withdrawn",
    "transferred": "withdrawn", "deleted": "withdrawn",
}

# The languages of the EU and EEA (and Switzerland) whose country names are understood.
LANGUAGES = ("bg", "cs", "da", "de", "el", "es", "et", "fi", "fr", "ga", "hr", "hu", "is",
             "it", "lt", "lv", "mt", "nb", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
EXTRA_COUNTRY_NAMES = {"uk": "GB", "united kingdom": "GB", "great britain": "GB",
                       "england": "GB", "scotland": "GB", "wales": "GB", "holland": "NL",
                       "the netherlands": "NL", "czech republic": "CZ", "czechia": "CZ",
                       "turkey": "TR", "türkiye": "TR", "usa": "US", "united states": "US",
                       "kosovo": "XK", "moldova": "MD", "russia": "RU", "korea": "KR",
                       "south korea": "KR", "vatican": "VA", "eire": "IE"}


def header_key(text: str) -> str:
    """A header as compared: lower case, single spaces, no `(shortname)`, `:`, `?` or `*`."""
    text = re.sub(r"\s*\([^()]*\)\s*$", "", text.strip())  # EUSurvey's (shortname)
    text = re.sub(r"\s+", " ", text).strip().rstrip(":?*").strip().casefold()
    return text


def value_key(text: str) -> str:
    return re.sub(r"\s+", " ", m.identity_key(text)).strip(" .")


@dataclass(frozen=True)
class Columns:
    """Field -> the columns (indices) that give it."""

    fields: Mapping[str, tuple[int, ...]]


def match_headers(header: Sequence[str],
                  mapped: Mapping[str, tuple[str, ...]] | None = None) -> Columns:
    """Which columns give which fields: the mapping file's first, then the known headers."""
    keys = [header_key(h) for h in header]
    fields: dict[str, tuple[int, ...]] = {}
    used: set[int] = set()
    for field, names in (mapped or {}).items():
        found = []
        for name in names:
            index = next((i for i, h in enumerate(header) if h.strip() == name.strip()),
                         next((i for i, k in enumerate(keys) if k == header_key(name)), None))
            if index is not None:
                found.append(index)
                used.add(index)
        if found:
            fields[field] = tuple(found)
    for field, names in HEADERS.items():
        if field in fields or (field in ("first_name", "last_name") and "name" in fields):
            continue
        index = next((i for i, k in enumerate(keys) if k in names and i not in used), None)
        if index is not None:
            fields[field] = (index,)
            used.add(index)
    for field, words in CONTAINS:
        if field in fields or (field in ("first_name", "last_name") and "name" in fields):
            continue
        index = next((i for i, k in enumerate(keys)
                      if i not in used and any(w in k for w in words)), None)
        if index is not None:
            fields[field] = (index,)
            used.add(index)
    return Columns(fields)


def org_type(text: str) -> str | None:
    key = value_key(text)
    if key in ORG_TYPES:
        return ORG_TYPES[key]
    words = re.split(r"[^\w-]+", key)
    for word, value in ORG_TYPE_WORDS:
        if any(w.startswith(word) for w in words):
            return value
    return None


def status(text: str) -> str | None:
    return STATUSES.get(value_key(text))


@cache
def _country_names() -> dict[str, str]:
    import gettext

    import pycountry

    names: dict[str, str] = {}
    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang],
                                        fallback=True) for lang in LANGUAGES]
    for country in pycountry.countries:
        code = country.alpha_2
        english = [country.name, getattr(country, "common_name", None),
                   getattr(country, "official_name", None)]
        for name in english:
            if name:
                names.setdefault(value_key(name), code)
                for translation in translations:
                    names.setdefault(value_key(translation.gettext(name)), code)
    for name, code in EXTRA_COUNTRY_NAMES.items():
        names.setdefault(name, code)
    return names


def country(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 code for a code or a country's name in English or its own
    (or another European) language: `España`, `Deutschland`, `Suomi`, `Ελλάδα`."""
    code = text.strip().upper()
    if code in ISO_COUNTRIES:
        return code
    if code in EU_ALIASES:
        return EU_ALIASES[code]
    return _country_names().get(value_key(text))


def interests(text: str) -> list[str]:
    return [t for t in (part.strip().casefold() for part in re.split(r"[,;]", text)) if t]
