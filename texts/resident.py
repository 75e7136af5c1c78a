"""Answers for residents (people who came through a survey link): where to go and what to bring, in plain words.

Never the cadres' wording (lists, agreements, refusals): a resident asks how to get something done.
"""

TOPIC = "关于“{title}”："
WHERE = "到哪里办：{where}。"
BRING = "要带什么：{bring}。"
BRING_ASK = "要带什么：去之前可以先打电话问一下窗口，免得跑空。"
WHERE_DEFAULT = "可以先问村(社区)居委会，或者到镇(街道)便民服务中心咨询，工作人员会告诉您怎么办"
WHERE_COMMITTEE = "直接找村(社区)居委会就可以"
CERTIFICATE = "这个证明不由村(社区)居委会开。"
CERTIFICATE_WHERE = "到哪里办：{issuer}。"
UNCLEAR = "没太明白您想办什么事。可以说得具体一点，比如“低保怎么申请”“高龄津贴到哪里领”；也可以直接问村(社区)居委会。"
HELLO = "您好！我可以告诉您办事去哪里、带什么，比如发“低保怎么申请”。参加满意度测评请打开村(社区)发的测评链接。"
