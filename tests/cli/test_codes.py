#!/usr/bin/env python3
"""`wsclean codes` and the CLI entry: output content, languages, JSON, exit statuses.

usage: test_codes.py WSCLEAN_BINARY          the behaviour checks
       test_codes.py --docs WSCLEAN_BINARY   docs/close-codes.md == `codes all --markdown --lang en`
Standard library only. Every run of the binary has a timeout; prints one line per check and
"N passed, N failed" at the end; exit status 1 if any check failed.
"""
import json
import os
import re
import subprocess
import sys

TIMEOUT = 20
results = {"pass": 0, "fail": 0}


def check(cond, what, detail=""):
    if cond:
        results["pass"] += 1
        print(f"ok {what}")
    else:
        results["fail"] += 1
        print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""))


def clean_env(**extra):
    """The environment minus every locale variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("LC_") or k in ("LANG", "LANGUAGE"))}
    env.update(extra)
    return env


def run(binary, *args, env=None):
    p = subprocess.run([binary, *args], capture_output=True, timeout=TIMEOUT,
                       env=clean_env() if env is None else env)
    # Every byte the tool prints must be UTF-8 (the texts carry accents).
    try:
        out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, f"{args}: output is UTF-8", str(e))
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    return p.returncode, out, err


# One telltale phrase per language, from the 1000 row.
PHRASE = {"en": "Normal closure", "es": "Cierre normal", "pt": "Fechamento normal",
          "fr": "Fermeture normale"}
ROW_FIELDS = {"range_lo": int, "range_hi": int, "assigned": bool, "name": str,
              "on_wire": bool, "app_sendable": bool, "reported_locally": bool, "sender": str,
              "reference": str, "description": str}


def behaviour(wsclean):
    # ---- one code ---------------------------------------------------------------------------
    rc, out, err = run(wsclean, "codes", "1006")
    check(rc == 0 and err == "", "codes 1006 exits 0 quietly", f"rc={rc} err={err!r}")
    for needle in ("1006", "Abnormal Closure", "WS_CLOSE_ABNORMAL", "range:", "meaning:",
                   "reports it locally", "on the wire:  no", "close():      no"):
        check(needle in out, f"codes 1006 shows {needle!r}", out)

    rc, out, _ = run(wsclean, "codes", "1000")
    check(rc == 0 and "on the wire:  yes" in out and "close():      yes" in out,
          "1000: on the wire and accepted by close()", out)
    rc, out, _ = run(wsclean, "codes", "1012")
    check(rc == 0 and "on the wire:  yes" in out and "a server may still send it" in out
          and "usually the server" in out, "1012: wire yes, close() no, sent by servers", out)
    rc, out, _ = run(wsclean, "codes", "4321")
    check(rc == 0 and "4000-4999" in out and "Private use" in out, "4321 falls in 4000-4999", out)
    for code, rng in (("0", "0-999"), ("1016", "1016-1999"), ("2500", "2000-2999"),
                      ("3001", "3000-3999"), ("65535", "5000-65535"), ("0009", "0-999")):
        rc, out, _ = run(wsclean, "codes", code)
        check(rc == 0 and rng in out, f"codes {code} shows range {rng}", out)

    # ---- languages --------------------------------------------------------------------------
    for lang, phrase in PHRASE.items():
        rc, out, _ = run(wsclean, "codes", "1000", "--lang", lang)
        check(rc == 0 and phrase in out, f"--lang {lang}", out)
        others = [p for l, p in PHRASE.items() if l != lang]
        check(not any(p in out for p in others), f"--lang {lang} shows only {lang}", out)
    rc, out, _ = run(wsclean, "codes", "--lang=fr", "1000")
    check(rc == 0 and PHRASE["fr"] in out, "--lang=fr before the code", out)
    rc, out, _ = run(wsclean, "codes", "1000", "--lang", "pt_BR.UTF-8")
    check(rc == 0 and PHRASE["pt"] in out, "--lang takes a locale name", out)
    rc, out, _ = run(wsclean, "codes", "1006", "--lang", "es")
    check("anómalo" in out, "Spanish text keeps its accents", out)

    env_cases = [
        ({"LANG": "es_ES.UTF-8"}, "es"),
        ({"LANG": "pt_BR"}, "pt"),
        ({"LANG": "fr_FR@euro"}, "fr"),
        ({"LANG": "es_ES.UTF-8", "LC_MESSAGES": "pt_BR.UTF-8"}, "pt"),
        ({"LANG": "es_ES.UTF-8", "LC_MESSAGES": "pt_BR", "LC_ALL": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "es_ES.UTF-8", "LC_ALL": ""}, "es"),  # empty counts as unset
        ({"LANG": "de_DE.UTF-8"}, "en"),  # no German text: English, not an error
        ({"LANG": "C"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
    ]
    for extra, lang in env_cases:
        rc, out, _ = run(wsclean, "codes", "1000", env=clean_env(**extra))
        check(rc == 0 and PHRASE[lang] in out, f"environment {extra} -> {lang}", out)
    rc, out, _ = run(wsclean, "codes", "1000", "--lang", "en", env=clean_env(LC_ALL="fr_FR"))
    check(rc == 0 and PHRASE["en"] in out, "--lang wins over LC_ALL", out)

    # ---- all --------------------------------------------------------------------------------
    rc, out_all, _ = run(wsclean, "codes", "all")
    rows = [l for l in out_all.splitlines() if re.match(r"^\d+(-\d+)?\s", l)]
    check(rc == 0 and len(rows) == 25, "codes all lists 25 rows", f"{len(rows)} rows")
    check(rows and rows[0].startswith("0-999") and rows[-1].startswith("5000-65535"),
          "codes all runs from 0-999 to 5000-65535")
    rc, out_none, _ = run(wsclean, "codes")
    check(rc == 0 and out_none == out_all, "codes with no argument is codes all")
    rc, out, _ = run(wsclean, "codes", "all", "--lang", "es")
    check(rc == 0 and PHRASE["es"] in out and "Uso privado" in out, "codes all --lang es", out)

    # ---- JSON -------------------------------------------------------------------------------
    for lang in PHRASE:
        rc, out, _ = run(wsclean, "codes", "1006", "--json", "--lang", lang)
        try:
            obj = json.loads(out)
        except ValueError as e:
            check(False, f"codes 1006 --json --lang {lang} parses", f"{e}: {out!r}")
            continue
        check(rc == 0 and obj.get("code") == 1006 and obj.get("lang") == lang,
              f"--json {lang}: code and lang", out)
        check(obj.get("symbol") == "WS_CLOSE_ABNORMAL" and obj.get("name") == "Abnormal Closure"
              and obj.get("on_wire") is False and obj.get("app_sendable") is False
              and obj.get("reported_locally") is True and obj.get("sender") == "none",
              f"--json {lang}: the 1006 facts", out)
    rc, out, _ = run(wsclean, "codes", "3500", "--json")
    obj = json.loads(out) if rc == 0 else {}
    check(obj.get("symbol", 0) is None and obj.get("range_lo") == 3000
          and obj.get("range_hi") == 3999 and obj.get("assigned") is False,
          "--json for a range code: symbol null, the range's bounds", out)

    for lang in PHRASE:
        rc, out, _ = run(wsclean, "codes", "all", "--json", "--lang", lang)
        try:
            doc = json.loads(out)
        except ValueError as e:
            check(False, f"codes all --json --lang {lang} parses", str(e))
            continue
        rws = doc.get("rows", [])
        check(rc == 0 and doc.get("lang") == lang and len(rws) == 25,
              f"all --json --lang {lang}: 25 rows", f"{len(rws)} rows")
        typed = all(isinstance(r.get(k), t) for r in rws for k, t in ROW_FIELDS.items())
        check(typed, f"all --json --lang {lang}: every row has every field, typed")
        covered = set()
        for r in rws:
            covered.update(range(r["range_lo"], r["range_hi"] + 1))
        check(covered == set(range(65536)), f"all --json --lang {lang}: rows cover 0..65535")
        one = next((r for r in rws if r["range_lo"] == 1000 and r["range_hi"] == 1000), {})
        check(PHRASE[lang] in one.get("description", ""), f"all --json --lang {lang}: in {lang}")
        check(len({r["description"] for r in rws}) == 25, f"all --json --lang {lang}: 25 texts")

    # ---- errors: status 2, a message on stderr, nothing on stdout ---------------------------
    bad = [
        (("codes", "1000", "--lang", "de"), "unknown language"),
        (("codes", "--lang", "xx_YY"), "unknown language"),
        (("codes", "--lang", ""), "unknown language"),
        (("codes", "--lang"), "needs a value"),
        (("codes", "abc"), "not a close code"),
        (("codes", "0x3e8"), "not a close code"),
        (("codes", "1e3"), "not a close code"),
        (("codes", " 1000"), "not a close code"),
        (("codes", ""), "not a close code"),
        (("codes", "70000"), "outside 0..65535"),
        (("codes", "65536"), "outside 0..65535"),
        (("codes", "99999999999999999999999"), "outside 0..65535"),
        (("codes", "-1"), "outside 0..65535"),
        (("codes", "1000", "1001"), "one code at a time"),
        (("codes", "--frobnicate"), "unknown option"),
        (("codes", "1000", "--markdown"), "--markdown"),
        (("bogus",), "unknown command"),
        (("help", "bogus"), "unknown command"),
        ((), "usage: wsclean"),
    ]
    for args, msg in bad:
        rc, out, err = run(wsclean, *args)
        check(rc == 2 and msg in err and out == "", f"wsclean {' '.join(args)!r}: status 2, "
              f"says {msg!r}", f"rc={rc} out={out!r} err={err!r}")

    # ---- help and version -------------------------------------------------------------------
    rc, out, err = run(wsclean, "--help")
    check(rc == 0 and "usage: wsclean" in out and re.search(r"^\s+codes\s", out, re.M),
          "--help lists codes", out)
    listed = re.findall(r"^  (\w+)\s", out, re.M)
    # Other commands join the table as they land: each one listed must answer `help <name>`.
    check("codes" in listed and all(run(wsclean, "help", c)[0] == 0 for c in listed),
          "--help lists only commands that exist", str(listed))
    rc, out_h, _ = run(wsclean, "codes", "--help")
    check(rc == 0 and "usage: wsclean codes" in out_h and "--json" in out_h, "codes --help")
    rc, out, _ = run(wsclean, "help", "codes")
    check(rc == 0 and out == out_h, "help codes == codes --help")
    rc, out, _ = run(wsclean, "--version")
    check(rc == 0 and re.fullmatch(r"wsclean \d+\.\d+\.\d+\n", out) is not None, "--version", out)


def docs(wsclean):
    src = os.environ.get("WSCLEAN_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    path = os.path.join(src, "docs", "close-codes.md")
    rc, out, _ = run(wsclean, "codes", "all", "--markdown", "--lang", "en")
    try:
        with open(path, encoding="utf-8") as f:
            doc = f.read()
    except OSError as e:
        check(False, "docs/close-codes.md exists", str(e))
        return
    check(rc == 0 and doc == out, "docs/close-codes.md matches the registry",
          "regenerate: build/wsclean codes all --markdown --lang en > docs/close-codes.md")


def main():
    args = sys.argv[1:]
    mode_docs = args[:1] == ["--docs"]
    if mode_docs:
        args = args[1:]
    if len(args) != 1:
        print(__doc__)
        return 2
    (docs if mode_docs else behaviour)(args[0])
    print(f"{results['pass']} passed, {results['fail']} failed")
    return 1 if results["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
