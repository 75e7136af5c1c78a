"""Texts of the departments' side of the two-way evaluation (部门为各村评分) in the bot."""

# What a department member may type for "no bonus" (compared after NFKC and trimming).
NO_BONUS_WORDS = ("无", "无加分", "没有", "不加分", "不加", "0", "0分")

INTRO = ("{department} · {round}：请为本镇（街道）各村（社区）完成的委托事项评分（百分制），"
         "共 {total} 项，已评 {done} 项；截止 {deadline}。随时可以停下，发送 /evaluation 从下一项继续。")

SCORE_QUESTION = "{village} · {item_id} {title}（权重 {weight}） 第 {number}/{total} 项\n请为该村（社区）这项工作打分："
BONUS_QUESTION = ("{village} · 加分（可选，最多 {most} 分）\n"
                  "该村（社区）在本部门事项上有突出表现，可以加分：请直接发送“分数 理由”，例如：3 组织了招聘会。"
                  "没有加分请点“无加分”。")

BTN_OTHER_SCORE = "✏️ 其他分数"
BTN_NO_BONUS = "无加分"
BTN_TYPE_BONUS = "✏️ 填写加分"
CHOSEN = "✅{label}"

ANSWERED_SCORE = "✅ 已评：{score} 分（点下面的按钮可以修改）"
ANSWERED_NO_BONUS = "✅ 无加分（点下面的按钮可以修改）"
ANSWERED_BONUS = "✅ 加分 {points} 分：{reason}（点下面的按钮可以修改）"
TYPE_SCORE = "✏️ 请直接发送分数（0–100，可带一位小数，如 87.5）；发送 /cancel 取消。"
TYPE_BONUS = "✏️ 请直接发送“分数 理由”，例如：3 组织了招聘会；发送 /cancel 取消。"

SAVED_TOAST = "已记录"
TYPE_TOAST = "请直接发送"
SAVED_SCORE = "✅ 已记录：{village} · {item_id} {score} 分"
SAVED_NO_BONUS = "✅ 已记录：{village} 无加分"
SAVED_BONUS = "✅ 已记录：{village} 加分 {points} 分（{reason}）"

FINISHED = "✅ {department}对{round}的评分已全部完成。各村（社区）加权得分："
FINISHED_LINE = "{village}：{score} 分"
FINISHED_LINE_UNSCORED = "{village}：未评分"
FINISHED_BONUS = "（加分 +{points}：{reason}）"
FINISHED_FOOTER = "评估结束前都可以修改：点上面对应题目下的按钮即可。"

# typed answers that are not one
NOT_A_SCORE = "“{text}”不是分数：请发送 0–100 之间的数字，例如 95 或 87.5（等级如“优秀”不能代替分数）。发送 /cancel 取消。"
SCORE_OUT_OF_RANGE = "得分应在 0–100 之间，收到“{text}”。请重新发送，或发送 /cancel 取消。"
NOT_A_BONUS = "请先写加分分数，再写理由，例如：3 组织了招聘会；没有加分请发送“无加分”。发送 /cancel 取消。"
BONUS_OUT_OF_RANGE = "加分应在 0–{most} 分之间，收到“{text}”。请重新发送，或发送 /cancel 取消。"
BONUS_NEEDS_REASON = "加分要写明理由，例如：{points} 组织了招聘会。请重新发送，或发送 /cancel 取消。"
NOTHING_WAITING = "这一步已经结束了。发送 /evaluation 继续评分。"

# refusals
NOT_DEPARTMENT = "只有部门人员可以为各村（社区）评分。"
NO_ROUND = "本镇（街道）现在没有进行中的评估。"
NO_AGREEMENT = "本镇（街道）的协议书还没有录入，没有可评分的事项。"
NO_ITEMS = "协议书里没有{department}委托的事项，这一轮不需要评分。"
STALE = "这个按钮已失效，请发送 /evaluation 继续评分。"
ROUND_CLOSED = "{round}已结束，不能再修改。"
NOT_PERMITTED = "只能为本部门委托的事项、本镇（街道）的村（社区）评分。"
FINISHED_MORE = "……（其余各村见评估档案）"
