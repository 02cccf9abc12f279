"""Console scripts (fai-rl, fai-rl-train, -eval, -generate, -report, background runs, faults).

Light by rule: nothing here imports torch, transformers, trl, datasets or peft, so `--help`, `--cfg job` and a
config error answer in well under a second. Heavy code is reached through fai_rl.launch (training) or, for
fai-rl-eval and fai-rl-generate, imported inside the function that needs it once the input is known good.
"""
