"""Run every benchmark in bench/ (files named bench_*.py, each with a ``main()``) and print its
figures beside their baselines. Benchmarks measure; tests assert behaviour."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    only = set(argv)
    benches = sorted(p for p in (ROOT / "bench").glob("bench_*.py") if not only or p.stem in only)
    if not benches:
        print("No benchmarks yet: later issues add bench/bench_*.py files.")
        return 0
    for path in benches:
        print(f"== {path.stem} ==", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
