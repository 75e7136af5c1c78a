"""Texts of /evaluation for the bureau (民政办) and admins: opening, following and closing a round, the dossier,
the scoring form and its import, fee payments, reminders; and the refusal everyone else gets."""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------- who may

REFUSED = "评估功能只对已注册的村(社区)干部、部门和民政办人员开放。"
NOT_BUREAU = "只有本镇（街道）民政办或管理员可以做这一步。"
NEEDS_TOWN = "管理员请写明镇(街道)代码，例如：/evaluation open DEMO 2026H2 2027-01-15"
UNKNOWN_TOWN = "没有代码为“{code}”的镇(街道)。"
NO_AGREEMENT = "{town}还没有协助政府工作事项协议书，无法开展双向评估。"

# ---------------------------------------------------------------------------------------------- status

NO_ROUND_YET = "{town}还没有开过双向评估。"
LAST_ROUND = "{town}最近一轮：{label}（{status}，截止 {deadline}）。"
HOW_TO_OPEN = (
    "开启新一轮：/evaluation open 2026H2 2027-01-15\n"
    "（轮次 2026H1 为年中、2026H2 为年末；截止日期也可写 2027/1/15 或 1月15日）"
)
HOW_TO_OPEN_ADMIN = "开启新一轮：/evaluation open {town} 2026H2 2027-01-15"
STATUS = (
    "{town} · {label}（进行中）\n"
    "截止日期：{deadline}\n"
    "村(社区)评价部门：已完成 {villages_done}/{villages_total}\n"
    "部门评分：已完成 {departments_done}/{departments_total}"
)
UNFINISHED_VILLAGES = "未完成的村(社区)：{names}"
UNFINISHED_DEPARTMENTS = "未完成的部门：{names}"
NAMES_SEP = "、"
STATUS_WORD = {"open": "进行中", "closed": "已结束"}
PAY_HINT = "记录经费拨付：/evaluation pay 村代码或村名 事项编号 金额(元) [备注]"
IMPORT_HINT = "部门填好的评分表(.xlsx)直接发给我，即可导入。"

BTN_DOSSIER = "📄 评估档案"
BTN_FORM = "📋 评分表"
BTN_REMIND = "🔔 提醒未完成"
BTN_LEDGER = "💰 经费台账"
BTN_CLOSE = "🔒 结束本轮"
BTN_CLOSE_CONFIRM = "✅ 确认结束"
BTN_CLOSE_CANCEL = "取消"

# ---------------------------------------------------------------------------------------------- opening

OPEN_USAGE = "用法：/evaluation open 2026H2 2027-01-15（截止日期也可写 2027/1/15 或 1月15日）"
OPEN_USAGE_ADMIN = "用法：/evaluation open DEMO 2026H2 2027-01-15（管理员要写明镇(街道)代码）"
BAD_DATE = "看不懂截止日期“{text}”，请写成 2027-01-15、2027/1/15 或 1月15日。"
ALREADY_OPEN = "{label}已经开过了，不能重复开启。"
OPENED = (
    "已开启 {town} · {label}，截止 {deadline}。\n"
    "各村(社区)干部和部门人员发 /evaluation 即可开始；截止前 3 天和 1 天会自动提醒未完成的人。"
)

# ---------------------------------------------------------------------------------------------- buttons

ROUND_GONE = "这一轮评估已结束或不存在，请重新发送 /evaluation。"
DOSSIER_SENDING = "正在生成评估档案……"
DOSSIER_XLSX_NAME = "{town}-{round}-评估档案.xlsx"
DOSSIER_PDF_NAME = "{town}-{round}-评估档案.pdf"
DOSSIER_CAPTION = "{town} · {label} 评估档案（{kind}）"
DOSSIER_NO_FONT = "服务器缺少中文字体，这次只发了 XLSX 档案；PDF 需要管理员安装字体（fonts-wqy-microhei）后再生成。"
FORM_NAME = "{town}-{round}-部门评分表.xlsx"
FORM_CAPTION = "{label} 部门评分表：请各部门在“得分”列填 0–100 分，填好后发回给我导入。"
FORM_EMPTY = "协议书里没有委托事项或本镇没有村(社区)，无法生成评分表。"
REMIND_NOBODY = "现在没有需要提醒的人：未完成的村(社区)和部门都还没有人注册，或者都已完成。"
REMIND_ASKED = "已安排提醒：约一分钟内提醒 {people} 人（{villages} 个村(社区)、{departments} 个部门未完成）。"
REMIND_TOAST = "已安排提醒"
LEDGER_TITLE = "{town} · {label} 经费台账（单位：元）"
LEDGER_LINE = "{name}：应付 {due} · 已付 {paid} · 未付 {outstanding}"
LEDGER_TOTAL = "合计：应付 {due} · 已付 {paid} · 未付 {outstanding}"
LEDGER_NOTE = "应付按协议书经费和部门评分计算；未评分的事项暂不计应付。"
LEDGER_CUT = "……（其余见评估档案）"
CLOSE_ASK = "确定结束 {label} 吗？结束后村(社区)和部门都不能再修改评价和评分（经费拨付仍可记录）。"
CLOSED = "已结束 {town} · {label}。可以点“📄 评估档案”下载最终档案。"
CLOSE_CANCELLED = "没有结束，评估继续进行。"
TOAST_DONE = "好的"

# ---------------------------------------------------------------------------------------------- payments

PAY_USAGE = "用法：/evaluation pay 村代码或村名 事项编号 金额(元) [备注]，例如：/evaluation pay DEMO01 B5 4000 第一笔"
PAY_NO_ROUND = "{town}还没有评估轮次，经费拨付要记在某一轮评估下。"
PAY_UNKNOWN_VILLAGE = "{town}没有“{text}”这个村(社区)，请写村代码（如 DEMO01）或村名。"
PAY_UNKNOWN_ITEM = "协议书里没有事项“{text}”，请写事项编号，如 B5。"
PAY_BAD_AMOUNT = "金额“{text}”不对：请写大于 0 的元数，最多两位小数，如 4000 或 1250.50。"
PAID = (
    "已记录：{village} · {item_id} {item_title}，拨付 {amount} 元（{label}）。\n"
    "本项应付 {due} 元 · 已付 {paid} 元 · 未付 {outstanding} 元"
)

# ---------------------------------------------------------------------------------------------- the form's import

IMPORT_NO_ROUND = "{town}现在没有进行中的评估，评分表不能导入。"
IMPORT_TOO_BIG = "文件太大（超过 {mb} MB），评分表不会这么大，请检查后重发。"
IMPORT_DOWNLOAD_FAILED = "没能从 Telegram 取到这个文件，请稍后再发一次。"
IMPORT_REFUSED = "评分表有 {count} 处错误，全部没有导入。请改正后重发：\n{errors}"
IMPORT_MORE_ERRORS = "……另有 {count} 处错误"
IMPORT_SAVE_FAILED = "评分表没有导入：{reason}"
IMPORTED = "已导入评分表：{scores} 项得分、{bonuses} 条加分（{label}）。"
IMPORTED_NOTHING = "评分表里没有填写任何得分或加分，没有导入。"

# ---------------------------------------------------------------------------------------------- reminders

REMINDER = "{label}将于{deadline}截止，您还有 {left} 项未完成，发 /evaluation 继续。"
DEADLINE_SHORT = "{month}月{day}日"
IMPORT_DB_BUSY = "系统繁忙，评分表没有导入（一行也没有）。请稍后把文件再发一次。"
INVITE_USAGE = "用法：/evaluation invite 部门名称，例如：/evaluation invite 人社局（管理员：/evaluation invite DEMO 人社局）"
NOT_AGREED_DEPARTMENT = "“{text}”不是本镇协议书里委托事项的部门，部门人员只给委托事项打分。协议书里的部门：{departments}"
INVITED = ("{town} · {department} 的部门人员邀请码：{code}\n链接：{link}\n"
           "有效至 {expires}，只能使用一次。请转给该部门负责评分的人，对方在机器人里发送 /register {code}。")
