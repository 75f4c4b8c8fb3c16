"""Jinja2 templates of the HTML reports, kept in Python so they ship with the package without package data.

Every template autoescapes: questions, answers, titles and ids are citizen or corpus text and are never trusted.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import DictLoader, Environment, StrictUndefined

CSS = """
:root { --fg:#1f2933; --muted:#5f6b76; --line:#e3e7eb; --bg:#f6f8fa; --card:#fff; --good:#2e8b57; --bad:#c0392b;
        --warn:#d98a1f; --accent:#2f6fb3; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
       font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
                   "WenQuanYi Micro Hei",system-ui,-apple-system,"Segoe UI",sans-serif;
       font-size:14px; line-height:1.55; }
main { max-width:1240px; margin:0 auto; padding:24px 28px 48px; }
header.top { background:#183b5b; color:#fff; padding:22px 28px; }
header.top .inner { max-width:1240px; margin:0 auto; }
header.top h1 { margin:0 0 4px; font-size:24px; font-weight:700; letter-spacing:.5px; }
header.top .sub { color:#c9d6e3; font-size:13px; }
header.top .sub span + span::before { content:"·"; margin:0 8px; color:#8fa6bc; }
h2 { font-size:18px; margin:32px 0 10px; padding-bottom:6px; border-bottom:2px solid var(--line); }
h2 small, h3 small { color:var(--muted); font-weight:400; font-size:13px; margin-left:6px; }
h3 { font-size:15px; margin:22px 0 8px; }
p.note, ul.note { color:var(--muted); font-size:12.5px; margin:4px 0 10px; }
ul.note { margin-top:12px; padding-left:20px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(150px,1fr)); gap:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px;
        border-top:4px solid var(--accent); }
.card.good { border-top-color:var(--good); } .card.bad { border-top-color:var(--bad); }
.card.warn { border-top-color:var(--warn); } .card.plain { border-top-color:#b8c2cc; }
.card .label { color:var(--muted); font-size:12.5px; }
.card .value { font-size:26px; font-weight:700; margin:2px 0; font-variant-numeric:tabular-nums; }
.card .hint { color:var(--muted); font-size:11.5px; }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(380px,1fr)); gap:14px; }
.chart { background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px; text-align:center; }
.chart img { width:100%; height:auto; }
.charts.single { grid-template-columns:minmax(0,680px); }
.tables { display:grid; grid-template-columns:repeat(auto-fit,minmax(560px,1fr)); gap:6px 22px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); font-size:13px; }
th, td { padding:6px 9px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { background:#eef2f5; font-weight:600; white-space:nowrap; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.good { color:var(--good); font-weight:600; } td.bad { color:var(--bad); font-weight:600; }
td.warn { color:var(--warn); font-weight:600; }
td.nowrap { white-space:nowrap; }
tr:nth-child(even) td { background:#fbfcfd; }
td.text { white-space:pre-wrap; word-break:break-word; }
table.fixed { table-layout:fixed; }
td.q { word-break:break-word; }
td.id { font-family:ui-monospace,"Noto Sans Mono CJK SC",monospace; font-size:11.5px; color:var(--muted);
        word-break:break-all; }
ol.titles { margin:0; padding-left:18px; } ol.titles li.hit { color:var(--good); font-weight:600; }
.tag { display:inline-block; padding:0 7px; margin:1px 3px 1px 0; border-radius:10px; font-size:11.5px;
       background:#fdecea; color:var(--bad); white-space:nowrap; }
.tag.ok { background:#e8f5ee; color:var(--good); } .tag.info { background:#eef2f5; color:var(--muted); }
.up { color:var(--good); } .down { color:var(--bad); } .flat { color:var(--muted); }
.empty { background:#fff; border:1px dashed var(--line); border-radius:8px; padding:14px; color:var(--muted); }
footer { color:var(--muted); font-size:12px; margin-top:36px; border-top:1px solid var(--line); padding-top:10px; }
"""

LAYOUT = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ css|safe }}</style>
</head>
<body>
<header class="top"><div class="inner">
<h1>{{ title }}</h1>
<div class="sub">{% for item in subtitle %}<span>{{ item }}</span>{% endfor %}</div>
</div></header>
<main>
{% block content %}{% endblock %}
<footer>{% block footer %}{% endblock %}</footer>
</main>
</body>
</html>
"""

MACROS = """
{% macro cards(items) -%}
<div class="cards">
{%- for c in items %}
<div class="card {{ c.tone }}"><div class="label">{{ c.label }}</div><div class="value">{{ c.value }}</div>
{%- if c.hint %}<div class="hint">{{ c.hint }}</div>{% endif %}</div>
{%- endfor %}
</div>
{%- endmacro %}

{% macro breakdown(table) -%}
<div>
<h3>{{ table.title }}{% if table.note %} <small>{{ table.note }}</small>{% endif %}</h3>
<table>
<thead><tr><th>{{ table.key_label }}</th><th class="num">n</th><th class="num">hit@1</th><th class="num">hit@5</th>
<th class="num">must_contain</th><th class="num">答错 wrong</th><th class="num">拒答 refused</th></tr></thead>
<tbody>
{%- for row in table.rows %}
<tr><td>{{ row.key }}</td><td class="num">{{ row.n }}</td>
{%- for cell in row.cells %}<td class="num {{ cell.tone }}">{{ cell.text }}</td>{% endfor %}</tr>
{%- endfor %}
</tbody>
</table>
</div>
{%- endmacro %}
"""

EVAL = """{% extends "layout.html" %}
{% import "macros.html" as m %}
{% block content %}
<h2>总体指标 <small>Headline metrics</small></h2>
{{ m.cards(cards) }}
<ul class="note">
<li>答对率 answered correct: of the answerable questions with must_contain, the share answered (not refused, not asked
back) with every must_contain element in the answer (must_contain alone also scores refusal texts).</li>
<li>答错率 wrong answers: of all questions, the share answered although wrong: an unanswerable question answered, an
answerable one answered with a must_contain element missing, or (without must_contain) answered citing none of
its gold documents. A wrong answer is worse than a refusal.</li>
<li>引用准确率 citation precision: over answered questions with gold documents, the mean share of an answer's citations
that are gold documents (an answer without citations counts 0).</li>
<li>转办率 handoff rate: of all questions, the share refused as a complaint, report, suggestion or request for help
and handed off to 12345 (reason handoff); these count as refusals in the refusal and false-refusal rates.</li>
</ul>

<h2>图表 <small>Charts</small></h2>
<div class="charts">
{%- for chart in charts %}
<div class="chart"><img src="{{ chart.src }}" alt="{{ chart.alt }}"></div>
{%- endfor %}
</div>

<h2>分项统计 <small>Breakdowns</small></h2>
<p class="note">hit@1 / hit@5: share of questions with a gold document among the first 1 / 5 retrieved (questions
with gold documents only). must_contain: share of answers containing every required string. wrong: share of the
group's questions answered although wrong (as 答错率 above). refused: share of the group's questions the assistant
refused (a refusal is right only for unanswerable questions).</p>
<div class="tables">
{%- for table in breakdowns %}
{{ m.breakdown(table) }}
{%- endfor %}
<div>
<h3>按拒答原因 · Refusals by reason <small>answerable ones are false refusals</small></h3>
{%- if reasons %}
<table>
<thead><tr><th>原因 reason</th><th>说明</th><th class="num">n</th><th class="num">of refused</th><th class="num">of all</th>
<th class="num">answerable</th><th class="num">unanswerable</th></tr></thead>
<tbody>
{%- for r in reasons %}
<tr><td>{{ r.reason }}</td><td>{{ r.label }}</td><td class="num">{{ r.n }}</td><td class="num">{{ r.share }}</td>
<td class="num">{{ r.of_all }}</td><td class="num">{{ r.answerable }}</td><td class="num">{{ r.unanswerable }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- else %}
<div class="empty">没有拒答 · No question was refused.</div>
{%- endif %}
</div>
</div>

<h2>最差问题 <small>Worst questions — {{ worst_title }}</small></h2>
{%- if worst %}
<table class="fixed">
<colgroup><col style="width:3%"><col style="width:9%"><col style="width:18%"><col style="width:15%"><col style="width:24%">
<col style="width:31%"></colgroup>
<thead><tr><th>#</th><th>id</th><th>问题 question</th><th>问题所在 problems</th><th>检索结果 retrieved (top 5)</th>
<th>回答 answer</th></tr></thead>
<tbody>
{%- for w in worst %}
<tr><td class="num">{{ loop.index }}</td><td class="id">{{ w.id }}{% if w.group %}<br>{{ w.group }}{% endif %}</td>
<td class="q">{{ w.question }}</td>
<td>{% for p in w.problems %}<span class="tag{% if p.minor %} info{% endif %}">{{ p.text }}</span>{% endfor %}
<br><span class="tag info">{{ w.status }}</span>{% if w.latency %}<span class="tag info">{{ w.latency }}</span>{% endif %}</td>
<td><ol class="titles">{% for t in w.titles %}<li{% if t.hit %} class="hit"{% endif %}>{{ t.title }}</li>
{%- else %}<li>—</li>{% endfor %}</ol></td>
<td class="text">{{ w.answer }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- if worst_more %}<p class="note">… and {{ worst_more }} more (see the JSON report).</p>{% endif %}
{%- else %}
<div class="empty">没有未命中的问题 · No misses: every answerable question found a gold document in the top 10, every
must_contain check passed, no answer was wrong and every unanswerable question was refused.</div>
{%- endif %}
{% endblock %}
{% block footer %}{{ footer }}{% endblock %}
"""

COMPARE = """{% extends "layout.html" %}
{% block content %}
<h2>指标变化 <small>Metric deltas (B − A)</small></h2>
<table>
<thead><tr><th>指标 metric</th><th class="num">A</th><th class="num">B</th><th class="num">Δ (B − A)</th><th></th></tr></thead>
<tbody>
{%- for d in metrics %}
<tr><td>{{ d.label }}</td><td class="num">{{ d.a }}</td><td class="num">{{ d.b }}</td>
<td class="num {{ d.tone }}">{{ d.arrow }} {{ d.delta }}</td><td>{{ d.verdict }}</td></tr>
{%- endfor %}
</tbody>
</table>
<p class="note">Matched by question id: {{ matched }} questions in both reports{% if only_a %}; {{ only_a }} only in A{% endif %}
{%- if only_b %}; {{ only_b }} only in B{% endif %}.</p>
{%- for section in sections %}
<h2>{{ section.title }} <small>{{ section.subtitle }}</small></h2>
{%- if section.rows %}
<table class="fixed">
<colgroup><col style="width:12%"><col style="width:22%"><col style="width:16%"><col style="width:25%"><col style="width:25%">
</colgroup>
<thead><tr><th>id</th><th>问题 question</th><th>变化 changes</th><th>A 回答 answer</th><th>B 回答 answer</th></tr></thead>
<tbody>
{%- for r in section.rows %}
<tr><td class="id">{{ r.id }}</td><td class="q">{{ r.question }}</td>
<td>{% for c in r.changes %}<span class="tag{% if c.better %} ok{% endif %}">{{ c.text }}</span>{% endfor %}</td>
<td class="text">{{ r.answer_a }}</td><td class="text">{{ r.answer_b }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- else %}
<div class="empty">{{ section.empty }}</div>
{%- endif %}
{%- endfor %}
{% endblock %}
{% block footer %}{{ footer }}{% endblock %}
"""

HEALTH = """{% extends "layout.html" %}
{% import "macros.html" as m %}
{% block content %}
<h2>概况 <small>Summary</small></h2>
{{ m.cards(cards) }}
{%- if chart %}
<div class="charts single" style="margin-top:14px"><div class="chart"><img src="{{ chart }}" alt="problems by kind"></div></div>
{%- endif %}
{%- for section in sections %}
<h2>{{ section.title }} <small>{{ section.subtitle }}</small></h2>
<p class="note">{{ section.note }}</p>
{%- if section.rows %}
<table>
<thead><tr>{% for h in section.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{%- for row in section.rows %}
<tr>{% for cell in row %}<td class="{% if loop.first %}id{% elif section.headers[loop.index0] in nowrap %}nowrap{% endif %}">
{{- cell }}</td>{% endfor %}</tr>
{%- endfor %}
</tbody>
</table>
{%- if section.more %}<p class="note">… and {{ section.more }} more (all of them are in the CSV export).</p>{% endif %}
{%- else %}
<div class="empty">{{ section.empty }}</div>
{%- endif %}
{%- endfor %}
{% endblock %}
{% block footer %}{{ footer }}{% endblock %}
"""


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=DictLoader({"layout.html": LAYOUT, "macros.html": MACROS, "eval.html": EVAL,
                           "compare.html": COMPARE, "health.html": HEALTH}),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.globals["css"] = CSS
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
