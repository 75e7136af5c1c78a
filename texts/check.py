"""Texts of the task check (准入查询): verdict headlines, actions and bad-input replies."""

LIST_NAME = {
    "duty": "依法履职事项",
    "assist": "协助政府工作事项",
    "restricted": "限制/负面事项",
    "certificate": "不应出具的证明",
}

HEADLINE = {
    "duty": "✅ 在清单内：属于本村(居)委会依法履职事项",
    "assist": "🤝 在协议内：属于协助政府工作事项",
    "restricted": "⛔ 不在准入范围：属于限制/负面事项",
    "certificate_refused": "🚫 不应出具：属于不应由村(居)委会出具的证明",
    "unlisted": "⚠️ 不在清单内：未经准入的事项",
    "unclear": "❓ 还不能确定属于哪一项，最接近的是：",
}
UNCLEAR_NOTHING = "❓ 还判断不了：请说清楚是哪个部门、让村(居)委会做什么，比如“派出所让社区开亲属关系证明”。"
NOT_IN_AGREEMENT = "⚠️ 不在本镇协议内：{id} {title} 未列入协议书"

ACTION = {
    "duty": "怎么办：应当办理。",
    "assist": "怎么办：按协议办理，经费由委托部门承担（费随事转）。",
    "restricted": "怎么办：可依法拒绝或要求签订项目协议书，可记为红牌候选。",
    "certificate_refused": "怎么办：{advice}",
    "certificate_refused_no_issuer": "怎么办：不应出具，请让当事人到主管部门办理。",
    "unlisted": "怎么办：可依法拒绝或要求签订项目协议书，可记为红牌候选。",
    "unclear": "请点下面最接近的一项，或换个说法再发一次（写清是哪个部门、让做什么）。",
}

ITEM_LINE = "{id} {title}（{list_name}）"
FEE_NOTE = "（本镇协议：{department}委托，经费{fee}）"

# The reason line speaks to the cadre about the request, never about matched strings.
REASON = {
    "duty": "原因：这是村(居)委会自己依法要办的事{basis}。",
    "assist": "原因：属于政府委托、村(居)委会协助的工作{roles}。",
    "assist_certificate": "原因：这是村(居)委会仍可依法出具的证明。",
    "restricted": "原因：{reason}{basis}。",
    "certificate_refused": "原因：这类证明不在村(居)委会可以出具的范围内{basis}。",
    "unlisted_role": "原因：{reason}，不属于任何清单事项。",
    "unlisted_commercial": "原因：这是{asker}自己的事，不是政府委托的工作，不在任何清单内。",
    "unlisted": "原因：没有对应的清单事项，也没有经过准入。",
}
ISSUER = "谁来出具：{issuer}。"
ROLES_NOTE = "，村(居)委会只负责{roles}"
BASIS_NOTE = "（{basis}）"
ROLE_JOINER = "、"
MIXED = "其中「{allowed_title}」（{allowed_id}）可以协助；其余部分不可。"

HELP_SHORT = (
    "您好，我是政社互动助手。把别人交给村(居)委会的任务发给我，"
    "比如“街道让我们收医保的钱还要排名”，我告诉您在不在清单内、该怎么办。"
)

# Bad input: a short reply that says what to do; the text itself is kept by the caller.
EMPTY = "没有收到文字。请直接发送任务内容，比如“派出所让社区开亲属关系证明”。"
TOO_LONG = "内容太长了（超过 {limit} 字）。请只发任务的关键一句，比如谁让做什么。"
NO_TEXT = "请发送文字。语音请先转成文字，图片请描述一下里面的任务。"
DIGITS_ONLY = "只收到数字，没有看到任务。请用文字说明谁让村(居)委会做什么，比如“派出所让社区开亲属关系证明”。"
INVALID_ENCODING = "这一行有无法识别的字符，请检查后重发。"
