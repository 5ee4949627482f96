#!/usr/bin/python3
"""The offline HTML report in headless Chromium (Debian's chromium).

Reports are written with --html and opened from disk by a browser with a fresh profile and every
background network feature off. The page must render (it marks <body> when done), draw every chart
the report lists as an SVG inside its container and the Mermaid diagram as an SVG, log nothing to
the console (no error, no Content-Security-Policy refusal), and its embedded document must be the
report.json written beside it. A screenshot of each page is kept in WORKDIR as the test's artefact.

usage: html_check.py ANATOMY_BIN WORKDIR
"""
import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys

ANATOMY, WORK = sys.argv[1], sys.argv[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--virtual-time-budget=15000"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def browse(page, profile, extra):
    shutil.rmtree(profile, ignore_errors=True)
    p = subprocess.run([CHROMIUM] + FLAGS + [f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"] + extra +
                       ["file://" + os.path.abspath(page)], capture_output=True, text=True, timeout=180)
    return p


def check_page(label, model, args):
    out = os.path.join(WORK, label)
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([ANATOMY, "report", model, "--out", out, "--html"] + args, check=True, capture_output=True)
    page = os.path.join(out, "report.html")
    doc = json.load(open(os.path.join(out, "report.json"), encoding="utf-8"))
    p = browse(page, os.path.join(WORK, label + ".profile"), ["--dump-dom"])
    dom = p.stdout
    body = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1))) if body else {}
    check(attrs.get("status") == "rendered", f"{label}: page did not finish rendering: {attrs}")
    check(attrs.get("errors") == "0", f"{label}: script errors: {attrs.get('error-text', '')}")
    check(attrs.get("charts") == str(len(doc["charts"])), f"{label}: {attrs.get('charts')} charts drawn of {len(doc['charts'])}")
    check(attrs.get("diagrams") == "1", f"{label}: Mermaid diagram not drawn")
    for c in doc["charts"]:
        at = dom.find(f'id="chart-{c["name"]}"')
        end = dom.find("</section>", at)
        check(at >= 0 and "<svg" in dom[at:end], f"{label}: chart {c['name']} has no SVG")
    mermaid = dom.find('class="mermaid"')
    check(mermaid >= 0 and "<svg" in dom[mermaid:dom.find("</pre>", mermaid)], f"{label}: no SVG in the diagram")
    console = [l for l in p.stderr.split("\n") if "CONSOLE" in l or "Content Security Policy" in l or "Refused to" in l]
    check(not console, f"{label}: console output: {console[:3]}")
    embedded = re.search(r'<script type="application/json" id="anatomy-report">(.*?)</script>', dom, re.S)
    check(embedded is not None and json.loads(htmllib.unescape(embedded.group(1))) == doc, f"{label}: embedded document differs")
    shot = os.path.join(WORK, label + ".png")
    browse(page, os.path.join(WORK, label + ".profile"), ["--window-size=1280,4000", f"--screenshot={shot}"])
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000, f"{label}: no screenshot")
    print(f"ok {label}: {attrs.get('charts')} charts, diagram, screenshot {shot}")


def main():
    if CHROMIUM is None:
        raise SystemExit("chromium is not installed (scripts/install-deps.sh installs it)")
    os.makedirs(WORK, exist_ok=True)
    check_page("nanogpt_ru", "nanogpt-shakespeare-char", ["--lang", "ru", "--tokens", "32", "--repeat", "2", "--warmup", "1"])
    check_page("mamba2_zh-CN", "mamba2-130m", ["--lang", "zh-CN", "--tokens", "16", "--repeat", "1", "--warmup", "0"])
    check_page("zamba2_zh-TW_meta", "zamba2-1.2b", ["--lang", "zh-TW", "--meta"])
    if failures:
        raise SystemExit(f"{len(failures)} failures")


main()
