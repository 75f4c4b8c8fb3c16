"""The corpus converter (zhengwu.sources) on tiny fixture inputs; never reads the real data folder."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from zhengwu.cli import main
from zhengwu.documents.corpus import laws
from zhengwu.documents.corpus.build import BuildReport, build_corpus
from zhengwu.documents.corpus.gd_guides import format_time_limit

AS_OF = date(2025, 6, 1)


# --- fixture data ----------------------------------------------------------------------------------------------


def _guide(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "_id": {"$oid": "60ae6f94e995f7e541f057f2"},  # 0x60ae6f94 = 2021-05-26 UTC
        "TASK_CODE": "11440000006939756B2440101007000",
        "TASK_TYPE_TEXT": "行政许可",
        "CATANAME": "临时价格干预范围事项提价申报",
        "DEPT_NAME": "广东省发展和改革委员会 ",
        "AREA_CODE_TEXT": "广东省",
        "TASK_NAME": "临时价格干预范围事项提价申报",
        "URL": "https://www.gdzwfw.gov.cn/gaio/apply.html#/11440000006939756B2440101007000",
        "matter_name": "临时价格干预范围事项提价申报",
        "matter_short": "无",
        "matter_level": "省级",
        "visit_number": "0",
        "co_department": "无",
        "handle_location": "办理地点：广州市越秀区东风中路305号5号楼808房",
        "handle_time": "30(工作日)",
        "handle_time_limit": "7（工作日）",
        "accept_standard": "《广东省实施〈中华人民共和国价格法〉办法》第二十九条规定……",
        "consult_phone": "020-34121084",
        "courier_service": "是",
        "bear_paltform": "广东省政务服务网统一申办平台",
        "complain_phone": "020-83134173",
        "online_book": "是",
        "online_book_addr": "无",
        "theme_category": ["其他"],
        "service_object_name": ["自然人", "企业法人"],
        "material_intro": ["提价申报申请报告", "价格成本说明"],
    }
    record.update(overrides)
    return record


GUIDES = [
    _guide(),
    _guide(
        _id={"$oid": "60ae7790e995f7e541f05a00"},
        TASK_CODE="1144010000748373843440107001000",
        AREA_CODE_TEXT="广东省广州市",
        TASK_NAME="实验动物生产许可(变更)",
        matter_name="实验动物生产许可",
        CATANAME="实验动物生产和使用许可核准",
        matter_short="实验动物变更",
        DEPT_NAME="广州市科学技术局",
        matter_level="市级",
        handle_location="无线下办理窗口",
        handle_time="1(自然日)",
        handle_time_limit="无",
        visit_number="1",
        theme_category=["教育科研", "其他"],
    ),
    _guide(
        _id={"$oid": "60ae708ee995f7e541f0590e"},
        TASK_CODE="11440000006939844R2440715105000",
        TASK_NAME="公路施工作业验收",
        matter_name="公路施工作业验收",
        CATANAME="公路施工作业验收",
        URL=None,
        consult_phone=None,
        accept_standard="",
        material_intro="无",
        service_object_name=[],
        handle_time="无",
    ),
]


def _law(title: str, history: list[str], body: str, subtitle: str = "") -> str:
    head = [f"# {title}", ""]
    if subtitle:
        head += [f"# {subtitle}", ""]
    for line in history:
        head += [line, ""]
    return "\n".join(head) + "<!-- INFO END -->\n\n" + body


NPCSC = "第十届全国人民代表大会常务委员会第二十八次会议通过"
LAW_FILES: dict[str, str] = {
    "README.md": "# 法律法规\n",
    "社会法/_index.md": "---\nbookCollapseSection: true\n---",
    # Two versions of one title: the 2012 one is shipped.
    "社会法/劳动合同法(2007-06-29).md": _law(
        "中华人民共和国劳动合同法", [f"2007年6月29日 {NPCSC}"], "## 第一章 总则\n\n第一条 旧文本。\n"
    ),
    "社会法/劳动合同法(2012-12-28).md": _law(
        "中华人民共和国劳动合同法",
        [
            f"2007年6月29日 {NPCSC}",
            "2012年12月28日 第十一届全国人民代表大会常务委员会第三十次会议《关于修改<中华人民共和国劳动合同法>的决定》修正",
        ],
        "<!-- 注释 -->\n### 第一章 总则\n第一条 为了完善劳动合同制度，制定本法。\n第二条 新文本。\n　　第二款。\n\n#### 第一节 一般规定\n\n第三条 遵循合法原则。\n",
    ),
    # A split code: each part is its own document; 附则 repeals the 婚姻法.
    "民法典/婚姻家庭编.md": _law(
        "中华人民共和国民法典",
        ["2020年5月28日 第十三届全国人民代表大会第三次会议通过"],
        "## 第一章 一般规定\n\n第一千零四十条 本编调整因婚姻家庭产生的民事关系。\n",
        subtitle="婚姻家庭编",
    ),
    "民法典/附则.md": _law(
        "中华人民共和国民法典",
        ["2020年5月28日 第十三届全国人民代表大会第三次会议通过", "2021年1月1日 施行"],
        "##\n\n第一千二百六十条 本法自2021年1月1日起施行。《中华人民共和国婚姻法》、《中华人民共和国继承法》同时废止。\n",
        subtitle="附则",
    ),
    "民法商法/婚姻法(2001-04-28).md": _law(
        "中华人民共和国婚姻法", ["1980年9月10日 第五届全国人民代表大会第三次会议通过"], "第一条 旧婚姻法。\n"
    ),
    # Self-namesake: the 2024 条例 repeals the 1995 条例 of the same name; it must stay.
    "DLC/北京地方法规/地方性法规/北京/北京市机动车停车条例(2021-09-24).md": _law(
        "北京市机动车停车条例", ["2018年3月30日 北京市第十五届人民代表大会常务委员会第三次会议通过"], "第一条 旧。\n"
    ),
    "DLC/北京地方法规/地方性法规/北京/北京市机动车停车条例(2024-03-29).md": _law(
        "北京市机动车停车条例",
        ["2024年3月29日 北京市第十六届人民代表大会常务委员会第九次会议通过"],
        "\u200b\n\n## 第一章　总　　则\n\n第一条 为了加强本市机动车停车治理。\n\n"
        "第八十条 本条例自2024年5月1日起施行。1995年1月1日北京市人民代表大会常务委员会通过的《北京市机动车停车条例》同时废止。\n",
    ),
    # Date guard: a 2014 law repeals the 1993 国家安全法, but the shipped 国家安全法 is from 2015.
    "行政法/反间谍法(2014-11-01).md": _law(
        "中华人民共和国反间谍法",
        ["2014年11月1日 第十二届全国人民代表大会常务委员会第十一次会议通过"],
        "第四十条 本法自公布之日起施行。1993年2月22日通过的《中华人民共和国国家安全法》同时废止。\n",
    ),
    "行政法/国家安全法(2015-07-01).md": _law(
        "中华人民共和国国家安全法", ["2015年7月1日 第十二届全国人民代表大会常务委员会第十五次会议通过"], "第一条 新法。\n"
    ),
    # Partial repeal (one article) and a repeal not yet in force on AS_OF.
    "行政法规/工伤保险条例(2010-12-20).md": _law(
        "工伤保险条例",
        ["2003年4月27日 中华人民共和国国务院令第375号公布"],
        "第六十七条 本条例自2004年1月1日起施行。《企业职工工伤保险试行办法》第十条同时废止。\n",
    ),
    "行政法规/企业职工工伤保险试行办法(1996-08-12).md": _law("企业职工工伤保险试行办法", [], "第一条 试行。\n"),
    "经济法/增值税法(2024-12-25).md": _law(
        "中华人民共和国增值税法",
        ["2024年12月25日 第十四届全国人民代表大会常务委员会第十三次会议通过"],
        "第三十八条 本法自2026年1月1日起施行。《中华人民共和国增值税暂行条例》同时废止。\n",
    ),
    "行政法规/增值税暂行条例(2017-11-19).md": _law(
        "中华人民共和国增值税暂行条例", ["1993年12月13日 中华人民共和国国务院令第134号发布"], "第一条 暂行。\n"
    ),
    "部门规章/公安部/机动车登记规定(2021-12-17).md": _law("机动车登记规定", [], "## 第一章 总 则\n\n第一条 规范登记。\n"),
    # Left out by category.
    "司法解释/最高人民法院关于适用《民法典》婚姻家庭编的解释（一）(2020-12-29).md": _law(
        "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）", [], "第一条 解释。\n"
    ),
    "其他/劳动仲裁和劳动诉讼的攻略.md": _law("劳动仲裁和劳动诉讼的攻略", [], "攻略正文。\n"),
}


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    guides = root / "gd_service_guides"
    guides.mkdir(parents=True)
    lines = [json.dumps(record, ensure_ascii=False) for record in GUIDES]
    (guides / "policy.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for rel, text in LAW_FILES.items():
        path = root / "laws" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture()
def built(source: Path, tmp_path: Path) -> tuple[Path, BuildReport]:
    out = tmp_path / "corpus"
    return out, build_corpus(source, out, progress=False, as_of=AS_OF)


def _read(path: Path) -> tuple[dict[str, object], str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    yaml_text, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(yaml_text), body.strip("\n")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- service guides --------------------------------------------------------------------------------------------


def test_guides_are_filed_by_region_and_item_code(built: tuple[Path, BuildReport]) -> None:
    out, report = built
    assert sorted(p.relative_to(out).as_posix() for p in (out / "service_guides").rglob("*.md")) == [
        "service_guides/广东省/11440000006939756B2440101007000.md",
        "service_guides/广东省/11440000006939844R2440715105000.md",
        "service_guides/广州市/1144010000748373843440107001000.md",
    ]
    assert report.guides_written == 3
    assert report.guides_per_region == {"广东省": 2, "广州市": 1}


def test_guide_front_matter(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    front, _ = _read(out / "service_guides/广东省/11440000006939756B2440101007000.md")
    assert front == {
        "doc_id": "11440000006939756B2440101007000",
        "title": "临时价格干预范围事项提价申报",
        "doc_type": "service_guide",
        "region": "广东省",
        "department": "广东省发展和改革委员会",
        "updated": "2021-05-26",
        "source_url": "https://www.gdzwfw.gov.cn/gaio/apply.html#/11440000006939756B2440101007000",
        "status": "active",
        "item_name": "临时价格干预范围事项提价申报",
        "item_code": "11440000006939756B2440101007000",
    }
    city, _ = _read(out / "service_guides/广州市/1144010000748373843440107001000.md")
    assert city["region"] == "广州市"
    assert city["title"] == "实验动物生产许可(变更)"
    assert city["item_name"] == "实验动物生产许可"
    assert city["catalog_name"] == "实验动物生产和使用许可核准"
    assert city["matter_short"] == "实验动物变更"


def test_guide_body_has_every_field(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    _, body = _read(out / "service_guides/广东省/11440000006939756B2440101007000.md")
    assert body == (
        "# 临时价格干预范围事项提价申报\n\n"
        "## 基本信息\n"
        "- 事项名称：临时价格干预范围事项提价申报\n"
        "- 事项类型：行政许可\n"
        "- 实施主体：广东省发展和改革委员会\n"
        "- 服务对象：自然人、企业法人\n"
        "- 主题分类：其他\n"
        "- 事项层级：省级\n"
        "- 联办机构：无\n\n"
        "## 受理条件\n《广东省实施〈中华人民共和国价格法〉办法》第二十九条规定……\n\n"
        "## 申请材料\n1. 提价申报申请报告\n2. 价格成本说明\n\n"
        "## 办理时限\n- 法定办结时限：30个工作日\n- 承诺办结时限：7个工作日\n\n"
        "## 办理地点\n广州市越秀区东风中路305号5号楼808房\n\n"
        "## 到现场次数\n0次\n\n"
        "## 咨询电话\n020-34121084\n\n"
        "## 投诉电话\n020-83134173\n\n"
        "## 网上办理\n"
        "- 办理平台：广东省政务服务网统一申办平台\n"
        "- 网上预约：是\n"
        "- 预约地址：无\n"
        "- 快递送达：是\n"
        "- 办事指南链接：https://www.gdzwfw.gov.cn/gaio/apply.html#/11440000006939756B2440101007000"
    )


def test_guide_empty_values_and_time_formats(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    front, body = _read(out / "service_guides/广东省/11440000006939844R2440715105000.md")
    assert front["source_url"] == "https://www.gdzwfw.gov.cn/"  # no URL in the record: the portal home
    assert "- 办事指南链接：无" in body
    assert "## 咨询电话\n无\n" in body
    assert "## 受理条件\n无\n" in body
    assert "## 申请材料\n无\n" in body
    assert "- 服务对象：无" in body
    assert "- 法定办结时限：无" in body

    _, city = _read(out / "service_guides/广州市/1144010000748373843440107001000.md")
    assert "- 法定办结时限：1个自然日\n- 承诺办结时限：无" in city
    assert "## 办理地点\n无线下办理窗口\n" in city
    assert "## 到现场次数\n1次\n" in city
    assert "- 主题分类：教育科研、其他" in city


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30(工作日)", "30个工作日"), ("30（工作日）", "30个工作日"), ("1(自然日)", "1个自然日"), ("无", "无"), (None, "无")],
)
def test_format_time_limit(raw: str | None, expected: str) -> None:
    assert format_time_limit(raw) == expected


# --- laws ------------------------------------------------------------------------------------------------------


def test_law_files_and_counts(built: tuple[Path, BuildReport]) -> None:
    out, report = built
    assert sorted(p.relative_to(out / "laws").as_posix() for p in (out / "laws").rglob("*.md")) == [
        "北京地方性法规/北京市机动车停车条例.md",
        "民法典/中华人民共和国民法典·婚姻家庭编.md",
        "民法典/中华人民共和国民法典·附则.md",
        "社会法/中华人民共和国劳动合同法.md",
        "经济法/中华人民共和国增值税法.md",
        "行政法/中华人民共和国反间谍法.md",
        "行政法/中华人民共和国国家安全法.md",
        "行政法规/中华人民共和国增值税暂行条例.md",
        "行政法规/企业职工工伤保险试行办法.md",
        "行政法规/工伤保险条例.md",
        "部门规章/机动车登记规定.md",
    ]
    assert report.laws_written == 11
    assert report.laws_skipped_older == 2  # 劳动合同法 2007, 北京市机动车停车条例 2021
    assert report.laws_excluded == {"其他": 1, "司法解释": 1}
    assert [r.title for r in report.laws_repealed] == ["中华人民共和国婚姻法"]
    assert report.laws_repealed[0].repealed_by == "中华人民共和国民法典·附则"
    assert report.laws_repealed[0].effective == "2021-01-01"


def test_latest_version_is_shipped(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    front, body = _read(out / "laws/社会法/中华人民共和国劳动合同法.md")
    title = "中华人民共和国劳动合同法"
    assert front["doc_id"] == "law-" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:10]
    assert front["title"] == title
    assert front["doc_type"] == "law"
    assert front["region"] == "全国"
    assert front["department"] == "全国人民代表大会常务委员会"
    assert front["updated"] == "2012-12-28"
    assert front["status"] == "active"
    assert front["category"] == "社会法"
    assert front["source_url"] == (
        "https://github.com/LawRefBook/Laws/blob/master/"
        "%E7%A4%BE%E4%BC%9A%E6%B3%95/%E5%8A%B3%E5%8A%A8%E5%90%88%E5%90%8C%E6%B3%95%282012-12-28%29.md"
    )
    assert str(front["promulgation"]).startswith(f"2007年6月29日 {NPCSC} 2012年12月28日")
    assert "旧文本" not in body
    # Headings shifted so the top chapter level is ##, HTML comments gone, one paragraph per article,
    # <…> nested titles written the official way.
    assert body == (
        "# 中华人民共和国劳动合同法\n\n"
        f"> 2007年6月29日 {NPCSC}\n"
        "> 2012年12月28日 第十一届全国人民代表大会常务委员会第三十次会议《关于修改〈中华人民共和国劳动合同法〉的决定》修正\n\n"
        "## 第一章 总则\n\n"
        "第一条 为了完善劳动合同制度，制定本法。\n\n"
        "第二条 新文本。\n\n"
        "第二款。\n\n"
        "### 第一节 一般规定\n\n"
        "第三条 遵循合法原则。"
    )


def test_split_code_parts_are_separate_documents(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    front, body = _read(out / "laws/民法典/中华人民共和国民法典·婚姻家庭编.md")
    assert front["title"] == "中华人民共和国民法典·婚姻家庭编"
    assert front["department"] == "全国人民代表大会"
    assert front["updated"] == "2020-05-28"  # no date in the file name: the latest history date
    assert body.startswith("# 中华人民共和国民法典·婚姻家庭编\n\n> 2020年5月28日")
    assert "# 婚姻家庭编" not in body
    _, appendix = _read(out / "laws/民法典/中华人民共和国民法典·附则.md")
    assert "\n##\n" not in appendix and not appendix.endswith("##")  # an empty heading is dropped


def test_beijing_regulation_self_namesake_is_not_repealed(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    front, body = _read(out / "laws/北京地方性法规/北京市机动车停车条例.md")
    assert front["region"] == "北京市"
    assert front["category"] == "北京地方性法规"
    assert front["department"] == "北京市人民代表大会常务委员会"
    assert front["updated"] == "2024-03-29"
    assert "\u200b" not in body
    assert "## 第一章 总 则" in body


def test_repeal_detection_respects_dates_and_partial_repeals(built: tuple[Path, BuildReport]) -> None:
    out, report = built
    assert not (out / "laws/民法商法").exists()  # the only law there was repealed
    assert (out / "laws/行政法/中华人民共和国国家安全法.md").exists()  # newer than the repealing text
    assert (out / "laws/行政法规/企业职工工伤保险试行办法.md").exists()  # only one article repealed
    assert [r.title for r in report.laws_repeal_pending] == ["中华人民共和国增值税暂行条例"]
    sources = (out / "SOURCES.md").read_text(encoding="utf-8")
    assert "中华人民共和国婚姻法 (`民法商法`, version 2001-04-28): repealed by 中华人民共和国民法典·附则" in sources


def test_repeal_applies_once_in_force(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "later"
    report = build_corpus(source, out, progress=False, as_of=date(2026, 6, 1))
    assert "中华人民共和国增值税暂行条例" in [r.title for r in report.laws_repealed]
    assert not (out / "laws/行政法规/中华人民共和国增值税暂行条例.md").exists()


def test_ministry_rule_department_and_missing_history(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    front, body = _read(out / "laws/部门规章/机动车登记规定.md")
    assert front["department"] == "公安部"
    assert front["updated"] == "2021-12-17"
    assert front["promulgation"] == ""
    assert body.startswith("# 机动车登记规定\n\n## 第一章 总 则\n\n第一条 规范登记。")
    state, _ = _read(out / "laws/行政法规/工伤保险条例.md")
    assert state["department"] == "国务院"


def test_repealed_titles_parsing() -> None:
    text = (
        "第九十条 本条例自2004年6月1日起施行，1988年9月27日国务院发布的《基金会管理办法》、"
        "《外国商会管理暂行规定》（国发〔1989〕1号）和《甲条例》同时废止。\n"
        "第九十一条 《乙条例》第十条同时废止；《丙办法》中有关看守所的规定即行废止。\n"
        "第九十二条 制定机关应当及时修改或者废止《丁规定》的相关规定。\n"
    )
    assert laws.repealed_titles(text) == ["基金会管理办法", "外国商会管理暂行规定", "甲条例"]
    assert laws.repeal_mentions(text)[0].effective == "2004-06-01"


# --- the build as a whole --------------------------------------------------------------------------------------


def test_every_front_matter_is_valid_yaml(built: tuple[Path, BuildReport]) -> None:
    out, _ = built
    for path in list((out / "service_guides").rglob("*.md")) + list((out / "laws").rglob("*.md")):
        front, body = _read(path)
        assert {"doc_id", "title", "doc_type", "region", "source_url", "status"} <= set(front), path
        assert body.startswith(f"# {front['title']}\n"), path


def test_output_loads_with_the_corpus_loader(built: tuple[Path, BuildReport]) -> None:
    from zhengwu.documents.loaders import load_paths

    out, report = built
    result = load_paths([out], root=out)
    assert result.errors == []
    assert len(result.documents) == report.guides_written + report.laws_written  # README / SOURCES skipped
    by_id = {doc.doc_id: doc for doc in result.documents}
    guide = by_id["11440000006939756B2440101007000"]
    assert (guide.doc_type, guide.region, guide.updated) == ("service_guide", "广东省", "2021-05-26")


def test_build_is_deterministic(source: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    build_corpus(source, first, progress=False, as_of=AS_OF)
    build_corpus(source, second, progress=False, as_of=AS_OF)
    assert _tree(first) == _tree(second)
    again = build_corpus(source, first, progress=False, as_of=AS_OF)
    assert again.files_changed == 0
    assert _tree(first) == _tree(second)


def test_stale_files_removed_and_other_files_kept(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    (out / "service_guides/广东省").mkdir(parents=True)
    (out / "service_guides/广东省/OLD_CODE.md").write_text("---\ndoc_id: OLD_CODE\n---\n旧\n", encoding="utf-8")
    (out / "laws/已删除类别").mkdir(parents=True)
    (out / "laws/已删除类别/旧法.md").write_text("# 旧法\n", encoding="utf-8")
    (out / "README.md").write_text("staff notes\n", encoding="utf-8")
    (out / "local").mkdir()
    (out / "local/note.md").write_text("# 本地说明\n", encoding="utf-8")

    report = build_corpus(source, out, progress=False, as_of=AS_OF)

    assert report.stale_removed == 2
    assert not (out / "service_guides/广东省/OLD_CODE.md").exists()
    assert not (out / "laws/已删除类别").exists()  # emptied folder removed too
    assert (out / "README.md").read_text(encoding="utf-8") == "staff notes\n"
    assert (out / "local/note.md").exists()
    assert (out / "SOURCES.md").exists()


def test_hand_written_document_replaces_generated_one(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    build_corpus(source, out, progress=False, as_of=AS_OF)
    generated = out / "service_guides/广东省/11440000006939756B2440101007000.md"
    (out / "local").mkdir()
    moved = out / "local/11440000006939756B2440101007000.md"
    moved.write_text(generated.read_text(encoding="utf-8").replace("020-34121084", "020-12345"), encoding="utf-8")

    report = build_corpus(source, out, progress=False, as_of=AS_OF)

    assert report.overridden_by_hand == ["11440000006939756B2440101007000"]
    assert not generated.exists()
    assert "020-12345" in moved.read_text(encoding="utf-8")


def test_cli_reports_missing_source_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["corpus", "build", "--source", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    assert "gd_service_guides/policy.json" in result.output
    assert "laws/" in result.output
    assert not (tmp_path / "o").exists()


def test_cli_builds(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(main, ["corpus", "build", "--source", str(source), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Service guides written: 3" in result.output
    assert (out / "laws/社会法/中华人民共和国劳动合同法.md").exists()
    help_text = CliRunner().invoke(main, ["corpus", "build", "--help"]).output
    assert "--source" in help_text and "--out" in help_text
