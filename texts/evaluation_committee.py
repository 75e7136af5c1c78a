"""Texts of the committee's evaluation of the departments (村(居)委会评价部门) in the bot."""

# a card question: raise it as a formal red card, or drop it
CARD_QUESTION = ("{round} · 第 {number}/{total} 题\n"
                 "红牌候选：{department}\n"
                 "事项：{item}\n"
                 "本半年报告 {count} 次（{first}–{last}）\n"
                 "当时发来的任务：\n{evidence}\n\n"
                 "是否对{department}亮红牌？")
CARD_ITEM_UNLISTED = "清单外事项"
EVIDENCE_LINE = "「{text}」"
EVIDENCE_MORE = "……另有 {count} 条未显示"
EVIDENCE_NONE = "（没有记录任务原文）"
BTN_RAISE = "🟥 亮红牌"
BTN_DROP = "不亮牌"
CHOICE_LABEL = {"raised": BTN_RAISE, "dropped": BTN_DROP}

# a rating question: one aspect of one department
RATING_QUESTION = "{round} · 第 {number}/{total} 题\n{department} · {aspect}\n请选择评价等级："

# the pressed message once answered
CARD_ANSWERED = "第 {number}/{total} 题 · {department} · {item}：{choice}"
RATING_ANSWERED = "第 {number}/{total} 题 · {department} · {aspect}：{grade}"
CURRENT_ANSWER = "\n\n现在的选择：{choice}"
BTN_CHANGE = "改"
BTN_ALL = "各项都{grade}"  # the same grade for every aspect of this department
ALL_HINT = "\n（下面一行按钮：本部门其余各项也评同一等级，一次点完）"

# toasts
SAVED_TOAST = "已保存"
CHANGED_TOAST = "已修改"

FINISHED = ("{round}：本村（社区）对部门的评价已全部完成。\n"
            "亮红牌 {raised} 张 · 不亮牌 {dropped} 张 · 评价了 {departments} 个部门\n"
            "评估结束前，可以再发 /evaluation 查看，点旧题目下的“改”修改。")

# refusals
NOT_COMMITTEE = "只有村（社区）干部可以评价部门。"
NO_ROUND = "本镇（街道）现在没有进行中的评估。"
NO_AGREEMENT = "本镇（街道）还没有协议书，暂时不能评价部门，请联系民政办。"
STALE = "这道题已失效，请发 /evaluation 继续。"
WRONG_VILLAGE = "您现在不是这个村（社区）的干部，不能回答这道题。"
BAD_CHOICE = "这个选项无效，请发 /evaluation 继续。"
ROUND_CLOSED = "{label}已结束，不能再修改。"
