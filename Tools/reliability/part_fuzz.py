#!/usr/bin/env python3
"""Fuzzing and differential testing of the request parser, through the existing
tools: Tools/fuzz/run.sh (libFuzzer over HTTPCore for a set time: short 20 s,
full 300 s; every crash is saved by it as Fixtures/http/fuzz-*.http, a regression
case) and Tools/differential/test_differential.py (against h11 and httptools on
the corpus; the full run also generates mutated requests with our verdicts via
GeneratedVerdictTests and compares those)."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rlib  # noqa: E402


def main():
    a = rlib.parse_args(__doc__)
    rep = rlib.Report("fuzz")
    secs = int(os.environ.get("FUZZ_SECONDS") or (20 if a.short else 300))
    fuzz(rep, secs)
    differential(rep, a.short)
    rep.finish()


def fuzz(rep, secs):
    before = set(f for f in os.listdir(os.path.join(rlib.REPO, "Fixtures", "http")) if f.startswith("fuzz-"))
    out = subprocess.run(["sh", os.path.join(rlib.REPO, "Tools", "fuzz", "run.sh"), str(secs)], cwd=rlib.REPO,
                         capture_output=True, text=True, timeout=secs + 900)
    text = out.stdout + out.stderr
    after = set(f for f in os.listdir(os.path.join(rlib.REPO, "Fixtures", "http")) if f.startswith("fuzz-"))
    new = sorted(f for f in after - before if f.endswith(".http"))
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
    execs = int(m.group(1)) if m else 0
    rate = re.search(r"stat::average_exec_per_sec:\s*(\d+)", text)
    fails = ["crash saved as Fixtures/http/%s" % f for f in new]
    if out.returncode != 0 and not new:
        fails.append("fuzzer failed (exit %d): %s" % (out.returncode, text.strip().splitlines()[-1:] if text.strip() else ""))
    if execs == 0 and not fails:
        fails.append("no executions reported")
    rep.row("libFuzzer on HTTPCore", "Tools/fuzz/run.sh for %d s (parser, chunked, dates, ranges, conditionals)" % secs,
            execs, fails, "%s execs/s" % (rate.group(1) if rate else "?"))


def differential(rep, short):
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    generated = None
    if not short:
        generated = os.path.join(tempfile.mkdtemp(prefix="capuchin-verdicts-"), "verdicts.json")
        g = subprocess.run(["swift", "test", "--scratch-path", os.path.join(rlib.REPO, ".build-reliability-tests"),
                            "--filter", "GeneratedVerdictTests"], cwd=rlib.REPO, capture_output=True, text=True,
                           timeout=3600, env=dict(env, CAPUCHIN_VERDICTS_OUT=generated))
        if g.returncode != 0 or not os.path.exists(generated):
            rep.row("generated verdicts", "swift test --filter GeneratedVerdictTests", 1,
                    ["could not generate verdicts (exit %d)" % g.returncode])
            generated = None
        else:
            env["CAPUCHIN_VERDICTS"] = generated
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          os.path.join(rlib.REPO, "Tools", "differential", "test_differential.py")],
                         cwd=rlib.REPO, capture_output=True, text=True, timeout=1800, env=env)
    text = out.stdout + out.stderr
    passed = sum(int(x) for x in re.findall(r"(\d+) passed", text))
    failed = sum(int(x) for x in re.findall(r"(\d+) failed", text))
    cases = len([f for f in os.listdir(os.path.join(rlib.REPO, "Fixtures", "http")) if f.endswith(".http")])
    fails = []
    if failed or out.returncode != 0:
        lines = [l for l in text.splitlines() if l.startswith(("FAILED", "E "))][:6]
        fails.append("differential: %d failed: %s" % (failed, " | ".join(lines)))
    rep.row("differential vs h11/llhttp", "Tools/differential on %d corpus cases%s" %
            (cases, " + generated mutations" if generated else ""), cases, fails,
            "%d pytest checks passed" % passed)


if __name__ == "__main__":
    main()
