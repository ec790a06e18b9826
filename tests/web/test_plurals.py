"""Each language counts as CLDR says (Babel has its rules): every plural text has the forms the language
needs, and the sentences that say a number say it through them; step sentences agree in gender."""

from __future__ import annotations

import pytest
from babel import Locale

from web.i18n import LANGUAGES, Translator, catalog, plural_category

NUMBERS = (0, 1, 2, 3, 5, 11, 21, 22, 25, 101)


def stems(lang: str) -> set[str]:
    """The texts said by a number: those with a ``_one`` form (``owed_by_other`` alone is no plural)."""
    return {key.removesuffix("_one") for key in catalog(lang) if key.endswith("_one")}


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_plural_forms_follow_cldr(lang: str):
    found = stems(lang)
    assert "login_wait" in found, "the log-in wait says its seconds through the plural forms"
    for n in NUMBERS:
        form = Locale(lang).plural_form(n)
        assert plural_category(lang, n) == form, (lang, n)
        for stem in found:
            assert f"{stem}_{form}" in catalog(lang), f"{lang}: {stem}_{form} is missing (for {n})"


@pytest.mark.parametrize(("lang", "one", "five"), [
    ("en", "in 1 second.", "in 5 seconds."), ("de", "in 1 Sekunde erneut.", "in 5 Sekunden erneut."),
    ("sr", "za 1 sekundu.", "za 5 sekundi."), ("mk", "за 1 секунда.", "за 5 секунди."),
    ("sq", "pas 1 sekonde.", "pas 5 sekondash.")])
def test_the_log_in_wait_says_one_second_in_the_singular(lang: str, one: str, five: str):
    t = Translator(lang)
    assert t.plural("login_wait", 1).endswith(one) and t.plural("login_wait", 5).endswith(five)


@pytest.mark.parametrize(("lang", "said"), [("sr", "Korak „Pismo o namerama“ je otvoren za X"),
                                            ("mk", "Чекорот „Писмо за намера“ е отворен за X")])
def test_a_step_opened_agrees_with_the_word_step_whatever_the_title(lang: str, said: str):
    step = said.split("„")[1].split("“")[0]
    assert Translator(lang)("ev_StepOpened", step=step, org="X") == said
