"""What a template's input rules look like in the browser's pages (issue #23 items 5–7): a date
bounded by today, refused in the reader's language next to its field."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from html import unescape

import pytest

from tests.utils.app import LEAD, PARTNERS
from tests.web.conftest import Live
from tests.web.test_new_templates import Browsers, _hidden

REFUSED_PAST = {"en": "must not be earlier than today", "sr": "ne sme biti pre današnjeg dana",
                "mk": "не смее да биде пред денешниот ден"}


@pytest.mark.parametrize("lang", ["sr", "mk", "en"])
async def test_an_expert_day_in_the_past_is_refused_in_the_readers_language(live: Live, lang: str):
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack, lang)
        pid = await b.start("expert-day")
        task = b.open(pid, "plan_day")
        lead = await b.of(LEAD)
        page = await lead.get(f"/projects/{pid}/tasks/{task['id']}")
        refused = await lead.post(f"/projects/{pid}/tasks/{task['id']}", data={
            "csrf": _hidden(page.text, "csrf"), "request_id": _hidden(page.text, "request_id"),
            "day_date": "2020-01-01", "venue": "Rathaus", "target_audience": "All"})
    assert refused.status_code == 422
    text = unescape(refused.text)
    assert REFUSED_PAST[lang] in text, re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]*)', text)
    assert b.open(pid, "plan_day")["status"] == "open"


@pytest.mark.parametrize("lang", ["sr", "sq"])
async def test_a_referral_offers_and_accepts_only_partners(live: Live, lang: str):
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack, lang)
        pid = await b.start("return-referral")
        await b.submit(pid, "record_consent", {"person_name": "Ana P.", "consent": "true", "consent_on": "2026-01-04"})
        task = b.open(pid, "refer")
        lead = await b.of(LEAD)
        page = await lead.get(f"/projects/{pid}/tasks/{task['id']}")
        offered = re.findall(r'<option value="([^"]+)"', page.text.split('name="partner"', 1)[1].split("</select>")[0])
        assert offered == PARTNERS
        refused = await lead.post(f"/projects/{pid}/tasks/{task['id']}", data={
            "csrf": _hidden(page.text, "csrf"), "request_id": _hidden(page.text, "request_id"),
            "partner": LEAD, "needs": "Housing"})
    assert refused.status_code == 422
    assert NOT_A_PARTNER[lang].format(org=LEAD) in unescape(refused.text)


NOT_A_PARTNER = {"sr": "{org} nije partner ovog projekta", "sq": "{org} nuk është partner i këtij projekti"}
