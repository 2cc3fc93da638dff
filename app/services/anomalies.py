"""异常办件: run every anomaly rule, record each (case, rule) once, raise a red card for serious ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.models import Anomaly, Case, Department, ServiceItem
from app.services.alert_routing import announce_anomalies, fresh_load_table, pg_copy
from app.services.alerts import raise_alerts
from app.services.anomaly_outcomes import (
    closed_without_result,
    commitment_false,
    commitment_verification_overdue,
    supplement_overdue,
)
from app.services.anomaly_rules import (
    Finding,
    Rule,
    closed_too_fast,
    hotline_repeated_return,
    refusal_without_reason,
    repeated_return,
    repeated_supplement,
    step_overdue,
    timestamps_out_of_order,
)
from app.services.deadline_rules import alert_row


@dataclass(frozen=True)
class AnomalyRule:
    """One explainable rule: a stable code, a Chinese title, its severity and the query that finds cases."""

    code: str
    title: str
    severity: str  # normal / serious (serious ones raise a red card)
    find: Rule


RULES: tuple[AnomalyRule, ...] = (
    AnomalyRule("step_overdue", "环节超时", "normal", step_overdue),
    AnomalyRule("refusal_without_reason", "不予受理/不予许可未说明理由", "serious", refusal_without_reason),
    AnomalyRule("closed_too_fast", "受理即办结", "serious", closed_too_fast),
    AnomalyRule("timestamps_out_of_order", "时间顺序异常", "serious", timestamps_out_of_order),
    AnomalyRule("repeated_supplement", "多次补正", "normal", repeated_supplement),
    AnomalyRule("repeated_return", "多次退回", "normal", repeated_return),
    AnomalyRule("supplement_overdue", "容缺材料逾期未补正", "normal", supplement_overdue),
    AnomalyRule(
        "commitment_verification_overdue", "告知承诺核查逾期", "normal", commitment_verification_overdue
    ),
    AnomalyRule("commitment_false", "告知承诺不实", "serious", commitment_false),
    AnomalyRule("closed_without_result", "办结无结果文书", "serious", closed_without_result),
    AnomalyRule("hotline_repeated_return", "12345 工单多次退单", "normal", hotline_repeated_return),
)
RULES_BY_CODE = {rule.code: rule for rule in RULES}


ANOMALY_LOAD = Table(
    "govflow_anomaly_load",
    MetaData(),
    Column("seq", Integer),
    Column("case_id", Integer),
    Column("rule_code", String),
    Column("severity", String),
    Column("explanation", Text),
    Column("facts", JSONB),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_ANOMALY_COLUMNS = ("case_id", "rule_code", "severity", "explanation", "facts")


class FoundAnomaly(NamedTuple):
    """An anomaly recorded by this run (what the caller and routing read of the `Anomaly` row; the facts
    stay in the table)."""

    id: int
    case_id: int
    rule_code: str
    severity: str
    explanation: str


_RETURNED = [getattr(Anomaly, name) for name in FoundAnomaly._fields]


def _insert_anomalies(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> list[FoundAnomaly]:
    """Insert (ON CONFLICT DO NOTHING on (case, rule)); return the anomalies this call recorded, by id.

    INSERT … RETURNING: no read-back query, and nothing returned for a (case, rule) recorded meanwhile by
    another node. PostgreSQL: COPY into a temporary table, then ONE INSERT … SELECT; SQLite: multi-row
    VALUES batches.
    """
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        fresh_load_table(session, ANOMALY_LOAD)
        dumps = json.dumps
        copied = (
            (n, r["case_id"], r["rule_code"], r["severity"], r["explanation"], dumps(r["facts"]))
            for n, r in enumerate(rows)
        )
        pg_copy(session, ANOMALY_LOAD.name, ("seq", *_ANOMALY_COLUMNS), copied)
        detected = bindparam("detected_at", type_=Anomaly.detected_at.type)
        source = select(*(ANOMALY_LOAD.c[name] for name in _ANOMALY_COLUMNS), detected)
        statement = (
            postgresql.insert(Anomaly)
            .from_select([*_ANOMALY_COLUMNS, "detected_at"], source.order_by(ANOMALY_LOAD.c.seq))
            .on_conflict_do_nothing(index_elements=["case_id", "rule_code"])
            .returning(*_RETURNED)
        )
        result = connection.execute(statement, {"detected_at": now})
    else:
        insert = sqlite.insert(Anomaly).on_conflict_do_nothing(index_elements=["case_id", "rule_code"])
        result = connection.execute(insert.returning(*_RETURNED), list(rows))
    return sorted((FoundAnomaly(*row) for row in result), key=lambda a: a.id)


def _departments(session: Session, case_ids: list[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    query = (
        select(Case.id, Department.code)
        .join(ServiceItem, ServiceItem.id == Case.service_item_id)
        .join(Department, Department.id == ServiceItem.department_id)
        .where(Case.id.in_(case_ids))
    )
    return {case_id: code for case_id, code in session.execute(query)}


def _red_cards(session: Session, anomalies: list[FoundAnomaly], now: datetime) -> int:
    serious = [a for a in anomalies if a.severity == "serious"]
    departments = _departments(session, [a.case_id for a in serious])
    rows = [
        alert_row(
            f"{a.case_id}:a-{a.rule_code}:red",
            a.case_id,
            None,
            departments.get(a.case_id),
            "red",
            a.rule_code,
            f"严重异常（{RULES_BY_CODE[a.rule_code].title}）：{a.explanation}",
            now,
        )
        for a in serious
    ]
    return len(raise_alerts(session, rows, now))


def run_anomaly_rules(session: Session, now: datetime) -> list[FoundAnomaly]:
    """Run every rule; return the anomalies found this time (each (case, rule) is recorded once)."""
    rows: list[dict[str, Any]] = []
    for rule in RULES:
        findings: list[Finding] = rule.find(session, now)
        rows.extend(
            {
                "case_id": f.case_id,
                "rule_code": rule.code,
                "severity": rule.severity,
                "explanation": f.explanation,
                "facts": f.facts,
                "detected_at": now,
                "resolved_at": None,
            }
            for f in findings
        )
    anomalies = _insert_anomalies(session, rows, now)
    announce_anomalies(session, anomalies, now)
    _red_cards(session, anomalies, now)
    session.flush()
    return anomalies
