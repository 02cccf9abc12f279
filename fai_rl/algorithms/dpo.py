"""DPO — Direct Preference Optimization (Rafailov et al., 2023, arXiv:2305.18290) on TRL's DPOTrainer."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import List, Literal, Optional, Union

from fai_rl.algorithms._contract import MemoryProfile
from fai_rl.config.schema import AlgorithmConfig, redefault, setting
from fai_rl.errors import ConfigError

F_DIVERGENCE_LOSSES = ("sigmoid", "sigmoid_norm", "hinge", "ipo", "exo_pair", "robust", "discopop", "sft")
OBJECTIVE = "eval_rewards/accuracies"  # summary metric a sweep maximises by default
TRAIN_REWARD = None  # no reward model or function: the alarm has nothing to watch

LossType = Literal["sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
                   "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm"]


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "dpo")
    trainer: str = redefault(AlgorithmConfig, "trainer", "dpo")
    beta: float = setting(0.1, "Deviation from the reference policy (> 0; higher stays closer to it); IPO's tau "
                               "for loss_type=ipo.")
    loss_type: Union[LossType, List[LossType]] = setting(
        "sigmoid", "TRL's loss names: sigmoid = DPO (Rafailov et al., 2023), ipo = IPO (arXiv:2310.12036), hinge, "
                   "robust, apo_zero, ...; or a list combined with loss_weights, e.g. [sigmoid, bco_pair, sft] = "
                   "MPO (arXiv:2411.10442).")
    loss_weights: Optional[List[float]] = setting(None, "Weights of a loss_type list, one each; null: 1 for every "
                                                        "loss.")
    label_smoothing: float = setting(0.0, "Robust DPO / EXO: probability that a preference label is flipped, "
                                          "in [0, 0.5).")
    f_divergence_type: Literal["reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"] = setting(
        "reverse_kl", "f-DPO's divergence between policy and reference (Wang et al., 2023, arXiv:2309.16240); "
                      "a non-default one only with the losses built on the chosen-rejected difference (sigmoid, "
                      "sigmoid_norm, hinge, ipo, exo_pair, robust, discopop, sft).")
    f_alpha_divergence_coef: float = setting(0.5, "alpha of alpha_divergence.")
    use_weighting: bool = setting(False, "WPO: weight pairs by the policy's length-normalised probabilities "
                                         "(Zhou et al., 2024, arXiv:2406.11827).")
    sync_ref_model: bool = setting(False, "TR-DPO: move the reference towards the policy every ref_model_sync_steps "
                                          "(Gorbatovski et al., 2024, arXiv:2404.09656); needs "
                                          "precompute_ref_log_probs=false and no LoRA.")
    ref_model_mixup_alpha: float = setting(0.6, "TR-DPO's alpha: reference = alpha x policy + (1 - alpha) x "
                                                "reference, in [0, 1].")
    ref_model_sync_steps: int = setting(512, "TR-DPO's tau: steps between reference updates (> 0).")
    precompute_ref_log_probs: bool = setting(True, "Compute the reference log-probs once before training and keep "
                                                   "no reference model (bench: same result, faster).")


def check(run) -> None:
    a = run.algorithm
    if a.beta <= 0:
        raise ConfigError(f"'algorithm.beta' must be > 0, got {a.beta}")
    if not 0.0 <= a.label_smoothing < 0.5:
        raise ConfigError(f"'algorithm.label_smoothing' must be in [0, 0.5), got {a.label_smoothing}")
    if a.f_divergence_type != "reverse_kl":
        plain = [name for name in loss_types(a) if name not in F_DIVERGENCE_LOSSES]
        if plain:
            raise ConfigError(f"'algorithm.f_divergence_type={a.f_divergence_type}' works only with the losses "
                              f"{', '.join(F_DIVERGENCE_LOSSES)}; algorithm.loss_type has {', '.join(plain)}")
    if a.sync_ref_model and (a.precompute_ref_log_probs or run.model.lora.enabled):
        raise ConfigError("'algorithm.sync_ref_model' (TR-DPO) updates a reference model, which "
                          "algorithm.precompute_ref_log_probs=true and LoRA do without: set "
                          "algorithm.precompute_ref_log_probs=false (and model.lora.enabled=false)")
    if not 0.0 <= a.ref_model_mixup_alpha <= 1.0 or a.ref_model_sync_steps <= 0:
        raise ConfigError(f"'algorithm.ref_model_mixup_alpha' must be in [0, 1] (got {a.ref_model_mixup_alpha}) and "
                          f"'algorithm.ref_model_sync_steps' > 0 (got {a.ref_model_sync_steps})")
    losses = loss_types(a)
    if not losses:
        raise ConfigError("'algorithm.loss_type' is an empty list; give a loss name or a list of them, e.g. sigmoid")
    if a.loss_weights is not None and len(a.loss_weights) != len(losses):
        raise ConfigError(f"'algorithm.loss_weights' has {len(a.loss_weights)} weight(s) for {len(losses)} loss(es) "
                          f"in algorithm.loss_type ({', '.join(losses)}); give one weight per loss")


def loss_types(settings: Settings) -> list:
    return list(settings.loss_type) if isinstance(settings.loss_type, list) else [settings.loss_type]


def examples_per_row(settings: Settings) -> int:
    return 1  # one preference pair per row


def memory_profile(run) -> MemoryProfile:
    """A reference model unless its log-probs are precomputed (TR-DPO keeps one to update); a row is a chosen and
    a rejected response, each up to data.max_length."""
    a = run.algorithm
    return MemoryProfile(reference_model=not a.precompute_ref_log_probs or a.sync_ref_model, tokens_per_row=2 * run.data.max_length)


def generation_server(run) -> None:
    return None  # samples nothing


def recipe_keys(name: str) -> dict:
    return {}  # FAI-RL recipes' training.* keys it reads are its own algorithm.* fields


def load_data(run, tokenizer):
    from fai_rl.data.preference import load_preference_data  # heavy (datasets)

    train = load_preference_data(run.data.datasets, run.data, tokenizer)
    evals = (load_preference_data(run.data.eval_datasets, run.data, tokenizer, "data.eval_datasets")
             if run.data.eval_datasets else None)
    return train, evals


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    return _trainer(run, model, tokenizer, train_ds, eval_ds, args, peft_config=peft_config)


def _trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None, ref_model=None):
    from trl import DPOConfig, DPOTrainer  # heavy: imported when a trainer is built, not while validating

    a = run.algorithm
    config = DPOConfig(**args, beta=a.beta, loss_type=loss_types(a), loss_weights=a.loss_weights,
                       label_smoothing=a.label_smoothing, f_divergence_type=a.f_divergence_type,
                       f_alpha_divergence_coef=a.f_alpha_divergence_coef, use_weighting=a.use_weighting,
                       sync_ref_model=a.sync_ref_model, ref_model_mixup_alpha=a.ref_model_mixup_alpha,
                       ref_model_sync_steps=a.ref_model_sync_steps,
                       precompute_ref_log_probs=a.precompute_ref_log_probs, max_length=run.data.max_length)
    return DPOTrainer(model=model, args=config, train_dataset=train_ds, eval_dataset=eval_ds,
                      processing_class=tokenizer, peft_config=peft_config, ref_model=ref_model)


def policy_preference(trainer) -> dict:
    """Share of eval pairs whose chosen response has the higher log-probability under the policy.

    TRL's reward accuracy is 0 before training by construction (policy = reference); this one is meaningful
    before and after.
    """
    import torch  # heavy: only inside a running trainer

    model = trainer.model
    was_training = model.training
    model.eval()
    wins, margins = [], []
    with torch.no_grad():
        for batch in trainer.get_eval_dataloader():
            batch = trainer._prepare_inputs(batch)
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
            targets = batch["input_ids"][:, 1:]
            token_logps = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            logps = (token_logps * batch["completion_mask"][:, 1:]).sum(dim=1)
            chosen, rejected = logps.chunk(2)
            wins.append(trainer.accelerator.gather_for_metrics((chosen > rejected).float()))
            margins.append(trainer.accelerator.gather_for_metrics(chosen - rejected))
    model.train(was_training)
    wins, margins = torch.cat(wins), torch.cat(margins)
    return {"eval_policy_preference": wins.mean().item(), "eval_policy_logp_margin": margins.mean().item()}


def evaluate(trainer) -> dict:
    metrics = trainer.evaluate()
    metrics.update(policy_preference(trainer))
    return metrics


HEADLINE = ["eval_rewards/accuracies", "eval_rewards/margins", "eval_policy_preference", "eval_loss"]


def reference_for_eval(run, model_path: str) -> tuple:
    """(name, model) of the reference a saved model is scored against in fai-rl-eval: evaluation.reference_model,
    else the base model it was trained from (DPO, KTO)."""
    from fai_rl.models.loading import load_model, resolve_model_path, trained_from  # heavy (torch)

    reference = run.evaluation.reference_model or trained_from(model_path)
    if reference is None:
        raise ConfigError(f"'{run.model.base_model_name}' does not record its base model; set "
                          "evaluation.reference_model to the reference policy (e.g. the model before training)")
    ref_cfg = dataclasses.replace(run.model, base_model_name=reference)
    return reference, load_model(ref_cfg, run.hardware, resolve_model_path(reference))


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on preference data: TRL's reward accuracy/margin against the reference, and policy preference."""
    reference, ref_model = reference_for_eval(run, model_path)
    trainer = _trainer(run, model, tokenizer, eval_ds, eval_ds, args, ref_model=ref_model)
    metrics = evaluate(trainer)
    metrics["reference_model"] = reference
    return metrics
