"""The run spec: the typed schema (every field with its help), building and validating a composed config, the
values derived from it, the resolved config every rank reads, secrets kept out of files, and the run directory's
files. Light by rule: no torch, transformers or TRL here."""
from fai_rl.config.resolved import load_run, write_resolved_config
from fai_rl.config.run_files import RunFiles, run_files
from fai_rl.config.schema import RunConfig
from fai_rl.config.secrets import redact
from fai_rl.config.validate import validate

__all__ = ["RunConfig", "RunFiles", "load_run", "redact", "run_files", "validate", "write_resolved_config"]
