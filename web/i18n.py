"""Languages: the interface in en, de, sr, mk, sq; template titles and labels from the template."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = {"en": "English", "de": "Deutsch", "sr": "Srpski", "mk": "Македонски", "sq": "Shqip"}
DEFAULT = "en"
MISSING = "⟦{}⟧"  # shows an untranslated key on the page, where a test finds it

_VALIDATION = [
    (re.compile(r"^is required$"), "v_required"),
    (re.compile(r"^must be at least (?P<n>.+)$"), "v_at_least"),
    (re.compile(r"^must be at most (?P<n>.+)$"), "v_at_most"),
    (re.compile(r"^must be a whole number$"), "v_whole_number"),
    (re.compile(r"^must be a number$"), "v_number"),
    (re.compile(r"^must be a finite number$"), "v_finite"),
    (re.compile(r"^must be a date written YYYY-MM-DD$"), "v_date"),
    (re.compile(r"^must not be later than today$"), "v_not_after_today"),
    (re.compile(r"^must not be earlier than today$"), "v_not_before_today"),
    (re.compile(r"^'(?P<org>[a-z0-9-]+)' is not a partner of this project$"), "v_not_a_partner"),
    (re.compile(r"^must be true or false$"), "v_bool"),
    (re.compile(r"^must be accepted \(true\)$"), "v_accepted"),
    (re.compile(r"^must be text$"), "v_text"),
    (re.compile(r"^must be a list of texts$"), "v_text_list"),
    (re.compile(r"^is not a field of this step$"), "v_unknown_field"),
    (re.compile(r"^(?P<codes>.+?) (is not an ISO 639-1 code|are not ISO 639-1 codes)"), "v_language_codes"),
    (re.compile(r"^must be one of: (?P<names>.+)$"), "v_outcome"),
    (re.compile(r"^is too long: at most (?P<n>\d+) characters \(this has (?P<m>\d+)\)$"), "v_too_long"),
    (re.compile(r"^must not contain control characters$"), "v_control"),
    (re.compile(r"^must be one line: no line breaks, separators or control characters$"), "v_one_line"),
    (re.compile(r"^must not contain unpaired surrogate characters$"), "v_surrogates"),
    (re.compile(r"^has too many entries: at most (?P<n>\d+)"), "v_too_many"),
    (re.compile(r"^is too large: at most (?P<n>\d+) KB in all$"), "v_too_large"),
    (re.compile(r"^must be a number of at most (?P<n>\d+) digits$"), "v_digits"),
    (re.compile(r"^has an entry that is not written 'organisation \| title \| YYYY-MM-DD'$"), "v_entry_format"),
    (re.compile(r"^has an entry without a title$"), "v_entry_title"),
    (re.compile(r"^must be an organisation id such as caritas-rs$"), "v_org_id"),
]
_LINE = re.compile(r"^line (?P<n>\d+): (?P<problem>.+)$")


# what a change or a request for more time may be refused for (domain/changes.py), as locale keys
_PROBLEMS = {
    ("reason", "is required"): "cp_reason_required", ("task_id", "is required"): "cp_task_required",
    ("due_at", "is not a moment"): "cp_due_not_a_date",
    ("due_at", "is not later than the current due date"): "cp_due_not_later",
    ("due_at", "is too far away"): "cp_due_too_far", ("task_id", "is not a partner's task"): "cp_not_partner_task",
    ("task_id", "is a decision"): "cp_decision", ("org", "is not another partner"): "cp_not_other_partner",
    ("org", "is already in the project"): "cp_already_partner", ("org", "is not a partner"): "cp_not_partner",
    ("org", "is the last partner"): "cp_last_partner", ("task_id", "has a request waiting"): "cp_request_waiting",
    ("confirm", "is required"): "cp_confirm", ("forbidden", ""): "cp_forbidden",
    ("project", "is not active"): "cp_not_active", ("confirm", "erasure"): "cp_erase_confirm",
}


def problem_key(code: str, details: object) -> str | None:
    """The locale key of a refused change or request for more time, if it is one of ours."""
    if isinstance(details, dict):
        for field, said in details.items():
            key = _PROBLEMS.get((str(field), str(said)))
            if key is not None:
                return key
    return _PROBLEMS.get((code, ""))


def plural_category(lang: str, n: int) -> str:
    """The CLDR plural category of a whole number in one of our languages: ``one``, ``few`` or ``other``
    (Serbian: 1, 21, 31 … one; 2–4, 22–24 … few; Macedonian: 1, 21 … one; the others: 1 one)."""
    if lang == "sr":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        return "few" if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else "other"
    if lang == "mk":
        return "one" if n % 10 == 1 and n % 100 != 11 else "other"
    return "one" if n == 1 else "other"


PLURAL_ONLY = ("_few",)  # key endings that only languages with such a plural form have (Serbian)


@cache
def catalog(lang: str) -> dict[str, str]:
    """``locales/<lang>.yaml`` and the files of ``locales/<lang>/`` (a feature's words, one file each)."""
    found: dict[str, str] = {}
    for path in [LOCALES / f"{lang}.yaml", *sorted((LOCALES / lang).glob("*.yaml"))]:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        twice = sorted(set(data) & set(found))
        if twice:
            raise ValueError(f"{path.name}: {', '.join(map(str, twice))} already said in another file of {lang}")
        found.update({str(k): str(v) for k, v in data.items()})
    return found


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """?lang= first, then the language cookie, then the browser's Accept-Language."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    ranked = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, tag.split("-")[0].lower()))
    for _, tag in sorted(ranked, reverse=True):
        if tag in LANGUAGES:
            return tag
    return DEFAULT


class Translator:
    """``t(key, **params)`` for interface texts; ``pick(titles)`` for a template's own texts."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.texts = catalog(lang)

    def __call__(self, key: str, **params: Any) -> str:
        text = self.texts.get(key)
        if text is None:
            return MISSING.format(key)
        return text.format(**params) if params else text

    def plural(self, stem: str, n: int, **params: Any) -> str:
        """``stem_one`` / ``stem_few`` / ``stem_other`` for the number ``n``, as the language counts (other
        ``params`` fill the text too)."""
        category = plural_category(self.lang, n)
        key = f"{stem}_{category}" if f"{stem}_{category}" in self.texts else f"{stem}_other"
        return self(key, n=n, **params)

    def pick(self, titles: dict[str, str] | None, fallback: str = "") -> str:
        """The template's text in this language; a missing one is marked, then shown in English."""
        if not titles:
            return fallback.replace("_", " ")
        if self.lang in titles:
            return titles[self.lang]
        return MISSING.format(titles.get(DEFAULT, fallback))

    def problem(self, code: str, details: object, message: str) -> str:
        """A refused change or request for more time, in this language: by what the details say
        (``{"due_at": "is too far away"}``) or the error's code; else the domain's own sentence."""
        key = problem_key(code, details)
        return self(key) if key is not None else message

    def validation(self, message: str) -> str:
        line = _LINE.match(message)
        if line:  # an entry typed on one line of a text box: its line, then what is wrong with it
            return self("v_line", n=line["n"], problem=self.validation(line["problem"]))
        for pattern, key in _VALIDATION:
            match = pattern.match(message)
            if match:
                return self(key, **match.groupdict())
        return message
