"""Validation of the data a person submits for a step, field by field."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.documents import document_value
from domain.errors import InvalidData
from domain.limits import MAX_LIST_ITEM_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, shown, text_problem
from domain.personal import is_sealed
from domain.template import FormField

ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu "
    "hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb "
    "lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om "
    "or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw "
    "ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split()
)
_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no", ""}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _storable(value: str, max_chars: int) -> str:
    problem = text_problem(value, max_chars)
    if problem:
        raise ValueError(problem)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    return _storable(value, MAX_TEXT_CHARS).strip()


def _text_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = _storable(value, MAX_LIST_ITEMS * MAX_LIST_ITEM_CHARS).splitlines()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of texts")
    items = [_storable(v, MAX_LIST_ITEM_CHARS).strip() for v in value]
    items = [v for v in items if v]
    if len(items) > MAX_LIST_ITEMS:
        raise ValueError(f"has too many entries: at most {MAX_LIST_ITEMS} (this has {len(items)})")
    return items


def _languages(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    codes = [c.strip().lower() for c in _text_list(value)]
    unknown = [c for c in codes if c not in ISO_639_1]
    if unknown:
        verb = "is not an ISO 639-1 code" if len(unknown) == 1 else "are not ISO 639-1 codes"
        raise ValueError(f"{', '.join(unknown)} {verb} (such as de, sr, mk, sq)")
    return codes


_MAX_NUMBER_CHARS = 40  # beyond any budget or count; also keeps int() off its 4,300-digit limit


def _int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, (int, str)) and len(str(value)) > _MAX_NUMBER_CHARS):
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError("must be a whole number")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or len(str(value)) > _MAX_NUMBER_CHARS:
        raise ValueError("must be a number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 1e3 is the number 1000, written 1000
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if abs(number.adjusted()) > _MAX_DIGITS:  # 1e999999 would be a million digits written out
        raise ValueError(f"must be a number of at most {_MAX_DIGITS} digits")
    return number


_MAX_DIGITS = 30


def _date(value: Any) -> str:
    if isinstance(value, str) and len(value) > _MAX_NUMBER_CHARS:
        raise ValueError("must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError("must be a date written YYYY-MM-DD") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("must be true or false")


_ORG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _org(value: Any) -> str:
    if not isinstance(value, str) or not _ORG.fullmatch(value.strip()):
        raise ValueError("must be an organisation id such as caritas-rs")
    return value.strip()


def _assignment(value: Any) -> dict[str, str]:
    if isinstance(value, str):  # a line of a text box: "org | title | YYYY-MM-DD" (the date may be left out)
        parts = [p.strip() for p in value.split("|")]
        if len(parts) not in (2, 3):
            raise ValueError("has an entry that is not written 'organisation | title | YYYY-MM-DD'")
        value = dict(zip(("org", "title", "due"), parts, strict=False))
    if not isinstance(value, Mapping) or set(value) - {"org", "title", "due"}:
        raise ValueError("must be a list of entries with org, title and perhaps due")
    entry = {"org": _org(value.get("org")), "title": _storable(_text(value.get("title", "")), MAX_LIST_ITEM_CHARS)}
    if not entry["title"]:
        raise ValueError("has an entry without a title")
    if value.get("due"):
        entry["due"] = _date(value["due"])
    return entry


def _assignments(value: Any) -> list[dict[str, str]]:
    typed = isinstance(value, str)  # lines of a text box: an entry's problem names its line
    if isinstance(value, str):
        value = [line for line in _storable(value, MAX_LIST_ITEMS * MAX_LIST_ITEM_CHARS).splitlines() if line.strip()]
    if not isinstance(value, list):
        raise ValueError("must be a list of entries with org, title and perhaps due")
    if len(value) > MAX_LIST_ITEMS:
        raise ValueError(f"has too many entries: at most {MAX_LIST_ITEMS} (this has {len(value)})")
    entries = []
    for number, entry in enumerate(value, 1):
        try:
            entries.append(_assignment(entry))
        except ValueError as error:
            raise ValueError(f"line {number}: {error}" if typed else str(error)) from None
    return entries


_PARSERS: dict[str, Callable[[Any], Any]] = {"text": _text, "text_list": _text_list, "language_list": _languages,
            "int": _int, "decimal": _decimal, "date": _date, "bool": _bool, "file": document_value,
            "org": _org, "assignments": _assignments}


# "today" is the date somewhere on Earth at the moment of the completion (UTC-12 to UTC+14): a person in
# Skopje entering today's date just after midnight is not refused because the server counts in UTC
_EARLIEST_ZONE, _LATEST_ZONE = timedelta(hours=-12), timedelta(hours=14)


def _check_today(field: FormField, parsed: str, now: datetime | None) -> None:
    """A date field's ``not_before``/``not_after: today``, decided from ``now`` (the command's time)."""
    if now is None:
        return
    if field.not_after == "today" and parsed > (now + _LATEST_ZONE).date().isoformat():
        raise ValueError("must not be later than today")
    if field.not_before == "today" and parsed < (now + _EARLIEST_ZONE).date().isoformat():
        raise ValueError("must not be earlier than today")


def _check(field: FormField, value: Any, now: datetime | None) -> Any:
    parsed = _PARSERS[field.type](value)
    if field.type == "date":
        _check_today(field, parsed, now)
    if field.min is not None and parsed < field.min:
        raise ValueError(f"must be at least {field.min}")
    if field.max is not None and parsed > field.max:
        raise ValueError(f"must be at most {field.max}")
    if field.must_be_true and parsed is not True:
        raise ValueError("must be accepted (true)")
    # decimals are kept as text, exactly as given but in plain notation: "250000.00" stays so, 1e3 is "1000"
    return format(parsed, "f") if isinstance(parsed, Decimal) else parsed


def validate_form(fields: list[FormField], data: Mapping[str, Any] | None, *, sealed: bool = False,
                  now: datetime | None = None) -> dict[str, Any]:
    """Return the normalised data, or raise ``InvalidData`` naming every bad field.

    ``now`` is the moment of the completion, which bounds ``today`` dates; without it (a form checked
    outside any completion) those bounds are not checked.

    With ``sealed`` (a project whose personal data is sealed) a personal field's value must be a sealed
    token, kept as it is: it was validated before it was sealed, and a value in clear is refused.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InvalidData("The data must be an object of field names and values.", {"data": "must be an object"})
    known = {f.name for f in fields}
    errors = {shown(name, 40): "is not a field of this step" for name in data if name not in known}
    clean: dict[str, Any] = {}
    for field in fields:
        value = data.get(field.name)
        if _empty(value):
            if field.required:
                errors[field.name] = "is required"
            continue
        if sealed and field.personal:
            if is_sealed(value):
                clean[field.name] = value
            else:
                errors[field.name] = "is personal data and must be sealed before it is recorded"
            continue
        try:
            clean[field.name] = _check(field, value, now)
        except ValueError as exc:
            errors[field.name] = str(exc)
    if errors:
        listed = "; ".join(f"{k} {v}" for k, v in errors.items())
        raise InvalidData(f"Some fields are not valid: {listed}.", errors)
    return clean
