"""The regions of Morocco (and "abroad"), shared by the form, intake and stats."""
import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def regions() -> list[dict]:
    return json.loads(Path(__file__).with_name("data").joinpath("regions.json").read_text("utf-8"))


def region_codes() -> set[str]:
    return {region["code"] for region in regions()}
