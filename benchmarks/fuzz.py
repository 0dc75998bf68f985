"""The long fuzzing runs of issue 13, with counts: what a person types, opens or drops must never
crash gpuplanner, hang it, or make it claim a plan fits when it doesn't.

- plan files: N structure-aware mutations of the sample plans (wrong types, huge and non-finite
  numbers, number literals JSON cannot hold, bad layer ranges, duplicates, deep nesting, truncation),
  opened and evaluated as the command line does;
- command lines: N random ``gpuplanner`` invocations in this process, plus a share of them as real
  processes (what a person sees: the exit code and stderr);
- config.json: N mutated model configs imported and evaluated;
- the window: S seeds × A random actions (tests/gui/monkey.py), undo-all compared byte for byte;
- saving: K kills (SIGKILL) of a process in the middle of saving, then one more save.

Counts printed: cases, refused with a message, tracebacks, runs over 5 s, reports that say "fits" with
negative free memory, reports with NaN or infinity; Qt warnings and undo mismatches for the window;
corrupt files and stray temporary files for saving.

Run: ``QT_QPA_PLATFORM=offscreen python -m benchmarks.fuzz`` (about 30 minutes on 2 cores; ``--quick``
for a smoke run of a minute or two; ``--only plans,cli,configs,gui,kills`` for some of them).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "gui")]

SLOW_S = 5.0
QT_NOISE = ("This plugin does not support propagateSizeHints", "This plugin does not support raise",
            "This plugin does not support grabbing")  # fmt: skip  # the offscreen platform, as pyproject ignores


def _summary(name: str, outcome, seconds: float, extra: str = "") -> None:
    print(
        f"{name:<10} {outcome.cases:>6} cases  {outcome.refused:>6} refused with a message  "
        f"{len(outcome.tracebacks):>3} tracebacks  {outcome.slow:>3} over {SLOW_S:g} s (slowest "
        f"{outcome.slowest_s:.2f} s)  {outcome.negative_free_fits:>3} 'fits' with negative free  "
        f"{outcome.nan_inf:>3} NaN/inf  [{seconds:.0f} s]{extra}",
        flush=True,
    )
    for text, count in collections.Counter(outcome.tracebacks + outcome.bad_reports).most_common(5):
        print(f"    {count} × {text}")


def fuzz_plans(count: int, seed: int) -> None:
    import fuzzing

    bases = fuzzing.load_examples()
    outcome = fuzzing.Outcome()
    start = time.perf_counter()
    for i in range(count):
        rng = random.Random(seed * 1_000_003 + i)
        fuzzing.check_plan_text(fuzzing.mutate_plan(rng, rng.choice(bases)), outcome)
    _summary("plans", outcome, time.perf_counter() - start, f"  {outcome.fits} fit")


def _plan_files(folder: Path, seed: int) -> list[str]:
    import fuzzing

    bases = fuzzing.load_examples()
    files = [str(p) for p in fuzzing.EXAMPLES] + ["/dev/zero", str(folder), str(folder / "missing.gpuplan")]
    for i in range(40):
        rng = random.Random(seed + i)
        path = folder / f"fuzzed-{i}.gpuplan"
        path.write_text(fuzzing.mutate_plan(rng, rng.choice(bases)), encoding="utf-8")
        files.append(str(path))
    return files


def fuzz_cli(count: int, processes: int, seed: int) -> None:
    import fuzzing

    folder = Path(tempfile.mkdtemp(prefix="gpuplanner-fuzz-cli-"))
    files = _plan_files(folder, seed)
    outcome = fuzzing.Outcome()
    start = time.perf_counter()
    cases = [fuzzing.random_cli_args(random.Random(seed * 7919 + i), files) for i in range(count)]
    for args in cases:
        fuzzing.check_cli(args, outcome)
    _summary("cli", outcome, time.perf_counter() - start)
    # the same as a person runs them: a real process, its exit code and what it prints
    codes: collections.Counter[int] = collections.Counter()
    seen = fuzzing.Outcome()
    start = time.perf_counter()
    for args in random.Random(seed).sample(cases, min(processes, len(cases))):
        seen.cases += 1
        began = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "gpuplanner", *args], capture_output=True, text=True, timeout=60,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            seen.tracebacks.append(f"{args}: no answer in 60 s")
            continue
        finally:
            seen.add_time(time.perf_counter() - began, SLOW_S)
        codes[done.returncode] += 1
        if done.returncode not in (0, 1, 2) or "Traceback" in done.stderr:
            seen.tracebacks.append(f"{args}: exit {done.returncode}: {done.stderr.strip()[-200:]}")
        seen.refused += done.returncode == 2
    _summary("cli (proc)", seen, time.perf_counter() - start, f"  exit codes {dict(sorted(codes.items()))}")


def fuzz_configs(count: int, seed: int) -> None:
    import fuzzing

    bases = [json.loads(p.read_text(encoding="utf-8")) for p in fuzzing.HF_CONFIGS]
    folder = Path(tempfile.mkdtemp(prefix="gpuplanner-fuzz-cfg-"))
    outcome = fuzzing.Outcome()
    start = time.perf_counter()
    for i in range(count):
        rng = random.Random(seed * 104_729 + i)
        fuzzing.check_config(fuzzing.mutate_config(rng, rng.choice(bases)), folder, outcome)
    _summary("configs", outcome, time.perf_counter() - start)


def fuzz_gui(seeds: int, actions: int, first_seed: int) -> None:
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["gpuplanner-fuzz"])
    from gpuplanner.gui import create_main_window, dialogs

    # the window's questions answered without showing them, as the tests do
    dialogs.show_error = lambda parent, title, message: None
    dialogs.ask_save_changes = lambda parent, name: "discard"
    dialogs.ask_restore = lambda parent, description: False
    dialogs.ask_open_path = lambda parent, folder: None
    dialogs.ask_save_path = lambda parent, suggested: None
    from monkey import run_monkey

    warnings: list[str] = []

    def on_message(kind: QtMsgType, context: object, text: str) -> None:
        if kind != QtMsgType.QtDebugMsg and kind != QtMsgType.QtInfoMsg and not text.startswith(QT_NOISE):
            warnings.append(text)

    qInstallMessageHandler(on_message)
    errors: list[str] = []
    undo_mismatches = done = refused = 0
    slowest = 0.0
    start = time.perf_counter()
    for seed in range(first_seed, first_seed + seeds):
        window = create_main_window(None)
        window.show()
        app.processEvents()
        began = time.perf_counter()
        run = run_monkey(window, seed, actions)
        per_action = (time.perf_counter() - began) / max(run.actions, 1)
        slowest = max(slowest, per_action)
        done += run.actions
        refused += run.refused
        undo_mismatches += sum("undo-all" in e for e in run.errors)
        errors += [e for e in run.errors if "undo-all" not in e]
        print(f"    seed {seed}: {run.actions} actions, {len(run.errors)} errors, {per_action * 1e3:.0f} ms per action",
              flush=True)  # fmt: skip
        for text in run.tracebacks[:1]:
            print("      " + text.strip().replace("\n", "\n      ")[-1500:])
        window.undo_stack.clear()
        window.close()
        window.deleteLater()
        app.processEvents()
    qInstallMessageHandler(None)
    print(
        f"{'window':<10} {seeds} seeds × {actions} actions = {done} actions  {len(errors)} exceptions  "
        f"{len(warnings)} Qt warnings  {undo_mismatches} undo-all mismatches  (slowest seed "
        f"{slowest * 1e3:.0f} ms per action incl. evaluation) [{time.perf_counter() - start:.0f} s]",
        flush=True,
    )
    for text, count in collections.Counter(errors + warnings).most_common(5):
        print(f"    {count} × {text}")


def fuzz_kills(kills: int, seed: int) -> None:
    import fuzzing

    folder = Path(tempfile.mkdtemp(prefix="gpuplanner-fuzz-save-"))
    start = time.perf_counter()
    counts = fuzzing.kill_during_saves(folder, kills, seed)
    print(
        f"{'saving':<10} {counts['kills']} kills during save  {counts['corrupt_or_missing']} corrupt or "
        f"missing files  {counts['stray_temps']} stray temporary files after the next save "
        f"[{time.perf_counter() - start:.0f} s]",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: a tenth of every count, 3 GUI seeds"
    )
    parser.add_argument("--only", default="plans,cli,configs,gui,kills", help="comma-separated parts to run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--cli", type=int, default=1_000)
    parser.add_argument(
        "--cli-processes", type=int, default=100, help="of the CLI cases, how many as processes"
    )
    parser.add_argument("--configs", type=int, default=2_000)
    parser.add_argument("--gui-seeds", type=int, default=20)
    parser.add_argument("--gui-actions", type=int, default=1_000)
    parser.add_argument("--kills", type=int, default=100)
    args = parser.parse_args(argv)
    if args.quick:
        args.plans, args.cli, args.cli_processes, args.configs = 1_000, 200, 20, 200
        args.gui_seeds, args.gui_actions, args.kills = 3, 100, 10
    os.environ["GPUPLANNER_USER_DIR"] = tempfile.mkdtemp(prefix="gpuplanner-fuzz-user-")
    parts = set(args.only.split(","))
    print(f"gpuplanner fuzzing, seed {args.seed}", flush=True)
    if "plans" in parts:
        fuzz_plans(args.plans, args.seed)
    if "cli" in parts:
        fuzz_cli(args.cli, args.cli_processes, args.seed)
    if "configs" in parts:
        fuzz_configs(args.configs, args.seed)
    if "kills" in parts:
        fuzz_kills(args.kills, args.seed)
    if "gui" in parts:
        fuzz_gui(args.gui_seeds, args.gui_actions, args.seed * 100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
