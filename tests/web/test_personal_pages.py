"""Personal data on the pages, in every language: shown opened to those who may read it (each showing
noted), erased from the project page's form after its confirmation, and said to be erased — when, by
whom, why — on the project, task and audit pages."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from html import unescape

import httpx
import pytest

from services.seed import demo_email
from store.personal import data_keys, reads
from tests.utils.app import LEAD, PARTNERS, actor
from tests.web.conftest import Live, http_login
from web.i18n import LANGUAGES, MISSING, catalog

CARITAS, HORIZON, _ = PARTNERS
NAME, NEEDS = "Љиљана Петровић", "Strehim në Shkodër"
MARK = MISSING.split("{}")[0]


def said(lang: str, key: str) -> str:
    """The fixed start of a text of the interface (up to its first placeholder)."""
    return catalog(lang)[key].split("{")[0].strip()


async def referral(live: Live) -> str:
    app = live.coopflow
    lead = actor(app, LEAD)
    pid = (await app.start_project(lead, title="Case 2027-040", partners=PARTNERS, template="return-referral"))["id"]
    await app.complete_task(lead, pid, "t1", data={"person_name": NAME, "consent": True, "consent_on": "2026-01-04"})
    await app.complete_task(lead, pid, "t2", data={"partner": HORIZON, "needs": NEEDS})
    return pid


async def browser(stack: AsyncExitStack, live: Live, org: str, lang: str) -> httpx.AsyncClient:
    client = await stack.enter_async_context(httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}))
    await http_login(client, demo_email(org), lang)
    return client


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_the_lead_erases_from_the_project_page_and_every_page_says_so(live: Live, lang: str):
    pid = await referral(live)
    async with AsyncExitStack() as stack:
        lead, horizon, caritas = [await browser(stack, live, org, lang) for org in (LEAD, HORIZON, CARITAS)]

        # before: opened for those who may read it, on the task and audit pages, and each showing noted
        # (the referred partner's decision shows the referral it decides on)
        assert NEEDS in unescape((await horizon.get(f"/projects/{pid}/tasks/t3")).text)
        assert NEEDS not in unescape((await caritas.get(f"/projects/{pid}/tasks/t3")).text)
        assert NAME in unescape((await lead.get(f"/projects/{pid}/audit")).text)
        assert {(r["org"], r["via"]) for r in reads(live.coopflow.engine, pid)} >= {(HORIZON, "page"), (LEAD, "page")}
        assert CARITAS not in {r["org"] for r in reads(live.coopflow.engine, pid)}

        page = unescape((await lead.get(f"/projects/{pid}")).text)
        assert said(lang, "pd_sealed") in page and 'id="erase-personal-data"' in page and MARK not in page
        assert 'id="erase-personal-data"' not in (await horizon.get(f"/projects/{pid}")).text, "the lead's only"

        # the form asks for a confirmation: without it, nothing happens and the page says why
        refused = await lead.post(f"/projects/{pid}/personal-data/erase", data={
            "csrf": csrf(page), "reason": "Consent withdrawn"}, follow_redirects=True)
        assert catalog(lang)["cp_erase_confirm"] in unescape(refused.text)
        erase_form = unescape(refused.text).split('id="erase-personal-data"')[1].split("</form>")[0]
        assert refused.status_code == 422 and ">Consent withdrawn</textarea>" in erase_form  # kept as typed
        assert catalog(lang)["cp_erase_confirm"] in erase_form.split('data-field="confirm"')[1]  # beside the box
        assert data_keys(live.coopflow.engine, pid), "nothing was erased"

        done = await lead.post(f"/projects/{pid}/personal-data/erase", data={
            "csrf": csrf(page), "reason": "Consent withdrawn", "confirm": "yes"}, follow_redirects=True)
        erased_at = live.coopflow.show_project(actor(live.coopflow, LEAD), pid)["personal_data"]["erased_at"]
        project_page = unescape(done.text)
        assert said(lang, "pd_erased") in project_page and erased_at[:10] in project_page
        assert "Consent withdrawn" in project_page and 'id="erase-personal-data"' not in project_page
        for org_page in (await lead.get(f"/projects/{pid}/tasks/t3"), await horizon.get(f"/projects/{pid}/tasks/t3")):
            text = unescape(org_page.text)
            assert catalog(lang)["pd_erased_value"].format(date=erased_at[:10]) in text
            assert NAME not in text and NEEDS not in text and MARK not in text
        audit = unescape((await lead.get(f"/projects/{pid}/audit")).text)
        assert said(lang, "pd_erased_short") in audit and said(lang, "type_PersonalDataErased") in audit
        assert NAME not in audit and MARK not in audit
        copy = await lead.get(f"/projects/{pid}/personal-data")
        assert copy.status_code == 200 and copy.json()["status"] == "erased"
        assert (await horizon.get(f"/projects/{pid}/personal-data")).status_code == 403
