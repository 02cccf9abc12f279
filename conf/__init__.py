"""conf/ ships in the wheel as the package fai_rl.conf (pyproject.toml); fai_rl.cli.compose finds it."""
