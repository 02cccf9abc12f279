"""Answer a dataset's prompts with local models (one or several checkpoints) or API models, resumably:
`fai-rl-inference` and `fai-rl-eval --recipe` (FAI-RL's recipes; fai_rl/cli/inference_recipe.py reads them)."""
