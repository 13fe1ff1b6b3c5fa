#!/usr/bin/env python3
"""A smoke test of the SFT recipe on one GPU, with a tiny randomly initialised Llama model that
uses the embedded model's tokenizer and chat template (no download: the tokenizer is rebuilt from
the GGUF file that `grsu model fetch` caches).

    # where tokenizers and gguf are installed (no torch needed):
    python3 train/smoke_test.py tokenizer --gguf ~/.cache/grsu/models/SmolLM2-135M-Instruct.Q4_1.gguf \
        --out results/gpu_smoke/tokenizer
    # on the GPU machine (torch, transformers, trl, datasets, accelerate; deepspeed optional):
    python3 train/smoke_test.py run --tokenizer results/gpu_smoke/tokenizer \
        --data results/synth/x/critique.jsonl results/synth/x/score.jsonl --work /tmp/smoke

`run` trains a few steps with train/sft.py (plain, then DeepSpeed ZeRO-3 when deepspeed is
installed), checks that the loss is finite, that only answer tokens carry labels, and that the saved
model loads and answers a scoring prompt. It prints one JSON line per check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def make_tokenizer(arguments) -> int:
    sys.path.insert(0, HERE)
    from sft import GgufChatTokenizer

    source = GgufChatTokenizer(arguments.gguf)
    os.makedirs(arguments.out, exist_ok=True)
    source.tokenizer.save(os.path.join(arguments.out, "tokenizer.json"))
    template = source.template_source
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": source.bos_token,
        "eos_token": source.eos_token,
        "pad_token": source.eos_token,
        "chat_template": template,
        "model_max_length": 8192,
    }
    with open(os.path.join(arguments.out, "tokenizer_config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    print(json.dumps({"tokenizer": arguments.out, "vocab": source.tokenizer.get_vocab_size()}))
    return 0


def tiny_model(tokenizer_dir: str, out: str) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)


def check_labels(model_dir: str, data: list[str]) -> dict:
    """Builds TRL's training dataset for the examples and counts the tokens that carry a label."""
    sys.path.insert(0, HERE)
    from datasets import Dataset
    from sft import read_examples
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    examples, _ = read_examples(data)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = [{"prompt": e.prompt, "completion": e.completion} for e in examples[:8]]
    trainer = SFTTrainer(
        model=model_dir,
        args=SFTConfig(
            output_dir="/tmp/grsu-smoke-labels", max_length=4096, report_to="none", bf16=False, use_cpu=True,
            activation_checkpointing=False,
        ),
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(rows))])
    labels = batch["labels"]
    labelled = [int((row != -100).sum()) for row in labels]
    answers = [len(tokenizer(e.completion[0]["content"], add_special_tokens=False)["input_ids"]) for e in examples[:8]]
    decoded = [tokenizer.decode([t for t in row.tolist() if t != -100]) for row in labels]
    return {
        "labelled_tokens": labelled,
        "answer_tokens": answers,
        "total_tokens": [int(m.sum()) for m in batch["attention_mask"]] if "attention_mask" in batch else None,
        "first_labelled_text": decoded[0][-120:],
        "only_answers_labelled": all(0 < l <= a + 3 for l, a in zip(labelled, answers)),
    }


def run(arguments) -> int:
    import torch

    report = {"cuda": torch.cuda.is_available(), "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    print(json.dumps({"check": "environment", **report}), flush=True)
    model = os.path.join(arguments.work, "tiny-model")
    tiny_model(arguments.tokenizer, model)
    print(json.dumps({"check": "labels", **check_labels(model, arguments.data)}), flush=True)
    cpu = [] if torch.cuda.is_available() else ["--cpu", "--no-bf16"]
    runs = [("plain", cpu)]
    try:
        if cpu:
            raise ImportError("no GPU")
        import deepspeed  # noqa: F401

        runs.append(("zero3", ["--deepspeed", os.path.join(HERE, "ds_zero3_bf16.json")]))
    except ImportError:
        print(json.dumps({"check": "zero3", "skipped": "no GPU or deepspeed is not installed"}), flush=True)
    for name, extra in runs:
        out = os.path.join(arguments.work, f"out-{name}")
        command = [
            sys.executable, os.path.join(HERE, "sft.py"),
            "--model", model, "--data", *arguments.data, "--output", out,
            "--max-steps", str(arguments.steps), "--warmup-steps", "2", "--logging-steps", "1",
            "--learning-rate", "1e-4", "--max-length", "4096",
        ] + extra
        environment = dict(os.environ, RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
        finished = subprocess.run(command, env=environment, capture_output=True, text=True)
        logged = finished.stdout + finished.stderr
        losses = [float(value) for value in re.findall(r"'loss': '?([-+0-9.eE]+|nan|inf)'?", logged)]
        summary_path = os.path.join(out, "grsu_sft.json")
        summary = json.load(open(summary_path)) if os.path.exists(summary_path) else None
        print(json.dumps({
            "check": f"train-{name}", "returncode": finished.returncode, "losses": losses,
            "steps": summary and summary["steps"], "trained_examples": summary and summary["trained_examples"],
            "tail": (finished.stderr or finished.stdout)[-1500:] if finished.returncode else None,
        }), flush=True)
        if finished.returncode == 0:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(out)
            reloaded = AutoModelForCausalLM.from_pretrained(out).to("cuda" if torch.cuda.is_available() else "cpu")
            prompt = tokenizer.apply_chat_template(
                [{"role": "user", "content": "Do you accept Heat (1995)?"},
                 {"role": "assistant", "content": "Accept the recommendation (Yes/No)?"}],
                continue_final_message=True, return_tensors="pt", return_dict=True,
            ).to(reloaded.device)
            logits = reloaded(**prompt).logits[0, -1]
            print(json.dumps({"check": f"reload-{name}", "finite_logits": bool(torch.isfinite(logits).all())}), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    tokenizer = commands.add_parser("tokenizer", help="write a transformers tokenizer folder from a GGUF file")
    tokenizer.add_argument("--gguf", required=True)
    tokenizer.add_argument("--out", required=True)
    smoke = commands.add_parser("run", help="train a tiny model a few steps with train/sft.py")
    smoke.add_argument("--tokenizer", required=True)
    smoke.add_argument("--data", nargs="+", required=True)
    smoke.add_argument("--work", default="/tmp/grsu-smoke")
    smoke.add_argument("--steps", type=int, default=4)
    arguments = parser.parse_args()
    return make_tokenizer(arguments) if arguments.command == "tokenizer" else run(arguments)


if __name__ == "__main__":
    sys.exit(main())
