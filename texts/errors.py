"""Texts for failures: the error handler, a busy database, bad buttons, rate limits, non-text messages."""

FAILED = "抱歉，处理这条消息时出错了，没有完成。请稍后再发一次；如果一直不行，请联系管理员。"
FAILED_KEEP = "抱歉，处理时出错了，没有完成。您发的内容如下，可复制后稍后重发：\n「{text}」"
RETRYING = "网络不稳，这条消息还没处理完。稍后会自动再处理一次，不必重发。"
RETRYING_BUTTON = "网络不稳，稍后会自动再处理一次，不必再点。"
FAILED_BUTTON = "出错了，这一步没有完成，请稍后再点一次。"

DB_BUSY = "系统繁忙，请稍后再试。"
DB_BUSY_KEEP = "系统繁忙，这一步没有保存，请稍后再试。您发的内容：\n「{text}」"
DB_BUSY_BUTTON = "系统繁忙，请稍后再点一次。"

BUTTON_STALE = "这个按钮已失效，请重新发送任务内容。"
BUTTON_NOT_YOURS = "这个按钮不是给您的。"
BUTTON_INVALID = "无法识别这个按钮。"

# Said once per burst (bot.ratelimit): later messages of the burst get no reply at all, so say so.
RATE_LIMITED = ("您发得太快了，请 {seconds} 秒后再试。在此之前发来的消息都不会处理，也不会再提醒；"
                "请到时把没有得到回复的消息重新发送。刚才这条没有处理：「{text}」")

# Red cards and digests are for the member alone: never shown in a group chat residents can read.
PRIVATE_ONLY = "请在与机器人的私聊中使用此命令。"

# An edited message is not checked again (it was answered when first sent, and would be counted twice).
EDIT_NOT_RECHECKED = "修改过的消息不会重新查询。如需查询修改后的内容，请把它作为一条新消息发送。"

NOT_TEXT = "我只能看懂文字。语音请先转成文字，图片请把里面的任务用一句话写出来。"

# Quote back what the user sent, shortened so that the reply fits one Telegram message.
QUOTE_MAX = 300
ELLIPSIS = "……"

# /cancel (bot.router): one reply, whichever flows had something pending.
CANCELLED = "已取消进行中的操作，未完成的内容没有保存。"
NOTHING_TO_CANCEL = "现在没有进行中的操作，不需要取消。"
