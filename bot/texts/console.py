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
