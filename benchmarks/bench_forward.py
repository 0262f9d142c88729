"""Forward speed of our Swin-T@224 against HF transformers' SwinForImageClassification.

Both models run in this process on the same input, in alternating order, and the figure is
the median of per-pair time ratios, so machine noise hits both sides alike. Also measures
the overhead of capturing one block's attention.

    python benchmarks/bench_forward.py [--repeats 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from swin_model import SwinTransformer, capture_attention, preset


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--img-size", type=int, default=224)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from transformers import SwinConfig as HFSwinConfig
    from transformers import SwinForImageClassification

    config = preset("swin-t", img_size=args.img_size)
    torch.manual_seed(0)
    ours = SwinTransformer(config).eval()
    peer = SwinForImageClassification(HFSwinConfig(
        image_size=args.img_size, embed_dim=config.embed_dim, depths=list(config.depths),
        num_heads=list(config.num_heads), window_size=config.window_size, num_labels=1000,
        layer_norm_eps=1e-5)).eval()
    image = torch.randn(1, 3, args.img_size, args.img_size)

    def captured() -> None:
        with capture_attention(ours, [(0, 1)]):
            ours(image)

    ours_times, peer_times, capture_times = [], [], []
    with torch.inference_mode():
        for _ in range(3):
            ours(image), peer(image), captured()
        for repeat in range(args.repeats):
            if repeat % 2:
                ours_times.append(timed(lambda: ours(image)))
                peer_times.append(timed(lambda: peer(image)))
            else:
                peer_times.append(timed(lambda: peer(image)))
                ours_times.append(timed(lambda: ours(image)))
            capture_times.append(timed(captured))

    def median_ms(values: list[float]) -> float:
        return statistics.median(values) * 1e3

    ratio = statistics.median(o / p for o, p in zip(ours_times, peer_times, strict=True))
    overhead = statistics.median(c / o for c, o in zip(capture_times, ours_times, strict=True)) - 1
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"Swin-T @ {args.img_size}, batch 1, {args.repeats} alternating repeats")
    print(f"ours (fused SDPA path): median {median_ms(ours_times):7.1f} ms")
    print(f"HF transformers:        median {median_ms(peer_times):7.1f} ms")
    print(f"ours / HF, median of paired ratios: {ratio:.3f}")
    print(f"capturing block (stage 1, block 2): median {median_ms(capture_times):7.1f} ms, "
          f"overhead {overhead * 100:+.1f} %")


if __name__ == "__main__":
    main()
