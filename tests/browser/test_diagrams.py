"""Every shipped diagram renders in the vendored bpmn-js viewer without overlapping shapes (screenshots)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from lxml import etree
from playwright.sync_api import Page, expect

from app.services.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot

ROOT = Path(__file__).resolve().parents[2]
PROCESS_FILES = sorted((ROOT / "processes").glob("*.bpmn"))
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
FLOW_NODES = {
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "subProcess",
    "callActivity",
}

BOXES_JS = """ids => ids.map(id => {
  const el = document.querySelector(`.djs-element[data-element-id="${id}"] .djs-visual`);
  if (!el) return [id, null];
  const r = el.getBoundingClientRect();
  return [id, [r.left, r.top, r.right, r.bottom]];
})"""


def _flow_nodes(path: Path) -> list[str]:
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    return [
        el.get("id")
        for el in tree.iter()
        if isinstance(el.tag, str) and el.tag.startswith(BPMN) and el.tag[len(BPMN) :] in FLOW_NODES
    ]


def _overlaps(boxes: dict[str, list[float]]) -> list[tuple[str, str]]:
    found = []
    items = sorted(boxes.items())
    for i, (a, (ax1, ay1, ax2, ay2)) in enumerate(items):
        for b, (bx1, by1, bx2, by2) in items[i + 1 :]:
            if ax1 < bx2 - 1 and bx1 < ax2 - 1 and ay1 < by2 - 1 and by1 < ay2 - 1:
                found.append((a, b))
    return found


def test_every_diagram_renders_without_overlaps(page: Page, live_url: str, deployed: Flask) -> None:
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{live_url}/login")
    page.get_by_label("用户名").fill("designer")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    for path in PROCESS_FILES:
        page.goto(f"{live_url}/designer/processes/{path.stem}/v1")
        expect(page.locator(".diagram.is-loaded")).to_be_visible(timeout=15000)
        ids = _flow_nodes(path)
        boxes = {k: v for k, v in page.evaluate(BOXES_JS, ids) if v is not None}
        assert set(boxes) == set(ids), f"{path.name}: shapes not drawn: {set(ids) - set(boxes)}"
        assert _overlaps(boxes) == [], f"{path.name}: overlapping shapes"
        screenshot(page, f"diagram-{path.stem}")
