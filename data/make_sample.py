"""Rebuild data/sample.jsonl from Debian's fortune packages (provenance only).

    apt-get install fortunes fortunes-zh && python3 data/make_sample.py

One JSON line {"text": ...} per fortune; ANSI colour codes are removed.
"""
import json
import pathlib
import re

SOURCES = ["tang300", "song100", "fortunes", "literature", "wisdom"]
FORTUNES = pathlib.Path("/usr/share/games/fortunes")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

with open(pathlib.Path(__file__).with_name("sample.jsonl"), "w", encoding="utf-8") as out:
    for name in SOURCES:
        raw = (FORTUNES / name).read_text(encoding="utf-8")
        for entry in re.split(r"^%\n", ANSI.sub("", raw), flags=re.M):
            if entry.strip():
                out.write(json.dumps({"text": entry.rstrip("\n")}, ensure_ascii=False) + "\n")
