"""`cadrebot admin …`: places, invites, survey links and the demo town."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Callable

ROLE_LABELS = {"cadre": "村/社区干部", "bureau": "民政局/镇街工作人员", "admin": "管理员"}
DEMO_FILE = Path(__file__).resolve().parent.parent / "storage" / "demo_places.yaml"  # storage/demo_places.yaml
DEMO_TOWN = "DEMO"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("admin", help="管理：镇街、村社区、邀请码、问卷链接、演示数据")
    sub = parser.add_subparsers(dest="admin_command", metavar="ACTION")

    p = sub.add_parser("add-town", help="新增镇/街道: add-town CODE NAME")
    p.add_argument("code")
    p.add_argument("name")
    p.set_defaults(func=_guard(_add_town))

    p = sub.add_parser("add-village", help="新增村/社区: add-village CODE NAME --town CODE")
    p.add_argument("code")
    p.add_argument("name")
    p.add_argument("--town", required=True, help="所属镇/街道代码")
    p.set_defaults(func=_guard(_add_village))

    p = sub.add_parser("import-places", help="从 YAML 或 CSV 文件导入镇街和村社区（可重复执行）")
    p.add_argument("file", type=Path)
    p.set_defaults(func=_guard(_import_places))

    p = sub.add_parser("list-places", help="列出镇街和村社区")
    p.set_defaults(func=_guard(_list_places))

    p = sub.add_parser("invite", help="生成一次性邀请码: invite --village CODE --role cadre | --town CODE --role bureau")
    place = p.add_mutually_exclusive_group()
    place.add_argument("--village", help="村/社区代码（干部）")
    place.add_argument("--town", help="镇/街道代码（民政局/镇街工作人员）")
    p.add_argument("--role", required=True, choices=sorted(ROLE_LABELS), help="cadre, bureau 或 admin")
    p.add_argument("--days", type=int, default=7, help="有效天数，默认 7")
    p.set_defaults(func=_guard(_invite))

    p = sub.add_parser("survey-link", help="居民满意度问卷链接: survey-link --village CODE")
    p.add_argument("--village", required=True)
    p.set_defaults(func=_guard(_survey_link))

    p = sub.add_parser("seed-demo", help="创建演示镇 DEMO 示范镇及 3 个村社区（可重复执行），并打印邀请码")
    p.set_defaults(func=_guard(_seed_demo, migrate=True))

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _guard(handler: Callable, *, migrate: bool = False) -> Callable[[argparse.Namespace], int]:
    """Open the database, run the command in one transaction, and turn domain errors into messages."""

    def run(args: argparse.Namespace) -> int:
        from bot.settings import Settings
        from storage.db import Database, redacted_url, translate_errors
        from storage.errors import (
            AlreadyExists,
            DatabaseUnavailable,
            InvalidInput,
            NotFound,
            StorageError,
        )
        from storage.migrate import head_revision, current_revision, upgrade

        settings = Settings()
        try:
            with translate_errors():
                if migrate:
                    upgrade(settings)
                elif current_revision(settings) != head_revision():
                    print(
                        f"数据库 {redacted_url(settings.database_url)} 尚未建表或需要升级，请先运行: cadrebot db upgrade",
                        file=sys.stderr,
                    )
                    return 1
            db = Database(settings)
            try:
                with db.session() as session:
                    return int(handler(args, session, settings) or 0)
            finally:
                db.dispose()
        except NotFound as error:
            label = {"town": "镇/街道", "village": "村/社区"}.get(error.kind, error.kind)
            print(f"找不到{label}: {error.key}", file=sys.stderr)
        except AlreadyExists as error:
            label = {"town": "镇/街道", "village": "村/社区"}.get(error.kind, error.kind)
            print(f"{label} {error.key} 已存在", file=sys.stderr)
        except InvalidInput as error:
            print(f"输入有误: {error}", file=sys.stderr)
        except DatabaseUnavailable as error:
            print(f"数据库不可用，请稍后重试: {error}", file=sys.stderr)
        except StorageError as error:
            print(f"失败: {error}", file=sys.stderr)
        return 1

    return run


def _add_town(args, session, settings) -> int:
    from storage.places import add_town

    town = add_town(session, args.code, args.name)
    print(f"已新增镇/街道 {town.code} {town.name}")
    return 0


def _add_village(args, session, settings) -> int:
    from storage.places import add_village

    village = add_village(session, args.code, args.name, args.town)
    print(f"已新增村/社区 {village.code} {village.name}（{village.town.code} {village.town.name}）")
    return 0


def _import_places(args, session, settings) -> int:
    from storage.places import import_places

    report = import_places(session, args.file)
    print(f"已导入 {args.file}: {report.summary()}")
    return 0


def _list_places(args, session, settings) -> int:
    from storage.places import list_towns

    towns = list_towns(session)
    if not towns:
        print("还没有镇/街道。可运行 cadrebot admin seed-demo 或 cadrebot admin import-places FILE")
    for town in towns:
        print(f"{town.code}\t{town.name}")
        for village in town.villages:
            print(f"  {village.code}\t{village.name}")
    return 0


def _print_invite(invite, settings) -> None:
    from storage.members import invite_link
    from storage.timeutil import local_now

    place = invite.village or invite.town
    where = f" · {place.code} {place.name}" if place is not None else ""
    expires = local_now(invite.expires_at, settings.timezone).strftime("%Y-%m-%d %H:%M")
    print(f"邀请码: {invite.code}")
    print(f"链接: {invite_link(settings.bot_username, invite.code)}")
    print(f"  {ROLE_LABELS[invite.role]}{where}；有效至 {expires}（{settings.timezone}），只能使用一次。")
    print(f"  也可以在机器人里发送: /register {invite.code}")


def _invite(args, session, settings) -> int:
    from storage.members import issue_invite

    if args.days < 1:
        print("输入有误: --days 至少为 1", file=sys.stderr)
        return 1
    invite = issue_invite(
        session, role=args.role, village_code=args.village, town_code=args.town, ttl=timedelta(days=args.days)
    )
    _print_invite(invite, settings)
    return 0


def _survey_link(args, session, settings) -> int:
    from storage.members import survey_link
    from storage.places import require_village

    village = require_village(session, args.village)
    print(survey_link(settings.bot_username, village.code))
    print(f"  {village.code} {village.name} 居民满意度问卷（匿名）。可印成二维码张贴。")
    return 0


def _seed_demo(args, session, settings) -> int:
    from storage.members import issue_invite, survey_link
    from storage.places import import_places, list_villages

    report = import_places(session, DEMO_FILE)
    villages = list_villages(session, DEMO_TOWN)
    print(f"演示数据就绪: {DEMO_TOWN} 示范镇，{len(villages)} 个村/社区（{report.summary()}）")
    for village in villages:
        print(f"  {village.code}\t{village.name}")
    print()
    print(f"【干部】{villages[0].name}:")
    _print_invite(issue_invite(session, role="cadre", village_code=villages[0].code), settings)
    print()
    print("【民政局/镇街】示范镇:")
    _print_invite(issue_invite(session, role="bureau", town_code=DEMO_TOWN), settings)
    print()
    print(f"【居民问卷】{villages[0].name}: {survey_link(settings.bot_username, villages[0].code)}")
    return 0
