"""Texts of the two-way evaluation dossier (双向评估档案) for the civil affairs office: sheet names, table titles,
column headers and the labels of missing values, shared by the XLSX and the PDF (flows/evaluation/dossier_*.py).
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------- document

TITLE = "{town} · {round} · 政社互动双向评估档案"
SUBJECT = "政社互动双向评估"
SHEET_OVERVIEW = "总览"
SHEET_FALLBACK = "表"  # a sheet whose name is nothing but forbidden characters
SECTION_VILLAGE = "村社区：{name}"
SECTION_DEPARTMENT = "部门：{name}"
PAGE_FOOTER = "第 {page} 页"

# ---------------------------------------------------------------------------------------------- overview

TABLE_INFO = "基本信息"
INFO_HEADER = ("项目", "内容")
INFO_TOWN = "镇街"
INFO_ROUND = "评估轮次"
INFO_PERIOD = "评估期间"
INFO_DEADLINE = "截止日期"
INFO_STATUS = "状态"
INFO_AGREEMENT = "协议"
INFO_GENERATED = "生成时间"
PERIOD = "{start} 至 {end}"
STATUS_CLOSED = "已结束"
STATUS_OPEN = "进行中"

TABLE_VILLAGES = "各村社区汇总"
TABLE_NOTES = "说明"
NOTES_HEADER = "说明"

# ---------------------------------------------------------------------------------------------- column headers

COL_VILLAGE = "村社区"
COL_DEPARTMENT = "部门"
COL_ITEM_ID = "事项编号"
COL_ITEM = "事项"
COL_WEIGHT = "权重"
COL_SCORE = "评分"
COL_WEIGHTED = "加权得分"
COL_BONUS = "加分"
COL_TOTAL = "总分"
COL_RAISED = "亮红牌"
COL_RESPONSES = "问卷份数"
COL_SATISFACTION = "满意度均分"
COL_REASON = "加分理由"
COL_COUNT = "上报次数"
COL_FIRST_SEEN = "首次上报"
COL_LAST_SEEN = "最近上报"
COL_DECISION = "处理结果"
COL_EVIDENCE = "任务原文"
COL_ASPECT = "分项"
COL_N = "样本数"
COL_MEAN = "平均分"
COL_AGREED = "约定金额（元）"
COL_DUE = "应付（元）"
COL_PAID = "已付（元）"
COL_OUTSTANDING = "未付（元）"
COL_ITEM_SUMMARY = "项目"
COL_VALUE = "分值"

# ---------------------------------------------------------------------------------------------- village sheet

TABLE_SUMMARY = "得分汇总"
TABLE_ITEM_SCORES = "部门评分"
TABLE_BONUSES = "加分"
TABLE_RATINGS_GIVEN = "对部门的评价"
TABLE_RED_CARDS = "红牌"
TABLE_SATISFACTION = "满意度"
TABLE_FEES = "经费"
SATISFACTION_OVERALL = "总体（问卷份数）"
TOTAL_ROW = "合计"

# ---------------------------------------------------------------------------------------------- department sheet

TABLE_RED_CARDS_RECEIVED = "收到的红牌"
TABLE_RATINGS_RECEIVED = "收到的评价"
TABLE_GRADE_COUNTS = "评价等次统计"
TABLE_FEES_OWED = "应付经费"

# ---------------------------------------------------------------------------------------------- values

DECISION_LABELS: dict[str, str] = {
    "raised": "亮红牌",
    "dropped": "不予追究",
    "undecided": "待定",
}
INSUFFICIENT = "样本不足"
NOT_SCORED = "未评分"
NOT_GRADED = "未评"
NO_FIXED_AMOUNT = "不定额"
UNLISTED_ITEM = "清单外"
ITEM_WITH_TITLE = "{id} {title}"
NONE_ROW = "无"
EVIDENCE_SEP = "\n"
