"""PDF rendering of licences (with a QR code to the public verification page) and decision notices.

Chinese text needs a font reportlab can embed: a TrueType CJK font when the system has one (Debian
fonts-wqy-microhei / fonts-wqy-zenhei / fonts-arphic-uming; Noto CJK ships OTF/CFF, which reportlab cannot
embed), else reportlab's built-in CID font STSong-Light (no file, nothing downloaded; the viewer supplies
the glyphs). ASCII strings (numbers, codes, URLs) are set in Helvetica so they stay searchable.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from app.services.licences import LicenceSheet
from app.services.notices import Notice

TTF_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
CID_FONT = "STSong-Light"
TTF_FONT = "GovflowCJK"
LATIN = "Helvetica"
_registered: dict[tuple[str, ...], str] = {}


def cjk_font(candidates: Sequence[str] = TTF_CANDIDATES) -> str:
    """Register and return the name of the CJK font: the first usable TrueType file, else STSong-Light."""
    key = tuple(candidates)
    if key in _registered:
        return _registered[key]
    name = CID_FONT
    for path in candidates:
        if not Path(path).is_file():
            continue
        try:
            font_name = f"{TTF_FONT}-{Path(path).stem}"
            pdfmetrics.registerFont(TTFont(font_name, path, subfontIndex=0))
        except (TTFError, OSError, ValueError):
            continue
        name = font_name
        break
    if name == CID_FONT:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    _registered[key] = name
    return name


class _Writer:
    """A canvas with mixed CJK/Latin text and wrapping."""

    def __init__(self, title: str, compress: bool, font: str) -> None:
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=A4, pageCompression=1 if compress else 0)
        self.canvas.setTitle(title)
        self.canvas.setAuthor("govflow")
        self.font = font

    def font_for(self, text: str) -> str:
        return LATIN if text.isascii() else self.font

    def text(self, x: float, y: float, text: str, size: float, align: str = "left") -> None:
        self.canvas.setFont(self.font_for(text), size)
        draw = {"left": self.canvas.drawString, "center": self.canvas.drawCentredString}
        draw.get(align, self.canvas.drawRightString)(x, y, text)

    def pair(self, x: float, y: float, label: str, value: str, size: float = 12) -> None:
        self.text(x, y, label, size)
        self.text(x + 30 * mm, y, value, size)

    def wrapped(self, x: float, y: float, text: str, width: float, size: float = 12) -> float:
        """Draw `text` wrapped to `width` (character by character, fine for Chinese); return the next y."""
        line = ""
        for char in text:
            candidate = line + char
            if pdfmetrics.stringWidth(candidate, self.font, size) > width and line:
                self.text(x, y, line, size)
                y, line = y - size * 1.7, char
            else:
                line = candidate
        if line:
            self.text(x, y, line, size)
            y -= size * 1.7
        return y

    def finish(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        return self.buffer.getvalue()


def _qr(writer: _Writer, url: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(url, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, writer.canvas, x, y)


def render_licence(sheet: LicenceSheet, *, compress: bool = True, font: str | None = None) -> bytes:
    """The licence as a one-page A4 PDF with a QR code to its verification page."""
    writer = _Writer(f"{sheet.licence_type} {sheet.number}", compress, font or cjk_font())
    width, height = A4
    canvas = writer.canvas
    canvas.setStrokeColorRGB(0.62, 0.11, 0.11)
    canvas.setLineWidth(3)
    canvas.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)
    writer.text(width / 2, height - 45 * mm, "电子证照", 28, "center")
    writer.text(width / 2, height - 58 * mm, sheet.licence_type, 18, "center")
    y = height - 85 * mm
    rows = (
        ("证照编号", sheet.number),
        ("持证主体", sheet.holder_name),
        ("发证机关", sheet.issuer),
        ("发证日期", sheet.issued_on),
        ("有效期至", sheet.valid_until),
        ("证照状态", sheet.status_label),
        ("核验码", sheet.verification_code),
    )
    for label, value in rows:
        writer.pair(35 * mm, y, label, value, 13)
        y -= 11 * mm
    _qr(writer, sheet.verify_url, width - 75 * mm, 40 * mm, 45 * mm)
    writer.text(35 * mm, 70 * mm, "扫描二维码或访问以下地址核验真伪：", 11)
    writer.text(35 * mm, 62 * mm, sheet.verify_url, 8)
    writer.text(35 * mm, 40 * mm, sheet.issuer, 12)
    return writer.finish()


def render_notice(notice: Notice, *, compress: bool = True, font: str | None = None) -> bytes:
    """A decision notice as an A4 PDF (one page; long lists continue on following pages)."""
    writer = _Writer(f"{notice.title} {notice.number}", compress, font or cjk_font())
    width, height = A4
    left, text_width = 25 * mm, width - 50 * mm
    writer.text(width / 2, height - 35 * mm, notice.title, 22, "center")
    writer.text(width - 25 * mm, height - 47 * mm, notice.number, 10, "right")
    y = writer.wrapped(left, height - 60 * mm, f"{notice.addressee}：", text_width, 13)
    for paragraph in notice.paragraphs:
        y = writer.wrapped(left + 8 * mm, y, paragraph, text_width - 8 * mm, 12)
        y = _page_break(writer, y)
    if notice.items_heading:
        y = writer.wrapped(left, y - 2 * mm, f"{notice.items_heading}：", text_width, 12)
        for index, item in enumerate(notice.items or ("（无）",), start=1):
            y = writer.wrapped(left + 8 * mm, y, f"{index}. {item}", text_width - 8 * mm, 12)
            y = _page_break(writer, y)
    y = writer.wrapped(
        left, y - 4 * mm, f"办件编号：{notice.case_number}　联系方式：{notice.contact}", text_width, 10
    )
    y = _page_break(writer, y - 10 * mm)
    writer.text(width - 25 * mm, y, notice.issuer, 13, "right")
    writer.text(width - 25 * mm, y - 8 * mm, notice.issued_on.strftime("%Y年%m月%d日"), 12, "right")
    writer.text(width - 55 * mm, y - 16 * mm, "（印章）", 10, "right")
    return writer.finish()


def _page_break(writer: _Writer, y: float) -> float:
    if y > 40 * mm:
        return y
    writer.canvas.showPage()
    top: float = A4[1] - 30 * mm
    return top
