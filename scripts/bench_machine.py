"""What a benchmark ran on: the CPU model, the ISA flags that matter for ONNX Runtime's and CTranslate2's
kernels, the core count and the load, read from the machine (Linux /proc; less elsewhere)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

# The flags that select kernels: AVX2/AVX-512 for fp32 GEMM, VNNI and AMX for int8.
ISA = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8",
       "amx_bf16")


def machine() -> dict:
    cpu, flags = platform.processor() or platform.machine(), set()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and cpu in ("", platform.machine(), platform.processor()):
                cpu = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    return {"cpu": cpu, "cores": os.cpu_count(), "isa": [f for f in ISA if f in flags],
            "load": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def describe(m: dict) -> str:
    load = f"load {m['load'][0]:.2f}" if m.get("load") else "load unknown"
    return f"{m['cpu']}, {m['cores']} cores, ISA {' '.join(m['isa']) or 'none of ' + '/'.join(ISA[:3])}, {load}"
