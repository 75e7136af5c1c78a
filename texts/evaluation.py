"""Texts of the two-way evaluation (双向评估): rounds, the committee's and the departments' questions, fees."""

HALF_LABEL = {1: "年中", 2: "年末"}
ROUND_LABEL = "{year}年{half}评估"

# storage refusals
BAD_ROUND = "评估轮次应写成 2026H1（年中）或 2026H2（年末），收到“{text}”。"
BAD_DEADLINE = "截止日期 {deadline} 早于这半年的开始（{starts}）。"
DEADLINE_PASSED = "截止日期 {deadline} 已经过去了，请定一个今天以后的日期。"
ANOTHER_OPEN = "{label}还没有结束：一次只进行一轮评估，请先结束它（/evaluation 里的 🔒，或 cadrebot evaluation close）。"
ROUND_CLOSED = "{label}已结束，不能再修改。"
NOT_BUREAU = "只有本镇（街道）民政办或管理员可以管理评估。"
NOT_COMMITTEE = "只有本村（社区）的干部可以做这一项评价。"
NOT_DEPARTMENT = "只能为本部门委托的事项评分。"
BAD_CHOICE = "这个选项无效。"
BAD_SCORE = "得分应是 0–100 之间的数。"
BAD_BONUS = "加分应在 0–{most} 分之间。"
BONUS_NEEDS_REASON = "加分要写明理由。"
BAD_AMOUNT = "金额应大于 0。"
OVERPAID = "0.00（多付 {amount}）"
OVER_AGREED = "超过了本期协议经费 {agreed} 元：这一项最多还能登记 {left} 元。"

# the dossier's notes
DOSSIER_UNFINISHED_VILLAGE = "{name}对部门的评价未完成（{done}/{total}）"
DOSSIER_UNFINISHED_DEPARTMENT = "{name}的评分未完成（{done}/{total}）"
