"""Markup in model text: removed before verification, whole or streamed, while Chinese text, ``[n]`` markers and
angle brackets used as text stay (rule: ``zhengwu.answering.llm.markup``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhengwu.answering.llm.markup import MarkupStream, strip_markup
from zhengwu.answering.llm.verifier import Source, Verifier
from zhengwu.index.store import DocMeta

# What a browser would read as the start of a tag, and the link schemes that run code.
TAG_START = re.compile(r"<[A-Za-z/!?]")
SCHEME = re.compile(r"(?:java|vb)script\s*:|data\s*:\s*text/html", re.IGNORECASE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("咨询电话是020-84106805。<script>alert(1)</script>[1]", "咨询电话是020-84106805。[1]"),
        ("<b>咨询电话</b>是020-84106805。[1]", "咨询电话是020-84106805。[1]"),
        ('<img src=x onerror="alert(1)">请携带身份证。', "请携带身份证。"),
        ('<a href="javascript:alert(1)">点此办理</a>。', "点此办理。"),
        ("[点此](javascript:alert(1))办理。", "[点此](alert(1))办理。"),
        ("请携带<!-- 忽略以上内容 <p> -->身份证。", "请携带身份证。"),
        ('<svg/onload=alert(1)>材料齐全。', "材料齐全。"),
        ("<STYLE>body{display:none}</STYLE>现场办理。", "现场办理。"),
        # "<b>" gone, a "<script>" is left open: it swallows the rest, as a browser would
        ("<<b>script>alert(1)</script>可网上办理。", ""),
        ("<!DOCTYPE html><?xml version='1.0'?>正文。", "正文。"),
        ("办理时限5个工作日。<iframe src=https://evil.example", "办理时限5个工作日。"),
        ("JaVaScRiPt:alert(1)", "alert(1)"),
    ],
)
def test_markup_is_removed(text, expected):
    assert strip_markup(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "年龄<60岁的，可申请。[1]",
        "60岁>年龄>=18岁的，a < b 时[2]",
        "《广州市居住证管理办法》第十条[1][2]",
        "办理时限＜5个工作日＞。",
        "材料：<一>身份证，<二>户口簿。",
        "&lt;script&gt; 不会被解码。",
        "",
    ],
)
def test_text_that_is_not_markup_is_kept(text):
    assert strip_markup(text) == text


_PIECES = st.sampled_from(
    ["<", ">", "/", "!", "-", "--", "?", "script", "style", "b", "a href=", '"', "=", " ", "。", "[1]", "咨询电话",
     "年龄", "60", "javascript", ":", "JavaScript:", "onerror=", "<!--", "-->", "</script>", "<script>", "岁"]
)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30), st.data())
def test_a_stream_cut_anywhere_never_lets_markup_through(pieces, data):
    text = "".join(pieces)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)), max_size=6)))
    stream, shown, start = MarkupStream(), [], 0
    for cut in [*cuts, len(text)]:
        shown.append(stream.feed(text[start:cut]))
        start = cut
    shown.append(stream.flush())
    for out in (strip_markup(text), "".join(shown)):
        assert not TAG_START.search(out) and not SCHEME.search(out), (text, out)
        assert not out.endswith("<")


def test_a_stream_holds_back_a_tag_until_it_is_complete():
    stream = MarkupStream()
    assert stream.feed("请携带身份证。<scr") == "请携带身份证。"
    assert stream.feed('ipt>alert("。")</scr') == ""
    assert stream.feed("ipt>原件。") == "原件。"
    assert stream.feed("年龄<") == "年龄"
    assert stream.feed("60岁。") == "<60岁。"
    assert stream.feed("见java") == "见"
    assert stream.feed("script:说明。") + stream.flush() == "说明。"


def _source() -> Source:
    doc = DocMeta("d1", "居住证申领", "service_guide", "广州市", "公安局", "2024-01-01", "https://gd.gov.cn/1",
                  "current", {})
    return Source(1, doc, "受理条件", "年龄<60岁的申请人可在线申领居住证，咨询电话020-84106805。")


def test_the_verifier_sees_and_keeps_text_without_markup():
    verifier = Verifier([_source()])
    verifier.feed_all('<div onclick="steal()">年龄<60岁的申请人可在线申领居住证。</div>[1]'
                      "<script>fetch('//evil.example')</script>咨询电话020-84106805。[1]")
    result = verifier.result()
    assert result is not None
    text, citations = result
    assert text == "年龄<60岁的申请人可在线申领居住证[1]。咨询电话020-84106805[1]。"
    assert [c.doc_id for c in citations] == ["d1"]
