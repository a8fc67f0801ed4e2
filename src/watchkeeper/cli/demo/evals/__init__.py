"""The demo systems' eval targets and golden sets, which the demo's operator lets the
scheduler run (WATCHKEEPER_EVAL_MODULES=watchkeeper.cli.demo.evals)."""
