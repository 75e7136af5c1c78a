"""Texts the bot adds around the task check's reply: buttons, notes, candidate choice, red-card recording.

The reply itself comes from the knowledge base (texts/check.py).
"""

# Buttons
BTN_UP = "👍"
BTN_DOWN = "👎"
BTN_UP_CHOSEN = "👍 已评"
BTN_DOWN_CHOSEN = "👎 已评"
BTN_RED_CARD = "记为红牌候选"
BTN_NONE_OF_THESE = "都不是"
BTN_CANDIDATE = "{id} {title}"
BTN_DEPT_OTHER = "其他(手动输入)"
BTN_CANCEL = "取消"
BTN_LETTER = "📝 生成回复函"

# Notes appended to a check's reply
NOTE_UNREGISTERED = "注：村(社区)干部用邀请码注册后可记录红牌候选（/register 邀请码）。"
NOTE_NOT_SAVED_LATER = "注：系统繁忙，本次查询记录暂未保存，恢复后会自动补存；如需记红牌候选，请稍后重发。"
NOTE_NOT_SAVED = "注：系统繁忙，本次查询没有记录；如需记红牌候选，请稍后重发。"

# Feedback
FEEDBACK_UP = "已记录：答得对。谢谢！"
FEEDBACK_DOWN = "已记录：答得不对。我们会据此补充清单。"
FEEDBACK_SAME = "已经记录过了。"

# Candidate choice (unclear)
CANDIDATE_CHOSEN_HEAD = "您选的是："
NONE_OF_THESE = (
    "好的，已记下“都不是”。\n"
    "这项任务可能不在清单内：未经准入的事项可依法拒绝或要求签订项目协议书，可记为红牌候选。\n"
    "也可以换个说法再发一次（写清是哪个部门、让做什么）。"
)
CANDIDATE_ANSWER = "已显示所选事项。"

# Red-card recording
RC_ONLY_REGISTERED = "注册为村(社区)干部后才能记录红牌候选：/register 邀请码"
RC_ONLY_CADRE = "只有村(社区)干部可以记录红牌候选。"
RC_NOT_FORBIDDEN = "这项任务在清单内，不能记为红牌候选。"
RC_ASK_DEPARTMENT = "记为红牌候选：{task}\n是哪个部门交办的？请点选，或点“其他(手动输入)”后直接输入部门名称。"
RC_ASK_DEPARTMENT_NO_GUESS = "记为红牌候选：{task}\n是哪个部门交办的？请点“其他(手动输入)”后输入部门名称。"
RC_TYPE_DEPARTMENT = "请直接发送部门名称（例如：县人社局），发送 /cancel 取消。"
RC_TYPE_EMPTY = "请发送部门名称（文字），例如：县人社局；发送 /cancel 取消。"
RC_STILL_WAITING = ("上面这条已按新任务查询。红牌候选「{task}」还在等部门名称：直接发部门名称即可（例如：镇医保办），"
                    "发送 /cancel 取消。")
RC_SAVED_NEW = "✅ 已记为红牌候选：{department}｜{item}\n本年度第 1 次。发送 /redcards 查看、确认或撤回。"
RC_SAVED_AGAIN = "✅ 已记为红牌候选：{department}｜{item}\n同一部门、同一事项本年度已有记录，已累计为第 {count} 次。发送 /redcards 查看。"
RC_ALREADY_REPORTED = ("这条查询已记为红牌候选：{department}｜{item}（{status}，本年度共 {count} 次）。"
                       "同一条查询只记一次；发送 /redcards 查看。")
RC_ALREADY_TOAST = "这条查询已记过红牌候选。"
RC_STILL_ASKING_TOAST = "这条红牌候选还在等部门名称。"
RC_ITEM_UNLISTED = "未列入清单的事项"
RC_CANCELLED = "已取消记录红牌候选。"
RC_SAVED_TOAST = "已保存。"
RC_STARTED = "请选择部门。"
RC_TYPE_PROMPTED = "请直接输入部门名称。"
RC_WRONG_VILLAGE = "您现在已不是这个村(社区)的干部，不能记录这条红牌候选。"

UNKNOWN_COMMAND = "不认识这个命令。发送 /help 查看可用命令；要查询任务，直接发文字即可。"
CAPTION_CHECKED = "（按图片说明文字查询）"
