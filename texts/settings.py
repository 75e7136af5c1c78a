"""Texts of the start-up configuration check (bot/settings.py): one line per wrong value, for the deployer."""

INVALID = '配置错误：{variable} 应为{accepts}，收到 "{value}"'

# What each setting accepts, by field name of bot.settings.Settings ({choices}: the names that exist).
ACCEPTS = {
    "data_dir": "目录路径（不能是已有的文件）",
    "database_url": "数据库地址 sqlite:///文件路径 或 postgresql://用户@主机:端口/库名（只支持 SQLite 和 PostgreSQL）",
    "bot_token": "Telegram 机器人令牌",
    "api_base_url": "以 http:// 或 https:// 开头的 Bot API 服务器地址",
    "bot_username": "机器人用户名（字母开头，字母、数字或下划线，5 到 32 个字符）",
    "profile": "已有的清单方案名：{choices}",
    "agreement": "已有的协议书名称：{choices}；或设为空，按方案全部协助事项",
    "knowledge_dir": "已有的知识库目录（结构同 knowledge/data/）",
    "secret": "非空的密钥",
    "secret_file": "密钥文件路径（已有的文件，或所在目录可创建的新文件；不能是目录）",
    "timezone": "存在的时区名，如 Asia/Shanghai",
    "survey_period": "测评周期 monthly（每月）或 quarterly（每季度）",
    "survey_aspects": "逗号分隔的测评方面代码（内置：{choices}），新方面写成 代码:名称，不能重复",
    "digest_weekday": "整数 0 到 6（0 = 周一，6 = 周日）",
    "digest_time": "时间 HH:MM（00:00 到 23:59），如 08:30",
    "checks_per_minute": "正整数",
    "cjk_font": "存在的中文字体文件路径",
}
NO_CHOICES = "（没有）"
CHOICE_SEPARATOR = "、"
