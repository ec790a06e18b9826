"""The project's timeline, drawn on the server as SVG: phases as bands, each task a bar from opened to
closed (or to now), its due date a tick, done ones a diamond, late ones red and striped, and the changes
as markers. A row is one step of one organisation (its occurrences and rounds side by side); a project of
hundreds of tasks keeps at most ``MAX_ROWS`` rows and ``MAX_BARS`` bars a row, and says what it left out.
The same facts come as a table for screen readers (``_pictures.html``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from domain import Template, parse_time
from web.i18n import Translator
from web.picture_parts import (
    ACCENT,
    BAD,
    CHANGE,
    FOLDED_FILL,
    GONE,
    GOOD,
    INK,
    LINE,
    MUTED,
    OPEN_FILL,
    PHASE_FILL,
    Svg,
    clip,
    day,
    days_between,
    legend,
    month,
    short_day,
)
from web.words import Words

MAX_ROWS, MAX_BARS, WIDTH, X0, X1 = 24, 12, 560, 8, 552
TASK_CHANGES = ("DeadlineExtended", "StepWaived", "TaskReassigned")
PROJECT_CHANGES = ("PartnerAdded", "PartnerWithdrawn")
MAX_CHANGES_LISTED = 20


@dataclass
class Row:
    phase: str
    label: str
    tasks: list[dict[str, Any]] = field(default_factory=list)


def kind_of(task: dict[str, Any], now: datetime) -> str:
    """done, done_late, open, overdue or gone (waived, or no longer needed)."""
    if task["status"] == "completed":
        return "done_late" if task["closed_at"] and task["closed_at"] > task["due_at"] else "done"
    if task["status"] == "open":
        return "overdue" if parse_time(task["due_at"]) < now else "open"
    return "gone"


def _rows(facts: dict[str, Any], template: Template, w: Words) -> list[Row]:
    rows: dict[tuple[str, str, str, str], Row] = {}
    for task in sorted(facts["tasks"], key=lambda t: (t["opened_at"], int(t["id"].lstrip("t")))):
        org = task.get("on_behalf_of") or task["assignee"]
        key = (task["phase"], task["step"], org, task.get("subject_org") or "")
        if key not in rows:
            label = f"{w.step(template, task['step'])} · {w.org(org)}"
            rows[key] = Row(task["phase"], label + (f" ({w.org(key[3])})" if key[3] else ""))
        rows[key].tasks.append(task)
    order = {p.key: i for i, p in enumerate(template.phases)}
    return sorted(rows.values(), key=lambda r: order.get(r.phase, len(order)))


def _chosen(rows: list[Row], now: datetime) -> list[Row]:
    """At most MAX_ROWS rows, in their order: those with open or late work first, then the latest."""
    if len(rows) <= MAX_ROWS:
        return rows

    def weight(row: Row) -> tuple[bool, bool, str]:
        kinds = {kind_of(t, now) for t in row.tasks}
        latest = max(t["closed_at"] or t["opened_at"] for t in row.tasks)
        return bool(kinds & {"open", "overdue"}), bool(kinds & {"overdue", "done_late"}), latest

    keep = {id(r) for r in sorted(rows, key=weight, reverse=True)[:MAX_ROWS]}
    return [r for r in rows if id(r) in keep]


class Scale:
    def __init__(self, start: datetime, end: datetime) -> None:
        pad = max((end - start) / 50, timedelta(hours=12))
        self.start, self.end = start - pad, end + pad
        self.span = (self.end - self.start).total_seconds()

    def x(self, moment: str | datetime) -> float:
        when = parse_time(moment) if isinstance(moment, str) else moment
        return X0 + (when - self.start).total_seconds() / self.span * (X1 - X0)

    def ticks(self, t: Translator) -> list[tuple[datetime, str]]:
        """Tick marks: months (every 1, 2, 3, 6 or 12) or, for a short project, days or weeks."""
        days = self.span / 86400
        if days < 70:
            step = next(s for s in (1, 2, 7, 14, 28) if days / s <= 8)
            first = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC) + timedelta(days=1)
            moments = [first + timedelta(days=step * i) for i in range(int(days // step) + 1)]
            return [(m, short_day(t, m.date())) for m in moments if m <= self.end]
        step = next(s for s in (1, 2, 3, 6, 12, 24) if days / 30.4 / s <= 7)
        found: list[tuple[datetime, str]] = []
        year, mon = self.start.year, self.start.month
        while True:
            mon += 1
            year, mon = (year + 1, 1) if mon > 12 else (year, mon)
            moment = datetime(year, mon, 1, tzinfo=UTC)
            if moment > self.end:
                return found
            if (year * 12 + mon - 1) % step == 0:
                found.append((moment, month(t, moment.date(), with_year=not found or mon == 1)))


def timeline(facts: dict[str, Any], template: Template, t: Translator, w: Words,
             now: datetime | None = None) -> dict[str, Any]:
    """The timeline of a project (``Coopflow.project_timeline``): its SVG markup, title, description,
    a note of what it leaves out, and the rows and changes of its table."""
    now = now or datetime.now(UTC)
    events, tasks = facts["events"], facts["tasks"]
    ended = next((e["at"] for e in events if e["type"] in ("ProjectEnded", "ProjectCancelled")), None)
    until = parse_time(ended) if ended else now
    phases: dict[str, list[str]] = {}
    for e in events:
        if e["type"] == "PhaseStarted" and e["phase"]:
            phases.setdefault(e["phase"], [e["at"], ""])
        elif e["type"] == "PhaseCompleted" and e["phase"] in phases:
            phases[e["phase"]][1] = e["at"]
    moments = [parse_time(facts["started_at"]), until]
    moments += [parse_time(x) for task in tasks for x in (task["opened_at"], task["due_at"], task["closed_at"]) if x]
    first = min(moments)
    scale = Scale(first, max(moments))
    by_task: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["type"] in TASK_CHANGES and e["task_id"]:
            by_task.setdefault(e["task_id"], []).append(e)
    named = {task["id"]: task for task in tasks}
    all_rows = _rows(facts, template, w)
    rows = _chosen(all_rows, now)
    headings = [p for p in template.phases if p.key in phases or any(r.phase == p.key for r in rows)]
    pid = f"tl-{facts['id']}"
    svg = Svg(WIDTH, pid)
    top, lane = 24, 44  # below the axis labels; the lane of the project's changes
    bottom = lane + 30 + 28 * len(headings) + 30 * len(rows)
    grid = "".join(f"M{scale.x(m):.0f} {top - 4}V{bottom}" for m, _ in scale.ticks(t))
    for moment, words in scale.ticks(t):
        svg.text(scale.x(moment), 14, words, size=11, fill=MUTED, anchor="middle")
    svg.parts.append(f'<path stroke="{LINE}" d="{grid}"/>')
    svg.text(X0, lane - 4, t("pic_changes_lane"), size=11, weight="600")
    changes = [e for e in events if e["type"] in TASK_CHANGES + PROJECT_CHANGES]
    for e in changes:
        x, cy = scale.x(e["at"]), lane + 8
        if e["type"] == "PartnerAdded":
            svg.path(("fill=\"none\"", f'stroke="{CHANGE}"', 'stroke-width="3"'), f"M{x - 6:.0f} {cy}h12m-6-6v12")
        elif e["type"] == "PartnerWithdrawn":
            svg.path((f'fill="{CHANGE}"',), f"M{x - 6:.0f} {cy - 5}h12l-6 11z")
        else:
            _task_change(svg, e["type"], x, cy)
        if e["type"] in PROJECT_CHANGES:
            svg.path(('stroke-dasharray="2 3"', f'stroke="{CHANGE}"'), f"M{x:.0f} {cy + 8}V{bottom}")
    y = lane + 30
    for phase in headings:
        svg.text(X0, y + 11, clip(w.phase(template, phase.key), 80), size=12, weight="700")
        if phase.key in phases:
            start, end = phases[phase.key]
            x0, x1 = scale.x(start), scale.x(end or until)
            svg.rect(x0, y + 15, x1 - x0, 8, PHASE_FILL, stroke="#9fb3cc")
        y += 28
        for row in (r for r in rows if r.phase == phase.key):
            _draw_row(svg, scale, row, y, now, until, by_task)
            y += 30
    svg.keep_behind()  # the grid and the phase bands behind the bars; labels and legend in front
    x_now = scale.x(until)
    svg.path((f'stroke="{ACCENT}"', 'stroke-dasharray="4 3"', 'stroke-width="1.5"'), f"M{x_now:.0f} {top - 4}V{bottom}")
    svg.text(min(max(x_now, 40), WIDTH - 40), bottom + 14, t("pic_today") if not ended else day(t, ended),
             size=11, fill=ACCENT, anchor="middle")
    height = legend(svg, bottom + 36, _legend_items(pid, t, t("pic_ended") if ended else t("pic_today")))
    counts = {k: sum(1 for task in tasks if kind_of(task, now) == k) for k in ("done", "done_late", "open", "overdue")}
    title = t("pic_timeline_title")
    desc = t("pic_timeline_desc", start=day(t, first), end=day(t, until),
             tasks=len(tasks), done=counts["done"] + counts["done_late"], done_late=counts["done_late"],
             open=counts["open"] + counts["overdue"], overdue=counts["overdue"], changes=len(changes))
    return {"id": pid, "svg": svg.markup(height, title, desc), "title": title, "desc": desc,
            "note": _note(t, all_rows, rows), "rows": [_table_row(t, row, now, by_task) for row in all_rows],
            "changes": [_change_row(t, w, template, e, named) for e in changes[::-1][:MAX_CHANGES_LISTED]],
            "more_changes": max(0, len(changes) - MAX_CHANGES_LISTED)}


def _task_change(svg: Svg, kind: str, x: float, cy: float) -> None:
    if kind == "DeadlineExtended":
        svg.path((f'fill="{CHANGE}"',), f"M{x - 3:.0f} {cy - 6:.0f}l8 6-8 6z")
    elif kind == "StepWaived":
        svg.path(("fill=\"none\"", f'stroke="{INK}"', 'stroke-width="2"'), f"M{x - 4:.0f} {cy - 4:.0f}l8 8m0-8l-8 8")
    else:
        svg.path(('fill="#fff"', f'stroke="{CHANGE}"', 'stroke-width="2"'), f"M{x - 4:.0f} {cy - 4:.0f}h8v8h-8z")


BAR_STYLES = {"done": (f'fill="#b9e0c4" stroke="{GOOD}"',), "open": (f'fill="{OPEN_FILL}" stroke="{ACCENT}"',),
              "gone": (f'fill="#eceef1" stroke="{GONE}"',)}


def _draw_row(svg: Svg, scale: Scale, row: Row, y: float, now: datetime, until: datetime,
              by_task: dict[str, list[dict[str, Any]]]) -> None:
    svg.text(X0, y + 11, clip(row.label, 88), size=11)
    lane, cy = y + 15, y + 20
    shown, folded = row.tasks[-MAX_BARS:], row.tasks[:-MAX_BARS]
    if folded:
        x0 = scale.x(folded[0]["opened_at"])
        x1 = scale.x(max(task["closed_at"] or task["opened_at"] for task in folded))
        svg.rect(x0, lane, x1 - x0, 10, FOLDED_FILL)
        svg.text(x0 + 2, lane + 9, f"+{len(folded)}", size=9, fill=MUTED)
    for task in shown:
        kind = kind_of(task, now)
        end = task["closed_at"] or until
        style = (f'fill="url(#{svg.pid}-late)" stroke="{BAD}"',) if kind in ("done_late", "overdue") else \
            BAR_STYLES["done" if kind == "done" else kind]
        svg.bar(style, scale.x(task["opened_at"]), scale.x(end), lane, 10)
        svg.path((f'stroke="{INK}"', 'stroke-width="2"'), f"M{scale.x(task['due_at']):.0f} {lane - 3:.0f}v16")
        if kind in ("done", "done_late"):
            svg.path((f'fill="{GOOD}" stroke="#fff"',), f"M{scale.x(end):.0f} {cy - 6:.0f}l6 6-6 6-6-6z")
        for e in by_task.get(task["id"], ()):
            _task_change(svg, e["type"], scale.x(e["at"]), cy)


def _legend_items(pid: str, t: Translator, last: str) -> list[tuple[str, str]]:
    bar = '<rect x="0" y="3" width="14" height="8" {}/>'
    return [
        (f'<path d="M7 0v14" stroke="{INK}" stroke-width="2"/>', t("pic_legend_due")),
        (bar.format(f'fill="#b9e0c4" stroke="{GOOD}"') + f'<path d="M14 1l6 6-6 6-6-6z" fill="{GOOD}" stroke="#fff"/>',
         t("pic_legend_done")),
        (bar.format(f'fill="url(#{pid}-late)" stroke="{BAD}"'), t("pic_legend_late")),
        (bar.format(f'fill="{OPEN_FILL}" stroke="{ACCENT}"'), t("pic_legend_open")),
        (bar.format(f'fill="#eceef1" stroke="{GONE}"'), t("pic_legend_gone")),
        (f'<path d="M4 1l8 6-8 6z" fill="{CHANGE}"/>', t("pic_change_DeadlineExtended")),
        (f'<path d="M3 3l8 8m0-8l-8 8" stroke="{INK}" stroke-width="2"/>', t("pic_change_StepWaived")),
        (f'<path d="M3 3h8v8h-8z" fill="#fff" stroke="{CHANGE}" stroke-width="2"/>', t("pic_change_TaskReassigned")),
        (f'<path d="M1 7h12M7 1v12" stroke="{CHANGE}" stroke-width="3"/>', t("pic_change_PartnerAdded")),
        (f'<path d="M1 2h12l-6 11z" fill="{CHANGE}"/>', t("pic_change_PartnerWithdrawn")),
        (f'<path d="M7 0v14" stroke="{ACCENT}" stroke-dasharray="4 3" stroke-width="1.5"/>', last),
    ]


def _note(t: Translator, all_rows: list[Row], rows: list[Row]) -> str:
    notes = []
    left_out = [r for r in all_rows if r not in rows]
    if left_out:
        notes.append(t("pic_folded_rows", rows=t.plural("pic_rows", len(left_out)),
                       tasks=t.plural("pic_tasks", sum(len(r.tasks) for r in left_out))))
    if any(len(r.tasks) > MAX_BARS for r in rows):
        notes.append(t("pic_folded_bars", n=MAX_BARS))
    return " ".join(notes)


def _table_row(t: Translator, row: Row, now: datetime, by_task: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One row of the table: what the row of the picture shows, in words."""
    kinds = [(task, kind_of(task, now)) for task in row.tasks]
    done = [task for task, k in kinds if k in ("done", "done_late")]
    still = sorted((task for task, k in kinds if k in ("open", "overdue")), key=lambda task: task["due_at"])
    late = []
    for task, k in kinds:
        if k == "done_late":
            late.append(t("pic_done_late", date=day(t, task["closed_at"]),
                          span=t.plural("days", days_between(task["due_at"], task["closed_at"]))))
        elif k == "overdue":
            late.append(t("pic_overdue", span=t.plural("days", days_between(task["due_at"], now.isoformat()))))
    gone = sum(1 for _, k in kinds if k == "gone")
    changes: dict[str, int] = {}
    for task in row.tasks:
        for e in by_task.get(task["id"], ()):
            changes[e["type"]] = changes.get(e["type"], 0) + 1
    return {
        "label": row.label, "opened": day(t, row.tasks[0]["opened_at"]), "tasks": len(row.tasks),
        "done": ", ".join(day(t, task["closed_at"]) for task in done) if len(done) <= 3 else
        t("pic_count_last", n=len(done), date=day(t, done[-1]["closed_at"])),
        "open": t("pic_count_next", n=len(still), date=day(t, still[0]["due_at"])) if still else "",
        "late": "; ".join(late[:3]) + (f"; … ({len(late)})" if len(late) > 3 else ""),
        "changes": ", ".join(f"{t('pic_change_' + k)} ({n})" if n > 1 else t("pic_change_" + k)
                             for k, n in changes.items()) + (f"{', ' if changes else ''}{t('pic_legend_gone')}"
                                                              f"{f' ({gone})' if gone > 1 else ''}" if gone else ""),
    }


def _change_row(t: Translator, w: Words, template: Template, e: dict[str, Any],
                named: dict[str, dict[str, Any]]) -> dict[str, str]:
    task = named.get(e["task_id"] or "")
    concerns = w.org(e["data"].get("org"))
    if task is not None:
        concerns = f"{w.step(template, task['step'])} · {w.org(task.get('on_behalf_of') or task['assignee'])}"
    if e["type"] == "DeadlineExtended":
        concerns += " → " + day(t, e["data"].get("due_at"))
    elif e["type"] == "TaskReassigned":
        concerns += " → " + w.org(e["data"].get("to"))
    return {"when": day(t, e["at"]), "change": t("pic_change_" + e["type"]), "concerns": concerns}

