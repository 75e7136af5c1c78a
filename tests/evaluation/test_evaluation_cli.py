"""`cadrebot evaluation …` as the bureau types it, on SQLite and PostgreSQL: open, the scoring form out and back
(bad rows refused by sheet:row, nothing saved), status, payments, the fee ledger, the dossier, close."""

from __future__ import annotations

import io
import subprocess

import openpyxl
import pytest
from sqlalchemy import create_engine, func, select

from bot.cli import main
from storage.models import AuditLog, EvaluationBonus, EvaluationScore

TOWN = ["--town", "DEMO", "--round", "2026H2"]


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CADREBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    assert run("admin", "seed-demo")[0] == 0
    return run


def _fill(path, scores: dict[tuple[str, str, str], object], bonuses: dict[tuple[str, str], tuple[object, str]]):
    """Fill the form as a department would: find the columns by their headers, type into the score cells."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets[1:]:
        header = [c.value for c in sheet[1]]
        col = {name: header.index(name) + 1 for name in ("村(社区)代码", "事项编号", "得分(0-100)", "加分", "加分理由")}
        for row in range(2, sheet.max_row + 1):
            village = sheet.cell(row, col["村(社区)代码"]).value
            item = sheet.cell(row, col["事项编号"]).value
            if (sheet.title, village, item) in scores:
                sheet.cell(row, col["得分(0-100)"]).value = scores[(sheet.title, village, item)]
            if item == "加分" and (sheet.title, village) in bonuses:
                points, reason = bonuses[(sheet.title, village)]
                sheet.cell(row, col["加分"]).value = points
                sheet.cell(row, col["加分理由"]).value = reason
    book.save(path)


def _rows_of(book_path, sheet_name: str, village: str, item: str) -> int:
    sheet = openpyxl.load_workbook(book_path)[sheet_name]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == village and row[2].value == item:
            return row[0].row
    raise AssertionError((sheet_name, village, item))


@pytest.mark.long
def test_a_round_from_the_command_line(cli, db_url, tmp_path):
    code, out, _ = cli("evaluation", "open", *TOWN, "--deadline", "2027-01-15")
    assert code == 0 and "2026年年末评估" in out and "2027-01-15" in out
    code, _, err = cli("evaluation", "open", *TOWN, "--deadline", "2027-01-15")
    assert code == 1 and "已存在" in err

    form = tmp_path / "评分表.xlsx"
    assert cli("evaluation", "form", *TOWN, "--out", str(form))[0] == 0
    assert "人社局" in openpyxl.load_workbook(form).sheetnames

    # one bad score and a bonus without its reason: the whole form is refused, naming the rows
    _fill(form, {("人社局", "DEMO01", "B5"): 95, ("人社局", "DEMO02", "B5"): "一百二", ("民政局", "DEMO01", "B1"): 88},
          {("人社局", "DEMO01"): (2, "")})
    bad_row = _rows_of(form, "人社局", "DEMO02", "B5")
    code, _, err = cli("evaluation", "import", str(form), *TOWN)
    assert code == 1
    assert f"人社局:{bad_row}" in err and "一百二" in err
    engine = create_engine(db_url)
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(EvaluationScore)) == 0

    _fill(form, {("人社局", "DEMO02", "B5"): "９０分"}, {("人社局", "DEMO01"): (2, "就业招聘会三场")})
    code, out, _ = cli("evaluation", "import", str(form), *TOWN)
    assert code == 0 and "3 项评分" in out and "1 项加分" in out
    with engine.connect() as c:
        saved = dict(c.execute(select(EvaluationScore.item_id + EvaluationScore.source, func.count())
                               .group_by(EvaluationScore.item_id, EvaluationScore.source)).all())
        assert saved == {"B5xlsx": 2, "B1xlsx": 1}
        assert c.scalar(select(EvaluationBonus.reason)) == "就业招聘会三场"
        assert c.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "evaluation_score")) == 3

    code, out, _ = cli("evaluation", "status", *TOWN)
    assert code == 0 and "人社局  2/3" in out

    code, _, err = cli("evaluation", "pay", *TOWN, "--village", "DEMO01", "--item", "B5", "--amount", "三千")
    assert code == 2 and "三千" in err
    code, _, err = cli("evaluation", "pay", *TOWN, "--village", "DEMO01", "--item", "C3", "--amount", "3000")
    assert code == 1 and "C3" in err
    code, _, err = cli("evaluation", "pay", *TOWN, "--village", "DEMO01", "--item", "B5", "--amount", "300000")
    assert code == 1 and "4,000.00" in err  # a slip of two zeros: more than the round's agreed 4,000 yuan
    assert cli("evaluation", "pay", *TOWN, "--village", "DEMO01", "--item", "B5", "--amount", "3000",
               "--date", "2027-01-20")[0] == 0
    code, out, _ = cli("evaluation", "fees", *TOWN)
    # B5: 8000/year -> 4000 this round, score 95 -> 3800 due, 3000 paid, 800 outstanding
    assert "B5 协助劳动就业服务：应拨 3,800.00，已拨 3,000.00，未拨 800.00" in out
    # paid before its score came: an advance, not a negative debt
    assert cli("evaluation", "pay", *TOWN, "--village", "DEMO03", "--item", "B5", "--amount", "1000")[0] == 0
    code, out, _ = cli("evaluation", "fees", *TOWN)
    assert "B5 协助劳动就业服务：应拨 0.00，已拨 1,000.00，未拨 0.00（多付 1,000.00）" in out and "-1,000" not in out

    pdf = tmp_path / "档案.pdf"
    assert cli("evaluation", "report", *TOWN, "--format", "pdf", "--out", str(pdf))[0] == 0
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for name in ("东风村", "新河社区", "南湖村", "人社局"):
        assert name in text
    xlsx = tmp_path / "档案.xlsx"
    assert cli("evaluation", "report", *TOWN, "--format", "xlsx", "--out", str(xlsx))[0] == 0
    assert len(openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes())).sheetnames) > 3

    assert cli("evaluation", "close", *TOWN)[0] == 0
    code, _, err = cli("evaluation", "import", str(form), *TOWN)
    assert code == 1 and "已结束" in err
    code, _, err = cli("evaluation", "status", "--town", "DEMO", "--round", "2025H2")
    assert code == 1 and "评估轮次" in err
