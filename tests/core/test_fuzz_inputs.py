"""Property-based fuzzing (hypothesis) of what a person types or opens: plan files, command lines
and config.json. Short runs here; ``benchmarks/fuzz.py`` runs the long versions.

The property everywhere: the input is used, or refused with a message naming the problem and the fix
(``PlannerError``; exit code 2 on the command line); never a traceback, a hang, a report with NaN or
infinity, or "fits" with negative free memory.
"""

from __future__ import annotations

import copy
import json
import random

import pytest

hypothesis = pytest.importorskip("hypothesis")
from fuzzing import (  # noqa: E402
    HF_CONFIGS,
    NASTY_NUMBERS,
    NASTY_TEXT,
    NUMERIC_FIELDS,
    Outcome,
    check_cli,
    check_config,
    check_plan_text,
    load_examples,
    mutate_config,
    mutate_plan,
    random_cli_args,
)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SHORT = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is reproducible, not flaky
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
BASES = load_examples()

# JSON values of every kind, including integers far beyond 64 bits and non-finite floats
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(NASTY_NUMBERS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _places(data):
    todo, found = [(data, ())], []
    while todo:
        item, path = todo.pop()
        if path:
            found.append(path)
        if isinstance(item, dict):
            todo += [(v, (*path, k)) for k, v in item.items()]
        elif isinstance(item, list):
            todo += [(v, (*path, i)) for i, v in enumerate(item)]
    return sorted(found, key=repr)


PLACES = [_places(base) for base in BASES]


def _assert_clean(outcome: Outcome) -> None:
    assert not outcome.tracebacks, outcome.tracebacks[0]
    assert not outcome.bad_reports, outcome.bad_reports[0]


@SHORT
@given(data=st.data())
def test_a_plan_file_with_any_value_anywhere_is_read_or_refused_clearly(data):
    which = data.draw(st.integers(min_value=0, max_value=len(BASES) - 1))
    plan = copy.deepcopy(BASES[which])
    path = data.draw(st.sampled_from(PLACES[which]))
    leaf = path[-1]
    choices = json_values
    if isinstance(leaf, str) and leaf in NUMERIC_FIELDS:
        choices = st.sampled_from(NUMERIC_FIELDS[leaf]) | json_values
    target = plan
    for part in path[:-1]:
        target = target[part]
    target[leaf] = data.draw(choices)
    outcome = Outcome()
    check_plan_text(json.dumps(plan), outcome, hang_s=30)
    _assert_clean(outcome)


@SHORT
@given(seed=st.integers(min_value=0, max_value=2**32), text=st.sampled_from(NASTY_TEXT))
def test_structure_aware_mutations_and_number_literals_json_cannot_hold(seed, text):
    rng = random.Random(seed)
    outcome = Outcome()
    check_plan_text(mutate_plan(rng, rng.choice(BASES)), outcome, hang_s=30)
    # a literal JSON refuses or Python cannot convert (NaN, 1e999, 5,000 digits) in a known field
    field = rng.choice(["input_tokens", "slot", "nics", "gpu_memory_utilization"])
    raw = json.dumps(BASES[0]).replace(f'"{field}": ', f'"{field}": {text}, "_": ', 1)
    check_plan_text(raw, outcome, hang_s=30)
    assert outcome.refused >= 1  # the literal is always refused
    _assert_clean(outcome)


FLAG_VALUES = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1", "2", "8", "64", "128", "max", "1e3", " 4", "9" * 5000, ""]),
    st.text(max_size=12),
)
FLAGS = [
    "--gpus",
    "--nodes",
    "--tp",
    "--pp",
    "--dp",
    "--ep",
    "--concurrency",
    "--input-tokens",
    "--output-tokens",
]


@SHORT
@given(
    flags=st.lists(st.tuples(st.sampled_from(FLAGS), FLAG_VALUES), max_size=5),
    model=st.sampled_from(["llama-3.1-70b", "qwen3-32b", "deepseek-ai/DeepSeek-V3", "unknown/model"]),
    gpu=st.sampled_from(["h100-sxm", "rtx-4090", "mi300x", "nope"]),
)
def test_quick_flags_give_a_verdict_or_exit_2(flags, model, gpu):
    args = ["evaluate", "--model", model, "--gpu", gpu, "--json"]
    for flag, value in flags:
        args += [flag, value]
    outcome = Outcome()
    check_cli(args, outcome, hang_s=30)
    _assert_clean(outcome)


@SHORT
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_random_command_lines_give_a_verdict_or_exit_2(seed, tmp_path_factory):
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("plans", numbered=True)
    plan_file = folder / "fuzzed.gpuplan"
    plan_file.write_text(mutate_plan(rng, rng.choice(BASES)), encoding="utf-8")
    outcome = Outcome()
    check_cli(random_cli_args(rng, [str(plan_file)]), outcome, hang_s=30)
    _assert_clean(outcome)


CONFIGS = [json.loads(p.read_text(encoding="utf-8")) for p in HF_CONFIGS]
CONFIG_KEYS = ["num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads", "vocab_size",
               "intermediate_size", "max_position_embeddings", "head_dim", "num_local_experts",
               "num_experts_per_tok", "sliding_window", "kv_lora_rank", "text_config"]  # fmt: skip


@SHORT
@given(
    base=st.sampled_from(CONFIGS),
    changes=st.lists(st.tuples(st.sampled_from(CONFIG_KEYS), json_values), min_size=1, max_size=3),
)
def test_config_json_with_any_value_imports_or_is_refused_clearly(base, changes, tmp_path_factory):
    config = copy.deepcopy(base)
    for key, value in changes:
        config[key] = value
    outcome = Outcome()
    check_config(json.dumps(config), tmp_path_factory.mktemp("cfg", numbered=True), outcome, hang_s=30)
    _assert_clean(outcome)


@SHORT
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_config_json_mutations_and_literals(seed, tmp_path_factory):
    rng = random.Random(seed)
    outcome = Outcome()
    text = mutate_config(rng, rng.choice(CONFIGS))
    check_config(text, tmp_path_factory.mktemp("cfg", numbered=True), outcome, hang_s=30)
    _assert_clean(outcome)
