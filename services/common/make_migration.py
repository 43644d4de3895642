"""Write a new alembic migration for a service from the difference between its models and
its migrations so far:  python -m services.common.make_migration intake "add ratings"
(`gateway` for the gateway's own tables).
"""
import argparse
import importlib
import tempfile

from alembic import command

from services.common.db import alembic_config, migrations_dir


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service")
    parser.add_argument("message")
    args = parser.parse_args()
    package = "gateway" if args.service == "gateway" else f"services.{args.service}"
    metadata = importlib.import_module(f"{package}.models").Base.metadata
    versions = migrations_dir(args.service)
    versions.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        cfg = alembic_config(args.service, f"sqlite:///{scratch}/scratch.db", metadata)
        command.upgrade(cfg, "heads")
        count = len(list(versions.glob("*.py")))
        command.revision(cfg, message=args.message, autogenerate=True,
                         rev_id=f"{args.service}_{count + 1:04d}", version_path=str(versions))


if __name__ == "__main__":
    main()
