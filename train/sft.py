#!/usr/bin/env python3
"""Supervised fine-tuning of the simulated user on the examples of `grsu synth` (paper, 3.2.2).

The data are the JSON lines written by `grsu synth critique` and `grsu synth score`: a chat
`messages` list (the engine's prompt as the user message, the target as the assistant message)
and a `meta` object. Each line becomes a conversational prompt-completion pair for TRL's
SFTTrainer, whose loss then covers the completion (the assistant answer) only.

Hyper-parameters default to the paper's (section 4.1): one epoch, a global batch of 4, AdamW,
linear warm-up over 1,000 steps, cosine decay to 10 % of the peak learning rate 1e-6, weight decay
0.01, gradient clipping at 1.0, bf16, gradient checkpointing, FlashAttention-2 when installed, and
DeepSpeed ZeRO-3 (train/ds_zero3_bf16.json). See train/README.md for launch commands.

torch, transformers, trl and datasets are imported only to train, so that `--help` and
`--check-data` run without them:

    python3 train/sft.py --check-data results/synth/x/critique.jsonl results/synth/x/score.jsonl \
        [--tokenizer SmolLM2-135M-Instruct.Q4_1.gguf | meta-llama/Llama-3.1-8B-Instruct]

checks every line and, with a tokenizer, renders each example with the model's chat template the
way TRL does (the prompt with the generation prompt, then prompt and answer), and reports token
counts, the examples longer than --max-length and any example whose answer span is empty. A
`.gguf` tokenizer (the embedded model's, for CI) needs the `tokenizers` and `gguf` packages and
jinja2; any other value is loaded with transformers' AutoTokenizer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field

ROLES = ("system", "user", "assistant")

# The paper's hyper-parameters (section 4.1).
PAPER = {
    "epochs": 1.0,
    "global_batch_size": 4,
    "learning_rate": 1e-6,
    "warmup_steps": 1000,
    "min_lr_rate": 0.1,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
}


class DataError(Exception):
    """A line that cannot be trained on, naming file, line and field."""


@dataclass
class Example:
    prompt: list
    completion: list
    kind: str
    where: str


@dataclass
class DataReport:
    examples: int = 0
    by_kind: Counter = field(default_factory=Counter)
    by_answer: Counter = field(default_factory=Counter)


def read_examples(paths: list[str]) -> tuple[list[Example], DataReport]:
    """Reads and checks every line of the files; raises DataError on the first bad one."""
    examples: list[Example] = []
    report = DataReport()
    for path in paths:
        try:
            handle = open(path, encoding="utf-8")
        except OSError as error:
            raise DataError(f"cannot read {path}: {error}") from error
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                example = parse_line(line, where)
                examples.append(example)
                report.examples += 1
                report.by_kind[example.kind] += 1
                if example.kind == "score":
                    report.by_answer[example.completion[0]["content"].rsplit(" ", 1)[-1]] += 1
    if not examples:
        raise DataError(f"{', '.join(paths)}: no examples")
    return examples, report


def parse_line(line: str, where: str) -> Example:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"{where}: malformed JSON: {error}") from error
    if not isinstance(record, dict):
        raise DataError(f"{where}: a line must be a JSON object")
    messages = record.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        raise DataError(f"{where}: field `messages`: a list of at least two messages is needed")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise DataError(f"{where}: field `messages[{index}]`: not an object")
        if message.get("role") not in ROLES:
            raise DataError(f"{where}: field `messages[{index}].role`: {message.get('role')!r} is not one of {ROLES}")
        if not isinstance(message.get("content"), str) or not message["content"].strip():
            raise DataError(f"{where}: field `messages[{index}].content`: empty or not a string")
    if messages[-1]["role"] != "assistant":
        raise DataError(f"{where}: field `messages`: the last message (the target) must be the assistant's")
    if messages[0]["role"] == "assistant":
        raise DataError(f"{where}: field `messages`: the first message must be the instruction")
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    kind = meta.get("kind", "unknown")
    prompt = [{"role": m["role"], "content": m["content"]} for m in messages[:-1]]
    completion = [{"role": "assistant", "content": messages[-1]["content"]}]
    if kind == "score" and not completion[0]["content"].startswith("Accept the recommendation (Yes/No)? "):
        raise DataError(f"{where}: a scoring example must answer `Accept the recommendation (Yes/No)? Yes|No`")
    return Example(prompt=prompt, completion=completion, kind=kind, where=where)


# --- tokenizers for --check-data -------------------------------------------------------------


class GgufChatTokenizer:
    """The tokenizer and chat template of a GGUF model (byte-level BPE), rebuilt from its metadata
    with the `tokenizers` and `gguf` packages and rendered with jinja2 as transformers does."""

    def __init__(self, path: str):
        try:
            from gguf import GGUFReader
            from jinja2.sandbox import ImmutableSandboxedEnvironment
            from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
        except ImportError as error:
            raise SystemExit(
                f"a .gguf tokenizer needs the tokenizers, gguf and jinja2 packages ({error}); "
                "pip install -r train/requirements-check.txt"
            ) from error
        fields = GGUFReader(path).fields

        def value(key):
            return fields[key].contents() if key in fields else None

        if (value("tokenizer.ggml.model") or "gpt2") != "gpt2":
            raise SystemExit(f"{path}: only byte-level BPE (gpt2) GGUF tokenizers are supported")
        tokens = value("tokenizer.ggml.tokens")
        merges = [tuple(merge.split(" ", 1)) for merge in value("tokenizer.ggml.merges")]
        types = value("tokenizer.ggml.token_type") or []
        bpe = models.BPE(vocab={token: index for index, token in enumerate(tokens)}, merges=merges)
        self.tokenizer = Tokenizer(bpe)
        self.tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        self.tokenizer.decoder = decoders.ByteLevel()
        self.tokenizer.add_special_tokens(
            [AddedToken(token, special=True) for token, kind in zip(tokens, types) if kind == 3]
        )
        self.bos_token = tokens[value("tokenizer.ggml.bos_token_id")]
        self.eos_token = tokens[value("tokenizer.ggml.eos_token_id")]

        def raise_exception(message):
            raise ValueError(message)

        environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        environment.globals["raise_exception"] = raise_exception
        self.template_source = value("tokenizer.chat_template")
        self.template = environment.from_string(self.template_source)
        self.name = os.path.basename(path)

    def ids(self, messages: list, add_generation_prompt: bool) -> list[int]:
        text = self.template.render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
        )
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)


class HfChatTokenizer:
    """A transformers tokenizer (a local folder or a hub name), applied as TRL applies it."""

    def __init__(self, name: str):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(name)
        self.name = name

    def ids(self, messages: list, add_generation_prompt: bool) -> list[int]:
        result = self.tokenizer.apply_chat_template(
            messages, tokenize=True, return_dict=True, add_generation_prompt=add_generation_prompt
        )
        return list(result["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)


def common_prefix_length(a: list[int], b: list[int]) -> int:
    length = 0
    for x, y in zip(a, b):
        if x != y:
            break
        length += 1
    return length


def tokenized_report(examples: list[Example], tokenizer, max_length: int) -> dict:
    """Tokenizes every example as TRL's SFTTrainer does for conversational prompt-completion data:
    the answer span is what follows the common prefix of the prompt (with the generation prompt)
    and the whole conversation."""
    lengths, answer_lengths = [], []
    empty_answers, prompt_not_prefix, answer_not_found, over = [], [], [], []
    for example in examples:
        prompt_ids = tokenizer.ids(example.prompt, add_generation_prompt=True)
        full_ids = tokenizer.ids(example.prompt + example.completion, add_generation_prompt=False)
        prefix = common_prefix_length(prompt_ids, full_ids)
        answer = full_ids[prefix:]
        lengths.append(len(full_ids))
        answer_lengths.append(len(answer))
        if prefix < len(prompt_ids):
            prompt_not_prefix.append(example.where)
        if not answer:
            empty_answers.append(example.where)
        elif example.completion[0]["content"].strip() not in tokenizer.decode(answer):
            answer_not_found.append(example.where)
        if len(full_ids) > max_length:
            over.append(example.where)
    return {
        "tokenizer": tokenizer.name,
        "tokens": {
            "max": max(lengths),
            "mean": round(sum(lengths) / len(lengths), 1),
            "over_max_length": len(over),
            "max_length": max_length,
        },
        "answer_tokens": {
            "min": min(answer_lengths),
            "max": max(answer_lengths),
            "mean": round(sum(answer_lengths) / len(answer_lengths), 1),
        },
        "empty_answers": empty_answers[:10],
        "answer_not_in_span": answer_not_found[:10],
        "prompt_not_prefix": prompt_not_prefix[:10],
    }


def check_data(arguments) -> int:
    try:
        examples, report = read_examples(arguments.check_data)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = {
        "files": arguments.check_data,
        "examples": report.examples,
        "by_kind": dict(sorted(report.by_kind.items())),
        "score_answers": dict(sorted(report.by_answer.items())),
    }
    ok = True
    if arguments.tokenizer:
        if arguments.tokenizer.endswith(".gguf"):
            tokenizer = GgufChatTokenizer(arguments.tokenizer)
        else:
            tokenizer = HfChatTokenizer(arguments.tokenizer)
        tokens = tokenized_report(examples, tokenizer, arguments.max_length)
        result.update(tokens)
        ok = not tokens["empty_answers"] and not tokens["answer_not_in_span"]
    print(json.dumps(result, indent=2))
    if not ok:
        print("error: some examples have no answer tokens to train on (see above)", file=sys.stderr)
        return 1
    return 0


# --- training ---------------------------------------------------------------------------------


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def gradient_accumulation(global_batch: int, per_device: int, processes: int) -> int:
    """Accumulation steps so that per_device × processes × steps = global_batch."""
    per_step = per_device * processes
    if global_batch % per_step:
        raise SystemExit(
            f"a global batch of {global_batch} cannot be made from {processes} processes × "
            f"{per_device} per device: use fewer processes (e.g. 4 GPUs with "
            "train/ds_zero3_bf16_offload.json on 40 GB cards) or change --global-batch-size"
        )
    return global_batch // per_step


def train(arguments) -> int:
    import torch  # noqa: F401  (fails early and clearly without torch)
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    try:
        examples, report = read_examples(arguments.data)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tokenizer = AutoTokenizer.from_pretrained(arguments.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    rows = [{"prompt": e.prompt, "completion": e.completion} for e in examples]
    dataset = Dataset.from_list(rows)
    # Over-long examples would be cut from the end, losing their answer: leave them out instead.
    def fits(row):
        ids = tokenizer.apply_chat_template(
            row["prompt"] + row["completion"], tokenize=True, return_dict=True
        )["input_ids"]
        return len(ids) <= arguments.max_length

    kept = dataset.filter(fits)
    if len(kept) < len(dataset):
        print(
            f"left out {len(dataset) - len(kept)} of {len(dataset)} examples longer than "
            f"--max-length {arguments.max_length}",
            file=sys.stderr,
        )
    accumulation = gradient_accumulation(
        arguments.global_batch_size, arguments.per_device_batch_size, world_size()
    )
    model_init_kwargs = {"dtype": "bfloat16" if arguments.bf16 else "float32"}
    if arguments.attn_implementation:
        model_init_kwargs["attn_implementation"] = arguments.attn_implementation
    config = SFTConfig(
        output_dir=arguments.output,
        num_train_epochs=arguments.epochs,
        max_steps=arguments.max_steps,
        per_device_train_batch_size=arguments.per_device_batch_size,
        gradient_accumulation_steps=accumulation,
        learning_rate=arguments.learning_rate,
        optim="adamw_torch",
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": arguments.min_lr_rate},
        warmup_steps=arguments.warmup_steps,
        weight_decay=arguments.weight_decay,
        max_grad_norm=arguments.max_grad_norm,
        bf16=arguments.bf16,
        # transformers 5 renamed gradient checkpointing; the old name only warns.
        activation_checkpointing=arguments.gradient_checkpointing,
        deepspeed=arguments.deepspeed,
        max_length=arguments.max_length,
        completion_only_loss=True,
        packing=False,
        model_init_kwargs=model_init_kwargs,
        logging_steps=arguments.logging_steps,
        save_strategy="no",
        report_to=arguments.report_to,
        seed=arguments.seed,
        use_cpu=arguments.cpu,
    )
    trainer = SFTTrainer(
        model=arguments.model,
        args=config,
        train_dataset=kept,
        processing_class=tokenizer,
    )
    trainer.train()
    trainer.save_model(arguments.output)
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(arguments.output)
        with open(os.path.join(arguments.output, "grsu_sft.json"), "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "model": arguments.model,
                    "data": arguments.data,
                    "examples": report.examples,
                    "by_kind": dict(report.by_kind),
                    "trained_examples": len(kept),
                    "global_batch_size": arguments.global_batch_size,
                    "steps": trainer.state.global_step,
                    "settings": {k: v for k, v in vars(arguments).items() if k != "check_data"},
                },
                handle,
                indent=2,
            )
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Fine-tune the simulated user (SFT, loss on the answer only) on `grsu synth` examples.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--check-data", nargs="+", metavar="FILE", help="check these example files and exit (no torch needed)")
    parser.add_argument("--tokenizer", help="with --check-data: a .gguf file or a transformers tokenizer to tokenise with")
    parser.add_argument("--model", help="base model: a local folder or hub name (the paper: meta-llama/Llama-3.1-8B-Instruct)")
    parser.add_argument("--data", nargs="+", metavar="FILE", help="example files (critique.jsonl, score.jsonl)")
    parser.add_argument("--output", help="folder for the fine-tuned model")
    parser.add_argument("--deepspeed", help="DeepSpeed config, e.g. train/ds_zero3_bf16.json")
    parser.add_argument("--epochs", type=float, default=PAPER["epochs"])
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (smoke tests); -1: the epochs")
    parser.add_argument("--global-batch-size", type=int, default=PAPER["global_batch_size"])
    parser.add_argument("--per-device-batch-size", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=PAPER["learning_rate"])
    parser.add_argument("--warmup-steps", type=int, default=PAPER["warmup_steps"])
    parser.add_argument("--min-lr-rate", type=float, default=PAPER["min_lr_rate"], help="cosine decay floor, as a fraction of the peak")
    parser.add_argument("--weight-decay", type=float, default=PAPER["weight_decay"])
    parser.add_argument("--max-grad-norm", type=float, default=PAPER["max_grad_norm"])
    parser.add_argument("--max-length", type=int, default=4096, help="examples longer than this many tokens are left out")
    parser.add_argument("--attn-implementation", default=None, help="flash_attention_2 (the paper), sdpa or eager; default: transformers' choice")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in fp32 (CPU smoke tests)")
    parser.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing", action="store_false")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU (smoke tests)")
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--report-to", default="none")
    parser.add_argument("--seed", type=int, default=42)
    return parser


def main(argv=None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.check_data:
        return check_data(arguments)
    missing = [name for name in ("model", "data", "output") if not getattr(arguments, name)]
    if missing:
        parser().error("training needs " + ", ".join(f"--{name}" for name in missing))
    if not math.isfinite(arguments.learning_rate) or arguments.learning_rate <= 0:
        parser().error("--learning-rate must be positive")
    return train(arguments)


if __name__ == "__main__":
    sys.exit(main())
