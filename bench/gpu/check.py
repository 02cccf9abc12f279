"""Issue 9's GPU check in one device call: fai-rl vs bench/plain_trl.py on one GPU, bf16, SDPA, a ~0.5B Llama.

    bash bench/gpu/run.sh            # on the device machine; writes $OUT/gpu_results.{json,md}
    python -m bench.gpu.check --cpu-dry --out /tmp/x   # here: the same flow on CPU with a small model, 2 steps

For each algorithm (DPO, GRPO, then GSPO if time is left) it runs the plain TRL script and fai-rl with identical
settings, one after the other, and reports tokens/s, model FLOPs utilisation, peak GPU memory and fai-rl/plain.
After GRPO, when vLLM imports on the machine, fai-rl's GRPO again with algorithm.generation.backend=vllm (colocate):
the speed-up of vLLM generation over transformers' generate, the rest of the job identical.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
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
STEPS = {"dpo": 20, "grpo": 6, "gspo": 8}
BUDGET_S = 330  # leave GSPO out when less than its share of the call is left


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
    data = synthetic_pairs(work / "pairs.jsonl", DPO_BATCH * STEPS["dpo"], 16 if dry else 300, 64 if dry else 800)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               WANDB_MODE="disabled", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    device = ["hardware=cpu"] if dry else ["hardware=gpu", "model.torch_dtype=bfloat16"]
    results = {"params": params, "shape": shape, "peak_flops": PEAK_FLOPS, "jobs": {}}
    for algorithm in ("dpo", "grpo", "gspo"):
        if algorithm == "gspo" and time.time() - started > BUDGET_S * 0.6:
            results["skipped"] = "gspo: not enough of the call's time left"
            break
        steps = 2 if dry else STEPS[algorithm]
        fai, plain = job_settings(algorithm, steps, data, dry)
        job = {}
        for side in ("plain", "fai-rl"):
            cwd = work / f"{algorithm}-{side}"
            cwd.mkdir(exist_ok=True)
            if side == "plain":
                argv = [sys.executable, str(REPO / "bench" / "plain_trl.py"), *plain, "--out", str(cwd / "r.json"),
                        "--model", str(work / "model"), "--device", "cpu" if dry else "cuda"]
            else:
                argv = [sys.executable, "-m", "fai_rl", *device, f"model.base_model_name={work / 'model'}", *fai,
                        "training.progress_bar=false", f"hydra.run.dir={cwd / 'run'}",
                        f"training.output_dir={cwd / 'model'}"]
            wall, peak = run_job(argv, env, cwd)
            metrics = (json.loads((cwd / "r.json").read_text()) if side == "plain"
                       else json.loads((cwd / "run" / "summary.json").read_text()))["final_metrics"]
            model_flops = flops(algorithm, params, metrics, steps, shape["num_hidden_layers"], shape["hidden_size"],
                                dry)
            seconds = metrics["train_runtime"]
            job[side] = {"train_s": seconds, "wall_s": wall, "peak_gpu_gib": peak,
                         "num_tokens": metrics.get("num_tokens"),
                         "tokens_per_s": metrics.get("num_tokens", 0) / seconds,
                         "mfu": model_flops / seconds / PEAK_FLOPS, "loss": metrics.get("loss")}
        job["ratio_fai_over_plain"] = job["plain"]["train_s"] / job["fai-rl"]["train_s"]  # > 1: fai-rl faster
        results["jobs"][algorithm] = job
        if algorithm == "grpo":
            results["vllm"] = vllm_comparison(argv, job["fai-rl"], work, env, dry)
        (args.out / "gpu_results.json").write_text(json.dumps(results, indent=1))
    (args.out / "gpu_results.md").write_text(render(results))
    print(render(results), flush=True)
    return 0


def vllm_comparison(hf_argv: list, hf: dict, work: Path, env: dict, dry: bool) -> dict:
    """fai-rl's GRPO job again with vLLM colocated in the training process; train_runtime against the hf run."""
    if dry or importlib.util.find_spec("vllm") is None:
        return {"skipped": "vLLM needs CUDA (--cpu-dry)" if dry else
                "vLLM is not installed here (bench/gpu/README.md)"}
    cwd = work / "grpo-fai-rl-vllm"
    cwd.mkdir(exist_ok=True)
    argv = [a for a in hf_argv if not a.startswith(("hydra.run.dir=", "training.output_dir="))]
    argv += ["algorithm.generation.backend=vllm", f"hydra.run.dir={cwd / 'run'}",
             f"training.output_dir={cwd / 'model'}"]
    wall, peak = run_job(argv, env, cwd)
    metrics = json.loads((cwd / "run" / "summary.json").read_text())["final_metrics"]
    seconds = metrics["train_runtime"]
    return {"hf_train_s": hf["train_s"], "vllm_train_s": seconds, "vllm_wall_s": wall, "vllm_peak_gpu_gib": peak,
            "vllm_tokens_per_s": metrics.get("num_tokens", 0) / seconds,
            "speedup_vllm_over_hf": hf["train_s"] / seconds, "vllm_loss": metrics.get("loss")}


def render(results: dict) -> str:
    rows = ["| job | side | train s | tokens/s | MFU | peak GPU GiB | fai-rl/plain speed |",
            "|---|---|---|---|---|---|---|"]
    for algorithm, job in results["jobs"].items():
        for side in ("plain", "fai-rl"):
            r = job[side]
            ratio = f"{job['ratio_fai_over_plain']:.3f}" if side == "fai-rl" else ""
            rows.append(f"| {algorithm.upper()} | {side} | {r['train_s']:.2f} | {r['tokens_per_s']:.0f} | "
                        f"{r['mfu'] * 100:.1f}% | {r['peak_gpu_gib']:.1f} | {ratio} |")
    head = (f"Model: random-init Llama, {results['params'] / 1e6:.0f}M parameters {results['shape']}; "
            f"MFU against {results['peak_flops'] / 1e12:.0f} TFLOP/s.\n\n")
    vllm = results.get("vllm", {})
    if "speedup_vllm_over_hf" in vllm:
        rows.append(f"\nGRPO generation, fai-rl: hf {vllm['hf_train_s']:.2f} s, vLLM colocate "
                    f"{vllm['vllm_train_s']:.2f} s "
                    f"({vllm['vllm_tokens_per_s']:.0f} tokens/s, peak {vllm['vllm_peak_gpu_gib']:.1f} GiB): vLLM/hf "
                    f"speed-up {vllm['speedup_vllm_over_hf']:.2f}x")
    elif vllm:
        rows.append(f"\nGRPO with vLLM: skipped, {vllm['skipped']}")
    return head + "\n".join(rows) + ("\n\n" + results["skipped"] if "skipped" in results else "") + "\n"


if __name__ == "__main__":
    sys.exit(main())
