"""APScheduler wiring: a declarative table of jobs. Each job = app context + service calls + commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.scheduler import jobs


@dataclass(frozen=True)
class Job:
    """One scheduled job: its name, interval and body."""

    name: str
    seconds: int
    run: Callable[[datetime], str]
    description: str


JOBS: tuple[Job, ...] = (
    Job("fire_timers", 60, jobs.fire_timers, "触发到期的 BPMN 定时器 (fire due BPMN timers)"),
    Job(
        "deadline_scan",
        300,
        jobs.deadline_scan,
        "时限扫描：预警、黄牌、红牌 (deadline scan: alerts and cards)",
    ),
    Job("anomaly_rules", 900, jobs.anomaly_rules, "异常办件规则 (anomaly rules)"),
    Job("deliver_outbox", 10, jobs.deliver_outbox, "投递发件箱：监察平台、邮件、短信 (deliver the outbox)"),
    Job("proxy_rules", 60, jobs.proxy_rules, "代理开始与结束：待办转给代理人、交还本人 (vacation proxies)"),
    Job("evaluation_invitations", 86400, jobs.evaluation_invitations, "好差评邀请 (invite unrated cases)"),
)


def job_by_name(name: str) -> Job:
    """Look a job up by name; raises KeyError with the known names."""
    for job in JOBS:
        if job.name == name:
            return job
    raise KeyError(f"unknown job {name!r}; known: {', '.join(j.name for j in JOBS)}")


def run_job(app: Flask, name: str, now: datetime | None = None) -> str:
    """Run one job once inside an app context, as if at `now`."""
    job = job_by_name(name)
    with app.app_context():
        return job.run(now or datetime.now(UTC))


def run_scheduler(app: Flask) -> None:
    """Run every job on its interval until interrupted (safe on every node: jobs claim rows with locks)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s %(message)s")
    app.logger.setLevel(logging.INFO)
    scheduler = BlockingScheduler(timezone=app.config["GOVFLOW_TIMEZONE"])
    for job in JOBS:
        scheduler.add_job(
            _runner(app, job),
            "interval",
            seconds=job.seconds,
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    app.logger.info("scheduler started: %s", ", ".join(j.name for j in JOBS))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)


def _runner(app: Flask, job: Job) -> Callable[[], None]:
    def run() -> None:
        try:
            report = run_job(app, job.name)
            app.logger.info("job %s: %s", job.name, report)
        except Exception:
            app.logger.exception("job %s failed", job.name)

    return run
