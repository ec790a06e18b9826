"""The coordinator's chart on the project list: open tasks per owing organisation across the active projects
their organisation leads, the overdue part red and striped, each bar labelled with the name and counts."""

from __future__ import annotations

from typing import Any

from web.i18n import Translator
from web.picture_parts import ACCENT, BAD, OPEN_FILL, Svg, clip, legend
from web.words import Words

WIDTH, X0, X1, MAX_ORGS = 420, 8, 412, 30
BARS = 180  # the longest bar; its counts are written beside it (the longest: ~220 in Albanian)


def open_work(rows: list[dict[str, Any]], t: Translator, w: Words) -> dict[str, Any]:
    """The chart of ``Coopflow.open_work_by_org``: its SVG markup, title, description and table rows."""
    shown = rows[:MAX_ORGS]
    pid = "open-work"
    svg = Svg(WIDTH, pid)
    most = max((r["open"] for r in shown), default=1) or 1
    y = 4.0
    for r in shown:
        svg.text(X0, y + 13, clip(w.org(r["org"]), 55), size=13, weight="600")
        width, late = BARS * r["open"] / most, BARS * r["overdue"] / most
        if late:
            svg.bar((f'fill="url(#{pid}-late)" stroke="{BAD}"',), X0, X0 + late, y + 19, 14)
        if r["open"] > r["overdue"]:
            svg.bar((f'fill="{OPEN_FILL}" stroke="{ACCENT}"',), X0 + late, X0 + width, y + 19, 14)
        svg.text(X0 + width + 8, y + 31, t("pic_open_counts", open=r["open"], overdue=r["overdue"]), size=12)
        y += 44
    svg.keep_behind()
    bar = '<rect x="0" y="2" width="14" height="10" {}/>'
    height = legend(svg, y + 14, [(bar.format(f'fill="{OPEN_FILL}" stroke="{ACCENT}"'), t("pic_legend_open")),
                                  (bar.format(f'fill="url(#{pid}-late)" stroke="{BAD}"'), t("pic_legend_overdue"))])
    title = t("pic_open_title")
    total, overdue = sum(r["open"] for r in rows), sum(r["overdue"] for r in rows)
    per_org = "; ".join(t("pic_open_item", org=w.org(r["org"]), open=r["open"], overdue=r["overdue"]) for r in shown)
    desc = t("pic_open_desc", open=total, overdue=overdue, orgs=len(rows)) + (f" {per_org}." if per_org else "")
    return {"id": pid, "svg": svg.markup(height, title, desc), "title": title, "desc": desc,
            "rows": [{"org": w.org(r["org"]), "open": r["open"], "overdue": r["overdue"]} for r in rows],
            "more": max(0, len(rows) - MAX_ORGS)}
