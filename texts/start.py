"""Texts of /start, /help and registration (invite codes)."""

# The command menu set at start-up (setMyCommands); only commands some handler answers are shown.
MENU = (
    ("start", "开始使用 / 用邀请码注册"),
    ("help", "使用说明"),
    ("register", "用邀请码注册：/register 邀请码"),
    ("redcards", "本村(社区)的红牌候选"),
    ("survey", "居民满意度问卷"),
    ("evaluation", "双向评估（村社区评部门、部门评村社区、民政办管理）"),
    ("cancel", "取消当前操作"),
    ("digest", "本周周报（民政局）"),
    ("subscribe", "订阅每周周报（民政局）"),
    ("unsubscribe", "退订每周周报（民政局）"),
)

WELCOME_GUEST = (
    "您好，我是政社互动助手。\n"
    "把上级或部门交给村(居)委会的任务发给我，比如“街道让我们收医保的钱还要排名”，"
    "我告诉您在不在清单内、该怎么办。\n"
    "村(社区)干部请用邀请码注册：/register 邀请码（或打开管理员发的链接），注册后可记录红牌候选。\n"
    "居民请打开村(社区)发的问卷链接参加满意度评价，或发送 /survey。"
)

HELP_GUEST = (
    "怎么用：\n"
    "• 直接发任务内容，我判断在不在清单内、该怎么办。\n"
    "• /register 邀请码 —— 村(社区)干部或民政局人员注册。\n"
    "• /survey —— 居民满意度问卷。\n"
    "• /cancel —— 取消当前操作。"
)

HELP_CADRE = (
    "您好，{village}的干部。怎么用：\n"
    "• 直接发任务内容，我判断在不在清单内、该怎么办。\n"
    "• 不该做的任务，点“记为红牌候选”，选部门后保存。\n"
    "• /redcards —— 本村(社区)的红牌候选，可确认或撤回。\n"
    "• 每条回答下点 👍/👎 告诉我答得对不对。\n"
    "• /evaluation —— 双向评估：评价各部门、决定是否亮红牌。\n"
    "• /cancel —— 取消当前操作。"
)

HELP_DEPARTMENT = (
    "您好，{town}{department}的同志。怎么用：\n"
    "• /evaluation —— 双向评估：为各村(社区)承担的本部门协助事项打分（百分制），可给加分并写明理由。\n"
    "• 直接发任务内容，我判断在不在村(社区)的清单内。\n"
    "• /cancel —— 取消当前操作。"
)

HELP_BUREAU = (
    "您好，{town}民政部门的同志。怎么用：\n"
    "• 直接发任务内容，我判断在不在清单内。\n"
    "• /redcards —— 本镇(街道)各村(社区)的红牌候选（只读）。\n"
    "• /digest —— 本周周报；/subscribe、/unsubscribe —— 订阅或退订每周一的周报。\n"
    "• /evaluation —— 双向评估：开启、查看进度、提醒、记录经费、下载档案和评分表。"
)

HELP_ADMIN = (
    "您好，管理员。怎么用：\n"
    "• 直接发任务内容，我判断在不在清单内。\n"
    "• /redcards —— 红牌候选；/digest —— 周报；/evaluation DEMO —— 某镇的双向评估。\n"
    "• 邀请码、村(社区)名单请用命令行 cadrebot admin 管理。"
)

REGISTER_USAGE = "请在 /register 后面加上邀请码，例如：/register K7M2Q9XA\n邀请码由镇(街道)或管理员发放。"
REGISTERED_CADRE = "注册成功！您已绑定为 {village}（{town}）的村(社区)干部。\n发任务内容给我即可查询；/redcards 查看本村红牌候选。"
REGISTERED_BUREAU = "注册成功！您已绑定为 {town} 的民政部门人员。\n/redcards 查看本镇红牌候选，/digest 查看周报。"
REGISTERED_DEPARTMENT = "注册成功！您已绑定为 {town} {department}的工作人员。\n发 /evaluation 为各村(社区)的协助事项打分。"
REGISTERED_ADMIN = "注册成功！您已成为管理员。"
REGISTER_FAILED = "注册没有成功：{reason}\n您输入的邀请码：{code}"
# Keyed by storage.errors.InviteFailure values.
INVITE_REFUSED = {
    "unknown": "邀请码不存在，请核对后重试，或向管理员索取新的邀请码。",
    "used": "该邀请码已被使用过，每个邀请码只能用一次。请向管理员索取新的邀请码。",
    "expired": "该邀请码已过期，请向管理员索取新的邀请码。",
    "locked": "邀请码输错次数太多，暂时不能注册。",
}
# Too many wrong codes (storage.members.MAX_WRONG_CODES in a few minutes); {at}: local time HH:MM
REGISTER_LOCKED = "邀请码输错次数太多，请于 {at} 之后再试。"

# `cadrebot run` (printed on the deployer's console)
RUN_NO_TOKEN = "未设置 TELEGRAM_BOT_TOKEN，改为打开本地对话（cadrebot chat）；设置令牌后再运行即可启动 Telegram 机器人。"
RUN_KB_BROKEN = "知识库有错误，机器人没有启动（cadrebot kb validate 可列出全部问题）："
RUN_DB_NOT_READY = "数据库还没有建表或需要升级，请先运行：cadrebot db upgrade"
RUN_DB_DOWN = "无法连接数据库（{url}），机器人没有启动：{error}"
RUN_POLLING = "cadrebot 已启动（轮询模式），按 Ctrl+C 停止。"
RUN_WEBHOOK = "cadrebot 已启动（webhook 模式）：{url}，本机监听 {listen}:{port}，按 Ctrl+C 停止。"
RUN_BAD_WEBHOOK = "webhook 地址必须以 https:// 开头（本机测试可用 http://），例如 https://bot.example.com/tg"
RUN_BAD_TOKEN = "Telegram 拒绝了这个令牌（TELEGRAM_BOT_TOKEN），请向 @BotFather 核对后重试。"
RUN_NO_SERVER = "无法连接 Telegram 服务器 {url}（{error}），请检查网络或 TELEGRAM_API_BASE_URL。"
RUN_REFUSED = "Telegram 服务器拒绝了启动请求（{error}），请检查令牌、webhook 地址和 TELEGRAM_API_BASE_URL。"
RUN_CANNOT_LISTEN = "无法在 {listen}:{port} 上监听 webhook（{error}），请换一个 --port，或先停止占用这个端口的程序。"
RUN_DEBUG_HINT = "加上 --log-level DEBUG 再运行，可以看到完整的出错信息。"
# Why the webhook's port could not be opened, by errno name; other errors show the system's own words.
RUN_LISTEN_REASONS = {
    "EADDRINUSE": "端口已被占用",
    "EACCES": "没有权限使用这个端口，1024 以下的端口需要管理员权限",
    "EADDRNOTAVAIL": "本机没有这个地址",
}

RUN_WORKERS_NEED_POSTGRES = "多个工作进程（--workers 大于 1、cadrebot worker）需要 PostgreSQL 数据库；SQLite 请只用一个进程。"
RUN_WORKER_STARTED = "工作进程 {name} 已启动，正在从数据库领取消息。按 Ctrl+C 停止。"
