"""Forward speed of our Swin-T@224 against HF transformers' SwinForImageClassification.

The peers are HF with its fused SDPA attention and HF with eager attention (explicit
QKᵀ, softmax and ·V, the straightforward reference path). All models run in this process
on the same input, in rotating order, and each figure is the median of per-round time
ratios, so machine noise hits every side alike. Also measures the overhead of capturing
one block's attention.

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
    def peer(attention: str) -> torch.nn.Module:
        hf_config = HFSwinConfig(
            image_size=args.img_size, embed_dim=config.embed_dim, depths=list(config.depths),
            num_heads=list(config.num_heads), window_size=config.window_size, num_labels=1000,
            layer_norm_eps=1e-5)
        hf_config._attn_implementation = attention
        return SwinForImageClassification(hf_config).eval()

    image = torch.randn(1, 3, args.img_size, args.img_size)
    hf_sdpa, hf_eager = peer("sdpa"), peer("eager")

    def captured() -> None:
        with capture_attention(ours, [(0, 1)]):
            ours(image)

    runs = {
        "ours": lambda: ours(image),
        "ours, capturing stage 1 block 2": captured,
        "HF transformers, SDPA": lambda: hf_sdpa(image),
        "HF transformers, eager": lambda: hf_eager(image),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    with torch.inference_mode():
        for run in runs.values():
            run(), run()
        for repeat in range(args.repeats):
            for name in order[repeat % len(order):] + order[:repeat % len(order)]:
                times[name].append(timed(runs[name]))

    def paired(numerator: str, denominator: str) -> float:
        return statistics.median(a / b for a, b in zip(times[numerator], times[denominator], strict=True))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"Swin-T @ {args.img_size}, batch 1, {args.repeats} rotating rounds")
    for name, values in times.items():
        print(f"{name:<34} median {statistics.median(values) * 1e3:7.1f} ms")
    print(f"ours / HF SDPA:   {paired('ours', 'HF transformers, SDPA'):.3f}")
    print(f"ours / HF eager:  {paired('ours', 'HF transformers, eager'):.3f}")
    print(f"capture overhead: {(paired('ours, capturing stage 1 block 2', 'ours') - 1) * 100:+.1f} %")


if __name__ == "__main__":
    main()
