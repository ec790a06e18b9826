"""The pages of the app, for the accessibility walk (tests/web/test_accessibility.py): each with the roles
that see it. A new page is a new line in ``PAGES``: its path (formatted with the ids ``build_world`` made), or
what a person does there to reach it (a refused form, a confirmation), and who sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from playwright.async_api import Page

from domain import parse_time
from services.app import Coopflow
from services.seed import demo_email
from tests.utils.app import LEAD, PARTNERS, actor, play, start

# who logs in for each role (None: nobody is signed in)
ROLES: dict[str, str | None] = {"anonymous": None, "coordinator": LEAD, "partner": PARTNERS[0],
                                "auditor": "audit-office"}
SIGNED_IN = ("coordinator", "partner", "auditor")
EVERYONE = ("anonymous", *SIGNED_IN)

World = dict[str, str]
Act = Callable[[Page, str, World], Awaitable[None]]


@dataclass(frozen=True)
class Visit:
    """A page of the app: its ``path`` (formatted with the world's ids), or ``act``, what a person does to
    reach it (a refused form, a confirmation) from the page at ``path``; and the roles it is checked for."""

    name: str
    path: str
    roles: tuple[str, ...]
    act: Act | None = None


async def submit(page: Page, selector: str = "form.card button[type=submit]") -> None:
    async with page.expect_navigation():
        await page.locator(selector).first.click()


async def wrong_password(page: Page, url: str, world: World) -> None:
    await page.fill("input[name=email]", demo_email(LEAD))
    await page.fill("input[name=password]", "not the password")
    await submit(page, "main button[type=submit]")


async def refused_report(page: Page, url: str, world: World) -> None:
    """A letter of intent sent without the required fields: every field's error shown."""
    await submit(page)


async def refused_consent(page: Page, url: str, world: World) -> None:
    """A consent recorded with a date in the future and no consent given."""
    await page.fill("#f-person_name", "Ana Petrović")
    await page.fill("#f-consent_on", "2099-01-01")
    await page.fill("#f-date_of_birth", "2099-01-01")
    await submit(page)


async def refused_more_time(page: Page, url: str, world: World) -> None:
    await page.fill("#f-more-due", "2001-01-01")
    await page.fill("#f-more-reason", "Board meets next month")
    await submit(page, "#ask-more-time button[type=submit]")


async def refused_new_project(page: Page, url: str, world: World) -> None:
    """A project with a title but no partner."""
    await page.fill("#f-title", "A project of one")
    await submit(page)


async def refused_substitute(page: Page, url: str, world: World) -> None:
    """A substitute named with the last day before the first: the error at its field."""
    form = page.locator("#substitute-form")
    if await form.count() == 0:  # nobody of the organisation to name
        return
    await form.locator("input[name=from]").fill("2099-02-01")
    await form.locator("input[name=until]").fill("2099-01-01")
    await submit(page, "#save-substitute")


async def refused_preferences(page: Page, url: str, world: World) -> None:
    """Mail preferences with a timezone that is none: the error at its field."""
    await page.evaluate("""() => { const s = document.querySelector('select[name=timezone]');
        const o = document.createElement('option'); o.value = 'Mars/Olympus'; o.text = 'Mars'; s.add(o);
        s.value = 'Mars/Olympus'; }""")
    await submit(page, "form[action='/settings/preferences'] button[type=submit]")


async def withdrawal_to_confirm(page: Page, url: str, world: World) -> None:
    form = page.locator("#change-withdraw_partner")
    await form.locator("select[name=org]").select_option(PARTNERS[2])
    await form.locator("textarea[name=reason]").fill("Left the network")
    await submit(page, "#change-withdraw_partner button[type=submit]")


PAGES = [
    Visit("log-in", "/login", ("anonymous",)),
    Visit("log-in refused", "/login", ("anonymous",), wrong_password),
    Visit("not found (404)", "/no-such-page", EVERYONE),
    Visit("dev mail", "/dev/mail", EVERYONE),
    Visit("inbox", "/inbox", ("coordinator", "partner")),
    Visit("inbox: mine", "/inbox?holder=me", ("coordinator", "partner")),
    Visit("inbox: unassigned", "/inbox?holder=none", ("coordinator", "partner")),
    Visit("my settings", "/settings", SIGNED_IN),
    Visit("my settings: substitute refused", "/settings", ("partner",), refused_substitute),
    Visit("my settings: preferences refused", "/settings", ("partner",), refused_preferences),
    Visit("audit overview", "/inbox", ("auditor",)),
    Visit("projects", "/projects", SIGNED_IN),
    Visit("new project", "/projects/new", ("coordinator",)),
    Visit("new project refused", "/projects/new", ("coordinator",), refused_new_project),
    Visit("project: cooperation", "/projects/{letters}", SIGNED_IN),
    Visit("project: cooperation, later", "/projects/{signed}", SIGNED_IN),
    Visit("project: expert day", "/projects/{expert_day}", SIGNED_IN),
    Visit("project: return referral", "/projects/{referral}", SIGNED_IN),
    Visit("withdrawal to confirm", "/projects/{letters}", ("coordinator",), withdrawal_to_confirm),
    Visit("task: submission", "/projects/{letters}/tasks/{letter}", SIGNED_IN),
    Visit("task: submission refused", "/projects/{letters}/tasks/{letter}", ("partner",), refused_report),
    Visit("task: more time refused", "/projects/{letters}/tasks/{letter}", ("partner",), refused_more_time),
    Visit("task: decision on more time", "/projects/{letters}/tasks/{more_time}", SIGNED_IN),
    Visit("task: decision", "/projects/{review}/tasks/{review_task}", ("coordinator", "partner")),
    Visit("task: signature", "/projects/{signing}/tasks/{sign}", ("coordinator", "partner")),
    Visit("task: document to countersign", "/projects/{signed}/tasks/{countersign}", SIGNED_IN),
    Visit("task: expert day", "/projects/{expert_day}/tasks/{plan_day}", ("coordinator",)),
    Visit("task: consent", "/projects/{referral}/tasks/{consent}", ("coordinator",)),
    Visit("task: consent refused", "/projects/{referral}/tasks/{consent}", ("coordinator",), refused_consent),
    Visit("audit", "/projects/{signed}/audit", SIGNED_IN),
    Visit("audit verified, as of", "/projects/{signed}/audit?verify=1&as_of={as_of}", ("coordinator", "auditor")),
]


async def build_world(app: Coopflow) -> World:
    """Projects of every template, with a task of every kind open for the walk to look at."""
    lead = actor(app, LEAD)

    def open_task(project_id: str, step: str, org: str) -> str:
        tasks = app.show_project(lead, project_id)["tasks"]
        return next(t["id"] for t in tasks if t["step"] == step and t["assignee"] == org and t["status"] == "open")

    letters, review, signing, signed = [(await start(app, title=title))["id"] for title in (
        "Return counselling pilot", "Reintegration network", "Shared counselling days",
        "Return and reintegration 2027–2029, a project whose title goes on and on")]
    await play(app, letters, loops=False, until_step="letter_of_intent")
    await play(app, review, loops=False, until_step="review_agreement")
    await play(app, signing, loops=True, until_step="sign_agreement")
    await play(app, signed, loops=True, until_step="countersign_agreement", documents=True)
    letter, theirs = (open_task(letters, "letter_of_intent", org) for org in PARTNERS[:2])
    due_at = next(t["due_at"] for t in app.show_project(lead, letters)["tasks"] if t["id"] == theirs)
    later = (parse_time(due_at) + timedelta(days=10)).date().isoformat()
    await app.request_extension(actor(app, PARTNERS[1]), letters, theirs, due_at=f"{later}T23:59:59Z",
                                reason="Our board meets next month")
    events = list(app.list_events(actor(app, "auditor"), signed))
    assert len(events) > 50, "the audit trail of `signed` spans two pages: the walk sees the pages' menu"
    as_of = (parse_time(events[3]["at"]) + timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
    expert_day = (await start(app, title="Expert day on return", template="expert-day", parameters={}))["id"]
    referral = (await start(app, title="Return of one person", template="return-referral", parameters={}))["id"]
    return {"letters": letters, "letter": letter, "more_time": open_task(letters, "extension_decision", LEAD),
            "review": review, "review_task": open_task(review, "review_agreement", PARTNERS[0]),
            "signing": signing, "sign": open_task(signing, "sign_agreement", PARTNERS[0]),
            "signed": signed, "countersign": open_task(signed, "countersign_agreement", LEAD), "as_of": as_of,
            "expert_day": expert_day, "plan_day": open_task(expert_day, "plan_day", LEAD),
            "referral": referral, "consent": open_task(referral, "record_consent", LEAD)}


