"""Is a message a question to answer, or a matter to hand off?

Citizens write to a government assistant as they write to a 问政 platform: besides questions (咨询) they send
complaints (投诉), reports of wrongdoing (举报), suggestions (建议) and pleas for help (求助), nearly always about
a local matter — a named 小区, village, road, school or company. None of these is answered by quoting a law: the
right reply says how to lodge it (12345, the city's 留言 platform, the department's complaint line), and staff get
a structured record of it.

A message is weighed, not matched: the cues of a matter to lodge (a leading 投诉/反映/建议…, an appeal to 领导 or
有关部门, a plea to act, a long first-person account, a named local place) add up against the cues of a question
(short, ending in a question about a rule, a field or a procedure). ``HANDOFF_SCORE`` is where the weight tips;
``docs/answerability.md`` shows how it was measured (development messages, and held-out platform messages the
project does not ship).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from zhengwu.answering.vocabulary import HANDOFF_CATEGORY_LABELS, HandoffCategory
from zhengwu.chinese import normalize
from zhengwu.retrieval.query import find_regions

Kind = HandoffCategory

HANDOFF_SCORE = 3.0

# The first clause of a platform message is its subject line: "投诉K9县教育局拖欠教师工资。" Its verb names the kind.
_LEADING: list[tuple[Kind, re.Pattern[str]]] = [
    ("report", re.compile(r"^(再次|实名)?(举报|检举|揭发)")),
    ("complaint", re.compile(r"^(再次|强烈)?(投诉|控告|反映|反应|质疑|不满)|^对.{1,40}(表示|提出)(质疑|不满|异议)")),
    ("suggestion", re.compile(r"^(强烈|真诚|真心|诚恳)?(建议|希望|呼吁|请求|恳请|提议|期盼|盼望|要求)")),
    ("help", re.compile(r"^(紧急)?(求助|求救|救救|请求帮助)")),
]
# Anywhere in the message.
_KIND_CUES: list[tuple[Kind, re.Pattern[str]]] = [
    ("report", re.compile(r"举报|检举|揭发|涉嫌.{0,6}(违法|犯罪|贪污|受贿|诈骗)|非法(经营|采砂|开采|集资|占用|营运|行医)"
                          r"|赌博|传销|黑恶")),
    ("complaint", re.compile(r"投诉|扰民|噪音|噪声|污染|拖欠|乱收费|违建|违章建筑|私搭乱建|偷排|臭味|不作为|推诿|刁难"
                             r"|态度(恶劣|极差|很差)|强拆|霸王条款|欺骗|坑害|侵占|霸占|克扣")),
    ("help", re.compile(r"求助|求救|走投无路|维权无门|(请|求).{0,6}(做主|帮帮|帮助我|救救)|给个说法|讨个说法|生活困难")),
    ("suggestion", re.compile(r"建议|呼吁|提议|希望(政府|相关部门|有关部门|领导|能够|能|可以|尽快|早日|加快|增加|增设)"
                              r"|恳请|请求(政府|领导|相关部门|有关部门|解决|增设|增加|修建|保留|尽快)")),
]
# Speaking to the authorities rather than asking about a rule.
_ADDRESSING = re.compile(r"尊敬的|领导|市长|县长|区长|镇长|书记|局长|主任您好|有关部门|相关部门|贵局|贵单位|各位领导|政府部门")
_PLEA = re.compile(
    r"望(回复|答复|解决|处理|重视|关注|领导)|盼复|请回复|敬请|恳请|呼吁|给个说法|讨个说法"
    r"|(希望|请|要求|请求).{0,12}(解决|处理|重视|关注|管一管|管管|督促|查处|整改|取缔|落实|调查|核实|拆除|回复|答复)"
)
# Asking an authority to act on it ("请交通部门限制大货车进村", "麻烦城管安排维修", "请纪委介入调查").
_APPEAL = re.compile(
    r"(请|麻烦|恳求|恳请|希望|要求|求)[^。，,；]{0,8}(部门|城管|街道|社区|交警|派出所|公安|纪委|政府|监察|执法|消防|环保|居委)"
    r"[^。，,；]{0,10}(来|管|查|处理|整治|处罚|督促|介入|调查|核实|解决|维修|清运|帮|看看|限制|取缔|公开)"
)
_UNHEARD = re.compile(r"有没有人管|没人管|无人管|没有人管|没动静|没有结果|没有回复|互相推诿|踢皮球|不予理睬|置之不理")
# Places a platform masks (A市, K9县, E12市, 西地省) and local entities a message is about.
_MASKED_PLACE = re.compile(r"(?<![A-Za-z])[A-Za-z][0-9]{0,2}(市|区|县|镇|乡)|西地省")
_LOCAL_ENTITY = re.compile(r"[\u4e00-\u9fff]{2,8}(小区|村委|村民|社区|街道|镇|乡|楼盘|花园|广场|大道|中学|小学|学校|公司|厂)"
                           r"|业主|住户|村民|本村|我村|我们村|我们小区|我们公司")
_LEAD_WORDS = re.compile(r"^(再次|实名|强烈)?(投诉|举报|反映|反应|建议|请求|希望|咨询|关于|对|呼吁|恳请|求助)+")
_FIRST_PERSON = re.compile(r"本人|我们|我是|我家|我村|我单位")
# What questions look like: a question about a rule, a field or a procedure, short enough to be one.
_QUESTION_END = re.compile(r"(吗|么|呢|怎么办|咋办|怎么处理|怎么弄|多少|几天|多久|哪里|哪儿|哪个部门|谁负责|是什么|有哪些|如何|怎样)[？?。!！\s]*$")
_FIELD_ASK = re.compile(r"(向|到|去|找)(哪|什么|哪个|哪些).{0,4}(部门|单位|地方|机构)|电话是多少|(打|拨)?(哪个|什么)电话|在哪里办"
                        r"|(奖励|补贴|奖金).{0,4}(怎么|如何)(领|申请)|怎么(投诉|举报|反映)"
                        r"|如何(投诉|举报|反映)|(投诉|举报)(电话|渠道|方式)")

SHORT = 60  # characters: a message this short that ends as a question is read as a question
LONG, VERY_LONG = 120, 250

# Which department a matter is for, by what it is about: a guess staff correct, never shown as a fact.
_DEPARTMENTS: list[tuple[str, re.Pattern[str]]] = [
    ("住房公积金管理中心", re.compile(r"公积金")),
    ("教育局", re.compile(r"教育|学校|小学|中学|幼儿园|老师|教师|招生|学位|中考|高考|学生|校车")),
    ("公安局", re.compile(r"赌博|治安|诈骗|派出所|户口|户籍|警察|公安|盗窃|打架|传销|黑恶")),
    ("公安交警", re.compile(r"交警|违章停车|违停|闯红灯|驾驶证|行驶证|车牌")),
    ("生态环境局", re.compile(r"污染|排放|偷排|臭味|环保|水源|噪音|噪声|粉尘|废气|废水")),
    ("城市管理局", re.compile(r"城管|摆摊|占道|违建|违章建筑|私搭乱建|垃圾|路灯|广告牌")),
    ("交通运输局", re.compile(r"公交|地铁|站点|客运|出租车|网约车|高铁|道路|公路|红绿灯|天桥|修路|硬化")),
    ("住房和城乡建设局", re.compile(r"物业|业主|小区|开发商|楼盘|交房|房产|商品房|安置房|拆迁|棚改|电梯|建筑")),
    ("人力资源和社会保障局", re.compile(r"工资|劳动|社保|养老保险|失业|就业|用工|加班|辞退|劳务|农民工")),
    ("医疗保障局", re.compile(r"医保|报销|参保")),
    ("卫生健康委员会", re.compile(r"医院|卫生|疫苗|医疗|医生|诊所|计生")),
    ("市场监督管理局", re.compile(r"食品|商家|消费|价格|收费|市场|超市|商品|假货|网吧|KTV|药店")),
    ("自然资源局", re.compile(r"土地|宅基地|采砂|采石|矿|征地|国土")),
    ("农业农村局", re.compile(r"农村|农业|种植|养殖|扶贫|村民|补贴|耕地")),
    ("民政局", re.compile(r"低保|养老院|残疾|救助|婚姻|殡葬|社区")),
]


@dataclass(frozen=True)
class MessageKind:
    """What a message is, with the cues that said so (for staff and for tests)."""

    kind: Kind
    score: float
    place: str = ""  # the place the message is about, as written ("K9县", "洋湖和园"), if it names one
    department: str = ""  # a guess at the responsible department
    cues: tuple[str, ...] = field(default_factory=tuple)

    @property
    def hand_off(self) -> bool:
        return self.score >= HANDOFF_SCORE

    @property
    def label(self) -> str:
        return HANDOFF_CATEGORY_LABELS[self.kind]


def _subject_line(text: str) -> str:
    return re.split(r"[。！？!?\n]", text, maxsplit=1)[0][:60]


def classify_message(text: str) -> MessageKind:
    """Weigh a (masked) message: a consultation to answer, or a complaint, report, suggestion or plea to hand
    off. A local consultation about a place the platform masks (咨询B市…) is handed off as a consultation."""
    raw, text = text, normalize(text).strip()
    subject = _subject_line(text)
    score, cues = 0.0, []
    kind: Kind | None = None

    def add(weight: float, cue: str) -> None:
        nonlocal score
        score += weight
        cues.append(cue)

    for name, pattern in _LEADING:
        if pattern.search(subject):
            kind = name
            add(2.0, f"leading:{name}")
            break
    for name, pattern in _KIND_CUES:
        if pattern.search(text):
            kind = kind or name
            add(1.0, f"cue:{name}")
            break
    if _ADDRESSING.search(text):
        add(1.0, "addressing")
    if _PLEA.search(text):
        add(1.5, "plea")
    if _APPEAL.search(text):
        add(1.5, "appeal_to_authority")
    if _UNHEARD.search(text):
        add(1.0, "unheard")
    masked = _MASKED_PLACE.search(text)
    if masked:
        add(3.0, "masked_place")
    local = _LOCAL_ENTITY.search(text)
    if local:
        add(1.0, "local_entity")
    if _FIRST_PERSON.search(text) and len(text) >= LONG:
        add(0.5, "first_person_account")
    if len(text) >= LONG:
        add(1.0, "long")
    if len(text) >= VERY_LONG:
        add(1.0, "very_long")
    if len(text) <= SHORT and _QUESTION_END.search(text):
        add(-2.0, "short_question")
    if _FIELD_ASK.search(text) and len(text) <= LONG:
        add(-2.0, "asks_where_to_lodge")

    score = round(score, 2)
    if score < HANDOFF_SCORE:  # a question: no record to fill (finding places cuts the text with jieba)
        return MessageKind(kind=kind or "consult", score=score, cues=tuple(cues))
    as_written = _MASKED_PLACE.search(raw) if masked else None
    place = (as_written or masked).group(0) if masked else ""
    if not place:
        regions = find_regions(text)
        place = regions[0] if regions else (_LEAD_WORDS.sub("", local.group(0)) if local else "")
    department = next((name for name, pattern in _DEPARTMENTS if pattern.search(text)), "")
    return MessageKind(kind=kind or "consult", score=score, place=place, department=department, cues=tuple(cues))
