"""One module per command: each builds its spec from the composed config and runs it.

Each Hydra-run command module has ``run(config, out_dir, job) -> Outcome``
(:mod:`ctdc_risk.cli.run`); ``audit`` reads a finished folder and runs outside Hydra.
"""
