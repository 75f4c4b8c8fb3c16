"""The colloquial -> official vocabulary table (src/zhengwu/resources/colloquial.txt) used by query expansion.

Fast and offline: reads text files only (no model, no network, nothing from /work/shared).
"""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

TABLE = resources.files("zhengwu") / "resources" / "colloquial.txt"
CORPUS = Path(__file__).parents[3] / "corpus"
PROVENANCES = {"citizen_messages", "faq", "issue", "curated"}
# Official terms this general would match most of the corpus and drown the expansion's precision.
TOO_GENERAL = {
    "法律", "法规", "规定", "条例", "申请", "办理", "人民政府", "政府", "部门", "主管部门", "有关部门",
    "管理", "服务", "登记", "条件", "材料", "手续", "证明", "单位", "个人", "国家", "公民", "责任",
    "权利", "义务", "问题", "情况", "工作", "相关", "有关", "依法", "机关", "行政", "事项", "程序",
    "处理", "要求", "标准", "受理", "审批", "许可", "县级以上", "调整", "补偿", "赔偿", "户口", "老年人",
}


def parse(text: str) -> list[tuple[int, list[str], list[str], str]]:
    groups = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, _, tag = line.partition("#")
        assert "=>" in body, f"line {no} has no '=>': {raw!r}"
        left, _, right = body.partition("=>")
        groups.append((no, left.split(), right.split(), tag.strip()))
    return groups


@pytest.fixture(scope="module")
def groups():
    return parse(TABLE.read_text(encoding="utf-8"))


def test_every_line_parses_with_both_sides_and_a_known_provenance(groups):
    assert 350 <= len(groups) <= 500
    for no, colloquial, official, tag in groups:
        assert colloquial, f"line {no}: no colloquial terms"
        assert official, f"line {no}: no official terms"
        assert tag in PROVENANCES, f"line {no}: provenance {tag!r}"
        assert "=>" not in " ".join(colloquial + official), f"line {no}: more than one '=>'"


def test_header_counts_match_the_groups(groups):
    text = TABLE.read_text(encoding="utf-8")
    by_tag = Counter(tag for *_, tag in groups)
    header = next(line for line in text.splitlines() if line.startswith("# Groups:"))
    assert f"{len(groups)} in all" in header
    for tag, n in by_tag.items():
        assert f"{tag} {n}" in header


def test_no_official_term_is_too_general(groups):
    bad = [(no, t) for no, _, official, _ in groups for t in official if t in TOO_GENERAL]
    assert not bad


def test_no_one_character_colloquial_terms(groups):
    bad = [(no, t) for no, colloquial, _, _ in groups for t in colloquial if len(t) < 2]
    assert not bad


def test_no_colloquial_term_in_two_groups(groups):
    counts = Counter(t for _, colloquial, _, _ in groups for t in colloquial)
    assert not [t for t, n in counts.items() if n > 1]


def test_no_colloquial_term_is_an_official_term_of_another_group(groups):
    official_in = {}
    for i, (_, _, official, _) in enumerate(groups):
        for t in official:
            official_in.setdefault(t, set()).add(i)
    clashes = [(no, t) for i, (no, colloquial, _, _) in enumerate(groups)
               for t in colloquial if official_in.get(t, set()) - {i}]
    assert not clashes


def _expansions(groups, colloquial_term: str) -> list[str]:
    return [t for _, colloquial, official, _ in groups if colloquial_term in colloquial for t in official]


def test_issue_groups_are_present(groups):
    assert any("饮酒后驾驶" in t for t in _expansions(groups, "酒驾"))
    assert "提取" in _expansions(groups, "取公积金")
    assert "设立登记" in _expansions(groups, "开公司")
    assert "个人所得税" in _expansions(groups, "个税")
    assert "无理由退货" in _expansions(groups, "七天无理由")
    # 狗 itself is too short to be a colloquial term; the dog groups use 被狗咬, 养狗, ...
    dog_groups = [official for _, colloquial, official, _ in groups if any("狗" in t for t in colloquial)]
    assert any("饲养的动物" in official for official in dog_groups)


def test_official_terms_occur_in_the_bundled_corpus(groups):
    parts = [CORPUS / "laws", CORPUS / "service_guides"]
    files = [p for part in parts if part.is_dir() for p in part.rglob("*.md")]
    if not files:
        pytest.skip("bundled corpus not present")
    text = "\n\x00\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)
    missing = [(no, t) for no, _, official, _ in groups for t in official if t not in text]
    assert not missing, f"official terms not in the corpus: {missing[:20]}"
