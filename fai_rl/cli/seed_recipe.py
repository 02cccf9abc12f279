"""Read a recipe in the seed's YAML format (model/data/training/wandb) and turn it into Hydra overrides.

The seed keeps the algorithm in `training.algorithm` and GSPO's hyperparameters in `training` ("only used
when algorithm: gspo"); here the algorithm is a config group and its hyperparameters live in `algorithm`.
An optional top-level `algorithm:` section passes any algorithm field through.
"""
from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, OverrideParseException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fai_rl import algorithms
from fai_rl.cli.compose import compose
from fai_rl.cli.search_path import ConfTree
from fai_rl.config.hardware import read_user_config, user_stage
from fai_rl.config.schema import TrainingConfig
from fai_rl.config.typed import did_you_mean
from fai_rl.errors import ConfigError

SECTIONS = ("model", "data", "training", "wandb", "algorithm", "s3")
# FAI-RL's defaults (its core/config.py) for the keys a recipe leaves out, so a recipe trains as it does there;
# max_steps -1: FAI-RL counts epochs. max_completion_length: max_length - max_prompt_length, for algorithms that
# generate.
RECIPE_DEFAULTS = {"data": {"max_length": 512, "max_prompt_length": 256},
                   "training": {"learning_rate": 1.0e-6, "per_device_train_batch_size": 1,
                                "gradient_accumulation_steps": 16, "warmup_steps": 50, "gradient_checkpointing": True,
                                "max_steps": -1}}
# FAI-RL's GRPO/GSPO on math data (datasets with an answer_column, as its GSM8K / OpenMathInstruct-2 recipes): its
# prompt (system prompt + one worked <think>/<answer> example; fai_rl/data/math_prompt.py) and its rewards
MATH_PROMPT = "fai_rl_math"
MATH_REWARDS = ["exact_match", "answer_is_digit", "structured_xml"]
# FAI-RL's flat model keys -> fai-rl's model section
MODEL_KEYS = {"use_lora": "lora.enabled", "lora_r": "lora.r", "lora_alpha": "lora.alpha",
              "lora_dropout": "lora.dropout", "lora_target_modules": "lora.target_modules", "lora_bias": "lora.bias"}
S3_KEYS = ("enabled", "bucket", "prefix", "region", "endpoint_url", "upload_checkpoints", "upload_final_model",
           "delete_local_after_upload")

PLAIN = re.compile(r"[A-Za-z_/][\w./:-]*")  # strings Hydra reads as themselves without quotes
RESERVED = ("true", "false", "null", "nan", "inf")


def hydra_value(value) -> str:
    """A Python value in Hydra's override grammar (strings quoted so any text survives)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {hydra_value(v)}" for k, v in value.items()) + "}"
    if PLAIN.fullmatch(str(value)) and str(value).lower() not in RESERVED:
        return str(value)
    text = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", str(value))  # backslashes before a quote
    return "'" + re.sub(r"(\\+)$", lambda m: m.group(1) * 2, text) + "'"  # ... and before the closing one


def load(path: str) -> dict:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"--recipe (--config) '{path}' is not a file; give a recipe YAML (model/data/training/wandb)")
    try:
        recipe = OmegaConf.to_container(OmegaConf.load(file), resolve=False)
    except Exception as err:  # noqa: BLE001 - any YAML problem is the recipe's
        raise ConfigError(f"--recipe (--config) '{path}' is not valid YAML: {str(err).splitlines()[0]}")
    if not isinstance(recipe, dict):
        raise ConfigError(f"--recipe (--config) '{path}' must be a mapping with sections {', '.join(SECTIONS)}")
    for key in recipe:
        if key not in SECTIONS:
            raise ConfigError(f"unknown section '{key}' in {path}{did_you_mean(str(key), SECTIONS)}; "
                              f"valid: {', '.join(SECTIONS)}")
    return recipe


def _algorithm_of(tree: ConfTree, name: str):
    """The algorithm module of option `name` (composed: an option may build on another, as gspo on grpo)."""
    return algorithms.load(compose([f"algorithm={name}"], tree=tree).algorithm.trainer)


def _ignored_keys(tree: ConfTree, own: dict) -> set:
    """`training.*` keys other algorithm options read from a recipe (e.g. GSPO's in a GRPO recipe)."""
    return {key for trainer in algorithms.available() for name in tree.group_options("algorithm")
            for key in algorithms.load(trainer).recipe_keys(name)} - set(own)


def unused_keys(recipe: dict, tree: ConfTree) -> list:
    """The recipe keys that change nothing here, each with why, for the one line fai-rl-train prints."""
    training = dict(recipe.get("training") or {})
    algorithm = training.get("algorithm")
    own = _algorithm_of(tree, algorithm).recipe_keys(algorithm) if algorithm in tree.group_options("algorithm") \
        else {}
    unused = [f"training.{key} (read for another algorithm only)" for key in training if key in _ignored_keys(tree, own)]
    if "low_cpu_mem_usage" in (recipe.get("model") or {}):
        unused.append("model.low_cpu_mem_usage (transformers 5 always loads that way)")
    return unused


def _training_overrides(tree: ConfTree, training: dict, algorithm: str, completion_length=None) -> list:
    """`completion_length`: max_completion_length where the recipe does not set it (None: it does)."""
    known = [f.name for f in dataclasses.fields(TrainingConfig)]
    module = _algorithm_of(tree, algorithm)
    own = module.recipe_keys(algorithm)  # keys the recipe keeps in `training` for this algorithm option
    ignored = _ignored_keys(tree, own)
    fields = [f.name for f in dataclasses.fields(module.Settings)]
    if "max_completion_length" in fields and completion_length is not None:
        training = {"max_completion_length": completion_length, **training}
    out = []
    if training.get("early_stopping") and "load_best_model_at_end" not in training:
        out.append("training.load_best_model_at_end=true")  # FAI-RL's early stopping keeps the best checkpoint
    for key, value in training.items():
        if key in known:
            out.append(f"training.{key}={hydra_value(value)}")
        elif key in own:
            out.append(f"algorithm.{own[key]}={hydra_value(value)}")
        elif key in ignored:
            continue  # e.g. GSPO's keys in a GRPO recipe: the seed reads them "only when algorithm: gspo"
        elif key in fields:
            out.append(f"algorithm.{key}={hydra_value(value)}")
        else:
            raise ConfigError(f"unknown key 'training.{key}' in the recipe{did_you_mean(key, known)}; "
                              f"valid keys here: {', '.join(sorted(known))}, and the algorithm's own")
    return out


def _s3_overrides(s3: dict) -> list:
    """FAI-RL's s3 section, mapped onto fai-rl's upload section (nothing when enabled is false)."""
    for key in s3:
        if key not in S3_KEYS:
            raise ConfigError(f"unknown key 's3.{key}' in the recipe{did_you_mean(str(key), S3_KEYS)}; valid keys "
                              f"here: {', '.join(S3_KEYS)}")
    if not s3.get("enabled"):
        return []
    if not s3.get("bucket"):
        raise ConfigError("the recipe's s3 section is enabled but names no bucket; set s3.bucket")
    url = "s3://" + "/".join(str(p).strip("/") for p in (s3["bucket"], s3.get("prefix")) if p)
    values = {"url": url, "endpoint_url": s3.get("endpoint_url"), "region": s3.get("region"),
              "checkpoints": s3.get("upload_checkpoints", True), "final_model": s3.get("upload_final_model", True),
              "delete_local_after_upload": s3.get("delete_local_after_upload", False)}
    return [f"upload.{key}={hydra_value(value)}" for key, value in values.items()]


def _deepspeed_overrides(path) -> list:
    """FAI-RL's training.deepspeed_config: the user's JSON replaces the generated one; its ZeRO stage sets the
    hardware's (a file that cannot be read is reported by validation, naming hardware.deepspeed_config)."""
    out = [f"hardware.deepspeed_config={hydra_value(path)}"]
    try:
        return out + [f"hardware.zero_stage={user_stage(read_user_config(str(path)))}"]
    except (ConfigError, ValueError, TypeError):
        return out


RECIPE_KEY = re.compile(r"^(?P<section>model|data|training|wandb|s3)\.(?P<rest>[A-Za-z_]\w*(\[\d+\](\.[A-Za-z_]\w*)?)?)=")
STEP = re.compile(r"([A-Za-z_]\w*)(?:\[(\d+)\])?")


def split_overrides(overrides: list) -> tuple:
    """FAI-RL's command-line overrides (`data.datasets[0].name=...`, `model.use_lora=false`, `training.X=...`,
    `s3.X=...`, `wandb.X=...`: one key of a recipe section, or one field of one dataset) and fai-rl's own (anything
    else: hardware.dry_run=true, model.lora.r=8, hydra.run.dir=...), in their order."""
    recipe_keys, own = [], []
    for override in overrides:
        (recipe_keys if RECIPE_KEY.match(override) else own).append(override)
    return recipe_keys, own


def parsed_value(override: str, text: str):
    """The value of a command-line override as Hydra reads values (1e-5 a float, [a, b] a list, null None)."""
    try:
        value = OverridesParser.create().parse_override(f"value={text}").value()
    except OverrideParseException as err:
        raise ConfigError(f"cannot parse the override '{override}': {str(err).splitlines()[0]}")
    return OmegaConf.to_container(OmegaConf.create({"v": value}))["v"] if isinstance(value, (dict, list)) else value


def apply_overrides(recipe: dict, overrides: list) -> dict:
    """The recipe with FAI-RL-style overrides set in it, as FAI-RL applies them before it reads the recipe."""
    recipe = {k: (dict(v) if isinstance(v, dict) else v) for k, v in recipe.items()}
    for override in overrides:
        key, _, text = override.partition("=")
        value = parsed_value(override, text)
        section, path = key.split(".", 1)
        node = recipe.setdefault(section, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override '{override}': the recipe's {section} is not a section")
        (name, index), *deeper = STEP.findall(path)
        if not index:
            node[name] = value
            continue
        items = node.get(name)
        if not isinstance(items, list) or int(index) >= len(items) or not isinstance(items[int(index)], dict):
            count = len(items) if isinstance(items, list) else 0
            raise ConfigError(f"override '{override}': the recipe's {section}.{name} has {count} entries; use an "
                              f"index below {count}")
        node[name] = [dict(item) for item in items]
        node[name][int(index)][deeper[0][0]] = value
    return recipe


def _recipe_data(data: dict) -> dict:
    """The recipe's data with FAI-RL's defaults; a max_length at or below the default prompt budget (short texts
    for CPT or SFT, which never read it) halves the budget instead, so the recipe validates as it runs there."""
    out = {**RECIPE_DEFAULTS["data"], **data}
    if "max_prompt_length" not in data and out["max_prompt_length"] >= out["max_length"]:
        out["max_prompt_length"] = out["max_length"] // 2
    return out


def _math_overrides(recipe: dict, fields: list) -> list:
    """For an algorithm with rewards on math data (every dataset names an answer_column): FAI-RL's prompt and
    rewards, where the recipe sets neither."""
    data = recipe.get("data") or {}
    specs = data.get("datasets") or []
    if "rewards" not in fields or not specs or not all(isinstance(s, dict) and s.get("answer_column") for s in specs):
        return []
    out = [] if "prompt_template" in data else [f"data.prompt_template={MATH_PROMPT}"]
    if "rewards" not in (recipe.get("algorithm") or {}):
        out.append(f"algorithm.rewards={hydra_value(MATH_REWARDS)}")
    return out


def to_overrides(recipe: dict, tree: ConfTree) -> list:
    """The recipe as `fai-rl` command-line overrides, group choices first."""
    training = {**RECIPE_DEFAULTS["training"], **(recipe.get("training") or {})}
    algorithm = training.pop("algorithm", None)
    recipe = {**recipe, "data": _recipe_data(recipe.get("data") or {})}
    completion = None if "max_completion_length" in (recipe.get("algorithm") or {}) else \
        recipe["data"]["max_length"] - recipe["data"]["max_prompt_length"]  # FAI-RL: what the prompt leaves
    options = tree.group_options("algorithm")
    if algorithm not in options:
        raise ConfigError(f"'training.algorithm' in the recipe must be one of {', '.join(options)}, got {algorithm!r}")
    out = [f"algorithm={algorithm}", *_s3_overrides(dict(recipe.get("s3") or {}))]
    if "deepspeed_config" in training:
        out += _deepspeed_overrides(training.pop("deepspeed_config"))
    for section in ("model", "data", "wandb", "algorithm"):
        values = dict(recipe.get(section) or {})
        if section == "data":
            values.setdefault("eval_datasets", [])  # the recipe's data replaces the default data, eval split too
        keys = MODEL_KEYS if section == "model" else {}
        out += [f"{section}.{keys.get(key, key)}={hydra_value(value)}" for key, value in values.items()]
    out += _math_overrides(recipe, [f.name for f in dataclasses.fields(_algorithm_of(tree, algorithm).Settings)])
    return out + _training_overrides(tree, training, algorithm, completion)


GENERATION_KEYS = ("algorithm.steps_per_generation", "algorithm.generation.batch_size")


def fit_generation_batch(overrides: list, own: list, tree: ConfTree) -> tuple:
    """([override], note) that makes a generation round whole groups where the recipe's batch does not: FAI-RL's
    GSPO recipes (batch 1 x steps_per_generation 4 x 1 GPU = 4 completions, groups of 8), which TRL refuses.
    steps_per_generation becomes its smallest multiple that fits; the optimizer step keeps its size. Nothing when it
    fits, when the algorithm does not generate, or when the command line sets the generation batch itself."""
    try:
        cfg = compose(overrides + own, tree=tree)
    except (HydraException, OmegaConfBaseException):
        return [], None  # the run composes the same overrides and reports the problem
    a, t, h = cfg.algorithm, cfg.training, cfg.hardware
    if "num_generations" not in a or a.generation.batch_size is not None or \
            any(o.startswith(GENERATION_KEYS) for o in own):
        return [], None
    group, world = a.group_size or a.num_generations, (h.num_processes - h.vllm_gpus) * h.num_nodes
    steps = a.steps_per_generation or t.gradient_accumulation_steps
    batch = t.per_device_train_batch_size * steps * world
    if batch % group == 0:
        return [], None
    fitted = steps * group // math.gcd(group, batch)
    return [f"algorithm.steps_per_generation={fitted}"], (
        f"a generation round of per_device_train_batch_size x steps_per_generation x processes = "
        f"{t.per_device_train_batch_size} x {steps} x {world} = {batch} completions is no whole number of groups of "
        f"{group} (TRL refuses it), so steps_per_generation is {fitted}: "
        f"{t.per_device_train_batch_size * fitted * world // group} group(s) per round")


def hardware_overrides(num_gpus: int, preset: str | None, tree: ConfTree) -> list:
    """The seed's --num-gpus N: processes per node of `preset` (default: gpu for 1, gpu8_zero2 for more)."""
    if num_gpus < 1:
        raise ConfigError(f"--num-gpus must be >= 1, got {num_gpus}")
    preset = preset or ("gpu" if num_gpus == 1 else "gpu8_zero2")
    options = tree.group_options("hardware")
    if preset not in options:
        raise ConfigError(f"unknown hardware '{preset}'{did_you_mean(preset, options)}; "
                          f"valid hardware options: {', '.join(options)}")
    return [f"hardware={preset}", f"hardware.num_processes={num_gpus}"]
