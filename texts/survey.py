"""Texts of the residents' satisfaction survey (居民满意度测评): questions, buttons, summary, bad-input replies.

Placeholders are filled by handlers/survey_view.py; `{village}` is the village's name, `{period}` the period as
`period_label()` words it.
"""

from __future__ import annotations

# The eight aspects of the founding documents (社区居民满意度测评表), by the aspect code stored in the database
# (storage.surveys.DEFAULT_ASPECTS). A custom aspect from CADREBOT_SURVEY_ASPECTS ('code:标签') uses its own label.
ASPECT_NAMES: dict[str, str] = {
    "service": "社区为民服务",
    "vulnerable": "关心弱势群体",
    "culture": "社区文体教育",
    "stability": "社区稳定工作",
    "environment": "社区环境卫生",
    "democracy": "社区民主自治",
    "social_work": "社工工作绩效",
    "overall": "社区综合评价",
}

# Button labels, in words (never a bare number).
SCORE_BUTTON: dict[int, str] = {5: "5 非常满意", 4: "4 满意", 3: "3 一般", 2: "2 不满意", 1: "1 很不满意"}
SKIP_BUTTON = "跳过"
SUBMIT_BUTTON = "提交"
RESTART_BUTTON = "重新填写"
CANCEL_BUTTON = "取消"
REPLACE_BUTTON = "重新填写并替换"
KEEP_BUTTON = "保留原来的评价"

# What a resident may type instead of pressing a score button (compared after removing spaces).
SCORE_WORDS: dict[str, int] = {
    "5": 5, "非常满意": 5, "很满意": 5,
    "4": 4, "满意": 4, "比较满意": 4,
    "3": 3, "一般": 3, "基本满意": 3,
    "2": 2, "不满意": 2, "不太满意": 2,
    "1": 1, "很不满意": 1, "非常不满意": 1,
}
SKIP_WORDS: frozenset[str] = frozenset({"跳过", "略过", "不清楚", "不了解", "不知道"})

PERIOD_MONTH = "{year}年{month}月"
PERIOD_QUARTER = "{year}年第{quarter}季度"

INTRO = (
    "您好！这是{village}居民满意度测评（{period}），共 {count} 个方面。"
    "每题点一个按钮即可，不了解的可以点「跳过」，最后可以写几句意见。\n"
    "测评是匿名的：不保存您的账号和回答之间的对应关系。随时发送 /cancel 可以取消。"
)
RESUME = "欢迎回来，继续填写{village}居民满意度测评（{period}），已答 {done}/{count} 题。"
QUESTION = "第 {number}/{count} 题：{aspect}\n您对本村(社区)这方面的工作满意吗？"
ANSWERED = "第 {number}/{count} 题：{aspect}\n您的回答：{answer}"
SKIPPED = "跳过"
COMMENT_PROMPT = (
    "最后，您对{village}还有什么意见或建议？直接发文字给我（最多 {limit} 字）；没有的话点「跳过」。"
)
COMMENT_SKIPPED = "意见：（跳过）"
COMMENT_RECEIVED = "已收到您的意见。"
COMMENT_PROMPT_AGAIN = "抱歉，刚才没能把留言提示发给您，这条消息没有记为意见。"  # the prompt was never delivered

SUMMARY_HEAD = "请核对您对{village}的评价（{period}）："
SUMMARY_LINE = "{number}. {aspect}：{answer}"
SUMMARY_COMMENT = "意见：{comment}"
SUMMARY_NO_COMMENT = "意见：无"
SUMMARY_FOOT = "确认无误请点「提交」。"
SUMMARY_FOOT_REPLACE = "提交后将替换您本期之前的评价。确认无误请点「提交」。"

SUBMITTED = "已提交，谢谢您的评价！本期内如需修改，可再次打开问卷链接重新填写。"
REPLACED = "已替换您本期之前的评价，谢谢！"
NOTHING_TO_SUBMIT = "您跳过了所有题目，也没有写意见，没有可提交的内容。请点「重新填写」，或点「取消」。"
CANCELLED = "已取消问卷，您的回答没有保存。想再填写时，重新打开问卷链接或发送 /survey。"
RESTARTED = "好的，从第 1 题重新开始。"

ALREADY_ANSWERED = (
    "您在本期（{period}）已经评价过{village}了（{day}提交）。要重新填写并替换原来的评价吗？"
)
ALREADY_ANSWERED_NO_DAY = "您在本期（{period}）已经评价过{village}了。要重新填写并替换原来的评价吗？"
KEPT = "好的，保留您原来的评价。谢谢！"
OTHER_DRAFT_DROPPED = "您之前未填完的{village}问卷已作废。"
OLD_PERIOD_DRAFT_DROPPED = "上一期（{period}）的问卷已结束，您未填完的部分已作废，现在开始本期问卷。"

# /survey without a village code: a resident picks the town, then the village
PICK_TOWN = "请选择您所在的镇(街道)，再选择村(社区)，就可以开始匿名填写居民满意度测评："
PICK_VILLAGE = "{town}：请选择您所在的村(社区)，就可以开始匿名填写居民满意度测评："
PICK_PAGE = "（第 {number}/{count} 页）"
PICKED = "您选择了：{town} {village}"
PREVIOUS_PAGE_BUTTON = "« 上一页"
NEXT_PAGE_BUTTON = "下一页 »"
BACK_TO_TOWNS_BUTTON = "« 重新选择镇(街道)"
CADRE_LINK = (
    "{village}居民满意度测评链接：\n{link}\n"
    "转发给居民即可，点开链接就能匿名填写。您自己也可以点开试填。"
)
BUREAU_LINKS_HEAD = "{town}各村(社区)居民满意度测评链接："
BUREAU_LINK_LINE = "{village}：{link}"
BUREAU_LINKS_MORE = "……另有 {more} 个，请用命令 cadrebot admin survey-link 查询。"
NO_VILLAGES = "还没有登记村/社区，暂时无法测评。"

# Bad input
UNKNOWN_VILLAGE = "没有找到代码为 {code} 的村/社区。请核对链接，或向村(居)委会索取问卷链接。"
BAD_VILLAGE_CODE = "村/社区代码只能由字母、数字、_ 和 - 组成，比如 /survey DEMO01。"
PRIVATE_ONLY = "为了匿名，问卷只能私聊填写：请点开我的头像，私聊发送 /survey。"
USE_BUTTONS = "请点上面题目下方的按钮作答（5 非常满意 … 1 很不满意，或「跳过」）；不想填了可以发送 /cancel。"
USE_CONFIRM_BUTTONS = "请点上面的「提交」「重新填写」或「取消」；不想填了可以发送 /cancel。"
USE_REPLACE_BUTTONS = "请点上面的「重新填写并替换」或「保留原来的评价」。"
COMMENT_NOT_TEXT = "意见请直接发文字（不能发图片、语音或文件）；没有意见的话点「跳过」。"
ANSWER_NOT_TEXT = "问卷请点按钮作答，不能发图片、语音或文件；不想填了可以发送 /cancel。"
COMMENT_TOO_LONG = "意见太长了（{length} 字），最多 {limit} 字。请精简后再发，或点「跳过」。"
COMMENT_EMPTY = "没有收到文字。请发送您的意见，或点「跳过」。"
COMMENT_NO_WORDS = "请用文字写下您的意见（只有表情或符号看不懂），或点「跳过」。"

# Buttons that cannot be used (shown as the short note on the button press)
BUTTON_STALE_QUESTION = "这是之前题目的按钮，已失效。请回答最新的一题。"
BUTTON_STALE_SUMMARY = "这份汇总已过期，请看最新的汇总。"
BUTTON_OLD_PERIOD = "这是上一期问卷的按钮，已失效。发送 /survey 或打开问卷链接填写本期问卷。"
BUTTON_NO_SURVEY = "这份问卷已经结束或已取消，按钮已失效。想再填写请重新打开问卷链接。"
BUTTON_INVALID = "这个按钮无效。"
BUTTON_NOTED = "已记录"

SURVEY_GONE = "您的问卷已经结束或已过期，这条消息没有记入问卷。如果是要核对的任务，请再发一次。"

RATE_LIMITED = "提交太频繁了，请 {seconds} 秒后再点「提交」。"
DB_UNAVAILABLE = "系统繁忙，这一步没有保存，请稍后再试一次。之前已填的内容不会丢失。"
