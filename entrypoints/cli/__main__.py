"""``python -m entrypoints.cli run|api|worker|migrate``."""

from __future__ import annotations

import argparse
import sys

from entrypoints.config import ConfigurationError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synapscale")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="API + worker, with embedded PostgreSQL/Redis when no URL is set")
    api = sub.add_parser("api", help="the HTTP API only")
    api.add_argument("--workers", type=int, default=1)
    sub.add_parser("worker", help="the arq worker only")
    migrate = sub.add_parser("migrate", help="apply migrations (alembic upgrade)")
    migrate.add_argument("revision", nargs="?", default="head")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2

    if args.command == "run":
        from entrypoints.cli.run import run

        return run(settings)
    if args.command == "api":
        import uvicorn

        uvicorn.run(
            "entrypoints.http.asgi:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            access_log=False,
            log_config=None,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=20,
        )
        return 0
    if args.command == "worker":
        from entrypoints.worker.run import run_worker

        run_worker(settings)
        return 0
    if not settings.database_url:
        print(
            "DATABASE_URL is not set (make run applies migrations to the embedded server)",
            file=sys.stderr,
        )
        return 2
    from entrypoints.cli.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
