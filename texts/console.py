"""Texts of the local console chat and of the command line."""

WELCOME = (
    "政社互动助手（本地对话）\n"
    "把别人交给村(居)委会的任务发给我，我告诉您在不在清单内、该怎么办。\n"
    "例如：派出所叫社区开个证明，证明张阿姨跟她儿子是母子关系\n"
    "输入 /quit 退出。"
)
PROMPT = "您> "
KB_BROKEN = "知识库有错误，请先修正（cadrebot kb validate 可列出全部问题）："
VALID = "知识库检查通过：{items} 个事项（{counts}），{synonyms} 组同义词，{departments} 个部门简称。"
INVALID = "知识库有 {n} 个问题："

# `cadrebot db`
DB_UPGRADED = "数据库已升级到版本 {revision}: {url}"
DB_UNREACHABLE = "无法连接数据库 {url}: {error}"
DB_UNREACHABLE_SHORT = "无法连接数据库: {error}"
DB_CURRENT = "当前版本: {revision}；{state}"
DB_NO_TABLES = "未建表"
DB_LATEST = "最新"
DB_NEEDS_UPGRADE = "需要升级到 {head}（运行 cadrebot db upgrade）"

# `cadrebot admin`
ROLE_LABELS = {"cadre": "村/社区干部", "bureau": "民政局/镇街工作人员", "admin": "管理员"}
PLACE_LABELS = {"town": "镇/街道", "village": "村/社区"}
ADMIN_DB_NOT_READY = "数据库 {url} 尚未建表或需要升级，请先运行: cadrebot db upgrade"
ADMIN_NOT_FOUND = "找不到{label}: {key}"
ADMIN_EXISTS = "{label} {key} 已存在"
ADMIN_INVALID = "输入有误: {error}"
ADMIN_DB_DOWN = "数据库不可用，请稍后重试: {error}"
ADMIN_FAILED = "失败: {error}"

TOWN_ADDED = "已新增镇/街道 {code} {name}"
VILLAGE_ADDED = "已新增村/社区 {code} {name}（{town_code} {town_name}）"
PLACES_IMPORTED = "已导入 {file}: {summary}"
IMPORT_SUMMARY = (
    "镇/街道: 新增 {towns_created}, 更新 {towns_updated}; "
    "村/社区: 新增 {villages_created}, 更新 {villages_updated}; 未变 {unchanged}"
)
NO_PLACES = "还没有镇/街道。可运行 cadrebot admin seed-demo 或 cadrebot admin import-places FILE"
PLACE_TOWN_LINE = "{code}\t{name}"
PLACE_VILLAGE_LINE = "  {code}\t{name}"

INVITE_DAYS_RANGE = "输入有误: --days 是邀请码的有效天数，应为 {low} 到 {high} 之间的整数，您输入的是 {days}"
INVITE_CODE = "邀请码: {code}"
INVITE_LINK = "链接: {link}"
INVITE_PLACE = " · {code} {name}"
INVITE_TERMS = "  {role}{place}；有效至 {expires}（{tz}），只能使用一次。"
INVITE_REGISTER = "  也可以在机器人里发送: /register {code}"

SURVEY_LINK_NOTE = "  {code} {name} 居民满意度问卷（匿名）。可印成二维码张贴。"

DEMO_READY = "演示数据就绪: {town} 示范镇，{n} 个村/社区（{summary}）"
DEMO_CADRE = "【干部】{village}:"
DEMO_BUREAU = "【民政局/镇街】示范镇:"
DEMO_SURVEY = "【居民问卷】{village}: {link}"

# `cadrebot admin year-end`
YEAR_END_BAD_PERIOD = "输入有误: --period 是评估年度，应为四位年份，例如 2026；您输入的是 {period}"
YEAR_END_DONE = "已将 {town}（{code}）{period} 年度 {n} 条已确认的红牌候选纳入年终评估，按部门："
YEAR_END_DEPARTMENT = "  {department}：{cards} 条，累计 {times} 次"
YEAR_END_NOTHING = "{town}（{code}）{period} 年度没有已确认、待纳入的红牌候选，没有更改。"
YEAR_END_UNCONFIRMED = "另有 {n} 条红牌候选尚待村(社区)干部确认，没有纳入。"
