"""Command line: `train`, `check-data`, `bench-data` and `options`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from .config import FIELDS, KEY_ALIASES, read_run_json
from .errors import TrainerError
from .logs import setup_logging

TRAIN_EPILOG = ("Options come from --config (run.json) and are overridden by the flags. "
                "Exit codes: 0 succeeded, 1 failed, 2 configuration error, 143 stopped by SIGTERM.")


def _add_train_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="Fine-tune a causal LM with LoRA.", epilog=TRAIN_EPILOG,
                                   argument_default=argparse.SUPPRESS)
    parser.add_argument("--config", help="run.json with the options below as keys.")
    for name, f in FIELDS.items():
        choices = f.metadata.get("choices")
        text = f.metadata["help"]
        if choices:
            text += f" Choices: {', '.join(str(c) for c in choices)}."
        default = None if f.default is dataclasses.MISSING else f.default
        text += f" Default: {default!r}."
        flags = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
        parser.add_argument(*flags, dest=name, nargs="?", const="true", metavar="VALUE", help=text)


def _add_check_parser(subparsers) -> None:
    parser = subparsers.add_parser("check-data", help="Check a data file and print its report without training.")
    parser.add_argument("file", help="Data file (JSON, JSONL, Parquet, CSV) or saved Hugging Face dataset folder.")
    parser.add_argument("--format", choices=("medical-r1", "instruction", "chat", "preference", "prompt"),
                        help="Data format: an SFT format, `preference` (DPO) or `prompt` (GRPO); detected from "
                        "the columns when omitted.")
    parser.add_argument("--model", default="tiny-random-phi3",
                        help="Model whose tokenizer measures token lengths (default: tiny-random-phi3).")
    parser.add_argument("--model-max-length", "--max_length", dest="max_length", type=int, default=512,
                        help="Token limit per row; the report counts rows over it (default: 512).")
    parser.add_argument("--prompt-style", dest="prompt_style", default="chat_template",
                        choices=("chat_template", "instruction"), help="Prompt layout used to measure lengths.")
    parser.add_argument("--reasoning-placement", dest="reasoning_placement", default="target",
                        choices=("target", "prompt", "drop"), help="Where medical-r1 reasoning goes.")
    parser.add_argument("--overlength", default="drop", choices=("drop", "truncate", "reject"),
                        help="Length policy whose effect the report shows.")
    parser.add_argument("--rewards", default=None,
                        help="GRPO rewards of the recipe (`format:0.5,answer:1`). With `answer` or `judge`, "
                        "prompt rows without a reference `answer` are problems; without this option they are "
                        "only counted.")
    parser.add_argument("--json", action="store_true", help="Print the report as one JSON object.")


def _add_bench_parser(subparsers) -> None:
    parser = subparsers.add_parser("bench-data", help="Benchmark the data pipeline against the original script's.")
    parser.add_argument("--rows", type=int, default=10000, help="Synthetic medical rows (default: 10000).")
    parser.add_argument("--batch-size", type=int, default=8, help="Rows per batch for padding efficiency.")
    parser.add_argument("--max-length", type=int, default=4096, help="Token limit per row (default: 4096).")
    parser.add_argument("--repeats", type=int, default=3, help="Timed repeats; the median is reported.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")


def _add_options_parser(subparsers) -> None:
    subparsers.add_parser("options", help="Print the `train` options as JSON: name, type, default, choices and help, "
                          "plus the run-wide keys a chained stage may not set.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainops_trainer",
                                     description="TrainOps trainer: LoRA fine-tuning with progress events.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(subparsers)
    _add_check_parser(subparsers)
    _add_bench_parser(subparsers)
    _add_options_parser(subparsers)
    subparsers.add_parser("bench-comm", add_help=False,
                          help="Time all-to-all and all-reduce under torchrun (bench-comm --help for options).")
    return parser


def command_train(namespace: argparse.Namespace) -> int:
    from .runner import run_train

    flags = vars(namespace).copy()
    flags.pop("command")
    config_path = flags.pop("config", None)
    values: dict = {}
    if config_path:
        try:
            values = read_run_json(config_path)
        except TrainerError as error:
            # Without a readable run.json there is no events path, so report on stderr only.
            print(f"error: {error.message}", file=sys.stderr)
            return error.exit_code
    values = {KEY_ALIASES.get(k, k): v for k, v in values.items()}
    values.update(flags)
    return run_train(values)


def build_check_report(namespace: argparse.Namespace) -> dict:
    """Read, validate and measure the data file with the loaders training uses; raise TrainerError."""
    from .config import DEFAULT_SYSTEM_PROMPT, TrainConfig
    from .data.prompts import Prompter
    from .data.reader import read_rows
    from .data.report import analyse
    from .modeling import load_tokenizer
    from .rl.report import RL_FORMATS, analyse_rl_data, detect_data_format
    from .rl.rewards import REFERENCE_REWARDS, parse_reward_spec

    needs_answer = False
    if namespace.rewards is not None:
        needs_answer = any(spec.name in REFERENCE_REWARDS for spec in parse_reward_spec(namespace.rewards))
    tokenizer = load_tokenizer(TrainConfig(model=namespace.model))
    prompter = Prompter(tokenizer, namespace.model, namespace.prompt_style, DEFAULT_SYSTEM_PROMPT,
                        namespace.reasoning_placement)
    raw = read_rows(namespace.file)
    data_format = namespace.format or detect_data_format(raw)
    if data_format in RL_FORMATS:
        return analyse_rl_data(raw, data_format, namespace.format is None, prompter, tokenizer, namespace.model,
                               namespace.max_length, needs_answer)
    return analyse(raw, namespace.format, prompter, tokenizer, namespace.model, namespace.max_length,
                   namespace.overlength).report


def command_check_data(namespace: argparse.Namespace) -> int:
    from .data.report import REPORT_VERSION, format_report_text

    try:
        report = build_check_report(namespace)
    except TrainerError as error:
        if namespace.json:
            print(json.dumps({"report_version": REPORT_VERSION, "path": namespace.file, "ok": False,
                              "error": {"type": error.error_type, "message": error.message}}, ensure_ascii=False))
        else:
            print(f"error: {error.message}", file=sys.stderr)
        return 1
    if namespace.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_report_text(report))
    return 0 if report["ok"] else 1


def command_bench(namespace: argparse.Namespace) -> int:
    from .bench import run_bench

    return run_bench(namespace.rows, namespace.batch_size, namespace.max_length, namespace.repeats, namespace.json)


def command_options(namespace: argparse.Namespace) -> int:
    from .config import describe_options
    from .runner import RUN_KEYS

    document = {"aliases": KEY_ALIASES, "run_keys": list(RUN_KEYS), "options": describe_options()}
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["bench-comm"]:
        # bench-comm has its own parser (torchrun starts it once per rank).
        from .bench_comm import main as bench_comm_main

        return bench_comm_main(arguments[1:])
    namespace = build_parser().parse_args(arguments)
    setup_logging()
    handlers = {"train": command_train, "check-data": command_check_data, "bench-data": command_bench,
                "options": command_options}
    return handlers[namespace.command](namespace)
