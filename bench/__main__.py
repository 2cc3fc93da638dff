"""Run every benchmark and print its table (`make bench`)."""

from __future__ import annotations

import sys

from bench import engine, http, supervision, todo_volume
from bench.common import machine_line


def main() -> int:
    """Run the benchmarks in order: the latency-bound ones first, the bulk data generators last.

    The supervision and to-do volume benchmarks write over a million rows: PostgreSQL's checkpoints and
    autovacuum after them would run alongside (and slow) a benchmark that followed.
    """
    print(machine_line(), flush=True)
    engine.main(sys.argv[1:])
    http.main([])
    supervision.main([])
    todo_volume.main([])  # generates 100 000 open + 1 000 000 closed tasks (about a minute)
    print(machine_line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
