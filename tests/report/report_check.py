#!/usr/bin/python3
"""`anatomy report` on every catalog model and on a model `anatomy train` made, in all four languages.

Each model's report is measured once (English), then rendered again from its report.json in Russian,
Traditional and Simplified Chinese. Every report is checked for: all thirteen sections and the footer
under the catalog's headings; a section left out carries its one sentence and nothing else; no
"None", "nan", "inf" or "null" and no empty table anywhere; the figures printed are the JSON's
(parameters, tensor rows, forward time, prefill rate, perplexity, best validation loss), formatted
as the language writes numbers; every chart the document lists exists as PNG and SVG and is shown;
the HTML page has every section. Models above 2 B parameters are reported with --meta (nothing run);
with --quick (the sanitizer build) every model above 10 M parameters is.

usage: report_check.py ANATOMY_BIN WORKDIR [--quick]
"""
import json
import os
import re
import shutil
import sys

from harness import BAD_WORDS, Checks, catalog, sections_of

ANATOMY, WORK = sys.argv[1], sys.argv[2]
QUICK = "--quick" in sys.argv[3:]
LANGS = ["en", "ru", "zh-TW", "zh-CN"]
SECTIONS = ["summary", "config", "components", "diagram", "arithmetic", "modules", "tensors", "flops", "memory",
            "profile", "bench", "eval", "training"]
CATALOG = {lang: catalog(lang) for lang in LANGS}
checks = Checks(ANATOMY)
run, check = checks.run, checks.check


# Numbers as src/report/catalog.cpp writes them.
def grouped(digits, lang):
    sep = "\u00a0" if lang == "ru" else ","
    out = ""
    for i, ch in enumerate(digits):
        if i and (len(digits) - i) % 3 == 0:
            out += sep
        out += ch
    return out


def integer(v, lang):
    return ("-" if v < 0 else "") + grouped(str(abs(int(v))), lang)


def number(v, decimals, lang):
    s = f"{abs(v):.{decimals}f}"
    head, _, tail = s.partition(".")
    out = grouped(head, lang) + ((("," if lang == "ru" else ".") + tail) if tail else "")
    return ("-" + out) if v < 0 and out.strip("0,.\u00a0") else out


def ms(v, lang):
    return number(v, 1 if v >= 100 else 2 if v >= 1 else 3, lang) + " " + CATALOG[lang]["unit.ms"]


def check_report(folder, lang, label):
    doc = json.load(open(os.path.join(folder, "report.json"), encoding="utf-8"))
    md = open(os.path.join(folder, "report.md"), encoding="utf-8").read()
    html = open(os.path.join(folder, "report.html"), encoding="utf-8").read()
    cat = CATALOG[lang]
    where = f"{label} [{lang}]"
    check(doc["schema"] == "anatomy.report/1" and doc["lang"] == lang, f"{where}: schema/lang")
    check(doc["sections"] == SECTIONS, f"{where}: sections {doc['sections']}")
    body = sections_of(md)
    omitted = {o["section"]: o["reason"] for o in doc["omitted"]}
    for s in SECTIONS + ["footer"]:
        title = cat["section." + s]
        check(title in body, f"{where}: no section '{title}'")
        check(f'<section id="{s}">' in html, f"{where}: HTML lacks section {s}")
        text = body.get(title, "")
        if s in omitted:
            check(text.strip() == cat["omitted." + omitted[s]], f"{where}: {s} left out without its one sentence: {text.strip()[:80]}")
        else:
            check(len(text.strip()) > 20, f"{where}: section {s} is empty")
    for bad in BAD_WORDS.findall(md):
        check(False, f"{where}: '{bad}' printed")
    lines = md.split("\n")
    for i, line in enumerate(lines[:-2]):
        if line.startswith("| :---") or line.startswith("| ---:"):
            check(lines[i + 1].startswith("|"), f"{where}: an empty table after line {i}")
    # The figures are the JSON's.
    ins = doc["inspect"]
    check(integer(ins["params"]["total"], lang) in body[cat["section.summary"]], f"{where}: parameter count")
    tensor_rows = [l for l in body[cat["section.tensors"]].split("\n") if re.match(r"^\| [0-9]", l)]
    check(len(tensor_rows) == len(ins["params"]["tensors"]), f"{where}: {len(tensor_rows)} tensor rows")
    if "profile" in doc:
        check(ms(doc["profile"]["timing"]["forward_ms"]["median"], lang) in body[cat["section.profile"]], f"{where}: forward median")
        check(len(doc["charts"]) >= 3, f"{where}: charts {doc['charts']}")
    if "bench" in doc:
        check(number(doc["bench"]["prefill"][0]["tok_per_s"], 1, lang) in body[cat["section.bench"]], f"{where}: prefill rate")
    if "eval" in doc:
        check(number(doc["eval"]["ppl"], 3, lang) in body[cat["section.eval"]], f"{where}: perplexity")
    if "training" in doc:
        check(number(doc["training"]["best_val_loss"], 4, lang) in body[cat["section.training"]], f"{where}: best loss")
        check(any(c["name"] == "training" for c in doc["charts"]), f"{where}: no training chart")
    for c in doc["charts"]:
        for f in (c["png"], c["svg"]):
            check(os.path.getsize(os.path.join(folder, f)) > 1000, f"{where}: {f}")
        check(f"]({c['png']})" in md, f"{where}: {c['png']} not shown")
    check("```mermaid\nflowchart TD\n" in md, f"{where}: no diagram")


def report_all_languages(model, label, extra):
    first = os.path.join(WORK, label, "en")
    shutil.rmtree(os.path.join(WORK, label), ignore_errors=True)
    run(["report", model, "--out", first, "--html"] + extra)
    check_report(first, "en", label)
    for lang in LANGS[1:]:
        folder = os.path.join(WORK, label, lang)
        run(["report", os.path.join(first, "report.json"), "--lang", lang, "--out", folder, "--html"])
        check_report(folder, lang, label)
    print(f"ok {label}")


def main():
    os.makedirs(WORK, exist_ok=True)
    models = json.loads(run(["models", "--format", "json"]).stdout)["models"]
    for m in models:
        meta = m["params"] > (10e6 if QUICK else 2e9)
        extra = ["--meta"] if meta else ["--tokens", "8", "--repeat", "1", "--warmup", "0"]
        report_all_languages(m["name"], m["name"], extra)

    # A model anatomy train made: its recipe, curve and best checkpoint, and perplexity on its text.
    text = os.path.join(WORK, "text.txt")
    with open(text, "w", encoding="utf-8") as f:
        for i in range(400):
            f.write(f"The {i % 7} quick brown foxes jump over {i % 5} lazy dogs; the dogs sleep.\n")
    shutil.rmtree(os.path.join(WORK, "trained"), ignore_errors=True)
    run(["train", "--config", "nanogpt-shakespeare-char", "--data", text, "--out", os.path.join(WORK, "trained"),
         "--steps", "30", "--batch", "4", "--eval-every", "10", "--eval-iters", "2"])
    report_all_languages(os.path.join(WORK, "trained", "best"), "trained_model",
                         ["--text", text, "--tokens", "16", "--repeat", "1", "--warmup", "0"])

    # Bad input: one line, exit 2, nothing written.
    bad = os.path.join(WORK, "bad")
    for args in (["--lang", "de"], ["--sections", "summary,charts"], ["--train-log", WORK]):
        p = run(["report", "nanogpt-shakespeare-char", "--meta", "--out", bad] + args, expect=2)
        check(len(p.stderr.strip().split("\n")) == 1, f"bad input {args}: {p.stderr!r}")
        check(not os.path.exists(bad), f"bad input {args}: {bad} written")
    foreign = os.path.join(WORK, "foreign.json")
    with open(foreign, "w") as f:
        json.dump({"schema": "anatomy.report/1", "inspect": {}}, f)
    p = run(["report", foreign, "--out", bad], expect=2)
    check("report.json" not in p.stderr and "foreign.json" in p.stderr, f"foreign report: {p.stderr!r}")
    # A complete-looking report whose module tree lost a field: refused while rendering, naming it.
    doc = json.load(open(os.path.join(WORK, "gpt2", "en", "report.json"), encoding="utf-8"))
    del doc["inspect"]["params"]["total"]
    broken = os.path.join(WORK, "broken.json")
    with open(broken, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    p = run(["report", broken, "--lang", "ru", "--out", bad], expect=2)
    check(len(p.stderr.strip().split("\n")) == 1 and "broken.json" in p.stderr and "'total'" in p.stderr, f"broken report: {p.stderr!r}")
    check(not os.path.exists(bad), "broken report: output written")

    # compare: two reports side by side (figures the reports hold, ratios to the first), and bad input.
    a, b = (os.path.join(WORK, m, "en", "report.json") for m in ("nanogpt-shakespeare-char", "trained_model"))
    cmp = json.loads(run(["compare", a, b, "--format", "json"]).stdout)
    check(cmp["kind"] == "report" and len(cmp["documents"]) == 2, f"compare: {cmp['kind']}")
    figures = {m["name"]: m for m in cmp["metrics"]}
    params = [json.load(open(f))["inspect"]["params"]["total"] for f in (a, b)]
    check(figures["parameters (unique)"]["values"] == params, f"compare: parameters {figures['parameters (unique)']}")
    check("perplexity" in figures and figures["perplexity"]["values"][0] is None, "compare: perplexity of the trained model only")
    html = run(["compare", a, b, "--format", "html"]).stdout
    check(html.startswith("<!DOCTYPE html>") and "default-src 'none'" in html, "compare --format html")
    for args in ([a, os.path.join(WORK, "missing.json")], [a, foreign], [a, text]):
        p = run(["compare"] + args, expect=2)
        check(len(p.stderr.strip().split("\n")) == 1 and args[1] in p.stderr, f"compare {args[1]}: {p.stderr!r}")
    checks.finish()
    print("all reports checked")


main()
