"""Shared by the report checks: running anatomy, collecting failures, the catalogs, and the text under
each heading of a report.md."""
import json
import os
import re
import subprocess

MESSAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "report", "messages")
# What a report must never print for a figure it lacks.
BAD_WORDS = re.compile(r"(?<![\w.])(None|nan|NaN|inf|Infinity|null)(?![\w.])")


def catalog(lang):
    return json.load(open(os.path.join(MESSAGES, lang + ".json"), encoding="utf-8"))


def sections_of(md):
    """The text under each '## ' heading of a report."""
    parts = re.split(r"^## (.+)$", md, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


class Checks:
    def __init__(self, anatomy):
        self.anatomy = anatomy
        self.failures = []

    def run(self, args, expect=0):
        p = subprocess.run([self.anatomy] + args, capture_output=True, text=True)
        if p.returncode != expect:
            raise SystemExit(f"anatomy {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
        return p

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAIL:", what)

    def finish(self):
        if self.failures:
            raise SystemExit(f"{len(self.failures)} failures")
