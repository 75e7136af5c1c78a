"""Texts of 生成回复函: what the letters button says, and what a deployer reads when letters.yaml is wrong.

The letters themselves (titles, paragraphs, closings) are data: knowledge/data/letters.yaml.
"""

# After 生成回复函 is pressed (toasts, at most 200 characters)
SENT = "回复函已生成：文字版可直接转发，Word 版可打印盖章。"
ONLY_CADRE = "注册为村(社区)干部后才能生成回复函：/register 邀请码"
WRONG_VILLAGE = "您现在已不是这个村(社区)的干部，不能以它的名义生成回复函。"
NO_LETTER = "这条回答不需要回复函。"
DOCX_CAPTION = "Word 版：可修改、打印，盖章后送达。"

# The Word document
FONT_EAST_ASIA = "宋体"
TITLE_FONT_EAST_ASIA = "黑体"
FONT_LATIN = "Times New Roman"

# The cadre's own words, quoted in a letter, are cut to this length
TASK_ELLIPSIS = "……"

# Problems in knowledge/data/letters.yaml (LetterTemplateError)
FILE_PROBLEM = "回复函模板文件 {path} 读不出来：{problem}"
NOT_MAPPING = "回复函模板文件 {path} 应当是“键: 值”的结构。"
MISSING_TEMPLATE = "回复函模板缺少 {template}（templates 下每种回复函一个模板：{kinds}）。"
UNKNOWN_TEMPLATE = "回复函模板 {template} 不是已知的回复函种类，只能是 {kinds}。"
MISSING_FIELD = "回复函模板 {template} 缺少 {field}。"
FIELD_NOT_TEXT = "回复函模板 {template} 的 {field} 应当是文字（或文字列表）。"
UNKNOWN_PLACEHOLDER = "回复函模板 {template} 的 {field} 里有未知的占位符 {{{name}}}，这个模板可用的有：{known}。"
BAD_PLACEHOLDER = "回复函模板 {template} 的 {field} 里有写错的占位符：{problem}。占位符写作 {{名字}}。"
MISSING_SETTING = "回复函模板文件缺少 {field}。"
UNKNOWN_BASIS = "回复函模板 {template} 的 basis 引用的 {key!r} 在 national/statutes.yaml 里找不到。"
