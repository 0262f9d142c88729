"""Forward speed of our Swin against the official layout and HF transformers, on one CPU.

    python benchmarks/bench_forward.py [--rounds 20] [--cases t224,b384,t224x8] [--threads 2]

Cases: Swin-T at 224 (window 7, batch 1), Swin-B at 384 (window 12, batch 1) and Swin-T at
224 with batch 8. In each case every model holds the same weights (random, from a seeded HF
model converted to the official layout) and runs on the same input:

- **ours**: ``swin_model.SwinTransformer`` as the explorer runs it (eager);
- **official layout**: a faithful minimal re-implementation of the official Microsoft
  forward, written below (the official package is not installable here): roll ->
  window_partition -> WindowAttention with the bias gathered from its table and an explicit
  softmax with the mask -> window_reverse -> roll back, patch merging by the x0..x3 concat.
  It is a benchmark peer, not project code; its logits are checked against ours first;
- **HF**: transformers' ``SwinForImageClassification`` (SDPA attention);
- two variants of ours that were candidates and are measured so the choice stays
  visible: **ours, plain F.linear** (without the prepacked oneDNN linear and fused GELU of
  ``swin_model.packed_linear``) and **ours, traced+frozen** (``torch.jit.trace`` and
  ``torch.jit.freeze`` at this shape, which needs plain ``F.linear``; its build time is
  printed).

Timing: before every timed call the benchmark waits (at most ``--max-wait`` seconds) until
the kernel reports no other runnable process (``procs_running`` in /proc/stat is 1: this
one); calls that had to start anyway are counted. Each round runs every model once, in an
order that rotates from round to round; a figure "a / b" is the median over rounds of
the per-round time ratio, so a slow moment hits both sides of a pair alike.

Also printed: what issue 9 adds for the explorer, at Swin-T 224: one capture of every
block (:func:`swin_model.capture_all`) against a plain forward, the recomputation of one
block's attention from its input (:func:`swin_model.block_record`), and
``set_shifted`` / ``set_window_size`` against building a model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from torch import nn

from swin_model import SwinConfig, SwinTransformer, block_record, capture_all, preset
from swin_model.checkpoint import to_official
from swin_model.packed_linear import plain_linear

# --- the official layout (benchmark peer) ------------------------------------------------------


def official_window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """(B, H, W, C) -> (num_windows * B, M, M, C), as the official ``window_partition``."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)


def official_window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """(num_windows * B, M, M, C) -> (B, H, W, C), as the official ``window_reverse``."""
    B = int(windows.shape[0] / (H * W / window_size / window_size))
    x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


class OfficialWindowAttention(nn.Module):
    """The official ``WindowAttention``: bias gathered from the table on every call, explicit
    softmax, the mask added per window."""

    def __init__(self, dim: int, window_size: int, num_heads: int) -> None:
        super().__init__()
        self.window_size = (window_size, window_size)
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        coords = torch.stack(torch.meshgrid([torch.arange(window_size), torch.arange(window_size)],
                                            indexing="ij"))  # 2, Wh, Ww
        coords_flatten = torch.flatten(coords, 1)  # 2, Wh*Ww
        relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]  # 2, Wh*Ww, Wh*Ww
        relative_coords = relative_coords.permute(1, 2, 0).contiguous()  # Wh*Ww, Wh*Ww, 2
        relative_coords[:, :, 0] += window_size - 1
        relative_coords[:, :, 1] += window_size - 1
        relative_coords[:, :, 0] *= 2 * window_size - 1
        self.register_buffer("relative_position_index", relative_coords.sum(-1), persistent=False)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(
            self.window_size[0] * self.window_size[1], self.window_size[0] * self.window_size[1], -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
        attn = self.softmax(attn)
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


class OfficialMlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class OfficialBlock(nn.Module):
    """The official ``SwinTransformerBlock``: fixed input resolution, mask built at init."""

    def __init__(self, dim: int, resolution: tuple[int, int], num_heads: int, window_size: int,
                 shift_size: int, mlp_ratio: float) -> None:
        super().__init__()
        self.input_resolution = resolution
        self.window_size, self.shift_size = window_size, shift_size
        if min(resolution) <= window_size:
            self.shift_size, self.window_size = 0, min(resolution)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = OfficialWindowAttention(dim, self.window_size, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = OfficialMlp(dim, int(dim * mlp_ratio))
        attn_mask = None
        if self.shift_size > 0:
            H, W = resolution
            img_mask = torch.zeros((1, H, W, 1))
            slices = (slice(0, -self.window_size), slice(-self.window_size, -self.shift_size),
                      slice(-self.shift_size, None))
            cnt = 0
            for h in slices:
                for w in slices:
                    img_mask[:, h, w, :] = cnt
                    cnt += 1
            mask_windows = official_window_partition(img_mask, self.window_size)
            mask_windows = mask_windows.view(-1, self.window_size * self.window_size)
            attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
            attn_mask = attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)
        self.register_buffer("attn_mask", attn_mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = self.input_resolution
        B, _L, C = x.shape
        shortcut = x
        x = self.norm1(x).view(B, H, W, C)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        x_windows = official_window_partition(x, self.window_size)
        x_windows = x_windows.view(-1, self.window_size * self.window_size, C)
        attn_windows = self.attn(x_windows, mask=self.attn_mask)
        attn_windows = attn_windows.view(-1, self.window_size, self.window_size, C)
        x = official_window_reverse(attn_windows, self.window_size, H, W)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        x = shortcut + x.view(B, H * W, C)
        return x + self.mlp(self.norm2(x))


class OfficialMerging(nn.Module):
    def __init__(self, resolution: tuple[int, int], dim: int) -> None:
        super().__init__()
        self.input_resolution = resolution
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = self.input_resolution
        B, _L, C = x.shape
        x = x.view(B, H, W, C)
        x0 = x[:, 0::2, 0::2, :]
        x1 = x[:, 1::2, 0::2, :]
        x2 = x[:, 0::2, 1::2, :]
        x3 = x[:, 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1).view(B, -1, 4 * C)
        return self.reduction(self.norm(x))


class OfficialLayer(nn.Module):
    def __init__(self, blocks: list[OfficialBlock], downsample: OfficialMerging | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)


class OfficialPatchEmbed(nn.Module):
    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))  # B, Ph*Pw, C


class OfficialSwin(nn.Module):
    """The official ``SwinTransformer`` forward for one input size (state-dict compatible
    with ours; the index and mask buffers are not persistent)."""

    def __init__(self, config: SwinConfig) -> None:
        super().__init__()
        self.patch_embed = OfficialPatchEmbed(config.patch_size, config.in_chans, config.embed_dim)
        grid = config.img_size // config.patch_size
        self.layers = nn.ModuleList()
        for stage, depth in enumerate(config.depths):
            dim, side = config.stage_dim(stage), grid // 2 ** stage
            blocks = [OfficialBlock(dim, (side, side), config.num_heads[stage], config.window_size,
                                    0 if block % 2 == 0 else config.window_size // 2, config.mlp_ratio)
                      for block in range(depth)]
            last = stage == config.num_stages - 1
            self.layers.append(OfficialLayer(blocks, None if last else OfficialMerging((side, side), dim)))
        self.norm = nn.LayerNorm(config.num_features)
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(config.num_features, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)  # B, L, C
        x = torch.flatten(self.avgpool(x.transpose(1, 2)), 1)
        return self.head(x)


# --- timing ----------------------------------------------------------------------------------


def procs_running() -> int:
    """Runnable processes right now, this one included (the kernel's /proc/stat)."""
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("procs_running"):
                return int(line.split()[1])
    return 1


@dataclass
class Quiet:
    """Waits before each timed call until this is the only runnable process."""

    max_wait: float
    quiet_starts: int = 0
    forced_starts: int = 0

    def wait(self) -> None:
        deadline = time.perf_counter() + self.max_wait
        while procs_running() > 1:
            if time.perf_counter() > deadline:
                self.forced_starts += 1
                return
            time.sleep(0.001)
        self.quiet_starts += 1


def time_rounds(runs: dict[str, Callable[[], object]], rounds: int, quiet: Quiet) -> dict[str, list[float]]:
    """Seconds of every run in every round; each round runs everything once, in an order
    rotated by one from the previous round."""
    for run in runs.values():
        run()
        run()
    order = list(runs)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(rounds):
        shift = round_index % len(order)
        for name in order[shift:] + order[:shift]:
            quiet.wait()
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def paired(times: dict[str, list[float]], numerator: str, denominator: str) -> float:
    return statistics.median(a / b for a, b in zip(times[numerator], times[denominator], strict=True))


def relative_difference(found: torch.Tensor, expected: torch.Tensor) -> float:
    return float((found - expected).abs().max() / expected.abs().max())


# --- the cases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    label: str
    preset: str
    img_size: int
    window_size: int
    batch: int


CASES = {
    "t224": Case("Swin-T @ 224, window 7, batch 1", "swin-t", 224, 7, 1),
    "b384": Case("Swin-B @ 384, window 12, batch 1", "swin-b", 384, 12, 1),
    "t224x8": Case("Swin-T @ 224, window 7, batch 8", "swin-t", 224, 7, 8),
}


def shared_models(case: Case) -> tuple[SwinConfig, SwinTransformer, OfficialSwin, nn.Module]:
    """Ours, the official layout and HF (SDPA) holding the same random weights."""
    from transformers import SwinConfig as HFSwinConfig
    from transformers import SwinForImageClassification

    config = preset(case.preset, img_size=case.img_size, window_size=case.window_size)
    hf_config = HFSwinConfig(
        image_size=case.img_size, patch_size=config.patch_size, embed_dim=config.embed_dim,
        depths=list(config.depths), num_heads=list(config.num_heads), window_size=case.window_size,
        num_labels=config.num_classes, layer_norm_eps=1e-5)
    hf_config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    hf = SwinForImageClassification(hf_config).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in hf.parameters():  # HF starts its bias tables at zero: make them count
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.02)
    state = to_official(hf.state_dict(), "hf")
    ours = SwinTransformer(config).eval()
    ours.load_state_dict(state)
    official = OfficialSwin(config).eval()
    official.load_state_dict(state)
    return config, ours, official, hf


def frozen_trace(model: SwinTransformer, image: torch.Tensor) -> tuple[torch.jit.ScriptModule, float]:
    start = time.perf_counter()
    with torch.no_grad(), plain_linear(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = torch.jit.freeze(torch.jit.trace(model, image, check_trace=False))
        graph(image)
    return graph, time.perf_counter() - start


def bench_case(case: Case, rounds: int, quiet: Quiet) -> None:
    config, ours, official, hf = shared_models(case)
    image = torch.randn(case.batch, config.in_chans, case.img_size, case.img_size,
                        generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        logits = ours(image)
        official_gap = relative_difference(official(image), logits)
        hf_gap = relative_difference(hf(pixel_values=image).logits, logits)
    if official_gap > 1e-5:
        raise SystemExit(f"the official-layout peer disagrees with ours: max relative difference "
                         f"{official_gap:.2e}")
    graph, build_seconds = frozen_trace(ours, image)

    def plain() -> None:
        with plain_linear():
            ours(image)

    runs: dict[str, Callable[[], object]] = {
        "ours": lambda: ours(image),
        "official layout": lambda: official(image),
        "HF (SDPA)": lambda: hf(pixel_values=image),
        "ours, plain F.linear": plain,
        "ours, traced+frozen": lambda: graph(image),
    }
    before = (quiet.quiet_starts, quiet.forced_starts)
    with torch.inference_mode():
        times = time_rounds(runs, rounds, quiet)
    print(f"\n{case.label}: {rounds} paired rounds, {quiet.quiet_starts - before[0]} quiet starts, "
          f"{quiet.forced_starts - before[1]} started after waiting {quiet.max_wait} s")
    print(f"  logits vs ours, max relative difference: official layout {official_gap:.1e}, "
          f"HF {hf_gap:.1e}; traced+frozen build {build_seconds:.2f} s")
    for name, values in times.items():
        print(f"  {name:<22} median {statistics.median(values) * 1e3:8.1f} ms   "
              f"/ official {paired(times, name, 'official layout'):.3f}   "
              f"/ HF {paired(times, name, 'HF (SDPA)'):.3f}   / ours {paired(times, name, 'ours'):.3f}")


def bench_explorer_paths(rounds: int, quiet: Quiet) -> None:
    """What the explorer gains: one run for every block, and no rebuild on shift or window."""
    config = preset("swin-t")
    torch.manual_seed(0)
    model = SwinTransformer(config).eval()
    image = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    changing = SwinTransformer(config).eval()  # the one whose shift and window change
    with torch.inference_mode():
        inputs = capture_all(model, image, mode="inputs").inputs
    shifted = [True]

    def toggle_shift() -> None:
        shifted[0] = not shifted[0]
        changing.set_shifted(shifted[0])

    windows_cycle = [8, 7]

    def change_window() -> None:
        windows_cycle.reverse()
        changing.set_window_size(windows_cycle[0])

    def build() -> None:
        torch.manual_seed(0)
        SwinTransformer(config).eval()

    runs: dict[str, Callable[[], object]] = {
        "plain forward": lambda: model(image),
        "capture_all, every block's attention": lambda: capture_all(model, image, mode="attention"),
        "capture_all, inputs only": lambda: capture_all(model, image, mode="inputs"),
        "block_record (stage 1, block 2)": lambda: block_record(model, 0, 1, inputs[(0, 1)]),
        "block_record (stage 3, block 6)": lambda: block_record(model, 2, 5, inputs[(2, 5)]),
        "set_shifted": toggle_shift,
        "set_window_size (7 <-> 8)": change_window,
        "SwinTransformer(config) build": build,
    }
    with torch.inference_mode():
        times = time_rounds(runs, rounds, quiet)
    print(f"\nExplorer paths, Swin-T @ 224, batch 1 ({rounds} rounds)")
    for name, values in times.items():
        print(f"  {name:<38} median {statistics.median(values) * 1e3:8.2f} ms   "
              f"/ plain forward {paired(times, name, 'plain forward'):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument("--max-wait", type=float, default=2.0,
                        help="seconds to wait for a quiet machine before each timed call")
    parser.add_argument("--no-explorer", action="store_true", help="skip the capture / set_* timings")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    quiet = Quiet(args.max_wait)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32 CPU")
    for name in args.cases.split(","):
        bench_case(CASES[name], args.rounds, quiet)
    if not args.no_explorer:
        bench_explorer_paths(args.rounds, quiet)


if __name__ == "__main__":
    main()
