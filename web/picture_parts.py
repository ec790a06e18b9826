"""What both pictures share: dates in the reader's language (CLDR, by Babel), the late pattern, the
legend, and a small SVG writer that keeps the markup short (integer coordinates, one path per kind)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from babel.dates import format_date, format_skeleton
from markupsafe import Markup, escape

from domain import parse_time
from web.i18n import Translator
from web.words import CLDR_LOCALES

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"  # the system's own: nothing is fetched
INK, MUTED, LINE, ACCENT, BAD, GOOD, GONE = "#1d2733", "#4f5b69", "#d9dee4", "#0b5cad", "#b3261e", "#1e7a3a", "#8a949f"
OPEN_FILL, PHASE_FILL, FOLDED_FILL, CHANGE = "#cfe0f5", "#e8eef6", "#dfe3e8", "#6a3d9a"
# late is red *and* striped: it must not be told by colour alone
LATE_PATTERN = ('<pattern id="{id}" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
                f'<rect width="5" height="5" fill="{BAD}"/><path d="M0 0v5" stroke="#fff" stroke-width="2"/></pattern>')


def cldr(t: Translator) -> str:
    return CLDR_LOCALES.get(t.lang, t.lang)


def day(t: Translator, moment: str | datetime | date | None) -> str:
    """A date as the reader's language writes it ("Dec 4, 2026", "04.12.2026", "4. 12. 2026.")."""
    if moment is None:
        return ""
    when = parse_time(moment) if isinstance(moment, str) else moment
    return format_date(when.date() if isinstance(when, datetime) else when, "medium", locale=cldr(t))


def month(t: Translator, when: date, with_year: bool) -> str:
    return format_skeleton("yMMM" if with_year else "MMM", when, locale=cldr(t))


def short_day(t: Translator, when: date) -> str:
    return format_skeleton("MMMd", when, locale=cldr(t))


def days_between(earlier: str, later: str) -> int:
    """Whole days from ``earlier`` to ``later``, at least 1 (a task a few hours late is a day late)."""
    return max(1, -(-int((parse_time(later) - parse_time(earlier)).total_seconds()) // 86400))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


@dataclass
class Svg:
    """An SVG picture drawn piece by piece; ``paths`` gathers one path per kind (bars, ticks, marks)."""

    width: int
    pid: str
    parts: list[str] = field(default_factory=list)
    paths: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    behind: int = 0  # how many of ``parts`` are drawn behind the paths (bands, grid); the rest in front

    def text(self, x: float, y: float, words: str, *, size: int = 12, weight: str = "", fill: str = INK,
             anchor: str = "") -> None:
        extra = (f' font-weight="{weight}"' if weight else "") + (f' text-anchor="{anchor}"' if anchor else "")
        colour = f' fill="{fill}"' if fill != INK else ""
        self.parts.append(f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}"{colour}{extra}>{escape(words)}</text>')

    def rect(self, x: float, y: float, w: float, h: float, fill: str, stroke: str = "") -> None:
        line = f' stroke="{stroke}"' if stroke else ""
        self.parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{max(w, 1):.0f}" height="{h:.0f}" '
                          f'fill="{fill}"{line}/>')

    def path(self, style: tuple[str, ...], d: str) -> None:
        """Add ``d`` to the one path of this ``style`` (its attributes, e.g. ``('fill="none"', ...)``); a mark
        drawn exactly where the same mark is already is left out (it would look the same)."""
        found = self.paths.setdefault(style, [])
        if d not in found[-40:]:
            found.append(d)

    def bar(self, style: tuple[str, ...], x0: float, x1: float, y: float, h: float) -> None:
        w = max(2, round(x1) - round(x0))
        self.path(style, f"M{x0:.0f} {y:.0f}h{w}v{h:.0f}h-{w}z")

    def markup(self, height: float, title: str, desc: str) -> Markup:
        """The whole picture: an image with its title and description (what a screen reader says)."""
        pid = escape(self.pid)
        paths = "".join(f'<path {" ".join(style)} d="{"".join(d)}"/>' for style, d in self.paths.items())
        html = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{pid}-t {pid}-d" '
                f'viewBox="0 0 {self.width} {height:.0f}" width="100%" font-family="{FONT}" class="picture-svg">'
                f'<title id="{pid}-t">{escape(title)}</title><desc id="{pid}-d">{escape(desc)}</desc>'
                f'<defs>{LATE_PATTERN.format(id=pid + "-late")}</defs>'
                f'{"".join(self.parts[:self.behind])}{paths}{"".join(self.parts[self.behind:])}</svg>')
        return Markup(html)  # noqa: S704 - every word is escaped (here, in text()); the rest: numbers, constants

    def keep_behind(self) -> None:
        self.behind = len(self.parts)


def legend(svg: Svg, y: float, items: list[tuple[str, str]]) -> float:
    """Legend entries (an SVG snippet of the symbol drawn at 0,0 in a 14×12 box, and its words), wrapped
    to the picture's width; returns the y below it."""
    x = 8.0
    for symbol, words in items:
        width = 26 + len(words) * 6.2
        if x + width > svg.width - 8 and x > 8:
            x, y = 8.0, y + 18
        svg.parts.append(f'<g transform="translate({x:.0f} {y - 10:.0f})">{symbol}</g>')
        svg.text(x + 24, y, words, size=11, fill=MUTED)
        x += width + 12
    return y + 10
