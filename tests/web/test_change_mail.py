"""Mail for every change that concerns someone, with who did it and why, in the reader's language."""

from __future__ import annotations

from store.outbox import list_mail
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.web.conftest import Live
from tests.web.test_decision_context import REASON, more_time_asked
from tests.web.test_step_feedback import COMMENT, open_task, set_language

DORTMUND = "Stadt Dortmund"


def mails(live: Live, pid: str, kind: str) -> list[dict]:
    return [m for m in list_mail(live.coopflow.engine, project_id=pid) if m["kind"] == kind]


async def test_a_partner_withdrawn_and_one_added_are_told_who_and_why(live: Live):
    set_language(live, PARTNERS[1], "mk")
    set_language(live, PARTNERS[2], "de")
    project = await start(live.coopflow, partners=PARTNERS[:2])
    pid, lead = project["id"], actor(live.coopflow, LEAD)
    await live.coopflow.change_project(lead, pid, kind="withdraw_partner", org=PARTNERS[1],
                                       reason="Horizon lost its funding")
    await live.coopflow.change_project(lead, pid, kind="add_partner", org=PARTNERS[2],
                                       reason="Replaces Horizon in Skopje")
    gone = [m for m in mails(live, pid, "partner_withdrawn") if m["lang"] == "mk"]
    assert gone and "Horizon lost its funding" in gone[0]["body"] and DORTMUND in gone[0]["body"], gone
    assert "повлече" in gone[0]["body"]
    added = [m for m in mails(live, pid, "partner_added") if m["lang"] == "de"]
    assert added and "Replaces Horizon in Skopje" in added[0]["body"] and "aufgenommen" in added[0]["body"]


async def test_a_review_superseded_by_anothers_request_for_changes_is_told(live: Live):
    set_language(live, PARTNERS[0], "sr")
    project = await start(live.coopflow)
    pid = project["id"]
    await play(live.coopflow, pid, loops=False, until_step="review_agreement")
    review = open_task(live, pid, "review_agreement", PARTNERS[1])
    mine = open_task(live, pid, "review_agreement", PARTNERS[0])
    await live.coopflow.complete_task(actor(live.coopflow, PARTNERS[1]), pid, review["id"],
                                      data={"comment": COMMENT}, outcome="request_changes")
    told = [m for m in mails(live, pid, "task_superseded") if f"/tasks/{mine['id']}" in m["body"]]
    assert told and told[0]["lang"] == "sr", told
    body = told[0]["body"]
    assert "Horizon" in body and "Zatraži izmene" in body and COMMENT in body, body


async def test_a_request_for_more_time_granted_or_declined_is_told(live: Live):
    set_language(live, PARTNERS[0], "sq")
    for outcome, kind in (("grant", "more_time_granted"), ("decline", "more_time_declined")):
        pid, letter, decision = await more_time_asked(live)
        await live.coopflow.complete_task(actor(live.coopflow, LEAD), pid, decision["id"], data={},
                                          outcome=outcome, comment="Decided at the board meeting")
        told = mails(live, pid, kind)
        assert told and told[0]["lang"] == "sq", (kind, told)
        assert DORTMUND in told[0]["body"] and "Decided at the board meeting" in told[0]["body"], told[0]["body"]
        assert f"/tasks/{letter['id']}" in told[0]["body"] and REASON not in told[0]["subject"]
