"""`flask ...` commands. Each command owns its transaction: one commit per unit of work, or none."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.extensions import db
from app.services.errors import DomainError

seed_cli = AppGroup("seed", help="Load data (demo only).")
users_cli = AppGroup("users", help="Manage user accounts.")
processes_cli = AppGroup("processes", help="Validate, deploy, list, migrate and simulate BPMN processes.")
jobs_cli = AppGroup("jobs", help="Run one scheduled job once.")
scheduler_cli = AppGroup("scheduler", help="Run the scheduler.")
calendar_cli = AppGroup("calendar", help="Working-day calendar.")
cases_cli = AppGroup("cases", help="Operate on running cases: errors, resume, messages.")
events_cli = AppGroup("events", help="Events for the supervision platform (outbox).")


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_now(value: str | None) -> datetime:
    if not value:
        return _now()
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise click.BadParameter("--now needs a time zone, e.g. 2026-11-23T09:00:00+08:00")
    return moment


@seed_cli.command("demo")
def seed_demo_command() -> None:
    """Create the demo 高新区管委会 organisation and one user per role (idempotent)."""
    from app.services.demo import DEMO_PASSWORD, seed_demo

    created = seed_demo(db.session(), _now())
    db.session.commit()
    click.echo(f"demo data ready: {len(created)} new users; demo password: {DEMO_PASSWORD}")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--display-name", default=None, help="shown name (default: the username)")
@click.option("--role", "roles", multiple=True, required=True, help="role code, e.g. approver")
@click.option("--department", default=None, help="department code for the roles, e.g. market")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(
    username: str, display_name: str | None, roles: tuple[str, ...], department: str | None, password: str
) -> None:
    """Create a user with one or more roles in a department."""
    from app.services.accounts import create_user, ensure_roles

    ensure_roles(db.session())
    try:
        create_user(
            db.session(),
            username=username,
            display_name=display_name or username,
            password=password,
            now=_now(),
            roles=[(role, department) for role in roles],
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"user {username} created")


def _bpmn_paths(paths: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.glob("*.bpmn")))
        elif path.is_file():
            found.append(path)
        else:
            raise click.ClickException(f"{raw}: no such file or directory")
    return found


def _form_dir() -> Path:
    return Path(current_app.config["GOVFLOW_FORM_DIR"])


@processes_cli.command("validate")
@click.argument("files", nargs=-1, required=True)
def validate_command(files: tuple[str, ...]) -> None:
    """Lint BPMN files; print `file:line: element-id: message` and exit 1 on errors."""
    from app.services.processes import ProcessSource, compile_source, read_process_source

    failed = False
    for path in _bpmn_paths(files):
        source = read_process_source([path], _form_dir())
        source = ProcessSource(files={str(path): source.files[path.name]}, forms=source.forms)
        try:
            compiled = compile_source(source)
        except DomainError as error:
            failed = True
            for line in error.details or []:
                click.echo(line, err=True)
            continue
        for note in compiled.notes:
            click.echo(note.format())
        click.echo(f"{path}: ok ({compiled.process_id}, {len(compiled.steps)} human steps)")
    if failed:
        raise SystemExit(1)


@processes_cli.command("deploy")
@click.argument("paths", nargs=-1, required=True)
def deploy_command(paths: tuple[str, ...]) -> None:
    """Validate and deploy BPMN files (or every *.bpmn in a directory); unchanged files keep their version."""
    from app.services.processes import deploy_process, read_process_source

    failed = False
    for path in _bpmn_paths(paths):
        try:
            deployment = deploy_process(db.session(), read_process_source([path], _form_dir()), None, _now())
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            failed = True
            click.echo(f"{path}: {error.message}", err=True)
            for line in error.details or []:
                click.echo(f"  {line}", err=True)
            continue
        version = deployment.version
        state = "deployed" if deployment.created else "unchanged"
        click.echo(f"{path}: {state} {version.process_id} v{version.version} ({version.content_hash[:12]})")
    if failed:
        raise SystemExit(1)


@processes_cli.command("list")
def list_command() -> None:
    """List deployed processes with their versions and open cases per version."""
    from app.services.processes import list_processes

    for process_id, versions in list_processes(db.session()).items():
        click.echo(process_id)
        for v in versions:
            click.echo(
                f"  v{v.version}  {v.content_hash[:12]}  {v.deployed_at:%Y-%m-%d %H:%M}"
                f"  open cases: {v.open_cases}"
            )


@processes_cli.command("migrate")
@click.argument("process_id")
@click.option("--to", "to_version", type=int, required=True, help="target version number")
@click.option("--dry-run", is_flag=True, help="report what would happen, change nothing")
def migrate_command(process_id: str, to_version: int, dry_run: bool) -> None:
    """Migrate open cases of PROCESS_ID to version --to where their started steps are unchanged."""
    from app.services.migration import migrate_cases

    try:
        lines = migrate_cases(db.session(), process_id, to_version, None, _now(), dry_run=dry_run)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for line in lines:
        verdict = ("would migrate" if dry_run else "migrated") if line.migrated else "refused"
        reasons = f": {'; '.join(line.reasons)}" if line.reasons else ""
        click.echo(f"{line.case_number} v{line.from_version} -> v{to_version}: {verdict}{reasons}")
    click.echo(
        f"{sum(1 for x in lines if x.migrated)} of {len(lines)} open cases "
        f"{'can be ' if dry_run else ''}migrated"
    )


@processes_cli.command("simulate")
@click.argument("files", nargs=-1, required=True)
@click.option("--data", "data_json", default="{}", help="start data as a JSON object")
@click.option("--decide", "decisions", multiple=True, help="TASK_ID=JSON data for that task")
@click.option("--timeout-path", is_flag=True, help="fire timers as soon as they are waiting")
def simulate_command(
    files: tuple[str, ...], data_json: str, decisions: tuple[str, ...], timeout_path: bool
) -> None:
    """Dry-run a diagram in memory: print the path taken and the working-day due dates; exit 1 if stuck."""
    from app.services.processes import read_process_source
    from app.services.runtime import working_calendar
    from app.workflow.simulate import simulate

    paths = _bpmn_paths(files)
    source = read_process_source(paths, _form_dir())
    try:
        data = json.loads(data_json)
        decided = {k: json.loads(v) for k, _, v in (d.partition("=") for d in decisions)}
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}") from error
    report = simulate(
        source.files,
        source.forms,
        data=data,
        decisions=decided,
        timeout_path=timeout_path,
        today=date.today(),
        calendar=working_calendar(),
    )
    for number, step in enumerate(report.steps, start=1):
        due = f"  due {step.due.isoformat()}" if step.due else ""
        click.echo(
            f"{number:3d}. {step.action:<10} {step.bpmn_id} {step.name or ''} [{step.lane or '-'}]{due}"
        )
    if not report.ok:
        if report.reason:
            click.echo(report.reason.format(), err=True)
        raise SystemExit(1)
    click.echo("end event reached")


@jobs_cli.command("run")
@click.argument("name")
@click.option("--now", "now_text", default=None, help="run as if at this ISO-8601 time (with offset)")
def run_job_command(name: str, now_text: str | None) -> None:
    """Run one scheduled job once."""
    from app.scheduler import run_job

    try:
        click.echo(run_job(current_app._get_current_object(), name, _parse_now(now_text)))  # type: ignore[attr-defined]
    except KeyError as error:
        raise click.ClickException(str(error)) from error


@scheduler_cli.command("run")
def scheduler_run_command() -> None:
    """Run every scheduled job on its interval until Ctrl-C."""
    from app.scheduler import run_scheduler

    run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]


@calendar_cli.command("show")
@click.argument("year", type=int)
def calendar_show_command(year: int) -> None:
    """Print the non-working days and adjusted workdays of YEAR."""
    from app.services.runtime import load_calendar

    days = load_calendar(db.session()).year_days(year)
    special = [
        d
        for d in days
        if d.holiday_name or d.source == "override" or (d.is_working and d.date.weekday() >= 5)
    ]
    provisional = any(d.provisional for d in days)
    click.echo(
        f"{year}: {sum(d.is_working for d in days)} working days"
        + (" (provisional 暂定)" if provisional else "")
    )
    for day in special:
        kind = "上班" if day.is_working else "休息"
        local = " [本地调整]" if day.source == "override" else ""
        click.echo(f"{day.date.isoformat()} {kind} {day.holiday_name or ''}{local}")


@cases_cli.command("errors")
def case_errors_command() -> None:
    """List cases parked in the error state (a timer or message failed) with the reason."""
    from sqlalchemy import select

    from app.models import Case

    for case in db.session.scalars(select(Case).where(Case.status == "error").order_by(Case.updated_at)):
        click.echo(f"{case.number}  {case.updated_at:%Y-%m-%d %H:%M}  {case.error_message}")


@cases_cli.command("resume")
@click.argument("number")
def case_resume_command(number: str) -> None:
    """Put an errored case back to open after the cause was fixed; the next timer run retries it."""
    from app.services.timers import resume_case

    try:
        resume_case(db.session(), number, None, _now())
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"{number} resumed")


@cases_cli.command("message")
@click.argument("number")
@click.argument("name")
@click.option("--payload", default="{}", help="message payload as a JSON object")
def case_message_command(number: str, name: str, payload: str) -> None:
    """Deliver a BPMN message (e.g. materials_supplemented) to a case."""
    from app.services.timers import deliver_message

    try:
        body = json.loads(payload)
        deliver_message(db.session(), number, name, body, None, _now())
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}") from error
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"{name} delivered to {number}")


@events_cli.command("replay")
@click.option(
    "--since", "since_text", required=True, help="ISO-8601 with offset, e.g. 2026-11-01T00:00+08:00"
)
@click.option("--until", "until_text", required=True, help="ISO-8601 with offset (exclusive)")
@click.option("--case", "case_number", default=None, help="only this case number")
def events_replay_command(since_text: str, until_text: str, case_number: str | None) -> None:
    """Send the platform events created in [--since, --until) again, with the same idempotency keys."""
    from app.services.events import replay_events

    since, until = _parse_moment(since_text, "--since"), _parse_moment(until_text, "--until")
    if until <= since:
        raise click.BadParameter("--until must be after --since")
    count = replay_events(db.session(), since, until, case_number, _now())
    db.session.commit()
    click.echo(f"{count} events queued for replay; the deliver_outbox job sends them in order")


def _parse_moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{option}: not ISO-8601: {value}") from error
    if moment.tzinfo is None:
        raise click.BadParameter(f"{option} needs a time zone, e.g. 2026-11-23T09:00:00+08:00")
    return moment


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    for group in (seed_cli, users_cli, processes_cli, jobs_cli, scheduler_cli, calendar_cli, cases_cli):
        app.cli.add_command(group)
    app.cli.add_command(events_cli)
