"""Texts of the weekly digest for the civil affairs bureau (民政局周报): Telegram text, Markdown, XLSX/CSV sheets,
chart labels, /subscribe, /unsubscribe and /digest replies.

Placeholders are filled by bot/digest/ and handlers/digest.py.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------- scope and week

CITY_NAME = "全市"
TITLE = "📊 政社互动周报 · {scope}"
WEEK_LINE = "{week}（{first}—{last}）"
WEEK_SO_FAR = "（本周截至 {now}）"
DATE_SHORT = "{month}月{day}日"
DATE_TIME_SHORT = "{month}月{day}日 {hour:02d}:{minute:02d}"
EMPTY_WEEK = "📭 {scope} {week}（{first}—{last}）：本周没有任务检查、红牌候选和满意度问卷，无需查看。"
SEE_ATTACHMENTS = "完整数据见附件 Excel 报表和图表。"
SEE_EXCEL_ONLY = "完整数据见附件 Excel 报表（本周没有可画图的数据）。"
SEE_EXCEL_VILLAGES = "各村社区明细见 Excel 报表「村社区」表。"

# ---------------------------------------------------------------------------------------------- checks

SECTION_CHECKS = "【任务检查】"
CHECKS_TOTAL = "本周 {total} 次（上周 {previous}，{change}）"
CHANGE_UP = "↑{n}"
CHANGE_DOWN = "↓{n}"
CHANGE_SAME = "持平"
CHANGE_NONE = "—"
VERDICT_LABELS: dict[str, str] = {
    "duty": "依法履职",
    "assist": "协助政府",
    "restricted": "限制/负面",
    "certificate_refused": "不应出具证明",
    "unlisted": "未列入清单",
    "unclear": "不确定",
    "chitchat": "闲聊",
}
VERDICT_ORDER: tuple[str, ...] = (
    "duty", "assist", "restricted", "certificate_refused", "unlisted", "unclear", "chitchat",
)
VERDICT_ITEM = "{label} {count}（上周 {previous}）"
TOP_ITEMS = "问得最多："
TOP_ITEM = "{rank}. {item} {count} 次"
ITEM_WITH_TITLE = "{id} {title}"
GAPS = "知识库待补充：不确定 {unclear} 次，👎 {down} 次（👍 {up} 次）"
GAP_SAMPLE = "· “{text}”（{label}）"
GAP_KIND_UNCLEAR = "不确定"
GAP_KIND_DOWN = "👎"
NO_CHECKS = "本周没有任务检查。"

# ---------------------------------------------------------------------------------------------- red cards

SECTION_RED_CARDS = "【红牌候选】"
RED_CARDS_TOTAL = "本周上报 {reports} 次，涉及 {departments} 个部门"
RED_CARDS_FLOW = "新增 {new} · 确认 {confirmed} · 撤回 {withdrawn}"
DEPARTMENT_LINE = "{rank}. {department}：{reports} 次 · {items} 项 · {villages} 个村社区"
DEPARTMENT_DETAIL = "   事项：{items}；村社区：{villages}"
UNLISTED_ITEM = "清单外"
MORE = "等"
MORE_DEPARTMENTS = "……另有 {n} 个部门，见 Excel 报表。"
YTD_HEADING = "{year}年累计（已撤回的不计）："
YTD_LINE = "{rank}. {department} {reports} 次（{cards} 条候选）"
NO_RED_CARDS = "本周没有红牌候选。"
LIST_SEP = "、"

# ---------------------------------------------------------------------------------------------- satisfaction

SECTION_SATISFACTION = "【居民满意度】"
PERIOD_LINE = "{period}期：问卷 {responses} 份（上期 {previous}），本周新增 {week}"
NO_PERIOD = "还没有满意度测评期。"
NO_PREVIOUS_PERIOD = "无"
ASPECT_LINE = "{label} {average}（n={n}，{change}）"
ASPECT_LINE_INSUFFICIENT = "{label} 样本不足（n={n}）"
INSUFFICIENT = "样本不足"
INSUFFICIENT_NOTE = "（问卷少于 {min_n} 份的村社区只显示“样本不足”，不显示分数）"
NOTE_INSUFFICIENT = "样本不足：问卷少于 {min_n} 份，不显示分数"
NOTE_ASPECTS_INSUFFICIENT = "部分分项答题少于 {min_n} 人，显示样本不足"
ASPECTS_INSUFFICIENT_NOTE = "（答题少于 {min_n} 人的分项同样只显示“样本不足”）"
SCOPE_INSUFFICIENT = "问卷少于 {min_n} 份，样本不足，不显示分数。"
LOWEST_HEADING = "得分最低的村社区："
LOWEST_LINE = "{rank}. {village} {average}（{responses} 份）"
VILLAGES_HEADING = "各村社区（综合均分 · 问卷数）："
VILLAGE_LINE = "{village} {average} · {responses} 份"
VILLAGE_LINE_SUPPRESSED = "{village} 样本不足 · {responses} 份"
VILLAGES_SUPPRESSED = "另有 {n} 个村社区样本不足"
COMMENTS_HEADING = "居民意见（已去除个人信息）："
COMMENT_LINE = "· “{text}”（{village}，{date}）"

# ---------------------------------------------------------------------------------------------- markdown

MD_TITLE = "# 政社互动周报 · {scope}"
MD_WEEK = "**{week}**（{first}—{last}）"

# ---------------------------------------------------------------------------------------------- XLSX / CSV

SHEET_OVERVIEW = "概览"
SHEET_VILLAGES = "村社区"
SHEET_RED_CARDS = "红牌候选"
SHEET_ASPECTS = "满意度分项"
SHEET_COMMENTS = "意见"
SHEETS: tuple[str, ...] = (SHEET_OVERVIEW, SHEET_VILLAGES, SHEET_RED_CARDS, SHEET_ASPECTS, SHEET_COMMENTS)

TABLE_OVERVIEW = "周报概览"
OVERVIEW_HEADER = ("项目", "本周", "上周")
OV_SCOPE = "范围"
OV_WEEK = "周次"
OV_RANGE = "起止日期"
OV_GENERATED = "生成时间"
OV_CHECKS = "任务检查（次）"
OV_VERDICT = "　其中：{label}"
OV_DOWN = "👎 反馈（次）"
OV_UP = "👍 反馈（次）"
OV_RC_REPORTS = "红牌候选上报（次）"
OV_RC_DEPARTMENTS = "涉及部门（个）"
OV_RC_NEW = "新增红牌候选（条）"
OV_RC_CONFIRMED = "确认（条）"
OV_RC_WITHDRAWN = "撤回（条）"
OV_PERIOD = "满意度测评期"
OV_RESPONSES = "本期问卷（份）"
OV_RESPONSES_WEEK = "本周新增问卷（份）"
OV_VILLAGES_WITH = "有问卷的村社区（个）"
OV_VILLAGES_SUPPRESSED = "样本不足的村社区（个）"
OV_OVERALL = "综合均分"
OV_PERIOD_COLUMNS = ("项目", "本期", "上期")

TABLE_TOP_ITEMS = "问得最多的事项"
TOP_ITEMS_HEADER = ("排名", "事项编号", "事项", "次数")
TABLE_GAPS = "知识库待补充（不确定或 👎 的检查，最近 {n} 条）"
GAPS_HEADER = ("日期", "村社区", "类型", "内容（已去除个人信息）")

TABLE_VILLAGES = "各村社区"
VILLAGES_HEADER_BASE = ("村社区代码", "村社区", "所属镇街", "本周任务检查", "本周红牌候选上报", "本期问卷数", "综合均分", "上期综合均分")
VILLAGES_HEADER_NOTE = "备注"

TABLE_RC_DEPARTMENTS = "本周按部门"
RC_DEPARTMENTS_HEADER = ("部门", "上报次数", "事项数", "村社区数", "事项", "村社区")
TABLE_RC_DETAIL = "本周明细"
RC_DETAIL_HEADER = ("部门", "事项编号", "事项", "村社区", "所属镇街", "本周上报次数", "当前状态")
TABLE_RC_CHARTED = "本周新增和确认（按部门，已撤回的不计；即图表中的数字）"
RC_CHARTED_HEADER = ("部门", "新增（条）", "确认（条）", "合计（条）")
TABLE_RC_YTD = "{year}年累计排名（已撤回的不计）"
RC_YTD_HEADER = ("排名", "部门", "上报次数", "候选条数", "村社区数")
RC_STATUS: dict[str, str] = {"candidate": "候选", "confirmed": "已确认", "withdrawn": "已撤回", "included": "已纳入评估"}

TABLE_ASPECTS = "分项得分"
ASPECTS_HEADER = ("分项代码", "分项", "本期均分", "本期答题数", "上期均分", "上期答题数", "变化")

TABLE_COMMENTS = "居民意见（已去除个人信息）"
COMMENTS_HEADER = ("日期", "村社区", "意见")

# ---------------------------------------------------------------------------------------------- chart

CHART_TITLE = "{scope} {week} 政社互动周报"
CHART_ASPECTS_TITLE = "居民满意度分项（{period} 对比 {previous}）"
CHART_ASPECTS_TITLE_NO_PREVIOUS = "居民满意度分项（{period}）"
CHART_CURRENT = "本期"
CHART_PREVIOUS = "上期"
CHART_SCORE_AXIS = "平均分（1–5）"
CHART_NO_SCORES = "本期暂无可显示的分数（样本不足）"
CHART_INSUFFICIENT = "样本不足（n={n}）"
CHART_RED_CARDS_TITLE = "红牌候选按部门（本周新增和确认的条数，已撤回的不计）"
CHART_RED_CARDS_AXIS = "条数"
CHART_RC_NEW = "新增"
CHART_RC_CONFIRMED = "确认"
CHART_RC_BAR = "{total}（新增 {new} · 确认 {confirmed}）"
CHART_NO_RED_CARDS = "本周没有新增或确认的红牌候选"

# ---------------------------------------------------------------------------------------------- attachments

XLSX_FILENAME = "周报_{scope}_{week}.xlsx"
PNG_FILENAME = "周报_{scope}_{week}.png"
XLSX_CAPTION = "{scope} {week} 周报 Excel（可直接转发）"
PNG_CAPTION = "{scope} {week}：满意度分项与红牌候选"

# ---------------------------------------------------------------------------------------------- commands

SUBSCRIBED = "已订阅{scope}的政社互动周报。每周{weekday} {time} 自动发送上一周的周报。发送 /unsubscribe 可以退订。"
ALREADY_SUBSCRIBED = "您已订阅{scope}的周报，每周{weekday} {time} 发送。发送 /unsubscribe 可以退订。"
UNSUBSCRIBED = "已退订周报。需要时发送 /subscribe 重新订阅。"
NOT_SUBSCRIBED = "您没有订阅周报。发送 /subscribe 可以订阅。"
BUREAU_ONLY = "周报只提供给民政局（镇街）工作人员。如需开通，请向管理员索取民政局邀请码。"
BAD_WEEK = (
    "看不懂“{text}”是哪一周。可以这样写：/digest 上周、/digest 上上周、/digest 11月18日、/digest 2026-11-18"
    " 或 /digest 2026-W47；不写就是本周。"
)
NO_SUCH_WEEK = "{year}年没有第{number}周：{year}年只有 {weeks} 周（{year}-W01 到 {year}-W{weeks}）。"
NO_SUCH_DATE = "{year}年没有{month}月{day}日这一天，请检查日期。"
FUTURE_WEEK = "{week} 还没到，请选本周或以前的周次。"
BUSY = "系统繁忙，周报暂时无法生成，请稍后再发 /digest。"
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
WEEKDAY = "周{name}"

# ---------------------------------------------------------------------------------------------- anonymisation

# What replaces identifying details in residents' comments and check texts shown in the digest.
MASK_NAME = "〔姓名〕"  # 王书记 -> 〔姓名〕书记: the role stays, the person does not
MASK_PHONE = "〔电话〕"
MASK_ID = "〔证件号〕"
MASK_PLATE = "〔车牌〕"
MASK_CONTACT = "〔联系方式〕"  # WeChat / QQ ids, e-mail addresses, links
MASK_ADDRESS = "〔地址〕"  # house, building and room numbers
MASK_NUMBER = "〔号码〕"  # any other long number
ELLIPSIS = "…"

# ---------------------------------------------------------------------------------------------- command line

CLI_HELP = "生成周报（与 Telegram 推送的内容相同），不经过 Telegram"
CLI_DESCRIPTION = "生成政社互动周报，内容与 Telegram 推送的相同。"
CLI_EPILOG = """\
示例：
  cadrebot digest --week 上周 --town DEMO
  cadrebot digest --week 2026-W47 --format xlsx --out 周报.xlsx
  cadrebot digest --week 11月18日 --format csv --out 周报.zip
  cadrebot digest --week 上周 --table villages --out 村社区.csv
  cadrebot digest --status --week 上周          # 定时推送给每位订阅人的情况

空周（或没有可画的数据）用 --format png 时不生成图表：只在标准错误输出一句说明，不写文件，退出码 1。

退出码：0 成功；1 找不到镇/街道、数据库不可用、缺少中文字体或没有可画的图表；2 参数有误（周次看不懂或不存在、
二进制格式要输出到终端等）。"""
CLI_WEEK_HELP = "哪一周：本周、上周、上上周、某一天（2026-11-18、11月18日、11.18）或 ISO 周次（2026-W47）；省略为本周（截至现在）"
CLI_TOWN_HELP = "镇/街道代码；省略为全市汇总"
CLI_FORMAT_HELP = "输出格式：text、md、xlsx、csv（每张表一个 CSV，打包成 zip）或 png；默认 text，给了 --table 时为 csv"
CLI_TABLE_HELP = "只输出这一张表的 CSV（UTF-8 带 BOM，Excel 可直接打开）。NAME："
TABLE_LABELS: dict[str, str] = {  # --table NAME -> what the table is (the zip's files are NAME.csv)
    "overview": "周报概览",
    "period": "满意度测评期",
    "top_items": "问得最多的事项",
    "villages": "各村社区",
    "rc_departments": "红牌候选按部门",
    "rc_detail": "红牌候选明细",
    "rc_charted": "本周新增和确认",
    "rc_ytd": "红牌候选年度累计",
    "aspects": "满意度分项",
    "comments": "居民意见",
    "gaps": "知识库待补充",
}
CLI_OUT_HELP = "输出文件；省略或 - 为标准输出（xlsx、png 和 csv 压缩包不能输出到终端）"
CLI_BAD_WEEK = "看不懂周次“{text}”。--week 可以写：本周、上周、上上周、2026-11-18、11月18日、11.18 或 2026-W47。"
CLI_TABLE_NEEDS_CSV = "--table 只用于 CSV：去掉 --format {format}，或写 --format csv。"
CLI_NO_TOWN = "找不到镇/街道 {code}。用 cadrebot admin 查看或添加镇/街道。"
CLI_BINARY_KINDS: dict[str, tuple[str, str]] = {  # format -> (what it is, file extension)
    "xlsx": ("Excel 报表", "xlsx"),
    "png": ("图表", "png"),
    "csv": ("CSV 压缩包", "zip"),
}
CLI_NEED_OUT = "{what}是二进制文件，不能显示在终端里。请用 --out 指定文件，如 --out 周报.{ext}（或重定向到文件）。"
CLI_NO_CHART = "{scope} {week}：没有可画的数据（没有可显示的满意度分数，也没有新增或确认的红牌候选），未生成图表。"
CLI_NO_CHART_EMPTY = "{line}未生成图表。"
CLI_DB_DOWN = "无法连接数据库：{error}"
CLI_NO_FONT = "无法生成图表：{error}"
CLI_WROTE = "已写入 {path}（{size} 字节）"
CLI_STATUS_HELP = ("不生成周报，而是列出定时推送的情况：每周每位订阅人收到了哪些部分、是否在等待重试"
                   "（可与 --week、--town 合用；不给 --town 时列出全部）")
CLI_STATUS_NONE = "还没有定时推送的记录。"
CLI_STATUS_WEEK = "{week} {scope}：{done}/{total} 人已收齐{open}"
CLI_STATUS_OPEN = "（未完成）"
CLI_STATUS_LINE = "  {recipient}：{status}；已收到：{parts}；尝试 {attempts} 次{next}{error}"
CLI_STATUS_RECIPIENT = "{name}（{user_id}）"
CLI_STATUS_NEXT = "；下次尝试 {at}"
CLI_STATUS_ERROR = "；最后错误：{error}"
CLI_STATUS_NOTHING = "无"
DELIVERY_STATUS_LABELS: dict[str, str] = {  # storage.models.DeliveryStatus -> what the status listing says
    "pending": "待发送",
    "retrying": "等待重试",
    "sent": "已收齐",
    "given_up": "已放弃",
}
PART_LABELS: dict[str, str] = {"text": "文字", "xlsx": "Excel 报表", "png": "图表"}  # bot.digest.delivery.Part
