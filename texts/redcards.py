"""Texts of /redcards: the list of red-card candidates and its buttons."""

STATUS = {
    "candidate": "待确认",
    "confirmed": "已确认",
    "withdrawn": "已撤回",
    "included": "已纳入评估",
}

HEAD_VILLAGE = "{village} 红牌候选（共 {total} 条，第 {page}/{pages} 页，最新在前）"
HEAD_TOWN = "{town} 各村(社区)红牌候选（共 {total} 条，第 {page}/{pages} 页，最新在前，只读）"
EMPTY_VILLAGE = "{village} 还没有红牌候选。遇到不该做的任务，查询后点“记为红牌候选”即可记录。"
EMPTY_TOWN = "{town} 还没有红牌候选。"
LINE = "{n}. [{status}] {department}｜{item}{times}"
LINE_VILLAGE = "   {village}"
LINE_TASK = "   「{task}」 {day}"
TIMES = " ×{count}"
ITEM_UNLISTED = "未列入清单"
TASK_MAX = 40

BTN_CONFIRM = "确认 {n}"
BTN_WITHDRAW = "撤回 {n}"
BTN_UNDO = "↩ 撤销撤回 {n}"
BTN_PREV = "◀ 上一页"
BTN_NEXT = "下一页 ▶"

REFUSED = "红牌候选只有登记的村(社区)干部和民政部门人员可以查看。村(社区)干部请先注册：/register 邀请码"
ADMIN = "管理员请用命令行查看各镇红牌候选（cadrebot digest）。"

CONFIRMED = "已确认这条红牌候选。"
WITHDRAWN_UNDOABLE = "已撤回这条红牌候选。点了不该点的？一天内可点“撤销撤回”恢复。"
RESTORED = "已撤销撤回，这条红牌候选恢复为“{status}”。"
UNDO_EXPIRED = "撤销已过期或已用过，这条红牌候选保持现状。"
NOT_FOUND = "这条红牌候选已不存在。"
NOT_PERMITTED = "您无权更改这条红牌候选。"
ALREADY = "这条红牌候选已是“{status}”，无法再{action}。"
ACTION = {"confirmed": "确认", "withdrawn": "撤回", "restored": "撤销撤回"}
