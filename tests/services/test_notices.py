"""Decision notices built from case data, and their PDFs (both font paths, uncompressed to inspect)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Licence, User
from app.services.errors import NotFound
from app.services.licences import licence_sheet
from app.services.notices import available_notices, build_notice, notice_case
from app.services.pdf import CID_FONT, cjk_font, render_licence, render_notice
from tests.processes.scenario import complete, only_task
from tests.services.results_data import approve_parallel, people, service_item, start_parallel

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture
def users(session: Session, now: datetime) -> dict[str, User]:
    return people(session, now)


def test_supplement_notice_lists_every_item_then_refusal_with_remedies(
    session: Session, users: dict[str, User], now: datetime
) -> None:
    case = start_parallel(session, users, now, service_item(session))
    with pytest.raises(NotFound):
        build_notice(session, case, "supplement")
    intake = only_task(session, case, "accept_application")
    items = ["公司章程（未签字）", "住所使用证明", "法定代表人身份证复印件"]
    complete(session, intake, {"decision": "supplement", "supplement_items": items}, users["clerk"], now)
    notice = build_notice(session, case, "supplement")
    assert notice.title == "补正材料通知书" and notice.items == tuple(items)
    assert notice.addressee == "星辰科技有限公司" and notice.issuer == "市场监管局"
    assert notice.issued_on == date(2026, 11, 23) and "一次性告知" in notice.paragraphs[0]
    supply = only_task(session, case, "supplement_materials")
    complete(session, supply, {"materials": ["章程.pdf"]}, users["applicant"], now)
    refusal = {
        "decision": "refuse",
        "refuse_reasons": "不属于本机关职权",
        "legal_basis": "行政许可法第三十二条",
    }
    complete(session, only_task(session, case, "accept_application"), refusal, users["clerk"], now)
    assert set(available_notices(session, case)) == {"supplement", "refusal"}
    notice = build_notice(session, case, "refusal")
    text = "".join(notice.paragraphs)
    assert "不属于本机关职权" in text and "六十日" in text and "六个月" in text


def test_acceptance_notice_and_viewer_rules(session: Session, users: dict[str, User], now: datetime) -> None:
    case = approve_parallel(session, start_parallel(session, users, now, service_item(session)), users, now)
    notice = build_notice(session, case, "acceptance")
    assert notice.items == ("章程.pdf",) and "5 个工作日" in notice.paragraphs[1]
    assert notice_case(session, case.number, users["applicant"]) is case
    assert notice_case(session, case.number, users["clerk"]) is case  # staff who handled it
    with pytest.raises(NotFound):
        notice_case(session, case.number, users["other"])


def test_notice_pdf_contains_number_uncompressed(
    session: Session, users: dict[str, User], now: datetime
) -> None:
    case = approve_parallel(session, start_parallel(session, users, now), users, now)
    body = render_notice(build_notice(session, case, "acceptance"), compress=False)
    assert body.startswith(b"%PDF") and f"({case.number}-01)".encode() in body
    assert b"STSong-Light" in body or b"GovflowCJK" in body


def test_licence_pdf_both_font_paths_and_rendering(
    session: Session, users: dict[str, User], now: datetime, tmp_path: Path
) -> None:
    case = approve_parallel(session, start_parallel(session, users, now), users, now)
    licence = session.scalars(select(Licence).where(Licence.case_id == case.id)).one()
    url = f"https://gov.example.cn/verify/{licence.verification_code}"
    sheet = licence_sheet(session, licence, url, now)
    assert cjk_font(["/nonexistent/wqy-microhei.ttc"]) == CID_FONT  # fallback: built-in CID font
    fallback = render_licence(sheet, compress=False, font=cjk_font(["/nonexistent/wqy-microhei.ttc"]))
    assert fallback.startswith(b"%PDF") and b"/STSong-Light" in fallback
    assert b"(GX-2026-000001)" in fallback and f"({url})".encode() in fallback
    assert Path(DEJAVU).is_file(), (
        "fonts-dejavu-core missing: tests/system-deps.sh installs it"
    )  # TrueType path
    ttf = render_licence(sheet, compress=False, font=cjk_font([DEJAVU]))
    assert b"FontFile2" in ttf and b"(GX-2026-000001)" in ttf
    assert render_licence(sheet).startswith(b"%PDF")  # compressed default
    assert shutil.which("pdftoppm"), "poppler-utils missing: tests/system-deps.sh installs it"
    (tmp_path / "licence.pdf").write_bytes(fallback)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "40",
            "-f",
            "1",
            "-l",
            "1",
            str(tmp_path / "licence.pdf"),
            str(tmp_path / "p"),
        ],
        check=True,
        timeout=60,
    )
    pages = list(tmp_path.glob("p*.png"))
    assert pages and pages[0].stat().st_size > 1000
