"""The report as one self-contained HTML page: its table, and a chart for each key with a target.

Each chart is a small inline SVG drawn here (no charting library: bars, a line and a few
labels are clearer as forty lines than as a dependency): the cumulative count at the
end of every month of the partnership's period as bars, the target as a dashed line,
today's month as a dotted line when it lies in the period. Colours are Okabe-Ito's
blue and vermillion (safe for colour-blind readers) and the three marks differ in shape
too (filled bars, dashes, dots), so the page reads in black and white on paper. Nothing
is fetched: no script, no font, no image from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from cxc.report.formats import NO_TARGET, _scope, _status
from cxc.report.measures import Deliverable, Evidence, Report

BLUE = "#0072B2"
VERMILLION = "#D55E00"

WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 22, 38


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    """What the bar says on hover and to a screen reader: month and count."""


@dataclass(frozen=True)
class Tick:
    x: float
    text: str
    year: str | None
    """The year, under the first month and every January."""


@dataclass(frozen=True)
class Chart:
    deliverable: Deliverable
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    target_y: float
    today_x: float | None
    y_labels: tuple[tuple[float, int], ...]
    summary: str

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def chart(d: Deliverable, months: tuple[date, ...], counts: tuple[int, ...],
          today: date | None) -> Chart:
    """The geometry of one deliverable's chart."""
    target = d.target or 0
    top_value = max([target, *counts, 1])
    scale = (HEIGHT - BOTTOM - TOP) / (top_value * 1.1)
    step = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    base = HEIGHT - BOTTOM

    def y(value: int) -> float:
        return round(base - value * scale, 1)

    bars = tuple(Bar(round(LEFT + i * step + step * 0.12, 1), y(count),
                     round(step * 0.76, 1), round(count * scale, 1),
                     f"{month:%B %Y}: {count}")
                 for i, (month, count) in enumerate(zip(months, counts, strict=True)))
    ticks = tuple(Tick(round(LEFT + (i + 0.5) * step, 1), f"{month:%b}"[:1],
                       str(month.year) if i == 0 or month.month == 1 else None)
                  for i, month in enumerate(months))
    today_x = None
    if today is not None:
        this_month = today.replace(day=1)
        if this_month in months:
            today_x = round(LEFT + (months.index(this_month) + 0.5) * step, 1)
    y_labels = tuple(sorted({(y(0), 0), (y(target), target), (y(top_value), top_value)}))
    last = counts[-1] if counts else d.actual
    summary = (f"{d.label}: cumulative count month by month, {last} by "
               f"{months[-1]:%B %Y} against a target of {target}" if months else d.label)
    return Chart(d, bars, ticks, y(target), today_x, y_labels, summary)


PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
  body { font-family: system-ui, "Segoe UI", Helvetica, Arial, sans-serif; color: #000;
         background: #fff; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; line-height: 1.4; }
  h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
  p.scope { margin-top: 0; color: #333; }
  table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; font-size: 0.95rem; }
  th, td { border-bottom: 1px solid #999; padding: 0.3rem 0.5rem; text-align: left; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  code { font-size: 0.85em; }
  figure { margin: 0 0 2rem; break-inside: avoid; page-break-inside: avoid; }
  figcaption { font-weight: 600; margin-bottom: 0.3rem; }
  svg { width: 100%; height: auto; display: block; }
  svg text { font-family: inherit; font-size: 11px; fill: #000; }
  .legend { font-size: 0.85rem; }
  .key-bar { display: inline-block; width: 0.9em; height: 0.9em; background: {{ blue }};
             vertical-align: -0.1em; }
  .key-target { display: inline-block; width: 1.6em; border-top: 2px dashed {{ vermillion }};
                vertical-align: 0.3em; }
  .key-today { display: inline-block; width: 1.6em; border-top: 2px dotted #000;
               vertical-align: 0.3em; }
  @media print { body { margin: 0; max-width: none; } }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="scope">Deliverables, {{ scope }}; held programmes and attended participants only.</p>
{% if errors %}<p><strong>Warning:</strong> the store has {{ errors }} error{{ "s" if errors != 1 }}
(see <code>cxc validate</code>); reported anyway, the counts may be wrong.</p>{% endif %}
<table>
<thead><tr><th>Key</th><th>Deliverable</th><th class="n">Actual</th><th class="n">Target</th>
<th class="n">Progress</th><th>Status</th></tr></thead>
<tbody>
{% for d in report.deliverables %}<tr><td><code>{{ d.key }}</code></td><td>{{ d.label }}</td>
<td class="n">{{ d.actual }}</td><td class="n">{{ no_target if d.target is none else d.target }}</td>
<td class="n">{{ "" if d.percent is none else d.percent ~ "%" }}</td><td>{{ status(d) }}</td></tr>
{% endfor %}</tbody>
</table>
{% if charts %}<h2>Against the targets, month by month</h2>
<p class="legend"><span class="key-bar"></span> count so far &nbsp;
<span class="key-target"></span> target &nbsp;
{% if today_marked %}<span class="key-today"></span> this month ({{ today }}){% endif %}</p>
{% for c in charts %}<figure id="{{ c.deliverable.key }}">
<figcaption>{{ c.deliverable.label }} (<code>{{ c.deliverable.key }}</code>):
{{ c.deliverable.actual }} of {{ c.deliverable.target }}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{ c.width }} {{ c.height }}" role="img"
 aria-label="{{ c.summary }}">
<title>{{ c.summary }}</title>
<line x1="{{ c.left }}" y1="{{ c.bottom }}" x2="{{ c.right }}" y2="{{ c.bottom }}" stroke="#000" stroke-width="1"/>
<line x1="{{ c.left }}" y1="{{ c.top }}" x2="{{ c.left }}" y2="{{ c.bottom }}" stroke="#000" stroke-width="1"/>
{% for y, value in c.y_labels %}<text x="{{ c.left - 6 }}" y="{{ y + 4 }}" text-anchor="end">{{ value }}</text>
{% endfor %}{% for b in c.bars %}<rect x="{{ b.x }}" y="{{ b.y }}" width="{{ b.width }}" height="{{ b.height }}" fill="{{ blue }}"><title>{{ b.label }}</title></rect>
{% endfor %}<line class="target" x1="{{ c.left }}" y1="{{ c.target_y }}" x2="{{ c.right }}" y2="{{ c.target_y }}" stroke="{{ vermillion }}" stroke-width="2.5" stroke-dasharray="8 5"/>
<text x="{{ c.left + 4 }}" y="{{ c.target_y - 5 }}">target {{ c.deliverable.target }}</text>
{% if c.today_x is not none %}<line class="today" x1="{{ c.today_x }}" y1="{{ c.top - 8 }}" x2="{{ c.today_x }}" y2="{{ c.bottom }}" stroke="#000" stroke-width="2" stroke-dasharray="2 3"/>
<text x="{{ c.today_x - 4 if c.today_x > c.right - 60 else c.today_x + 4 }}" y="{{ c.top - 2 }}" text-anchor="{{ 'end' if c.today_x > c.right - 60 else 'start' }}">today</text>
{% endif %}{% for t in c.ticks %}<text x="{{ t.x }}" y="{{ c.bottom + 14 }}" text-anchor="middle">{{ t.text }}</text>
{% if t.year %}<text x="{{ t.x - 4 }}" y="{{ c.bottom + 28 }}">{{ t.year }}</text>
<line x1="{{ t.x - 6 }}" y1="{{ c.bottom }}" x2="{{ t.x - 6 }}" y2="{{ c.bottom + 30 }}" stroke="#000" stroke-width="0.5"/>
{% endif %}{% endfor %}</svg>
</figure>
{% endfor %}{% elif has_targets %}<p>No charts: the store holds no partnership, so its period is unknown.</p>
{% endif %}<p class="legend">Made by cxc on {{ today }}. <code>cxc report --explain KEY</code> lists what stands behind a number.</p>
</body>
</html>
"""

EVIDENCE_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ d.label }}: what stands behind the count</title>
<style>
  body { font-family: system-ui, "Segoe UI", Helvetica, Arial, sans-serif; color: #000;
         background: #fff; margin: 2rem auto; max-width: 52rem; padding: 0 1rem; }
  table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
  th, td { border-bottom: 1px solid #999; padding: 0.3rem 0.5rem; text-align: left; }
</style>
</head>
<body>
<h1>{{ d.label }} (<code>{{ d.key }}</code>): {{ d.actual }}, target {{ "none" if d.target is none else d.target }}</h1>
<p>{{ scope }}</p>
<table>
<thead><tr>{% for c in evidence.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in evidence.rows %}<tr>{% for cell in row %}<td>{% if loop.index0 == programme_column and cell in sheets %}<a href="{{ sheets[cell] }}">{{ cell }}</a> <small>(<a href="{{ sheets[cell] }}">attendance sheets</a>)</small>{% else %}{{ "" if cell is none else cell }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
<p><em>{{ evidence.note }}</em></p>
</body>
</html>
"""


def report_html(report: Report) -> str:
    """The report as a page: the table, and a chart for every key that has a target."""
    import jinja2

    monthly = dict(report.monthly)
    charts = [chart(d, report.months, monthly[d.key], report.today)
              for d in report.deliverables if d.target is not None and d.key in monthly]
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    return env.from_string(PAGE).render(
        title=report.partnership or "Deliverables", report=report, errors=report.errors,
        scope=_scope(report.period, report.partner), status=_status, no_target=NO_TARGET,
        charts=charts, blue=BLUE, vermillion=VERMILLION, today=report.today,
        today_marked=any(c.today_x is not None for c in charts),
        has_targets=any(d.target is not None for d in report.deliverables))


def evidence_html(evidence: Evidence, sheets: Mapping[str, str] | None = None) -> str:
    """What stands behind one deliverable's count, as a page with one table.

    ``sheets`` maps a programme id to the link of its attendance sheets: each held
    programme in the table links to the signed lists that prove it."""
    import jinja2

    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    column = evidence.columns.index("programme") if "programme" in evidence.columns else -1
    return env.from_string(EVIDENCE_PAGE).render(
        evidence=evidence, d=evidence.deliverable, sheets=sheets or {},
        programme_column=column, scope=_scope(evidence.period, evidence.partner))
