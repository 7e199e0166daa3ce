"""Static export: build time of `make export` and the exported site's size, raw and gzip.

Runs the operator's command, `make export API_URL=http://localhost:8000 EXPORT_DIR=<dir>`, timing
the whole command (wall clock; with --runs N, every run and the median). Run 1 starts from an
empty directory; later runs rebuild in the same one, as a repeated `make export` does. Then it
walks <dir>/frontend/: files, bytes, and gzip bytes (each file gzipped in memory at level 6, as a
static host or CDN compresses on the fly; already-compressed files such as .png or .woff2 count
their raw size). Reflex's own precompressed sidecars (`x.js.gz` next to `x.js`, level 9) are
not site content: they are counted apart, with the bytes a host serving them would send.

    .venv/bin/python -m bench.export_size [--runs 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_URL = "http://localhost:8000"
COMPRESSED = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".woff", ".woff2",
              ".gz", ".br", ".zst", ".zip"}
SIDECARS = (".gz", ".br", ".zst")
LARGEST = 8


def gzip_size(path: Path) -> int:
    """Bytes a host would send for `path` compressed at level 6 (raw size if already compressed)."""
    if path.suffix.lower() in COMPRESSED:
        return path.stat().st_size
    return len(gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))


def sidecar_size(path: Path, raw: int) -> int:
    """Bytes a host serving Reflex's `.gz` sidecars sends for `path` (raw when it has none)."""
    sidecar = path.with_name(path.name + ".gz")
    return sidecar.stat().st_size if sidecar.is_file() else raw


def kb(size: int) -> str:
    return f"{size / 1000:,.1f} KB"


def export(directory: Path) -> float:
    """Run `make export` into `directory`; wall seconds. Raises with its output if it fails."""
    command = ["make", "export", f"API_URL={API_URL}", f"EXPORT_DIR={directory}"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="exports to time (the median is reported)")
    parser.add_argument("--keep", type=Path, help="export into this new or empty directory and keep it")
    args = parser.parse_args()
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: not empty")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as scratch:
        directory = (args.keep or Path(scratch)).resolve()
        try:
            times = [export(directory) for _ in range(max(1, args.runs))]
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
        frontend = directory / "frontend"
        files = sorted(p for p in frontend.rglob("*") if p.is_file())
        sidecars = {p for p in files if p.suffix in SIDECARS and p.with_suffix("").is_file()}
        content = [p for p in files if p not in sidecars]
        sizes = {p: (p.stat().st_size, gzip_size(p)) for p in content}
        served = sum(sidecar_size(p, raw) for p, (raw, _) in sizes.items())
        sidecar_bytes = sum(p.stat().st_size for p in sidecars)
        raw_total = sum(raw for raw, _ in sizes.values())
        gzip_total = sum(gz for _, gz in sizes.values())
        skipped = sorted({p.suffix for p in content if p.suffix.lower() in COMPRESSED})
        largest = sorted(sizes.items(), key=lambda item: -item[1][0])[:LARGEST]

    make = f"make export API_URL={API_URL} EXPORT_DIR={args.keep or '<temp dir>'}"
    cores = len(os.sched_getaffinity(0))
    print(f"{datetime.date.today().isoformat()}, {cores} cores (nproc), `{make}`\n")
    print("| metric | value |\n|---|---|")
    runs = ", ".join(f"{t:.1f}" for t in times)
    print(f"| export wall time, median of {len(times)} | {statistics.median(times):.1f} s ({runs}) |")
    print(f"| files in frontend/ (without sidecars) | {len(content)} |")
    print(f"| total size | {kb(raw_total)} |")
    print(f"| total gzip -6 size | {kb(gzip_total)} ({gzip_total / raw_total:.0%}) |")
    print(f"| Reflex's precompressed sidecars | {len(sidecars)} files, {kb(sidecar_bytes)} |")
    print(f"| bytes served using the .gz sidecars | {kb(served)} |")
    print(f"\nAlready compressed, counted at raw size in the gzip figures: {', '.join(skipped) or 'none'}.\n")
    print(f"| {LARGEST} largest assets | raw | gzip -6 |\n|---|---:|---:|")
    for path, (raw, gz) in largest:
        print(f"| {path.relative_to(frontend)} | {kb(raw)} | {kb(gz)} |")
    print(f"\ncommand: .venv/bin/python -m bench.export_size {' '.join(sys.argv[1:])}".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
