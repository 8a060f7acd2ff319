"""Benchmark: tuner's streamed file upload against a plain httpx upload of the same file.

    python benchmarks/upload.py                  # 500 MB (the platform's limit is 512 MB)
    python benchmarks/upload.py --size-mb 100    # smaller, to see how the figures scale
    python benchmarks/upload.py --rounds 3       # alternate the order, keep the best time

Makes a seeded synthetic, valid fine-tuning JSONL file of ``--size-mb`` MiB in a temporary
directory and starts a sandbox (``start_in_thread`` on 127.0.0.1, a free port) in a child
process, so that the server's work and memory are not the client's. Then each upload runs in
its own fresh child process, so its peak RSS is its own:

(a) tuner: ``TunerClient.files.upload(path, progress=...)`` (one attempt, no retries);
(b) httpx: ``httpx.Client().post(url, files={"file": (name, file)}, data={"purpose": ...})``,
    the plain way; httpx sends a ``Content-Length`` (it ``fstat``s the file) and reads the file
    64 KiB at a time while sending, so it streams too, without progress reporting.

Two more children only import what (a) and (b) import: the baseline RSS, so the difference is
what the upload itself costs. The two uploads use different file names so that neither is
answered with the other's stored copy (the sandbox returns an existing file with the same name
and content); each uploaded file is deleted again once measured.

"sent" is the time from the request's start until the last byte of the file was handed to the
socket (tuner: the progress callback reports the whole file; httpx: the file read hits EOF,
which httpx does right after writing the last chunk; either way up to the few MB the kernel's
socket buffers hold may still be in flight). "total" adds the sandbox's answer, which
comes after it has validated the file with tuner's validator (rules only, no token counting);
on a large file that validation takes most of the total. The sending rate is bounded by the
sandbox too: it parses, hashes and writes the body to disk as it arrives.

Peak RSS is ``ru_maxrss`` of the child (``getrusage(RUSAGE_SELF)`` at its end) and the kernel's
``VmHWM`` of the same process; the larger of the two is checked against the target: the client's
peak RSS under 150 MB during a 500 MB upload. Exits 1 when the target is missed or an upload
fails.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from support import run_child as run_child_process
from support import sandbox_process

API_KEY = "bench-key"
MIB = 2**20
# tuner.sandbox.app.MAX_UPLOAD_BYTES; not imported: this parent process stays small (_rss_now).
PLATFORM_LIMIT = 512 * MIB
TARGET_RSS_MB = 150
UPLOAD_TIMEOUT = 3600.0  # seconds for a read or a write; validation of 500 MB takes a while
CHILD_TIMEOUT = 3 * 3600.0
METHODS = ("tuner", "httpx")

# ----------------------------------------------------------------------------- data

_SYLLABLES = [
    "ka", "lo", "ri", "mon", "tes", "va", "del", "pra", "qui", "zen", "ul", "ber", "sa", "tor",
    "ni", "fe", "gra", "ost", "lim", "du", "cha", "wei", "ré", "ça", "über", "niño", "ß", "ø",
]  # fmt: skip
_EXTRA = ["数据", "模型", "こんにちは", "Привет", "مرحبا", "🙂", "naïve", "42", "3.14"]


def _vocabulary(rng: random.Random) -> list[str]:
    words = ["".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(5000)]
    return words + _EXTRA


def _text(rng: random.Random, vocab: list[str], low: int, high: int) -> str:
    return " ".join(rng.choices(vocab, k=rng.randint(low, high))).capitalize() + "."


def _conversation(rng: random.Random, vocab: list[str]) -> dict[str, object]:
    messages: list[dict[str, str]] = []
    if rng.random() < 0.4:
        messages.append({"role": "system", "content": _text(rng, vocab, 10, 60)})
    for _ in range(rng.randint(1, 4)):
        messages.append({"role": "user", "content": _text(rng, vocab, 5, 80)})
        messages.append({"role": "assistant", "content": _text(rng, vocab, 20, 200)})
    return {"messages": messages}


def make_file(path: Path, target_bytes: int, seed: int = 1234) -> int:
    """Write valid instruct conversations until ``target_bytes`` is reached; the line count."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    written = lines = 0
    with path.open("wb") as handle:
        while written < target_bytes:  # every line adds bytes, so this ends
            batch = b"".join(
                json.dumps(_conversation(rng, vocab), ensure_ascii=False).encode() + b"\n"
                for _ in range(256)
            )
            handle.write(batch)
            written += len(batch)
            lines += 256
    return lines


# ----------------------------------------------------------------------------- children


def _rss_now() -> dict[str, int]:
    """This process's peak RSS in bytes: ``ru_maxrss`` and the kernel's ``VmHWM``.

    ``ru_maxrss`` survives ``execve``: a child forked from a big parent may report the
    parent's size. ``VmHWM`` belongs to this process's own address space. The parent of these
    children imports nothing but the standard library, so the two normally agree.
    """
    hwm = 0
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"ru_maxrss": maxrss, "vmhwm": hwm}


class _TimedReader(io.BufferedReader):
    """``open(path, "rb")`` that notes when a read first returns nothing (EOF)."""

    eof_at: float | None = None
    reads = 0
    largest = 0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.reads += 1
        self.largest = max(self.largest, len(chunk))
        if not chunk and self.eof_at is None:
            self.eof_at = time.perf_counter()
        return chunk


def _child_tuner(url: str, path: str, upload: bool) -> dict[str, object]:
    import asyncio

    from tuner.api import RetryPolicy, Timeouts, TunerClient

    if not upload:
        return {}

    async def run() -> dict[str, object]:
        marks: dict[str, float] = {}
        calls = 0

        def progress(sent: int, total: int) -> None:
            nonlocal calls
            calls += 1
            if sent == total and "sent" not in marks:
                marks["sent"] = time.perf_counter()

        async with TunerClient(
            [API_KEY],
            base_url=url,
            retry=RetryPolicy(max_attempts=1),
            timeouts=Timeouts(upload=UPLOAD_TIMEOUT),
        ) as client:
            start = time.perf_counter()
            uploaded = await client.files.upload(
                path, filename="bench-tuner.jsonl", progress=progress
            )
            done = time.perf_counter()
        return {
            "id": uploaded.id,
            "bytes": uploaded.size_bytes,
            "status": 200,
            "sent_s": marks.get("sent", done) - start,
            "total_s": done - start,
            "detail": f"{calls:,} progress calls",
        }

    return asyncio.run(run())


def _child_httpx(url: str, path: str, upload: bool) -> dict[str, object]:
    import httpx

    if not upload:
        return {}
    timeout = httpx.Timeout(connect=5.0, read=UPLOAD_TIMEOUT, write=UPLOAD_TIMEOUT, pool=10.0)
    with (
        httpx.Client(timeout=timeout, headers={"Authorization": f"Bearer {API_KEY}"}) as http,
        _TimedReader(io.FileIO(path, "rb")) as handle,
    ):
        start = time.perf_counter()
        response = http.post(
            f"{url}/v1/files",
            files={"file": ("bench-httpx.jsonl", handle)},
            data={"purpose": "fine-tune"},
        )
        done = time.perf_counter()
        framing = response.request.headers.get("content-length", "chunked")
    body = response.json() if response.status_code == 200 else {}
    return {
        "id": body.get("id"),
        "bytes": body.get("bytes"),
        "status": response.status_code,
        "sent_s": (handle.eof_at or done) - start,
        "total_s": done - start,
        "detail": (
            f"{handle.reads:,} reads of <= {handle.largest // 1024} KiB; Content-Length {framing}"
        ),
    }


def child_main(mode: str, url: str, path: str) -> int:
    method, _, kind = mode.partition("-")
    upload = kind != "import"
    run = _child_tuner if method == "tuner" else _child_httpx
    result = run(url, path, upload)
    result.update(_rss_now())
    print(json.dumps(result), flush=True)
    return 0


# ----------------------------------------------------------------------------- parent


def run_child(mode: str, url: str, path: Path) -> dict[str, object]:
    return run_child_process(__file__, [mode, url, str(path)], label=mode, timeout=CHILD_TIMEOUT)


def delete_file(url: str, file_id: object) -> None:
    if not isinstance(file_id, str):
        return
    request = urllib.request.Request(  # always http://127.0.0.1
        f"{url}/v1/files/{file_id}",
        method="DELETE",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


def _mb(value: object) -> float:
    assert isinstance(value, int)
    return value / MIB


def _peak(result: dict[str, object]) -> int:
    return max(int(str(result["ru_maxrss"])), int(str(result["vmhwm"])))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=500, help="File size in MiB (500).")
    parser.add_argument("--rounds", type=int, default=1, help="Uploads per method (1).")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "URL", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(*args.child)

    target = int(args.size_mb * MIB)
    if not 0 < target <= PLATFORM_LIMIT - MIB:
        parser.error(f"--size-mb must be above 0 and below {PLATFORM_LIMIT // MIB - 1}")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be between 1 and 10")

    with tempfile.TemporaryDirectory(prefix="tuner-bench-upload-") as tmp:
        root = Path(tmp)
        path = root / "train.jsonl"
        print(f"writing {args.size_mb:g} MiB of conversations …", flush=True)
        started = time.perf_counter()
        lines = make_file(path, target, seed=args.seed)
        size = path.stat().st_size
        print(
            f"file: {size:,} bytes ({size / MIB:,.1f} MiB, {lines:,} conversations, "
            f"written in {time.perf_counter() - started:.1f} s); platform limit "
            f"{PLATFORM_LIMIT / MIB:g} MiB"
        )

        runs: dict[str, list[dict[str, object]]] = {m: [] for m in METHODS}
        baselines: dict[str, dict[str, object]] = {}
        with sandbox_process(root / "sandbox") as sandbox:
            for method in METHODS:
                baselines[method] = run_child(f"{method}-import", sandbox.url, path)
            for round_index in range(args.rounds):
                order = METHODS if round_index % 2 == 0 else METHODS[::-1]
                for method in order:
                    print(f"round {round_index + 1}: uploading with {method} …", flush=True)
                    result = run_child(f"{method}-upload", sandbox.url, path)
                    runs[method].append(result)
                    if result["status"] == 200:
                        delete_file(sandbox.url, result["id"])
        return report(size, runs, baselines, sandbox.peak)


def report(
    size: int,
    runs: dict[str, list[dict[str, object]]],
    baselines: dict[str, dict[str, object]],
    server: dict[str, int] | None,
) -> int:
    ok = True
    best: dict[str, dict[str, float]] = {}
    cost: dict[str, float] = {}
    print()
    header = (
        f"{'method':<7} {'sent s':>8} {'MB/s':>7} {'total s':>8} {'MB/s':>7} "
        f"{'ru_maxrss':>10} {'VmHWM':>8} {'imports':>8} {'upload':>8}  notes"
    )
    print(header)
    print("-" * len(header))
    for method in METHODS:
        base = _peak(baselines[method])
        for result in runs[method]:
            status = result["status"]
            if status != 200 or result["bytes"] != size:
                print(f"{method:<7} FAILED: HTTP {status}, {result['bytes']} bytes stored")
                ok = False
                continue
            sent = float(str(result["sent_s"]))
            total = float(str(result["total_s"]))
            peak = _peak(result)
            print(
                f"{method:<7} {sent:8.2f} {size / MIB / sent:7.1f} {total:8.2f} "
                f"{size / MIB / total:7.1f} {_mb(result['ru_maxrss']):7.1f} MB "
                f"{_mb(result['vmhwm']):5.1f} MB {base / MIB:5.1f} MB "
                f"{(peak - base) / MIB:+5.1f} MB"
                f"  {result['detail']}"
            )
            entry = best.setdefault(method, {"sent": sent, "total": total, "peak": peak})
            entry["sent"] = min(entry["sent"], sent)
            entry["total"] = min(entry["total"], total)
            entry["peak"] = max(entry["peak"], peak)
            cost[method] = max(cost.get(method, 0.0), (peak - base) / MIB)
    print(
        "(sent: until the last file byte went to the socket; total: until the sandbox answered, "
        "after validating the file. MB = MiB. imports: a child that only imports the same "
        "modules; upload: peak minus that.)"
    )
    if server:
        print(
            f"sandbox process peak RSS {server['maxrss'] / MIB:.1f} MB (the server, not counted "
            "as the client's; its validator workers are separate processes)"
        )
    if len(best) == len(METHODS):
        ours, theirs = best["tuner"], best["httpx"]
        print(
            f"tuner/httpx: sent time {ours['sent'] / theirs['sent']:.2f}x, "
            f"total time {ours['total'] / theirs['total']:.2f}x, "
            f"peak RSS {ours['peak'] / theirs['peak']:.2f}x (below 1: tuner faster or smaller); "
            f"memory of the upload itself: tuner {cost['tuner']:+.1f} MB, "
            f"httpx {cost['httpx']:+.1f} MB"
        )
        if len(runs["tuner"]) > 1:
            spread = statistics.pstdev(float(str(r["sent_s"])) for r in runs["tuner"])
            print(f"(best of {len(runs['tuner'])} rounds; tuner sent-time spread {spread:.2f} s)")
    if "tuner" in best:
        peak_mb = best["tuner"]["peak"] / MIB
        verdict = "PASS" if peak_mb < TARGET_RSS_MB else "FAIL"
        ok = ok and verdict == "PASS"
        print(
            f"target: client peak RSS < {TARGET_RSS_MB} MB while uploading {size / MIB:.0f} MB: "
            f"{verdict} (tuner {peak_mb:.1f} MB)"
        )
    else:
        print(f"target: client peak RSS < {TARGET_RSS_MB} MB: FAIL (the tuner upload failed)")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
