"""Achievable (not peak) memory bandwidth and tensor throughput, by GPU family and operation size.

Datasheet peaks are never reached: BabelStream gets 79-95% of the HBM peak, and cuBLASLt gets 14% of
the FP8 peak on a 1024-cubed GEMM and about 70% on big ones. The fractions, their low-high band and
the measurement rows they come from live in ``catalogs/calibration.toml`` (section ``efficiency``).
GPU families without a measurement (GDDR cards, AMD Instinct, Gaudi, Volta, Blackwell memory) use a
documented assumption with a wider band; :func:`assumption_notes` says which.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpuplanner.core.calibration import Band, Efficiency, GemmClass, MemoryClass, banded, calibration
from gpuplanner.core.specs import GpuSpec

# When a GPU has no tensor cores for a dtype, the matmul runs in the next one up (weight-only
# quantization dequantizes into it: FP8 weights on an A100 run as FP16 GEMMs). FP4 weights on a GPU
# without FP4 tensor cores (Hopper, Ampere) run weight-only with 16-bit activations, not FP8: vLLM's
# MXFP4/NVFP4 Marlin kernels and the Triton matmul_ogs path gpt-oss uses on Hopper are W4A16 (vLLM
# docs, "Quantization > supported hardware"; the gpt-oss recipe), as is TensorRT-LLM's Hopper MoE.
_DTYPE_FALLBACK = {
    "fp4": ("fp4", "bf16", "fp16"),
    "fp8": ("fp8", "bf16", "fp16"),
    "int8": ("int8", "fp8", "bf16", "fp16"),
    "bf16": ("bf16", "fp16"),
    "fp16": ("fp16", "bf16"),
    "fp32": ("tf32", "fp32"),
}
_NVIDIA_HBM_FAMILIES = ("hopper", "ampere", "blackwell")


def _table() -> Efficiency:
    return calibration().efficiency


def gpu_family(gpu: GpuSpec) -> str:
    """The calibration family of ``gpu``: 'hopper', 'ampere', 'blackwell', 'nvidia-hbm',
    'nvidia-gddr', 'amd' or 'intel'."""
    if gpu.vendor == "AMD":
        return "amd"
    if gpu.vendor == "Intel":
        return "intel"
    if not gpu.memory_type.upper().startswith("HBM"):
        return "nvidia-gddr"
    arch = gpu.architecture.lower()
    return arch if arch in _NVIDIA_HBM_FAMILIES else "nvidia-hbm"


def memory_class(gpu: GpuSpec) -> MemoryClass:
    """The memory-efficiency entry that applies to ``gpu``."""
    return _table().memory[gpu_family(gpu)]


def gemm_class(gpu: GpuSpec) -> GemmClass:
    """The GEMM-efficiency entry that applies to ``gpu``."""
    return _table().gemm[gpu_family(gpu)]


def memory_bandwidth_bps(gpu: GpuSpec, band: Band = "mid") -> float:
    """Achievable streaming bandwidth of ``gpu``'s memory, bytes/s."""
    entry = memory_class(gpu)
    return gpu.hbm_bandwidth_gbps * 1e9 * banded(entry.efficiency, entry.spread, band)


def attention_bandwidth_bps(gpu: GpuSpec, band: Band = "mid") -> float:
    """Achievable bandwidth of decode attention reading the paged KV cache, bytes/s."""
    return memory_bandwidth_bps(gpu, band) * _table().attention_efficiency


def compute_dtype(gpu: GpuSpec, dtype: str) -> tuple[str, float]:
    """The dtype a ``dtype`` matmul really runs in on ``gpu`` and its dense peak, TFLOPS.

    Falls back along FP4 -> FP8 -> BF16 -> FP16 when the GPU lacks the format; FP32 if nothing else.
    """
    for candidate in _DTYPE_FALLBACK.get(dtype, (dtype, "bf16", "fp16")):
        peak = gpu.tflops_for(candidate)
        if peak:
            return candidate, peak
    return "fp32", gpu.fp32_tflops or 1.0


def fp16_accumulate_scale(gpu: GpuSpec, dtype: str, accumulates_fp16: bool) -> float:
    """How much faster ``dtype`` matmuls run on ``gpu`` for an engine that accumulates FP16 GEMMs in FP16.

    llama.cpp's CUDA backend calls cuBLAS with ``CUBLAS_COMPUTE_16F`` for FP16 weights and for
    quantised weights dequantised to FP16 (ggml-cuda.cu; FP32 only on AMD CDNA). GeForce cards run FP16
    with FP16 accumulation at twice their FP32-accumulate rate (RTX 4090: 330.3 against 165.2 TFLOPS,
    Ada whitepaper), which is the rate ``fp16_tflops`` lists; data-centre and pro cards run both alike.
    """
    if not accumulates_fp16 or not gpu.fp16_accumulate_tflops:
        return 1.0
    ran, peak = compute_dtype(gpu, dtype)
    return max(1.0, gpu.fp16_accumulate_tflops / peak) if ran == "fp16" else 1.0


def gemm_fraction(gpu: GpuSpec, size: float, band: Band = "mid") -> float:
    """Share of the dense peak a GEMM of equivalent square side ``size`` achieves on ``gpu``."""
    entry = gemm_class(gpu)
    x = (max(size, 1.0) / entry.half_size) ** entry.exponent
    return banded(entry.peak_fraction * x / (1 + x), entry.spread, band)


def tensor_flops(gpu: GpuSpec, dtype: str, m: float, n: float, k: float, band: Band = "mid") -> float:
    """Achievable FLOP/s of an ``m x k`` by ``k x n`` matmul in ``dtype`` on ``gpu``.

    The operation size is the cube root of ``m*n*k`` (the side of a square GEMM of the same work),
    which is what the cuBLASLt calibration rows measured.
    """
    _, peak = compute_dtype(gpu, dtype)
    size = (max(m, 1.0) * max(n, 1.0) * max(k, 1.0)) ** (1 / 3)
    return peak * 1e12 * gemm_fraction(gpu, size, band)


@dataclass(frozen=True, slots=True)
class Rates:
    """A GPU's achievable rates for one dtype and band, worked out once (the hot path uses these)."""

    memory_bps: float
    attention_bps: float
    peak_flops: float
    peak_fraction: float
    half_size: float
    exponent: float
    vector_flops: float = 0.0  # what a GEMV-like kernel reaches on the CUDA cores
    tile_tokens: int = 1

    def flops(self, m: float, n: float, k: float, kernels: float = 1.0, groups: float = 1.0) -> float:
        """Achievable FLOP/s of an ``m x k`` by ``k x n`` matmul (see :func:`tensor_flops`).

        A skinny matmul (``m`` below one tensor-core tile of rows) pays for a whole tile, so its rate
        falls with ``m``; but engines run such shapes as GEMV kernels on the CUDA cores (weight-only
        quantised kernels dequantise on the fly), whose rate does not fall: the faster of the two.
        At one token that makes a matmul bound by reading its weights, as measured; the tile curve
        takes over smoothly as the batch grows. ``kernels`` is the engine's tensor-core GEMMs against
        cuBLASLt's (the calibration's ``gemm_efficiency``); it does not touch the GEMV path.
        ``groups``: how many such matmuls one grouped launch runs (a fused-MoE kernel multiplies every
        expert the step touches at once): the launch's size is their work together, while each still
        wastes the rows of its tiles it does not fill.
        """
        rows = max(m, float(self.tile_tokens))
        size = (rows * max(groups, 1.0) * max(n, 1.0) * max(k, 1.0)) ** (1 / 3)
        x = (size / self.half_size) ** self.exponent
        tensor = self.peak_flops * self.peak_fraction * x / (1 + x) * min(1.0, max(m, 1.0) / rows) * kernels
        return max(tensor, self.vector_flops)


def rates(gpu: GpuSpec, dtype: str, band: Band = "mid") -> Rates:
    """The achievable rates of ``gpu`` for matmuls in ``dtype``, at the ``band`` end of the band."""
    entry = gemm_class(gpu)
    _, peak = compute_dtype(gpu, dtype)
    table = _table()
    cuda_core = (gpu.fp32_tflops or peak / 16) * 1e12  # no FP32 figure: a sixteenth of the tensor peak
    return Rates(
        memory_bps=memory_bandwidth_bps(gpu, band),
        attention_bps=attention_bandwidth_bps(gpu, band),
        peak_flops=peak * 1e12,
        peak_fraction=banded(entry.peak_fraction, entry.spread, band),
        half_size=entry.half_size,
        exponent=entry.exponent,
        vector_flops=cuda_core * banded(table.vector_fraction, entry.spread, band),
        tile_tokens=table.tile_tokens,
    )


def assumption_notes(gpu: GpuSpec) -> list[str]:
    """Sentences for the report when ``gpu``'s efficiencies are assumed rather than measured."""
    notes = []
    mem, gemm = memory_class(gpu), gemm_class(gpu)
    if not mem.rows:
        notes.append(
            f"{gpu.name}: memory efficiency {mem.efficiency:.0%} of peak is an assumption "
            f"(no measurement for this family; band ±{mem.spread:.0%})"
        )
    if not gemm.rows:
        notes.append(
            f"{gpu.name}: tensor efficiency up to {gemm.peak_fraction:.0%} of peak is an assumption "
            f"(no measurement for this family; band ±{gemm.spread:.0%})"
        )
    return notes
