"""Create (or recreate) the PostgreSQL test database named in a URL; exit 1 if the server does not answer."""

from __future__ import annotations

import sys

import psycopg
from sqlalchemy.engine import make_url


def main(url: str) -> int:
    """Drop and recreate the database so every run starts from an empty schema."""
    parsed = make_url(url)
    name = parsed.database
    try:
        conn = psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.OperationalError as error:
        print(f"PostgreSQL: {error}".strip(), file=sys.stderr)
        return 1
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
