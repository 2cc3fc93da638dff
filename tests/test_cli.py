"""The `flask …` commands, run through Click's runner against the test database."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, User
from app.services.cases import start_case
from tests.factories import create_user
from tests.services.helpers import FIXTURES, deploy_fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runner(app: Flask, session: Session) -> FlaskCliRunner:
    return app.test_cli_runner()


def test_validate_accepts_the_shipped_processes(runner: FlaskCliRunner) -> None:
    files = sorted(str(p) for p in (ROOT / "processes").glob("*.bpmn"))
    result = runner.invoke(args=["processes", "validate", *files])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(files) == 7 and all(": ok (" in line for line in lines), result.output


def test_validate_locates_errors_and_exits_1(runner: FlaskCliRunner, tmp_path: Path) -> None:
    broken = (
        (FIXTURES / "mini_parallel.bpmn")
        .read_text()
        .replace('<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="decide" />', "")
    )
    path = tmp_path / "broken.bpmn"
    path.write_text(broken)
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert lines, result.output
    file_part, line_part, element, *_ = lines[0].split(":")
    assert file_part == str(path) and line_part.isdigit() and element.strip()


def test_validate_reports_xxe_without_traceback(runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "xxe.bpmn"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>'
    )
    result = runner.invoke(args=["processes", "validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "root:" not in result.output  # nothing from /etc/passwd


def test_deploy_list_and_redeploy(runner: FlaskCliRunner, tmp_path: Path) -> None:
    directory = tmp_path / "procs"
    directory.mkdir()
    shutil.copy(ROOT / "processes" / "commitment_approval.bpmn", directory)
    first = runner.invoke(args=["processes", "deploy", str(directory)])
    assert first.exit_code == 0 and "deployed commitment_approval v1" in first.output, first.output
    again = runner.invoke(args=["processes", "deploy", str(directory)])
    assert "unchanged commitment_approval v1" in again.output
    listing = runner.invoke(args=["processes", "list"])
    assert "commitment_approval" in listing.output and "open cases: 0" in listing.output


def test_simulate_prints_the_path_and_due_dates(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "processes",
            "simulate",
            str(ROOT / "processes" / "parallel_approval.bpmn"),
            "--data",
            '{"lead_dept": "market", "member_departments": ["tax", "police"]}',
        ]
    )
    assert result.exit_code == 0, result.output
    assert "accept_application" in result.output and "due 20" in result.output
    assert result.output.strip().endswith("end event reached")


def test_simulate_bad_json_is_a_usage_error(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["processes", "simulate", str(ROOT / "processes" / "parallel_approval.bpmn"), "--data", "{nope"]
    )
    assert result.exit_code == 2 and "not JSON" in result.output


def test_jobs_run_and_bad_arguments(runner: FlaskCliRunner) -> None:
    ok = runner.invoke(args=["jobs", "run", "fire_timers", "--now", "2026-11-23T09:00:00+08:00"])
    assert ok.exit_code == 0 and ok.output.startswith("due=")
    unknown = runner.invoke(args=["jobs", "run", "no_such_job"])
    assert unknown.exit_code == 1 and "unknown job" in unknown.output
    naive = runner.invoke(args=["jobs", "run", "fire_timers", "--now", "2026-11-23T09:00:00"])
    assert naive.exit_code == 2 and "time zone" in naive.output


def test_calendar_show_marks_provisional_years(runner: FlaskCliRunner) -> None:
    official = runner.invoke(args=["calendar", "show", "2026"])
    assert "2026-10-10 上班" in official.output and "provisional" not in official.output
    provisional = runner.invoke(args=["calendar", "show", "2027"])
    assert "provisional" in provisional.output and "2027-02-06 休息" in provisional.output


def test_users_create(runner: FlaskCliRunner, session: Session) -> None:
    from app.services.accounts import ensure_department

    ensure_department(session, "market", "市场监管局")
    session.commit()
    result = runner.invoke(
        args=["users", "create", "--username", "liu", "--role", "approver", "--department", "market"],
        input="long-enough-pw\nlong-enough-pw\n",
    )
    assert result.exit_code == 0, result.output
    user = session.scalars(select(User).where(User.username == "liu")).one()
    assert user.has_role("approver", "market") and user.password_hash != "long-enough-pw"
    duplicate = runner.invoke(
        args=["users", "create", "--username", "liu", "--role", "approver"],
        input="long-enough-pw\nlong-enough-pw\n",
    )
    assert duplicate.exit_code == 1 and "已存在" in duplicate.output


def test_migrate_dry_run_then_real(runner: FlaskCliRunner, session: Session, now: datetime) -> None:
    clerk = create_user(session, now, roles=[("clerk", "approval")])
    deploy_fixture(session, "mini_parallel", now)
    at_intake = start_case(session, "mini_parallel", {"departments": ["market"]}, clerk, now).number
    session.commit()
    deploy_fixture(session, "mini_parallel", now, replace={'name="领导决定"': 'name="分管领导决定"'})
    dry = runner.invoke(args=["processes", "migrate", "mini_parallel", "--to", "2", "--dry-run"])
    assert dry.exit_code == 0 and f"{at_intake} v1 -> v2: would migrate" in dry.output, dry.output
    assert session.scalars(select(Case).where(Case.number == at_intake)).one().process_version.version == 1
    real = runner.invoke(args=["processes", "migrate", "mini_parallel", "--to", "2"])
    assert f"{at_intake} v1 -> v2: migrated" in real.output and "1 of 1 open cases migrated" in real.output
    assert session.scalars(select(Case).where(Case.number == at_intake)).one().process_version.version == 2
    missing = runner.invoke(args=["processes", "migrate", "mini_parallel", "--to", "9"])
    assert missing.exit_code == 1 and "没有版本 9" in missing.output


def test_cases_errors_resume_and_message(runner: FlaskCliRunner, session: Session, now: datetime) -> None:
    clerk = create_user(session, now, roles=[("clerk", "approval")])
    deploy_fixture(session, "mini_timer", now)
    broken = start_case(session, "mini_timer", {}, clerk, now)
    broken.status, broken.error_message = "error", "timer: bad expression"
    waiting = start_case(session, "mini_timer", {}, clerk, now)
    numbers = (broken.number, waiting.number)
    session.commit()
    listing = runner.invoke(args=["cases", "errors"])
    assert numbers[0] in listing.output and "timer: bad expression" in listing.output
    assert numbers[1] not in listing.output
    assert runner.invoke(args=["cases", "resume", numbers[0]]).output.strip() == f"{numbers[0]} resumed"
    again = runner.invoke(args=["cases", "resume", numbers[0]])
    assert again.exit_code == 1 and "不处于错误状态" in again.output
    early = runner.invoke(args=["cases", "message", numbers[1], "materials_supplemented"])
    assert early.exit_code == 1 and "未在等待消息" in early.output
