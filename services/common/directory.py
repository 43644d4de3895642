"""What the directories an operator keeps from files share (routing's administrations, the
prosecution's courts): reading a CSV or JSON file of entries, and the command line

    python -m services.<service>.directory import FILE.csv|FILE.json
    python -m services.<service>.directory list

Each service checks its own entries and writes them to its own database.
"""
import argparse
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.orm import Session, sessionmaker

from services.common import config
from services.common.db import make_engine, migrate


class InvalidDirectory(ValueError):
    pass


def read_rows(path: Path, noun: str) -> list:
    """The raw entries of a .json (array of objects) or .csv (UTF-8, a header row) file;
    `noun` names them in the error ("administrations", "courts")."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            entries = list(csv.DictReader(handle))
    else:
        entries = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise InvalidDirectory(f"{path}: expected a list of {noun}")
    return entries


def command(argv, *, service: str, metadata: MetaData, description: str, noun: str,
            read_entries: Callable[[Path], list[dict]],
            upsert: Callable[[Session, list[dict]], tuple[int, int]],
            listing: Callable[[Session], list[dict]]) -> int:
    """The `import` and `list` commands on `service`'s database: an import whose file or
    entries are refused (InvalidDirectory) changes nothing and exits 1."""
    parser = argparse.ArgumentParser(description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import", help=f"add or update {noun} from a CSV/JSON file")
    importer.add_argument("file", type=Path)
    commands.add_parser("list", help="print the directory as JSON")
    args = parser.parse_args(argv)

    url = config.database_url(service)
    migrate(service, url, metadata)
    engine = make_engine(url)
    try:
        with sessionmaker(bind=engine)() as session:
            if args.command == "list":
                json.dump(listing(session), sys.stdout, ensure_ascii=False, indent=2)
                return 0
            try:
                added, updated = upsert(session, read_entries(args.file))
            except (InvalidDirectory, json.JSONDecodeError, OSError) as exc:
                print(f"nothing imported: {exc}", file=sys.stderr)
                return 1
            session.commit()
            print(f"{added} {noun} added, {updated} updated")
    finally:
        engine.dispose()
    return 0
