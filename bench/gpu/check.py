"""The GPU check (issue 21) in one device call: fai-rl against bench/plain_trl.py on one GPU, bf16, SDPA, a ~0.5B Llama.

    bash bench/gpu/run.sh            # on the device machine; writes $OUT/gpu_results.{json,md}
    python -m bench.gpu.check --cpu-dry --out /tmp/x   # here: the same flow on CPU with a small model, 2 steps

Jobs (JOBS, in order; those that would start after BUDGET_S are left out and listed): steady-state DPO (60 steps)
for plain TRL and fai-rl, each without and with Liger's kernels; SFT packed (fai-rl's default) against unpacked
(TRL's default); GRPO with transformers' generate against its continuous batching. Every fai-rl job's printed memory
estimate stands next to its measured peaks (nvidia-smi's, and torch's allocated/reserved from summary.json). Then
the `gpu`-marked tests run. (vLLM generation is not part of it: the device image has no vLLM; bench/gpu/README.md.)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEAK_FLOPS = 790e12  # bf16 matrix units, measured on this workplace's H100/H200 (device KINDS.md)
SHAPE = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=30, num_attention_heads=16)  # ~0.5B
DRY_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)
DPO_LENGTH, DPO_BATCH = 1024, 8
GRPO = dict(batch=64, completion=256)  # completions per step (8 prompts x 8 generations), tokens per completion
STEPS = {"dpo": 60, "sft": 30, "grpo": 6}
BUDGET_S = 300  # start no job after this; the gpu tests and the margin take the rest of the 7-minute call


def build_model(shape: dict, target: Path, device: str) -> int:
    """A random-init Llama with the tiny model's tokenizer, saved in bf16; its parameter count."""
    import torch
    from transformers import AutoTokenizer

    from fai_rl.models.tiny import save_random_llama, tiny_model_path

    tok = AutoTokenizer.from_pretrained(tiny_model_path())
    return save_random_llama(tok, target, dtype=torch.bfloat16, device=device, max_position_embeddings=2048, **shape)


class GpuMemory:
    """Peak used GPU memory (nvidia-ml-py), polled every 100 ms while a job runs; 0 without a GPU."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._read = lambda h=pynvml.nvmlDeviceGetHandleByIndex(0): pynvml.nvmlDeviceGetMemoryInfo(h).used
        except Exception:  # noqa: BLE001 - no GPU (the CPU dry run)
            self._read = lambda: 0
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._read())
            time.sleep(0.1)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 2 ** 30


def job_settings(algorithm: str, steps: int, data: Path, dry: bool) -> tuple:
    """(fai-rl overrides, plain_trl.py arguments) for the same job."""
    if algorithm == "dpo":
        length = 64 if dry else DPO_LENGTH
        fai = [f"data.datasets=[{{name: '{data}'}}]", f"data.max_length={length}",
               f"data.max_prompt_length={length - 1}", f"training.per_device_train_batch_size={DPO_BATCH}"]
        plain = ["--data", str(data), "--set", f"max_length={length}", "--set",
                 f"per_device_train_batch_size={DPO_BATCH}"]
    elif algorithm == "sft":
        length = 64 if dry else DPO_LENGTH
        fai = [f"data.datasets=[{{name: '{data}'}}]", f"data.max_length={length}",
               f"training.per_device_train_batch_size={DPO_BATCH}"]
        plain = []  # plain_trl.py has no SFT: the comparison is fai-rl packed against fai-rl with TRL's default
    else:
        batch, completion = (16, 8) if dry else (GRPO["batch"], GRPO["completion"])
        fai = [f"training.per_device_train_batch_size={batch}", f"algorithm.max_completion_length={completion}",
               f"data.max_length={completion + 64}", "data.max_prompt_length=64"]
        plain = ["--set", f"per_device_train_batch_size={batch}", "--set", f"max_completion_length={completion}"]
    # demo=tiny: the default job's settings, which plain_trl.py mirrors, on the check's larger model
    fai = ["demo=tiny", f"algorithm={algorithm}", "data.eval_datasets=[]", f"training.max_steps={steps}",
           "training.logging_steps=1", "training.save_steps=100000", *fai]
    plain = [algorithm, "--steps", str(steps), "--set", "logging_steps=1", *plain]
    return fai, plain


# (algorithm, side, fai-rl or plain_trl.py extra arguments), in the order they run; the later ones are left out
# when the call's time runs short. Pairs: DPO with and without kernels on both sides; SFT packed (fai-rl's default)
# against unpacked (TRL's); GRPO with transformers' generate against its continuous batching.
JOBS = [
    ("dpo", "plain", []), ("dpo", "fai-rl", ["training.kernels=none"]),
    ("dpo", "plain+liger", ["--set", "use_liger_kernel=true"]), ("dpo", "fai-rl+liger", ["training.kernels=liger"]),
    ("sft", "fai-rl unpacked", ["algorithm.packing=false"]), ("sft", "fai-rl packed", ["algorithm.packing=true"]),
    ("grpo", "plain", []), ("grpo", "fai-rl", ["training.kernels=none"]),
    ("grpo", "fai-rl continuous batching", ["training.kernels=none", "algorithm.generation.backend=hf_continuous"]),
]
PAIRS = [("dpo", "plain", "fai-rl"), ("dpo", "plain+liger", "fai-rl+liger"), ("dpo", "plain", "fai-rl+liger"),
         ("sft", "fai-rl unpacked", "fai-rl packed"), ("grpo", "plain", "fai-rl"),
         ("grpo", "fai-rl", "fai-rl continuous batching")]


def sft_rows(path: Path, rows: int, dry: bool) -> Path:
    """Prompt/completion rows of varied length (a real SFT set's spread: what packing saves is the padding)."""
    import random

    from bench.growth import synthetic_pairs

    pairs = [json.loads(line) for line in synthetic_pairs(path.with_suffix(".pairs"), rows, 8 if dry else 120,
                                                           48 if dry else 800).read_text().splitlines()]
    rng = random.Random(0)
    words = lambda text: " ".join(text.split()[:rng.randint(4, len(text.split()))])  # noqa: E731
    path.write_text("".join(json.dumps({"prompt": p["prompt"], "completion": words(p["chosen"])}) + "\n"
                            for p in pairs))
    return path


def run_job(argv: list, env: dict, cwd: Path) -> tuple:
    memory, started = GpuMemory(), time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall, peak = time.perf_counter() - started, memory.stop()
    (cwd / "output.txt").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return wall, peak


def flops(algorithm: str, params: int, metrics: dict, steps: int, layers: int, hidden: int, dry: bool) -> float:
    """Model FLOPs of the timed training: 6N per trained token plus attention's 12·layers·hidden·length (DPO);
    GRPO/GSPO: 6N per trained token plus 2N per token of the generation passes (attention left out)."""
    if algorithm == "dpo":
        length = 64 if dry else DPO_LENGTH
        tokens = steps * DPO_BATCH * 2 * length  # synthetic pairs fill max_length: chosen + rejected
        return tokens * (6 * params + 12 * layers * hidden * length)
    tokens = metrics["num_tokens"]  # prompt + completion tokens TRL trained on
    return tokens * 6 * params + tokens * 2 * params


def job_argv(algorithm: str, side: str, extra: list, steps: int, data: dict, work: Path, dry: bool) -> list:
    fai, plain = job_settings(algorithm, steps, data[algorithm], dry)
    if dry:  # CPU: no Liger, no continuous batching; the jobs run without them
        extra = [] if "use_liger_kernel=true" in extra else \
            [e for e in extra if not e.startswith(("training.kernels=liger", "algorithm.generation.backend"))]
    cwd = work / f"{algorithm}-{side.replace(' ', '-').replace('+', '-')}"
    cwd.mkdir(exist_ok=True)
    if side.startswith("plain"):
        return cwd, [sys.executable, str(REPO / "bench" / "plain_trl.py"), *plain, *extra, "--out",
                     str(cwd / "r.json"), "--model", str(work / "model"), "--device", "cpu" if dry else "cuda"]
    device = ["hardware=cpu"] if dry else ["hardware=gpu", "model.torch_dtype=bfloat16"]
    return cwd, [sys.executable, "-m", "fai_rl", *device, f"model.base_model_name={work / 'model'}", *fai, *extra,
                 "training.progress_bar=false", f"hydra.run.dir={cwd / 'run'}", f"training.output_dir={cwd / 'model'}"]


def measure(algorithm: str, side: str, argv: list, cwd: Path, env: dict, steps: int, params: int, shape: dict,
            dry: bool) -> dict:
    wall, peak = run_job(argv, env, cwd)
    plain = side.startswith("plain")
    record = json.loads((cwd / ("r.json" if plain else "run/summary.json")).read_text())
    metrics = record["final_metrics"]
    seconds = metrics["train_runtime"]
    model_flops = flops(algorithm, params, metrics, steps, shape["num_hidden_layers"], shape["hidden_size"], dry)
    result = {"train_s": seconds, "wall_s": wall, "peak_gpu_gib": peak, "num_tokens": metrics.get("num_tokens"),
              "tokens_per_s": (metrics.get("num_tokens") or 0) / seconds, "mfu": model_flops / seconds / PEAK_FLOPS,
              "loss": metrics.get("loss")}
    if not plain:
        printed = re.search(r"memory per rank ≈ ([0-9.]+) GiB", (cwd / "output.txt").read_text())
        result["estimate_gib"] = float(printed.group(1)) if printed else None
        result["torch_peak"] = record.get("peak_gpu_memory")
        result["kernels"] = next((line.split("kernels: ", 1)[1] for line in
                                  (cwd / "output.txt").read_text().splitlines() if "kernels: " in line), None)
    return result


def run_gpu_tests(out: Path, dry: bool) -> dict:
    """The `gpu`-marked tests (kernels patch the model, a bf16 job learns): pass/fail counts and the log."""
    if dry:
        return {"skipped": "--cpu-dry: they need CUDA"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                           str(REPO / "tests")], capture_output=True, text=True, cwd=REPO, timeout=240)
    (out / "gpu_tests.txt").write_text(proc.stdout + proc.stderr)
    return {"exit_code": proc.returncode, "summary": (proc.stdout.strip().splitlines() or [""])[-1]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--cpu-dry", action="store_true", help="small model on CPU, 2 steps: check the flow here")
    args = p.parse_args(argv)
    started, dry = time.time(), args.cpu_dry
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "fai-rl-gpu-check"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    from bench.growth import synthetic_pairs

    shape = DRY_SHAPE if dry else SHAPE
    params = build_model(shape, work / "model", "cpu" if dry else "cuda")
    # prompts shorter than max_prompt_length (neither side truncates them), responses that fill max_length
    pairs = synthetic_pairs(work / "pairs.jsonl", DPO_BATCH * STEPS["dpo"], 16 if dry else 300, 64 if dry else 800)
    data = {"dpo": pairs, "sft": sft_rows(work / "sft.jsonl", DPO_BATCH * STEPS["sft"] * 4, dry), "grpo": None}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               WANDB_MODE="disabled", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    results = {"params": params, "shape": shape, "peak_flops": PEAK_FLOPS, "jobs": {}, "left_out": []}
    for algorithm, side, extra in JOBS:
        if not dry and time.time() - started > BUDGET_S:
            results["left_out"].append(f"{algorithm} {side}")
            continue
        steps = 2 if dry else STEPS[algorithm]
        cwd, argv = job_argv(algorithm, side, extra, steps, data, work, dry)
        try:
            results["jobs"].setdefault(algorithm, {})[side] = measure(algorithm, side, argv, cwd, env, steps, params,
                                                                       shape, dry)
        except RuntimeError as err:  # one failing job is reported; the others still run
            results["jobs"].setdefault(algorithm, {})[side] = {"failed": str(err)[-1500:]}
        (args.out / "gpu_results.json").write_text(json.dumps(results, indent=1))
    results["gpu_tests"] = run_gpu_tests(args.out, dry)
    (args.out / "gpu_results.json").write_text(json.dumps(results, indent=1))
    (args.out / "gpu_results.md").write_text(render(results))
    print(render(results), flush=True)
    return 0


def render(results: dict) -> str:
    rows = ["| job | side | train s | tokens/s | MFU | peak GPU GiB (nvidia-smi) | torch allocated / reserved GiB | "
            "estimate GiB | kernels |", "|---|---|---|---|---|---|---|---|---|"]
    for algorithm, sides in results["jobs"].items():
        for side, r in sides.items():
            if "failed" in r:
                rows.append(f"| {algorithm.upper()} | {side} | failed: {r['failed'].splitlines()[-1][:120]} |")
                continue
            torch_peak = r.get("torch_peak") or {}
            peaks = f"{torch_peak['allocated_gib']:.1f} / {torch_peak['reserved_gib']:.1f}" if torch_peak else ""
            estimate = f"{r['estimate_gib']:.1f}" if r.get("estimate_gib") else ""
            rows.append(f"| {algorithm.upper()} | {side} | {r['train_s']:.2f} | {r['tokens_per_s']:.0f} | "
                        f"{r['mfu'] * 100:.1f}% | {r['peak_gpu_gib']:.1f} | {peaks} | {estimate} | "
                        f"{r.get('kernels') or ''} |")
    ratios = ["", "| job | speed-up | of | over |", "|---|---|---|---|"]
    for algorithm, base, other in PAIRS:
        a, b = results["jobs"].get(algorithm, {}).get(base), results["jobs"].get(algorithm, {}).get(other)
        if a and b and "train_s" in a and "train_s" in b:
            speed = (b["tokens_per_s"] / a["tokens_per_s"] if algorithm == "sft" and a["tokens_per_s"]
                     else a["train_s"] / b["train_s"])
            ratios.append(f"| {algorithm.upper()} | **{speed:.3f}** | {other} | {base} |")
    head = (f"Model: random-init Llama, {results['params'] / 1e6:.0f}M parameters {results['shape']}; "
            f"MFU against {results['peak_flops'] / 1e12:.0f} TFLOP/s. Speed-up: train_runtime of the first over "
            "the second (SFT: tokens/s, packing trains the same tokens in fewer rows).\n\n")
    tail = [f"\nLeft out (the call's time ran short): {', '.join(results['left_out'])}"] if results["left_out"] else []
    tests = results.get("gpu_tests", {})
    tail.append(f"\n`gpu` tests: {tests.get('summary') or tests.get('skipped', '')}")
    return head + "\n".join(rows + ratios + tail) + "\n"


if __name__ == "__main__":
    sys.exit(main())
