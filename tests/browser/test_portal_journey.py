"""The applicant's whole journey in Chromium, every step through the pages (applicant and staff alike).

企业设立登记: apply with uploads → 一次性告知补正 → supply on the supplement page → 受理 → 并联审查 → 决定 →
出件 → progress (my cases, public query) → licence PDF → /verify → 非常不满意 → rectification and 回访.
Then the licence is reused (不再重复提交) in a 容缺 and a 告知承诺 application, each run to its end.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.services.demo import DEMO_PASSWORD
from tests.browser.conftest import ARTIFACTS, screenshot

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" \
    b"trailer<</Root 1 0 R>>\n%%EOF\n"  # fmt: skip
PHONE = "13812345678"
ENTERPRISE = {
    "申请人（单位）名称": "星辰科技有限公司",
    "统一社会信用代码": "91320500MA1XYW0001",
    "联系人": "李娜",
    "联系电话（手机）": PHONE,
    "住所（经营场所）地址": "高新区科技大道 88 号",
    "法定代表人": "李娜",
}


class Desk(dict[str, Page]):
    """One signed-in tab per demo user, opened on first use."""

    def __init__(self, browser: Browser, base: str) -> None:
        super().__init__()
        self.browser, self.base, self.contexts = browser, base, list[BrowserContext]()

    def __missing__(self, username: str) -> Page:
        context = self.browser.new_context(
            locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        self.contexts.append(context)
        page = context.new_page()
        page.goto(f"{self.base}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("button", name="退出")).to_be_visible()
        self[username] = page
        return page


@pytest.fixture(scope="module")
def desk(deployed: Flask, browser: Browser, live_url: str) -> Iterator[Desk]:
    """The demo users' tabs, shared by the module's tests (the journeys continue one another)."""
    tabs = Desk(browser, live_url)
    yield tabs
    for context in tabs.contexts:
        context.close()


def _file(name: str) -> dict[str, object]:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def _open_task(page: Page, base: str, number: str, step: str) -> None:
    """Find the step of the case in the staff lists (可认领, else 待办) and open it."""
    for view in ("claimable", "todo"):
        page.goto(f"{base}/tasks?view={view}&q={number}")
        row = page.locator("tbody tr", has_text=step).filter(has_text=number)
        if row.count():
            row.first.get_by_role("link").first.click()
            expect(page.get_by_role("heading", level=1)).to_have_text(step)
            return
    pytest.fail(f"{step} of {number} is in no list of {page.url}")


def _submit(page: Page, radios: list[str], fields: dict[str, str]) -> None:
    form = page.locator("form.taskform")
    for label in radios:
        form.get_by_label(label, exact=True).check()
    for label, value in fields.items():
        form.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash-success")).to_contain_text("已提交")


def test_enterprise_registration_journey(desk: Desk, live_url: str) -> None:
    """企业设立登记 from the application to the 差评 follow-up, one continuous walk."""
    me = desk["enterprise"]
    me.goto(f"{live_url}/services")
    me.get_by_role("link", name="企业设立登记（企业开办一件事）").click()
    me.get_by_role("link", name="在线申请").click()
    for label, value in ENTERPRISE.items():
        me.get_by_label(label, exact=True).fill(value)
    for row in me.locator("li.material").all():
        code = row.get_attribute("data-material")
        if code != "M06":  # 印章刻制申请表 (secondary) not sent
            row.locator("input[type=file]").set_input_files(_file(f"{code}.pdf"))  # type: ignore[arg-type]
    me.get_by_role("button", name="提交申请").click()
    expect(me.get_by_role("heading", name="电子申请回执")).to_be_visible()
    number = me.locator(".case-number").inner_text().strip()

    clerk = desk["clerk"]
    _open_task(clerk, live_url, number, "窗口受理")
    screenshot(clerk, "journey-clerk-accept")
    missing = ["公司章程：缺全体股东签字，请补签后上传", "住所使用相关文件：租赁合同复印件不清晰，请重新上传",
               "印章刻制申请表：未提交"]  # fmt: skip
    _submit(clerk, ["一次性告知补正"], {"需补正的材料和内容": "\n".join(missing)})

    _supply_on_the_supplement_page(me, desk, live_url, number, missing)
    _staff_accept_and_approve(desk, live_url, number)
    _follow_progress(me, desk, live_url, number)
    licence_no = _download_and_verify_licence(me, live_url, number)
    _rate_very_dissatisfied_and_see_follow_up(me, desk, live_url, number)
    JOURNEY["licence_no"] = licence_no


JOURNEY: dict[str, str] = {}  # what the later journeys reuse from the first one


def _apply(me: Page, base: str, code: str, uploads: list[str], tolerate: list[str] = []) -> str:  # noqa: B006
    """Fill the start form, upload the listed materials, keep the offered e-licences; the case number."""
    me.goto(f"{base}/services/{code}")
    me.get_by_role("link", name="在线申请").click()
    for label, value in ENTERPRISE.items():
        field = me.get_by_label(label, exact=True)
        if field.count():
            field.fill(value)
    for material in uploads:
        row = me.locator(f'li.material[data-material="{material}"]')
        row.locator("input[type=file]").set_input_files(_file(f"{code}-{material}.pdf"))  # type: ignore[arg-type]
    for material in tolerate:
        me.locator(f'li.material[data-material="{material}"]').get_by_label(
            "申请容缺受理", exact=False
        ).check()
    me.get_by_role("button", name="提交申请").click()
    expect(me.get_by_role("heading", name="电子申请回执")).to_be_visible()
    return me.locator(".case-number").inner_text().strip()


def _my_step(me: Page, base: str, number: str, stage: str) -> None:
    """From my cases, the case waiting for me at `stage`: open my step."""
    me.goto(f"{base}/my/cases")
    card = me.locator(".case-card", has_text=number)
    expect(card.locator(".stage")).to_have_text(stage)
    card.locator("a.button.primary").click()


def _supply_on_the_supplement_page(me: Page, desk: Desk, base: str, number: str, missing: list[str]) -> None:
    me.goto(f"{base}/my/cases")
    card = me.locator(".case-card", has_text=number)
    expect(card.locator(".stage")).to_have_text("待您补正")
    card.get_by_role("link", name="企业设立登记（企业开办一件事）").click()
    expect(me.locator(".results .notices")).to_contain_text("补正材料通知书")
    me.get_by_role("link", name="去办理：补正材料").click()
    expect(me.get_by_role("heading", level=1)).to_have_text("补正材料")
    stranger = desk["applicant"].goto(me.url)  # another applicant: no existence leak
    assert stranger is not None and stranger.status == 404
    expect(me.locator(".supplement-items li")).to_have_text(missing)  # all of them, at once
    expect(me.locator("li.material.asked")).to_have_count(3)
    me.get_by_role("button", name="提交补正").click()  # nothing chosen yet
    expect(me.locator(".flash-error")).to_contain_text("请上传需补正的材料")
    for code in ("M02", "M04", "M06"):
        me.locator(f'li.material[data-material="{code}"] input[type=file]').set_input_files(
            _file(f"{code}-补正.pdf")  # type: ignore[arg-type]
        )
    me.get_by_label("补正说明").fill("已补签章程，重新扫描租赁合同，补交印章刻制申请表")
    screenshot(me, "journey-supplement-page")
    me.get_by_role("button", name="提交补正").click()
    expect(me.locator(".flash-success")).to_contain_text("补正材料")
    expect(me.locator(".stage").first).to_have_text("窗口受理中")
    expect(me.locator("#h-mat + ul")).to_contain_text("M06-补正.pdf")


def _staff_accept_and_approve(desk: Desk, base: str, number: str) -> None:
    clerk = desk["clerk"]
    _open_task(clerk, base, number, "窗口受理")
    expect(clerk.locator(".opinion-text, .timeline").first).to_be_visible()
    _submit(
        clerk,
        ["受理"],
        {
            "已收材料": "公司登记（备案）申请书\n公司章程（补正）\n住所使用相关文件（补正）",
            "受理意见": "补正齐全，予以受理",
        },
    )
    lead = desk["approver_market"]
    _open_task(lead, base, number, "牵头部门审查")
    _submit(lead, ["材料完整，分送会审"], {"审查意见": "材料完整，分送税务、公安会审"})
    for username in ("approver_tax", "approver_police"):
        _open_task(desk[username], base, number, "成员部门并联审查")
        _submit(desk[username], ["同意"], {"审查意见": "同意"})
    _open_task(lead, base, number, "牵头部门决定")
    _submit(lead, ["准予许可"], {"审批意见": "准予设立登记"})


def _follow_progress(me: Page, desk: Desk, base: str, number: str) -> None:
    me.goto(f"{base}/my/cases")
    expect(me.locator(".case-card", has_text=number).locator(".stage")).to_have_text("制证出件中")
    public = desk.browser.new_context(locale="zh-CN")
    try:
        tab = public.new_page()
        tab.goto(f"{base}/progress")
        tab.get_by_label("办件编号").fill(number)
        tab.get_by_label("申请人手机号后 4 位").fill("0000")
        tab.get_by_role("button", name="查询").click()
        expect(tab.get_by_role("status")).to_contain_text("未查到匹配的办件")
        tab.get_by_label("申请人手机号后 4 位").fill(PHONE[-4:])
        tab.get_by_role("button", name="查询").click()
        expect(tab.locator(".stage")).to_have_text("制证出件中")
        expect(tab.locator("main")).not_to_contain_text("李娜")
        screenshot(tab, "journey-public-progress")
    finally:
        public.close()
    clerk = desk["clerk"]
    _open_task(clerk, base, number, "统一出件")
    _submit(
        clerk,
        ["电子送达"],
        {
            "证照编号": "91320500MA1XYW0001",
            "结果文书": "营业执照.pdf\n准予设立登记通知书.pdf",
            "送达日期": "2026-11-23",
        },
    )
    me.goto(f"{base}/my/cases")
    expect(me.locator(".case-card", has_text=number).locator(".stage")).to_have_text("已办结")


def _download_and_verify_licence(me: Page, base: str, number: str) -> str:
    me.goto(f"{base}/my/cases/{number}")
    expect(me.locator(".results .notices")).to_contain_text("受理通知书")
    row = me.locator(".licence-row")
    expect(row).to_contain_text("营业执照")
    licence_no = row.locator(".licence-number").inner_text().strip()
    screenshot(me, "journey-my-case-closed")
    with me.expect_download() as download:
        row.get_by_role("link", name="下载电子证照 PDF").click()
    path = ARTIFACTS / "journey-licence.pdf"
    download.value.save_as(path)
    body = path.read_bytes()
    assert body.startswith(b"%PDF-")
    text = _pdf_text(path)
    assert licence_no in text and "营业执照" in text, text
    row.get_by_role("link", name="核验页面").click()
    expect(me.locator(".status-pill")).to_have_text("有效")
    expect(me.locator("main")).to_contain_text(licence_no)
    expect(me.locator("main")).to_contain_text("星辰***司")
    screenshot(me, "journey-verify")
    return licence_no


def _pdf_text(path: Path) -> str:
    tool = shutil.which("pdftotext")
    assert tool is not None, "pdftotext (poppler-utils) is needed: tests/system-deps.sh installs it"
    done = subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def _rate_very_dissatisfied_and_see_follow_up(me: Page, desk: Desk, base: str, number: str) -> None:
    me.goto(f"{base}/my/cases/{number}")
    me.get_by_role("link", name="评价本次服务（好差评）").click()
    for fieldset in me.locator("fieldset.rating").all():
        fieldset.get_by_label("非常不满意").check()
    me.get_by_label("评价内容（选填）").fill("补正要求第一次没有说清楚，多跑了一趟网上流程")
    me.get_by_role("button", name="提交评价").click()
    expect(me.locator(".followup")).to_contain_text("整改中")
    head = desk["head_market"]
    _open_task(head, base, number, "差评整改")
    expect(head.locator(".case-title")).to_contain_text(number)
    _submit(
        head,
        [],
        {
            "原因分析": "补正告知不够具体",
            "整改措施": "补正告知书逐项写明要求并培训窗口人员",
            "整改完成日期": "2026-11-24",
        },
    )
    me.reload()
    expect(me.locator(".followup")).to_contain_text("待回访")
    supervisor = desk["supervisor"]
    _open_task(supervisor, base, number, "差评回访")
    _submit(
        supervisor,
        ["电话回访", "认可整改，邀请重新评价"],
        {"回访日期": "2026-11-25", "评价人反馈": "认可整改"},
    )
    me.reload()
    expect(me.locator(".followup")).to_contain_text("已回访")
    screenshot(me, "journey-evaluation-follow-up")
    for fieldset in me.locator("fieldset.rating").all():  # the re-rating after the 回访
        fieldset.get_by_label("满意", exact=True).check()
    me.get_by_role("button", name="提交评价").click()
    expect(me.locator(".flash-success")).to_have_text("感谢您的评价。")
    expect(me.locator("fieldset.rating")).to_have_count(0)


def _reuse_the_licence(me: Page, base: str, code: str, material: str) -> None:
    """The apply form offers the 营业执照 issued by the first journey instead of an upload."""
    me.goto(f"{base}/services/{code}/apply")
    offer = me.locator(f'li.material[data-material="{material}"]')
    expect(offer.get_by_label("使用我的电子证照（不再重复提交）")).to_have_value(
        re.compile(r"^\d+$")  # selected: the licence's id
    )
    expect(offer.locator("select option:checked")).to_have_text(f"营业执照 {JOURNEY['licence_no']}")


def test_tolerant_application_reuses_the_licence(desk: Desk, live_url: str) -> None:
    """容缺: 食品经营许可, 营业执照 reused, 健康证明 tolerated → promise → approval → supplied → 办结."""
    assert JOURNEY.get("licence_no"), "runs after the 企业设立登记 journey (same module)"
    me = desk["enterprise"]
    _reuse_the_licence(me, live_url, "GXQ-XK-0301", "M02")
    screenshot(me, "journey-tolerant-apply")
    number = _apply(me, live_url, "GXQ-XK-0301", ["M01", "M03", "M04"], tolerate=["M05"])
    receipt = me.locator(".materials-table")
    expect(receipt.locator("tr", has_text="营业执照")).to_contain_text("电子证照（免提交）")
    expect(receipt).to_contain_text(JOURNEY["licence_no"])

    clerk = desk["clerk"]
    _open_task(clerk, live_url, number, "网上预审")
    _submit(
        clerk,
        ["容缺受理（仅缺次要材料）"],
        {"容缺材料": "从业人员健康证明", "预审意见": "主要材料齐全，同意容缺"},
    )

    _my_step(me, live_url, number, "待您签署容缺承诺书")
    expect(me.locator(".step-letter")).to_contain_text("容缺受理承诺书")
    expect(me.get_by_label("承诺补交的材料")).to_have_value("从业人员健康证明")
    me.get_by_role("button", name="签署并提交").click()  # not agreed yet
    expect(me.locator('[data-field="agree"] .error')).to_be_visible()
    me.get_by_label("我已阅读并同意容缺受理承诺书的全部内容").check()
    screenshot(me, "journey-tolerance-promise")
    me.get_by_role("button", name="签署并提交").click()
    expect(me.locator(".flash-success")).to_contain_text("签署容缺承诺书")

    approver = desk["approver_market"]
    _open_task(approver, live_url, number, "审批")
    _submit(approver, ["准予许可"], {"审批意见": "同意，健康证明按承诺补交"})
    me.goto(f"{live_url}/my/cases/{number}")  # later: the tolerated material, on the case page
    expect(me.get_by_label("材料", exact=True)).to_have_value("M05")  # the tolerated one comes first
    me.locator("#supplement-file").set_input_files(_file("健康证明.pdf"))  # type: ignore[arg-type]
    me.get_by_role("button", name="上传").click()
    expect(me.locator(".flash-success")).to_contain_text("材料已提交")
    expect(me.locator(".stage").first).to_have_text("核验补正材料中")
    _open_task(clerk, live_url, number, "核验补正材料")
    _submit(clerk, ["补正齐全"], {"核验意见": "健康证明已补齐"})
    _open_task(clerk, live_url, number, "出件")
    _submit(
        clerk,
        ["电子送达"],
        {"证照编号": "JY13205050012345", "结果文书": "食品经营许可证.pdf", "送达日期": "2026-11-24"},
    )

    me.goto(f"{live_url}/my/cases/{number}")
    expect(me.locator(".stage").first).to_have_text("已办结")
    expect(me.locator(".results .notices")).to_contain_text("容缺受理承诺书")
    expect(me.locator(".licence-row .status-pill")).to_have_text("有效")
    screenshot(me, "journey-tolerant-closed")


def test_commitment_application_runs_to_verification(desk: Desk, live_url: str) -> None:
    """告知承诺: 公共场所卫生许可, 营业执照 reused → read the 告知书, sign → licence → 事后核查 → 结案."""
    assert JOURNEY.get("licence_no"), "runs after the 企业设立登记 journey (same module)"
    me = desk["enterprise"]
    _reuse_the_licence(me, live_url, "GXQ-XK-0401", "M02")
    number = _apply(me, live_url, "GXQ-XK-0401", ["M01", "M03"])

    _my_step(me, live_url, number, "待您签署告知承诺书")
    letter = me.locator(".step-letter")
    expect(letter).to_contain_text("告知书")
    expect(letter).to_contain_text("场所选址、设计和卫生设施符合国家卫生标准")  # the 许可条件
    expect(letter).to_contain_text("承诺不实")
    me.get_by_label("签署承诺，采用告知承诺方式").check()
    me.get_by_role("button", name="签署并提交").click()  # the 告知书 not confirmed as read
    expect(me.locator('[data-field="read_notice"] .error')).to_be_visible()
    me.get_by_label("我已阅读告知书，知晓许可条件和违反承诺的法律责任").check()
    expect(me.get_by_label("承诺人")).to_have_value("李娜")
    screenshot(me, "journey-commitment-sign")
    me.get_by_role("button", name="签署并提交").click()
    expect(me.locator(".flash-success")).to_contain_text("阅读告知书并签署承诺")

    clerk = desk["clerk"]
    _open_task(clerk, live_url, number, "当场审批发证")
    _submit(clerk, ["实地核查"], {"证照编号": "卫公证字〔2026〕第0123号", "核查期限": "2026-12-18"})
    me.goto(f"{live_url}/my/cases/{number}")
    expect(me.locator(".stage").first).to_have_text("事后核查中")
    expect(me.locator(".licence-row .status-pill")).to_have_text("有效")  # licensed on the spot

    inspector = desk["inspector"]
    _open_task(inspector, live_url, number, "事后核查")
    _submit(
        inspector,
        ["实地核查", "承诺属实"],
        {"核查情况": "现场卫生设施与承诺一致", "核查日期": "2026-11-27", "办理意见": "核查属实，结案"},
    )
    me.goto(f"{live_url}/my/cases/{number}")
    expect(me.locator(".stage").first).to_have_text("已办结")
    expect(me.locator(".results .notices")).to_contain_text("告知承诺书")
    screenshot(me, "journey-commitment-closed")
