"""fai-rl's benchmarks (`make bench`): overhead over plain TRL, responsiveness, faster defaults, scaling, growth,
memory."""
