"""Study orchestration: plain Python, usable from a notebook without Hydra or MLflow."""
