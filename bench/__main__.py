"""Run every benchmark and print its table (`make bench`)."""

from __future__ import annotations

import sys

from bench import engine, http, supervision, todo_volume


def main() -> int:
    """Run the benchmarks in order."""
    engine.main(sys.argv[1:])
    supervision.main([])
    http.main([])
    todo_volume.main([])  # generates 100 000 open + 1 000 000 closed tasks (about a minute)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
