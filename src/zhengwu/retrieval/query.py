"""Understanding a question before retrieval: which guide field it asks for, which place it is about,
whether it is a follow-up, and whether it is something a government assistant should not answer at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

from zhengwu.chinese import normalize
from zhengwu.documents.document import NATIONAL

# (field key, pattern). Order matters: the first match wins when only one field is wanted.
FIELD_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("complaint", re.compile(r"投诉|举报电话|监督电话")),
    ("phone", re.compile(r"电话|联系方式|热线|号码|怎么联系|如何联系|联系谁|打给")),
    ("materials", re.compile(r"材料|资料|带什么|带哪些|带上|提交什么|提交哪些|提供什么|提供哪些|准备什么|准备哪些|证件|证明文件|要什么东西")),
    ("location", re.compile(r"在哪|哪里办|哪里去|去哪|哪儿|什么地方|地点|地址|窗口|哪个大厅|何处")),
    ("visits", re.compile(r"跑几次|几次|跑腿|到现场|去现场|跑现场|现场几趟|跑几趟|本人到场")),
    ("time_limit", re.compile(r"多久|多长时间|几天|时限|期限|办结|多少天|几个工作日|多少个工作日|什么时候能|要多长")),
    ("conditions", re.compile(
        r"条件|资格|谁可以|谁能|能不能办|符合什么|要求是|什么要求|哪些要求|受理标准|什么情况下|什么情形|哪些情形|哪些情况|具备什么"
    )),
    ("fee", re.compile(r"收费|费用|多少钱|要钱|免费|交钱|花钱")),
    ("online", re.compile(r"网上|在线|网办|线上|app|小程序|平台|网站|网址|系统|预约|快递|邮寄|寄送")),
    ("department", re.compile(r"哪个部门|什么部门|谁负责|主管部门|实施主体|哪个单位|哪家单位|负责部门")),
    ("objects", re.compile(r"服务对象|适用对象|面向谁|哪些人可以")),
    ("process", re.compile(r"流程|步骤|程序|怎么办理|如何办理|怎么申请|如何申请|办理方式")),
]

FOLLOWUP = re.compile(r"^(那|那么|那个|这个|它|还有|另外|再问|请问那|然后)|^(电话|材料|地址|地点|时限|多久|条件|收费)[呢吗？?]*$")
# Requests a government assistant declines whatever the corpus holds: chit-chat, creative writing,
# advice outside public services, and lookups of personal data it has no business doing.
OUT_OF_SCOPE = re.compile(
    r"写一首|写首|写一篇|写一段|作文|写诗|讲个笑话|讲笑话|推荐.{0,6}(电影|电视剧|小说|歌|美食|餐厅)|天气怎么样|天气如何|[今明后]天.{0,4}天气|气温多少|会下雨吗"
    r"|股票|炒股|比特币|基金.{0,4}(涨|跌)|彩票号码|中奖号码|足球比赛|篮球比赛|比赛谁赢|比分|明星|八卦"
    r"|写.{0,4}(代码|程序|爬虫)|python|java(?!script)|编程|算法题|翻译成|自我介绍"
    r"|你是谁|你是哪个公司|什么模型|chatgpt|gpt|大模型|你叫什么"
    r"|订.{0,12}(票|酒店)|买.{0,8}(机票|火车票|车票)|外卖|打车"
    r"|哪家医院.{0,4}(好|最好)|减肥|食谱|菜谱|星座|运势|算命"
    r"|高考作文题|考试答案|游戏攻略",
    re.IGNORECASE,
)
# Asking the assistant to look up someone's personal data (or one's own account) is declined; asking how
# to look it up oneself ("如何查询医保个人账户余额？") is an ordinary service question.
# Attempts to steer the assistant instead of asking it something: refused, whatever follows.
INJECTION = re.compile(
    r"忽略.{0,6}(指令|提示|规则|要求|设定)|(系统|你的)(提示词|指令|设定)|提示词|system\s*prompt|ignore\s+(all\s+)?previous"
    r"|扮演|你现在是|越狱|jailbreak|开发者模式",
    re.IGNORECASE,
)
PERSONAL_LOOKUP = re.compile(
    r"(帮我|给我|替我|帮忙)(查|查询|看看|找).{0,10}(身份证|手机号|电话号码|住址|余额|账户|缴费记录|个人信息|信息)"
    r"|告诉我.{0,10}(身份证号|手机号|住址|家庭住址)"
    r"|(某某|别人|他人|张三|李四).{0,6}(身份证|手机号|住址|电话号码)"
)
# One's own records asked of the assistant ("我的失业金这个月发了没有？", "我那个工伤鉴定结论出来了没"): only the
# department's system holds them. Asking how to look them up is a service question (HOW_TO).
OWN_RECORD_LOOKUP = re.compile(
    r"(我的|我家的|我妈的|我爸的|我名下|我那个|我在你们这)[^，。？?！!]{0,16}"
    r"(余额|还剩|剩多少|是多少|有多少|欠了多少|几级|几点|编号|发了没|到账了没|出来了没|办好了没|注销了没|做了没|批了没"
    r"|了没有|了吗|没处理)"
    # "我公积金账户里现在还有多少钱", "我社保卡里还剩多少": a balance of one's own account, "的" or not.
    r"|我[^，。？?！!的]{0,8}(账户|卡里|卡上|账上|账户里)[^，。？?！!]{0,8}(余额|还剩|剩多少|还有多少|有多少钱|多少钱)"
)
HOW_TO = re.compile(r"如何|怎么|怎样|在哪|哪里|方式|途径|渠道|流程")
# Asking how to deceive an authority or break a rule without being caught: declined whatever the sources say.
UNLAWFUL = re.compile(
    r"(怎么|如何|怎样|教我|有没有办法|能不能|什么办法).{0,12}((?<![诈被受])骗|伪造|造假|作假|弄虚作假|假冒|冒用|冒名|隐瞒|偷偷|逃避|规避|绕过|钻空子|送礼|行贿)"
    r"|假的.{0,8}(证明|证件|材料|发票|合同|病历)|办(个|张|一张)?假(证|的)"
    r"|不被(发现|查出|查到)|才不会被(发现|查|查出)|逃税|偷税|漏税.{0,4}(方法|办法|技巧)|洗钱"
)

# What kind of value a question wants, and what such a value looks like in a law's text. An article that
# holds a value of the wanted kind is more likely the answer than one that only shares words with the question.
_NUM = r"[0-9一二三四五六七八九十百千两半]+"
ANSWER_TYPES: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    ("duration", re.compile(r"多长时间|多久|几天|多少天|几日|多少日|几个月|多少年|几年|期限|时限|什么时候之前"),
     re.compile(_NUM + r"(个)?(日|天|小时|个月|月|年|工作日)(内|以内|之内|前)?")),
    ("age", re.compile(r"几岁|多大|年龄|周岁"), re.compile(_NUM + r"周岁")),
    ("count", re.compile(r"多少个|几个|最多|最少|多少人|多少名|几名|几人"), re.compile(_NUM + r"(个|人|名)(以下|以上)?")),
    ("ratio", re.compile(r"百分之几|比例|几成|多少比例|百分比"), re.compile(r"百分之|%|％")),
    ("money", re.compile(r"多少钱|罚多少|罚款多少|多少元|赔多少|补偿多少|标准是多少"), re.compile(_NUM + r"(元|万元)")),
]


def answer_type(text: str) -> tuple[str, re.Pattern[str]] | None:
    for name, asked, value in ANSWER_TYPES:
        if asked.search(text):
            return name, value
    return None


@dataclass(frozen=True)
class Region:
    name: str
    parent: str | None


@dataclass
class Analysis:
    raw: str
    text: str  # normalised for matching
    fields: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # canonical names of places the question names
    followup: bool = False
    out_of_scope: bool = False
    personal_lookup: bool = False
    unlawful: bool = False


@lru_cache(maxsize=1)
def gazetteer() -> tuple[dict[str, Region], re.Pattern[str]]:
    """Surface form -> Region, and one alternation pattern that finds the longest surface form first."""
    text = (resources.files("zhengwu") / "resources" / "regions.txt").read_text(encoding="utf-8")
    regions: dict[str, Region] = {}
    surfaces: dict[str, str] = {}

    def add(name: str, parent: str | None) -> None:
        if name not in regions:
            regions[name] = Region(name, parent)
        surfaces.setdefault(name, name)
        short = re.sub(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|省|市)$", "", name)
        # Short forms of districts are ordinary words (天河, 白云); only cities and provinces get one.
        if short != name and len(short) >= 2 and not name.endswith("区") or name.endswith("自治区"):
            surfaces.setdefault(short, name)

    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, _, rest = line.partition(":")
        head = head.strip()
        top = None if head == "海外" else head
        if top:
            add(top, None if head != "广州市" else "广东省")
        for name in rest.split():
            add(name, top or "海外")
    pattern = re.compile("|".join(sorted(map(re.escape, surfaces), key=len, reverse=True)))
    return {s: regions[n] for s, n in surfaces.items()}, pattern


def canonical_region(name: str | None) -> str | None:
    """'广东省广州市' -> '广州市'; '上海' -> '上海市'; '全国' stays; unknown names are returned as given."""
    if not name:
        return None
    name = normalize(name).strip()
    if name in (NATIONAL, "国家", "中国", "全国性"):
        return NATIONAL
    table, pattern = gazetteer()
    found = [table[m.group(0)].name for m in pattern.finditer(name)]
    return found[-1] if found else name


def region_chain(name: str) -> list[str]:
    """The region and every region above it, ending with 全国: 广州市 -> [广州市, 广东省, 全国]."""
    table, _ = gazetteer()
    chain = [name]
    seen = {name}
    while name in table and table[name].parent and table[name].parent not in seen and table[name].parent != "海外":
        name = table[name].parent  # type: ignore[assignment]
        chain.append(name)
        seen.add(name)
    if NATIONAL not in chain:
        chain.append(NATIONAL)
    return chain


def find_regions(text: str) -> list[str]:
    """Places named in the text. A match must start where a word starts, so 保定 inside 医保定点 (医保/定点)
    is not the city of 保定, while 美国 in 美国签证 (one jieba word) still is the country."""
    table, pattern = gazetteer()
    boundaries = _word_boundaries(text)
    out: list[str] = []
    for match in pattern.finditer(text):
        if match.start() not in boundaries:
            continue
        name = table[match.group(0)].name
        if name not in out:
            out.append(name)
    return out


def _word_boundaries(text: str) -> set[int]:
    from zhengwu.index.analyzer import default_analyzer

    positions, offset = {0}, 0
    for word in default_analyzer().plain_words(text):
        offset += len(word)
        positions.add(offset)
    return positions


def without_field_words(text: str) -> str:
    """The (normalised) question without the words that only name the field asked ("电话是多少", "需要什么材料"):
    what it is about."""
    for _, pattern in FIELD_PATTERNS:
        text = pattern.sub(" ", text)
    return text


# "多少天内可以申请复核？", "单位最晚什么时候要去备案？": the deadline to apply is a condition of the item (or a
# law's), not how long the office takes to decide (办结时限).
DEADLINE = re.compile(
    r"(多少天|几天|多久|多长时间|什么时间|几个月|多少日)(之内|以内|内)?(可以|能|要|应当|必须|得)?(申请|提出|提交|备案|报告|申诉|复核|起诉|补办|办理|去)"
    r"|最晚|最迟|什么时候(之前|前|要去|必须|应当)|截止"
)
# "能申请法律援助吗？", "年龄有限制吗？", "报名确认的对象是哪些人？": who may apply is asked as whether one can.
ELIGIBILITY = re.compile(
    r"(能不能|能否|可不可以|能|可以)(申请|办理|办|领取|领|补办|补|开具|开|报考|考|免考|享受|参加|申领)[^，。？?]{0,12}[吗么]"
    r"|有(年龄|学历)?(限制|要求|上限|门槛)[吗么]?|(对象|范围)是(哪些|什么)|适用于哪些|哪些人|什么人(可以|能)|算不算"
)


def detect_fields(text: str) -> list[str]:
    found = [key for key, pattern in FIELD_PATTERNS if pattern.search(text)]
    if DEADLINE.search(text):
        found = ["conditions", *(f for f in found if f not in ("time_limit", "conditions"))]
    elif ELIGIBILITY.search(text) and "conditions" not in found:
        found.append("conditions")
    return found


def analyse(question: str) -> Analysis:
    text = normalize(question)
    return Analysis(
        raw=question,
        text=text,
        fields=detect_fields(text),
        regions=find_regions(text),
        followup=bool(FOLLOWUP.search(text.strip())) or len(text.strip()) <= 6,
        out_of_scope=bool(OUT_OF_SCOPE.search(text)) or bool(INJECTION.search(text)),
        personal_lookup=bool(PERSONAL_LOOKUP.search(text) or OWN_RECORD_LOOKUP.search(text)) and not HOW_TO.search(text),
        unlawful=bool(UNLAWFUL.search(text)),
    )


# What a question is after. Procedure questions (materials, place, phone, time limit, how to apply) are answered
# by service guides; entitlements, durations, amounts, penalties and disputes by law articles; both when mixed.
Intent = Literal["procedure", "legal", "mixed", "none"]
PROCEDURE_FIELDS = frozenset({"phone", "materials", "location", "visits", "online", "department", "process", "fee",
                              "objects"})
PROCEDURE = re.compile(
    r"办理|怎么办(?!法)(?=[证照卡])|申请|申领|手续|办证|补办|换领|换证|领取.{0,4}证|登记|备案|注册|开户|年检|年审|窗口|预约"
    r"|网上办|在哪办|去哪办|哪里办|怎么交|怎么缴|怎么查|怎么开|开具|证明|审批|许可证|执照|签注|通行证"
    r"|办结|时限|受理|查询|公证"
)
LEGAL = re.compile(
    r"赔偿|赔钱|不赔|索赔|赔多少|处罚|罚款|罚多少|扣分|坐牢|判刑|判几年|拘留|吊销|违法|合法|犯法|犯罪|违规|侵权|权利|权益|义务"
    r"|责任|有权|要求.{0,4}(赔|补|退|支付)|(怎么办|咋办|怎么处理)[？?。!！]*$|不给|不发|不还|不退|不让|拖欠|欠我|克扣|辞退|开除|裁员"
    r"|纠纷|起诉|告他|告它|打官司|仲裁|维权|补偿|经济补偿|算不算|属不属于|是否|合不合法|能不能|可不可以|可以不|有没有规定"
    r"|法律规定|怎么规定|多少年|几年|几个月|多少倍|几倍|几岁|工资|加班|产假|婚假|病假|年假|离婚|继承|遗产"
    r"|抚养|赡养|彩礼|被打|被骗|被狗|被咬|撞了|打人|骂人|骚扰|偷|抢"
    r"|负责吗|担责|承担|有权|谁.{0,4}(出|赔|负责|承担|继承)|要不要|该不该|会不会|合规|同意|待遇|优待|补贴|交.{0,3}税"
    r"|(能|可以|需要|要|得|算|允许|让).{0,12}[吗么][？?。!！]*$"
)


def intent_of(text: str, fields: list[str] | None = None) -> Intent:
    """The intent of a (normalised) question, from its wording and the guide fields it asks for."""
    asked = detect_fields(text) if fields is None else fields
    procedure = bool(PROCEDURE.search(text)) or any(f in PROCEDURE_FIELDS for f in asked)
    legal = bool(LEGAL.search(text))
    if procedure and legal:
        return "mixed"
    return "procedure" if procedure else "legal" if legal else "none"
