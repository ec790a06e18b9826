"""Pages: a project's audit trail, its time travel and checks, and its exports."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from domain import EVENT_TYPES, Actor, DomainError
from evidence.signing import SigningKeyMissing
from services import access
from services.app import Coopflow
from services.exports import write_csv, write_jsonl
from store.paging import Page
from web.deps import SessionDep, get_coopflow
from web.event_words import event_details
from web.pages import KNOWN_PROBLEMS, error_page
from web.paging import bad_cursor, cursor_links
from web.render import render, require_session, translator
from web.security import same

router = APIRouter(include_in_schema=False)


PAGE_SIZE = 50  # events on one page of the audit trail


@router.get("/projects/{project_id}/audit")
def audit_page(request: Request, project_id: str, actor_email: str = "", org: str = "", type: str = "",
               since: str = "", until: str = "", as_of: str = "", verify: str = "", cursor: str | None = None,
               signed: str = "") -> Response:
    session = require_session(request)
    coopflow, actor = get_coopflow(request), session[0]
    try:  # the page names the tasks of the events it shows, and no other
        project = coopflow.show_project(actor, project_id, task_status="open", via=None)
    except DomainError:
        return error_page(request, 404)
    as_of, until = picked(as_of), picked(until)
    may_verify = access.may_verify(actor, project)
    filters = {"actor_email": actor_email, "org": org, "type": type, "since": since, "until": until}
    problem, past, checked = None, None, None
    page: Page[dict[str, Any]] = Page([])
    if signed == "elsewhere":  # a known word only: the page never shows what the URL says
        problem = translator(request)("checkpoint_sign_elsewhere")
    try:
        wanted: dict[str, Any] = {"by_email": actor_email or None, "org": org or None, "type": type or None,
                                  "since": since or None, "until": until or None}
        try:
            page = coopflow.events_page(actor, project_id, **wanted, cursor=cursor, limit=PAGE_SIZE)
        except DomainError as exc:
            if not bad_cursor(exc):
                raise
            page = coopflow.events_page(actor, project_id, **wanted, limit=PAGE_SIZE)  # an old link: page one
        past = coopflow.show_project(actor, project_id, as_of=as_of, via=None) if as_of else None
        checked = coopflow.verify(actor, project_id) if verify and may_verify else None
    except DomainError as exc:
        problem = _audit_problem(request, exc)
    template = coopflow.template_of(project)
    shown = page.items
    people = coopflow.people_names(shown)  # the persons a hand-over names
    try:  # the page shows its events' form values: the personal ones opened for this reader (and noted)
        shown = list(coopflow.open_events(actor, project, template, shown, "page"))
    except DomainError as exc:
        problem = _audit_problem(request, exc)
    return render(request, "audit.html", project=project, template=template,
                  events=shown, filters=filters,
                  event_types=EVENT_TYPES, as_of=as_of, past=past, checked=checked, problem=problem,
                  may_verify=may_verify, signs=coopflow.signs, signed=signed == "now",
                  orgs=filter_orgs(coopflow, actor, project),
                  assignees=coopflow.task_assignees(actor, project_id, page.items),
                  emails=coopflow.user_emails(), links=cursor_links(request, page, "cursor"),
                  checkpoint=coopflow.checkpoint_status(actor, project_id),
                  details=lambda w, e: event_details(w, e, template, people))


@router.post("/projects/{project_id}/audit/checkpoint")
async def sign_checkpoint(request: Request, project_id: str, _session: SessionDep) -> Response:
    """The audit page's "sign a checkpoint now" (auditors, the lead): the page again with the new one, or,
    on a web server holding only the verifier key, saying where checkpoints are signed."""
    session = require_session(request)
    form = await request.form()
    if not same(str(form.get("csrf", "")), session[1]["csrf"]):
        return error_page(request, 403, "The form expired. Reload the page and try again.")
    try:
        await run_in_threadpool(get_coopflow(request).checkpoint, session[0], project_id)
    except SigningKeyMissing:
        return RedirectResponse(f"/projects/{project_id}/audit?signed=elsewhere", status_code=303)
    except DomainError:
        return error_page(request, 404)
    return RedirectResponse(f"/projects/{project_id}/audit?signed=now#checkpoint-status", status_code=303)


def filter_orgs(coopflow: Coopflow, actor: Actor, project: dict[str, Any]) -> list[tuple[str, bool]]:
    """The organisation filter's choices as (org, withdrawn): the lead, the current partners, then those that
    withdrew. An auditor still asks what a partner did before it left (its events stay in the trail), so a
    withdrawn partner stays a choice, marked as such, rather than vanishing from the filter."""
    current = [project["lead"], *project["partners"]]
    gone = dict.fromkeys(str(e["data"].get("org")) for e in coopflow.list_events(actor, project["id"],
                                                                                  type="PartnerWithdrawn"))
    return [(o, False) for o in current] + [(o, True) for o in gone if o not in current]


PICKED_MINUTE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")  # a datetime-local value with no seconds


def picked(moment: str) -> str:
    """A moment from one of the page's pickers, to the second the reader saw. The pickers show seconds, but
    a browser sends 13:26:00 as ``T13:26`` (it leaves zero seconds out), which the API reads as the whole
    minute up to 13:26:59: here it is second zero again, as the picker showed it."""
    return f"{moment}:00" if PICKED_MINUTE.fullmatch(moment) else moment


_FILTERS = {"actor": "actor", "org": "organisation", "type": "type", "since": "since", "until": "until",
            "as_of": "as_of"}  # the audit page's filters, by the field an error names, and their labels


def _audit_problem(request: Request, exc: DomainError) -> str:
    """Why the audit page cannot show what its query asks, naming the filter but never repeating what it
    says: the query may come from a link, and a link's text is never the page's message."""
    t = translator(request)
    fields = exc.details if isinstance(exc.details, dict) else {}
    if exc.code == "not_found" and "as_of" in fields:
        return t("audit_not_yet")
    label = next((_FILTERS[f] for f in fields if f in _FILTERS), None)
    if label is not None:
        return t("audit_filter_invalid", field=t(label))
    return t(exc.code) if exc.code in KNOWN_PROBLEMS else exc.message


@router.get("/projects/{project_id}/audit/export")
def audit_export(request: Request, project_id: str, format: str = "jsonl") -> Response:
    """The audit page's exports: the trail as JSONL or CSV, or the bundle with documents and checkpoints.

    Written as the events are read into a file that stays in memory while small and moves to disk
    when large (``EXPORT_IN_MEMORY``), then sent from there: a long trail never sits whole in memory.
    """
    session = require_session(request)
    coopflow, actor = get_coopflow(request), session[0]
    if format not in ("jsonl", "csv", "bundle"):
        return error_page(request, 404)
    out = tempfile.SpooledTemporaryFile(max_size=EXPORT_IN_MEMORY)  # closed once sent (or refused)
    try:
        if format == "bundle":
            coopflow.export_bundle(actor, project_id, out)
            media_type = "application/zip"
        else:
            # CSV with a byte-order mark: Excel then reads it as UTF-8 (Cyrillic, ë, č), not as ANSI
            text = io.TextIOWrapper(out, encoding="utf-8-sig" if format == "csv" else "utf-8", newline="")
            events = coopflow.list_events(actor, project_id)
            write_jsonl(events, text) if format == "jsonl" else write_csv(events, text, coopflow.user_emails())
            text.flush()
            text.detach()  # the file stays open for sending
            media_type = "text/csv" if format == "csv" else "application/x-ndjson"
    except DomainError:
        out.close()
        return error_page(request, 404)
    size = out.tell()
    out.seek(0)
    name = f"coopflow-{project_id}.{ {'bundle': 'zip'}.get(format, format) }"
    return StreamingResponse(_read_then_close(out), media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(size)})


EXPORT_IN_MEMORY = 8 * 1024 * 1024  # bytes of an export kept in memory before it moves to a file on disk


def _read_then_close(file: IO[bytes], chunk: int = 256 * 1024) -> Iterator[bytes]:
    try:
        while block := file.read(chunk):
            yield block
    finally:
        file.close()
