"""The data map's real extraction, preceded by a few reported steps, so that a browser test can
watch the progress bar move (the demo store is small enough to extract in an instant)."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow.package.build import extract_with_datamap

STEPS = 8
STEP_SECONDS = 0.6


def extract(order: Any, *, out_dir: Path, progress: Callable[[int], None] | None = None) -> Any:
    for step in range(1, STEPS + 1):
        time.sleep(STEP_SECONDS)
        if progress is not None:
            progress(step * 100 // (STEPS + 1))
    return extract_with_datamap(order, out_dir=out_dir, progress=progress)
