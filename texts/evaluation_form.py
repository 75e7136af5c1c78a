"""Texts of the departments' scoring form (双向评估 · 部门评分表, XLSX): the 说明 sheet, the column headers, the
bonus row's word and the import's row errors.

Placeholders are filled by flows/evaluation/score_form.py. `{got}` is the cell as the department left it.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------- the 说明 sheet

GUIDE_SHEET = "说明"
GUIDE_TITLE = "{town} {round} 部门评分表（政社互动双向评估）"
TOWN_CODE_LABEL = "镇（街道）代码"
TOWN_NAME_LABEL = "镇（街道）"
ROUND_CODE_LABEL = "评估轮次代码"
ROUND_LABEL_LABEL = "评估轮次"
GUIDE_KEEP_CODES = "（以上代码用于导入核对，请勿修改）"
GUIDE_LINES: tuple[str, ...] = (
    "填写说明：",
    "1. 每个部门一张表，表名就是部门名称。各部门只填写本部门的表，只给本部门委托的协助政府工作事项打分。",
    "2. 在黄色的“得分(0-100)”列填写百分制得分（0–100，可带小数），例如 95。不评分的事项留空。",
    "3. 每个村(社区)的最后一行是“加分”行：对工作突出的村(社区)，在“加分”列填写加分（0–{bonus_max} 分），"
    "并在“加分理由”列写明理由；没有加分的留空。事项行的“加分”列不要填写。",
    "4. 不要修改村(社区)代码、事项编号、表名和表头，不要增删表；行的顺序可以调整。",
    "5. 填好后保存为 .xlsx 文件，交回镇（街道）民政办导入。",
)
SHEET_NAME_FALLBACK = "部门"

# ---------------------------------------------------------------------------------------------- department sheets

HEADER_VILLAGE_CODE = "村(社区)代码"
HEADER_VILLAGE_NAME = "村(社区)"
HEADER_ITEM_ID = "事项编号"
HEADER_ITEM_TITLE = "事项"
HEADER_WEIGHT = "权重"
HEADER_SCORE = "得分(0-100)"
HEADER_BONUS = "加分"
HEADER_BONUS_REASON = "加分理由"
BONUS_ROW_ITEM = "加分"  # the 事项编号 of a village's bonus row
BONUS_ROW_TITLE = "工作突出的加分（0–{bonus_max} 分，须写明理由）"

SCORE_PROMPT_TITLE = "得分"
SCORE_PROMPT = "填写 0–100 的得分，不评分留空"
SCORE_REFUSED_TITLE = "得分有误"
SCORE_REFUSED = "得分必须是 0–100 的数字"
BONUS_PROMPT_TITLE = "加分"
BONUS_PROMPT = "填写 0–{bonus_max} 的加分，并写明加分理由"
BONUS_REFUSED_TITLE = "加分有误"
BONUS_REFUSED = "加分必须是 0–{bonus_max} 的数字"

# ---------------------------------------------------------------------------------------------- import errors

NOT_XLSX = "无法读取这个文件：它不是 Excel 表格（.xlsx）。请用下发的评分表填写，保存为 .xlsx 后再导入。"
GUIDE_MISSING = "缺少“说明”表，无法核对镇（街道）和评估轮次。请用下发的评分表填写。"
TOWN_MISMATCH = "这不是 {name} 的评分表：镇（街道）代码应为“{expected}”，表中是“{got}”"
ROUND_MISMATCH = "这不是“{label}”的评分表：评估轮次代码应为“{expected}”，表中是“{got}”"
UNKNOWN_SHEET = "本评分表没有名为“{sheet}”的部门，这张表未导入"
HEADER_MISSING = "表头缺少“{column}”列，这张表未导入。请不要修改表头"
UNKNOWN_VILLAGE = "村(社区)代码“{got}”不在本部门的评估名单中"
UNKNOWN_ITEM = "事项“{got}”不是本部门对该村(社区)的评估事项"
DUPLICATE_ROW = "与第 {first} 行重复（同一村(社区)、同一事项只能有一行）"
BAD_SCORE = "得分必须是 0–100 的数字，收到“{got}”"
BAD_BONUS = "加分必须是 0–{bonus_max} 的数字，收到“{got}”"
BONUS_WITHOUT_REASON = "加分 {points} 分须写明加分理由"
REASON_WITHOUT_BONUS = "写了加分理由，但“加分”列是空的"
BONUS_ON_ITEM_ROW = "加分请填在该村(社区)的“加分”行，事项行的“加分”列留空"
SCORE_ON_BONUS_ROW = "“加分”行不填得分，得分请填在事项行"
ROW_WITHOUT_KEY = "这一行缺少村(社区)代码或事项编号，无法导入"
ERROR_AT = "{sheet}:{row} {message}"  # where a row error is: 人社局:7 得分必须是……
ERROR_IN_SHEET = "{sheet} {message}"  # an error about a whole sheet
