"""Read FAI-RL's inference and evaluation recipes (`inference:` / `evaluation:` sections) into a checked
InferenceRecipe, with FAI-RL-style overrides (`inference.temperature=0`, `evaluation.model_paths=[a, b]`) set first.

One model: model_path (a folder, hub name, builtin:tiny or run:NAME), model_paths (several checkpoints, answered
side by side), or api_endpoint + model (+ api_key, else the provider's usual environment variable).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import string
from dataclasses import dataclass, field
from typing import Optional

from omegaconf import OmegaConf

from fai_rl.cli.seed_recipe import apply_overrides
from fai_rl.config.schema import MEDIA_LIMITS, DataConfig, media_setting_problem
from fai_rl.config.typed import did_you_mean
from fai_rl.errors import ConfigError

TASKS = ("mmlu", "gsm8k")  # evaluation tasks; chosen by `task:`, else from the dataset name
MMLU_PROTOCOLS = ("generative", "loglikelihood")  # FAI-RL's JSON letter, or lm-eval's letter log-likelihood
GSM8K_MATCHES = ("exact", "math_verify")  # FAI-RL's text comparison, or math-verify's equality of values
ENGINES = ("transformers", "vllm")  # local models' generation
MEDIA_COLUMNS = ("image_columns", "video_columns")  # sft_vlm's data keys: images and videos for a vision-language model
# sft_vlm's media settings (data.*): the same names and defaults here
MEDIA_SETTINGS = ("image_cache_dir", "image_fetch_timeout", "image_fetch_retries", "max_image_pixels",
                  "video_cache_dir", "video_fetch_timeout", "video_fetch_retries", "video_num_frames", "video_fps")


def _data_default(name: str):
    return field(default=DataConfig.__dataclass_fields__[name].default)


@dataclass
class InferenceRecipe:
    """Every key FAI-RL's inference/evaluation recipes use, plus a few of fai-rl's own (marked)."""

    output_file: str
    dataset_name: str
    response_column: str = "response"
    model_path: Optional[str] = None
    model_paths: Optional[list] = None
    api_endpoint: Optional[str] = None
    api_key: Optional[str] = None
    model: Optional[str] = None
    dataset_split: str = "test"
    dataset_subset: Optional[str] = None
    dataset_columns: list = field(default_factory=list)
    system_prompt: str = ""
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    do_sample: bool = False
    checkpoint_column: str = "checkpoint"
    ground_truth_column: Optional[str] = None  # evaluation only
    # fai-rl's own
    task: Optional[str] = None  # evaluation: mmlu or gsm8k (default: from dataset_name)
    mmlu_protocol: str = "generative"  # evaluation, MMLU: generative (FAI-RL's) or loglikelihood (local models)
    gsm8k_match: str = "exact"  # evaluation, GSM8K: exact (FAI-RL's last number as text) or math_verify (values)
    engine: str = "transformers"  # local models: transformers' generate, or vllm (installed, on a GPU)
    batch_size: int = 8  # local models: prompts per generate() call
    concurrency: int = 8  # API models: requests in flight
    max_retries: int = 3  # API models: the client's retries on rate limits and transient errors
    request_timeout_s: float = 120.0  # API models: one request
    max_samples: Optional[int] = None  # only the first N rows
    # local vision-language models: each row's images and videos (sft_vlm's data keys and media settings)
    image_columns: list = field(default_factory=list)
    video_columns: list = field(default_factory=list)
    image_cache_dir: str = _data_default("image_cache_dir")
    image_fetch_timeout: float = _data_default("image_fetch_timeout")
    image_fetch_retries: int = _data_default("image_fetch_retries")
    max_image_pixels: Optional[int] = _data_default("max_image_pixels")
    video_cache_dir: str = _data_default("video_cache_dir")
    video_fetch_timeout: float = _data_default("video_fetch_timeout")
    video_fetch_retries: int = _data_default("video_fetch_retries")
    video_num_frames: int = _data_default("video_num_frames")
    video_fps: Optional[float] = _data_default("video_fps")
    section: str = "inference"

    @property
    def models(self) -> list:
        """The models answered: checkpoint paths, one local model, or the API model name."""
        if self.api_endpoint or (self.model and not self.model_path and not self.model_paths):
            return [self.model]
        return list(self.model_paths or [self.model_path])

    @property
    def media_key(self) -> Optional[str]:
        """The first media key set (image_columns, then video_columns), or None for text-only rows."""
        return next((k for k in MEDIA_COLUMNS if getattr(self, k)), None)

    def key(self, name: str) -> str:
        return f"{self.section}.{name}"


KEYS = [f.name for f in dataclasses.fields(InferenceRecipe) if f.name != "section"]
TYPES = {"temperature": float, "top_p": float, "request_timeout_s": float, "max_new_tokens": int, "batch_size": int,
         "concurrency": int, "max_retries": int, "do_sample": bool, "image_fetch_timeout": float,
         "image_fetch_retries": int, "max_image_pixels": int, "video_fetch_timeout": float, "video_fetch_retries": int,
         "video_num_frames": int, "video_fps": float}


def load(path: str, section: str, overrides: list = ()) -> InferenceRecipe:
    """The recipe at `path` (its `section`: inference or evaluation), overrides applied, checked."""
    from pathlib import Path

    if not Path(path).is_file():
        raise ConfigError(f"--recipe (--config) '{path}' is not a file; give a recipe YAML with a '{section}:' section")
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as err:  # noqa: BLE001 - any YAML problem is the recipe's
        raise ConfigError(f"--recipe (--config) '{path}' is not valid YAML: {str(err).splitlines()[0]}")
    if not isinstance(raw, dict) or section not in raw:
        found = ", ".join(raw) if isinstance(raw, dict) else type(raw).__name__
        raise ConfigError(f"recipe '{path}' has no '{section}:' section (found: {found})")
    for override in overrides:
        if not override.startswith(f"{section}.") or "=" not in override:
            raise ConfigError(f"override '{override}' must look like {section}.KEY=VALUE")
    values = dict(apply_overrides(raw, list(overrides))[section] or {})
    return check(values, section)


def check(values: dict, section: str = "inference") -> InferenceRecipe:
    for key in values:
        if key not in KEYS:
            raise ConfigError(f"unknown key '{section}.{key}'{did_you_mean(str(key), KEYS)}; valid keys: "
                              f"{', '.join(KEYS)}")
    for key in ("output_file", "dataset_name"):
        if not values.get(key):
            raise ConfigError(f"'{section}.{key}' is required")
    for key, kind in TYPES.items():
        value = values.get(key)
        if key in values and value is not None and not isinstance(value, kind) and \
                not (kind is float and isinstance(value, int)):
            raise ConfigError(f"'{section}.{key}' must be a {kind.__name__}, got {values[key]!r}")
    recipe = InferenceRecipe(**values, section=section)
    _check_model(recipe)
    _check_engine(recipe)
    _check_numbers(recipe)
    _check_template(recipe)
    _check_media(recipe)
    if section == "evaluation":
        _check_evaluation(recipe)
    else:
        for key, default in (("mmlu_protocol", "generative"), ("gsm8k_match", "exact")):
            if getattr(recipe, key) != default:
                raise ConfigError(f"'{recipe.key(key)}' is an evaluation key (fai-rl-eval --recipe, under "
                                  "evaluation:); inference only generates")
    return recipe


def _check_model(r: InferenceRecipe) -> None:
    given = [k for k in ("model_path", "model_paths", "api_endpoint") if getattr(r, k)]
    if len(given) > 1:
        raise ConfigError(f"{r.key(given[0])} and {r.key(given[1])} are both set; give one: a local model "
                          "(model_path), several checkpoints (model_paths) or an API model (api_endpoint + model)")
    if not given and not r.model:
        raise ConfigError(f"no model: set {r.key('model_path')}, {r.key('model_paths')}, or {r.key('api_endpoint')} "
                          f"and {r.key('model')} (or just {r.key('model')} for OpenAI/Anthropic/Gemini)")
    if r.model_paths is not None and (not isinstance(r.model_paths, list) or not r.model_paths):
        raise ConfigError(f"'{r.key('model_paths')}' must be a non-empty list of model folders")
    if r.api_endpoint and not r.model:
        raise ConfigError(f"'{r.key('api_endpoint')}' is set but '{r.key('model')}' (the API's model name) is not")


def _check_engine(r: InferenceRecipe) -> None:
    if r.engine not in ENGINES:
        raise ConfigError(f"'{r.key('engine')}' must be one of {', '.join(ENGINES)}, got {r.engine!r}")
    if r.engine == "transformers":
        return
    if not (r.model_path or r.model_paths):
        raise ConfigError(f"'{r.key('engine')}: vllm' runs local models ({r.key('model_path')} or "
                          f"{r.key('model_paths')}); an API model is answered by its API")
    if r.mmlu_protocol == "loglikelihood":
        raise ConfigError(f"'{r.key('engine')}: vllm' generates; {r.key('mmlu_protocol')}: loglikelihood scores with "
                          "transformers (leave engine out)")
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(f"'{r.key('engine')}: vllm' needs vLLM, which is not installed: pip install 'fai-rl[vllm]' "
                          "(a CUDA GPU), or leave engine out for transformers' generate")


def _check_numbers(r: InferenceRecipe) -> None:
    checks = {"max_new_tokens": r.max_new_tokens > 0, "batch_size": r.batch_size > 0, "concurrency": r.concurrency > 0,
              "max_retries": r.max_retries >= 0, "temperature": r.temperature >= 0, "top_p": 0 < r.top_p <= 1,
              "max_samples": r.max_samples is None or r.max_samples > 0}
    for key, ok in checks.items():
        if not ok:
            raise ConfigError(f"'{r.key(key)}' = {getattr(r, key)!r} is out of range (counts > 0, 0 < top_p <= 1, "
                              "temperature >= 0)")


def _check_template(r: InferenceRecipe) -> None:
    if not isinstance(r.dataset_columns, list) or not r.dataset_columns:
        raise ConfigError(f"'{r.key('dataset_columns')}' must list the columns the system_prompt uses, e.g. [prompt]")
    try:
        names = [n for _, n, _, _ in string.Formatter().parse(r.system_prompt or "") if n is not None]
    except ValueError as err:
        raise ConfigError(f"'{r.key('system_prompt')}' is not a valid template ({err}); use {{column}} fields and "
                          "{{ }} for literal braces")
    unknown = [n for n in names if n.split(".")[0].split("[")[0] not in r.dataset_columns]
    if unknown:
        raise ConfigError(f"'{r.key('system_prompt')}' uses {{{unknown[0]}}}, which is not in "
                          f"{r.key('dataset_columns')} ({', '.join(r.dataset_columns)}); write literal braces as "
                          "{{ and }}")


def _check_media(r: InferenceRecipe) -> None:
    """Media columns are lists of column names, for a local model generated by transformers; settings in range."""
    for key in MEDIA_COLUMNS:
        value = getattr(r, key)
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise ConfigError(f"'{r.key(key)}' must be a list of column names, e.g. [image]; got {value!r}")
    for name in MEDIA_LIMITS:
        problem = media_setting_problem(name, getattr(r, name))
        if problem:
            raise ConfigError(f"'{r.key(name)}' {problem}")
    key = r.media_key
    if key is None:
        return
    if not (r.model_path or r.model_paths):
        raise ConfigError(f"'{r.key(key)}' needs a local vision-language model ({r.key('model_path')} or "
                          f"{r.key('model_paths')}): images and videos are not sent to API models")
    if r.engine != "transformers":
        raise ConfigError(f"'{r.key(key)}' is answered by transformers' generate; leave {r.key('engine')} out")
    if r.mmlu_protocol == "loglikelihood":
        raise ConfigError(f"'{r.key(key)}' works with generative answers; use {r.key('mmlu_protocol')}: generative")


def _check_evaluation(r: InferenceRecipe) -> None:
    if not r.ground_truth_column:
        raise ConfigError(f"'{r.key('ground_truth_column')}' is required: the column holding the right answer")
    if r.task is None:
        name = r.dataset_name.lower()
        r.task = next((t for t in TASKS if t in name), None) or ("mmlu" if "choices" in r.dataset_columns else None)
    if r.task not in TASKS:
        raise ConfigError(f"'{r.key('task')}' must be one of {', '.join(TASKS)} (it cannot be told from "
                          f"dataset_name '{r.dataset_name}'), got {r.task!r}")
    _check_protocol(r)


def _check_protocol(r: InferenceRecipe) -> None:
    if r.gsm8k_match not in GSM8K_MATCHES:
        raise ConfigError(f"'{r.key('gsm8k_match')}' must be one of {', '.join(GSM8K_MATCHES)}, got "
                          f"{r.gsm8k_match!r}")
    if r.mmlu_protocol not in MMLU_PROTOCOLS:
        raise ConfigError(f"'{r.key('mmlu_protocol')}' must be one of {', '.join(MMLU_PROTOCOLS)}, got "
                          f"{r.mmlu_protocol!r}")
    if r.mmlu_protocol == "generative":
        return
    if r.task != "mmlu":
        raise ConfigError(f"'{r.key('mmlu_protocol')}: loglikelihood' scores MMLU's choices; the task is {r.task} "
                          "(use generative)")
    if not (r.model_path or r.model_paths):
        raise ConfigError(f"'{r.key('mmlu_protocol')}: loglikelihood' needs a local model ({r.key('model_path')} or "
                          f"{r.key('model_paths')}): API models return no log-probabilities of a prompt's "
                          "continuations; use mmlu_protocol: generative")
