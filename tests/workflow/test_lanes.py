"""Lanes read from a BPMN file (names, multi-instance element variables) and renamed for a viewer."""

from __future__ import annotations

import pytest
from lxml import etree

from app.workflow.lanes import Lane, relabel_lanes
from app.workflow.messages import ProcessInvalid

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="set">
      <bpmn:lane id="lane_a" name="clerk"><bpmn:flowNodeRef>plain</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_b" name="approver@{dept}">
        <bpmn:flowNodeRef>spiff_mi</bpmn:flowNodeRef>
        <bpmn:childLaneSet id="inner">
          <bpmn:lane id="lane_c" name="dept_head@{unit}">
            <bpmn:flowNodeRef>camunda_mi</bpmn:flowNodeRef>
          </bpmn:lane>
        </bpmn:childLaneSet>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:userTask id="plain" name="受理" />
    <bpmn:userTask id="spiff_mi" name="会审">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>member_departments</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="dept" name="dept" />
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:userTask id="camunda_mi" name="会签">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="units" camunda:elementVariable="unit" />
    </bpmn:userTask>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_lanes_are_read_with_their_multi_instance_variables() -> None:
    seen: list[Lane] = []
    assert relabel_lanes(BPMN, lambda lane: seen.append(lane)) == BPMN  # nothing renamed: the same bytes
    assert [(lane.id, lane.name, dict(lane.element_variables)) for lane in seen] == [
        ("lane_a", "clerk", {}),
        ("lane_b", "approver@{dept}", {"dept": "member_departments"}),
        ("lane_c", "dept_head@{unit}", {"unit": "units"}),
    ]


def test_only_the_lane_names_change() -> None:
    served = relabel_lanes(BPMN, lambda lane: None if lane.id == "lane_c" else f"<{lane.name}> & 部门")
    lanes = etree.fromstring(served).iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}lane")
    assert [lane.get("name") for lane in lanes] == [
        "<clerk> & 部门",
        "<approver@{dept}> & 部门",
        "dept_head@{unit}",
    ]
    original = etree.fromstring(BPMN)
    for lane in original.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"):
        if lane.get("id") != "lane_c":
            lane.set("name", f"<{lane.get('name')}> & 部门")
    assert etree.tostring(original, method="c14n") == etree.tostring(etree.fromstring(served), method="c14n")


def test_entities_are_never_expanded() -> None:
    hostile = BPMN.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ).replace(b'name="clerk"', b'name="&x;"')
    with pytest.raises(ProcessInvalid):
        relabel_lanes(hostile, lambda lane: "x")
