"""Time aslsign.ctc decoding on random (synthetic) log-probabilities.

The input is NOT model output: random logits of shape (steps, classes), default (200, 60) (the
59 ASLFR characters plus a blank, last), passed through log_softmax. Random scores make almost
every step start a new token, which is close to the worst case for the beam search's bookkeeping.
Prints the median of several runs per decoder, in milliseconds.

    python benchmarks/bench_ctc.py [--steps 200] [--classes 60] [--repeats 15] [--scale 3.0]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

import numpy as np

from aslsign.ctc import Decoded, beam_search_decode, greedy_decode, log_softmax


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs (after one warm-up run), in ms."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--classes", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--scale", type=float, default=3.0, help="logit standard deviation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    logits = rng.normal(size=(args.steps, args.classes)).astype(np.float32) * args.scale
    log_probs = log_softmax(logits)
    blank = args.classes - 1

    cases: list[tuple[str, Callable[[], Decoded]]] = [
        ("greedy_decode", lambda: greedy_decode(log_probs, blank=blank))
    ]
    for width in (4, 8, 16):
        beam = functools.partial(beam_search_decode, log_probs, blank=blank, beam_width=width)
        cases.append((f"beam_search_decode(beam_width={width})", beam))

    print(
        f"Input: random/synthetic log-probabilities, shape ({args.steps}, {args.classes}), "
        f"logit std {args.scale}, blank {blank}; median of {args.repeats} runs."
    )
    print(f"{'decoder':<36} {'ms':>9} {'tokens':>7}")
    for name, fn in cases:
        tokens = len(fn().tokens)
        print(f"{name:<36} {median_ms(fn, args.repeats):>9.3f} {tokens:>7}")


if __name__ == "__main__":
    main()
