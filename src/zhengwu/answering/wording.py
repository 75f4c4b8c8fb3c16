"""Every fixed sentence a citizen reads, in one place: refusals, requests to rephrase, apologies, channel
commands and their replies, the web API's error messages.

Editors change wording here, not in code. ``{hotline}`` is always the configured hotline
(``ZHENGWU_HOTLINE``, 12345 unless a deployment says otherwise): fill it with ``say``. What the composer writes
around quoted text (「…」的咨询电话：…) is part of composing and lives with the composer.
"""

from __future__ import annotations

from typing import Any


def say(template: str, hotline: str, **values: Any) -> str:
    """A template with the hotline (and any other placeholders) filled in."""
    return template.format(hotline=hotline, **values)


# -- the assistant: refusing, asking back --------------------------------------------------------------------
EMPTY = "请问您想咨询什么事项？例如：“往来台湾通行证签注在哪里办理？”"
TOO_LONG = (
    "您的问题有{length}个字，超过了{limit}字的上限。"
    "请用一两句话说明您要办理的事项和想了解的内容（如材料、地点、时限、电话）。"
)
NOT_CHINESE = (
    "目前仅支持中文提问，请用中文描述您的问题。"
    "(Only questions in Chinese are supported at the moment. Please ask in Chinese, or call the {hotline} hotline.)"
)
UNREADABLE = "抱歉，没能看懂您的问题，请用中文简要描述您要办理的事项。"
PERSONAL_DATA = (
    "抱歉，我不能查询或提供个人信息（如身份证号、手机号、账户余额等）。"
    "查询本人业务信息，请携带有效身份证件到办事窗口办理，或登录官方政务服务平台查询；"
    "也可拨打 {hotline} 政务服务便民热线。"
)
OUT_OF_SCOPE = (
    "抱歉，我是政务服务助手，只能解答办事指南、政策法规方面的问题，这个问题超出了我的服务范围。"
    "如需其他帮助，可拨打 {hotline} 政务服务便民热线。"
)
UNLAWFUL = (
    "抱歉，我不能提供弄虚作假、骗取待遇、规避监管等违法违规行为的方法。"
    "如果您在办事中遇到困难，可以如实向办理部门说明情况，或拨打 {hotline} 政务服务便民热线咨询合法的办理途径。"
)
OUT_OF_REGION = (
    "抱歉，目前收录的是{covered}及国家层面的办事指南和政策法规，暂未收录{places}的相关内容，"
    "无法准确回答。请拨打当地 {hotline} 政务服务便民热线或咨询{places}相关部门。"
)
NATIONAL_LEVEL = "国家层面"  # what ``covered`` reads when only national documents are indexed
WEAK_EVIDENCE = (
    "抱歉，现有资料中没有找到能够回答这个问题的内容，我不便作出答复。"
    "建议拨打 {hotline} 政务服务便民热线，或咨询相关主管部门。"
)
HANDOFF = (
    "您反映的是{label}类事项，需要由有关部门登记、核实和处理，我不能代为受理，也不宜用法规条文代替答复。"
    "您可以通过以下渠道提出：\n"
    "1. 拨打 {hotline} 政务服务便民热线，说明时间、地点和具体情况；\n"
    "2. 在当地政府网站或政务服务平台的留言板块（如“领导信箱”“{hotline}留言”）提交，可附照片等材料；{extra}\n"
    "公开留言时请不要填写身份证号、手机号等个人信息。"
)
HANDOFF_COMPLAINT_LINE = "\n3. 拨打{department}的投诉电话 {phone} [{n}]；"
LOCAL_MATTER = (
    "您咨询的是{place}的本地事务。现有资料收录的是{covered}及国家层面的办事指南和政策法规，没有覆盖这一事项，"
    "我无法准确答复。请拨打当地 {hotline} 政务服务便民热线，或在当地政府网站的留言板块咨询有关部门。"
)
STATUS_NEEDS_CONSENT = (
    "查询本人的办件进度，需要先在本渠道绑定身份并同意使用您的办件记录（发送“开启个性化”了解详情）。"
    "您也可以登录政务服务网“我的办件”查询，或拨打 {hotline} 政务服务便民热线。"
)
NO_RECORDS_YET = (
    "根据您已授权的办件记录，暂未查到您的办件。如刚提交申请，记录可能尚未同步，"
    "可登录广东政务服务网或拨打 {hotline} 查询。"
)
SUGGESTIONS_NEED_CONSENT = (
    "推荐适合您的事项和政策，需要您同意使用办件记录和身份信息（发送“开启个性化”了解详情）。"
    "您也可以直接问具体事项，例如：“办理居住证需要什么材料？”"
)

# -- when something fails ---------------------------------------------------------------------------------------
APOLOGY = "抱歉，系统暂时无法回答，请稍后再试，或拨打 {hotline} 政务服务便民热线。"
UNAVAILABLE = "服务暂时不可用，请稍后再试，或拨打 {hotline} 政务服务便民热线。"

# -- the web API's messages (``message`` of an error body) ---------------------------------------------------
BAD_REQUEST = "请求格式不正确，请检查后重试。"
TOO_LARGE = "请求内容过大。"
UPLOAD_TOO_LARGE = "上传的文件过大：每个文件不能超过 {mb} MB。请压缩或拆分后再上传。"
TOO_SLOW = "请求发送超时，请检查网络后重试。"
SIGNED_OUT = "您已退出登录。"
TOO_FREQUENT = "请求过于频繁，请稍后再试。"
STILL_STARTING = "服务正在启动，请稍后再试。"
PERSONAL_DATA_OFF = "本服务未开通个人信息功能。"
LOGIN_EXPIRED = "登录已失效，请重新登录后再试。"
DATA_DELETED = "您的个人信息已删除。"
FEEDBACK_OFF = "本服务暂未开通评价功能。"
FEEDBACK_NOT_YOURS = "只能评价您本次对话中的回答。"
FEEDBACK_NO_SUCH_ANSWER = "没有找到这条回答，无法评价。"
FEEDBACK_THANKS = "感谢您的反馈！"
UNSUPPORTED_FILE = "文件格式不支持。"

# -- chat channels (WeChat, WeCom, Telegram): commands work as plain messages on every channel -----------------
WELCOME = (
    "您好，我是政务服务助手，可以解答办事指南和政策法规方面的问题，例如：“居住证在哪里办理？”。\n"
    "回答均注明来源；资料没有覆盖的问题，我会如实告知并建议您拨打 {hotline}。\n"
    "如希望我结合您的办件记录提供个性化提示（如下一步办什么、哪些材料已提交过），请回复“开启个性化”；"
    "随时回复“关闭个性化”即可撤回。"
)
HELP = (
    "直接输入您的问题即可，例如：“办理居住证需要什么材料？”。\n"
    "开启个性化：同意使用您的办件记录提供个性化提示\n"
    "关闭个性化：撤回同意，回答不再使用您的个人信息\n"
    "开启提醒 / 退订提醒：证件到期提醒\n"
    "有用 / 没用：评价上一条回答，帮助我们改进\n"
    "重新开始：清除本次对话的上下文"
)
NON_TEXT = "抱歉，目前只能处理文字消息，请用文字描述您的问题。"
NEW_CONVERSATION = "好的，已开始新的对话。请问您想咨询什么事项？"
PERSONALISATION_ON = "已开启个性化服务：回答将结合您已授权的办件记录给出提示。回复“关闭个性化”可随时撤回。"
PERSONALISATION_OFF = "已关闭个性化服务：回答不再使用您的个人信息。"
REMINDERS_ON = "已开启证件到期提醒。回复“退订提醒”可随时取消。"
REMINDERS_OFF = "已退订证件到期提醒。"
PERSONALISATION_UNAVAILABLE = "本渠道暂未开通个性化服务。"
THANKS_UP = "感谢您的反馈！很高兴能帮到您。"
THANKS_DOWN = "感谢您的反馈，我们会据此改进回答。如需人工服务，请拨打 {hotline} 政务服务便民热线。"
NOTHING_TO_RATE = "暂时没有可以评价的回答。请先提问，再回复“有用”或“没用”评价回答。"
RATING_UNAVAILABLE = "本渠道暂未开通评价功能。"
MORE_IN_SOURCES = "\n……（内容较长，其余部分请查看来源链接，或拨打 {hotline} 咨询）"

# Telegram's commands (/start, /help, /reset, /privacy).
TELEGRAM_WELCOME_EXTRA = "\n也可以发送 /privacy on 开启、/privacy off 关闭个性化；发送 /privacy 了解我们保存哪些信息。"
TELEGRAM_COMMANDS = (
    "\n\n命令：\n/start 欢迎与使用说明\n/help 帮助\n/reset 重新开始对话\n"
    "/privacy 个人信息说明（开启/关闭个性化、导出、删除）"
)
TELEGRAM_UNKNOWN_COMMAND = "未识别的命令。\n"
TELEGRAM_PRIVATE_ONLY = "为保护您的个人信息，请在与我的私聊中提问或使用命令。"
TELEGRAM_PRIVACY = (
    "个人信息说明\n"
    "· 我们保存：您的 Telegram 用户编号（用于识别同一位用户）、您的授权选择（个性化、到期提醒），"
    "以及问答记录（身份证号、手机号等已遮蔽），问答记录保存 {days} 天后清除。\n"
    "· 只有在您开启个性化后，回答才会结合您的办件记录。\n"
    "· 我们不读取您的 Telegram 资料、联系人或群组消息；消息经 Telegram 平台传输。\n\n"
    "可用命令：\n"
    "/privacy on — 开启个性化\n"
    "/privacy off — 关闭个性化\n"
    "/privacy export — 导出我们保存的关于您的全部信息（JSON 文件）\n"
    "/privacy delete — 删除您的全部个人信息"
)
TELEGRAM_DELETE_ASK = (
    "此操作将永久删除我们保存的关于您的全部信息（授权记录、办件记录、关联的问答记录），无法恢复。\n"
    "确认删除请发送：/privacy delete confirm"
)
TELEGRAM_DELETED = "您的个人信息已全部删除。之后如继续提问，将作为新用户处理。"
NOTHING_STORED = "我们没有保存关于您的个人信息。"
NO_PERSONAL_STORE = "本渠道暂未开通个人信息功能，我们没有保存关于您的个人信息。"
EXPORT_CAPTION = "这是我们保存的关于您的全部信息（含身份证号等敏感信息，请妥善保管）。"

# WeChat/WeCom: an answer longer than five messages, without source links to point to.
MORE_BY_HOTLINE = "\n……（内容较长，其余部分未能发送，请拨打 {hotline} 咨询）"
