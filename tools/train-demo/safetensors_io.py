"""A minimal safetensors reader and writer (the `safetensors` package is not available).

File layout: u64 little-endian N, then N bytes of UTF-8 JSON
    {"__metadata__": {...}, name: {"dtype": "BF16", "shape": [...], "data_offsets": [a, b]}, ...}
padded with spaces so the data starts 8-byte aligned, then the tensor bytes; offsets are
relative to the start of the data. Tensors are written in sorted name order, contiguous.
"""
import json
import struct

import numpy as np
import torch

_DTYPES = {torch.bfloat16: 'BF16', torch.float32: 'F32', torch.float16: 'F16'}


def _raw_bytes(t: torch.Tensor) -> bytes:
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: move the 16-bit patterns as int16
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder('<'), copy=False).tobytes()


def write_safetensors(path, tensors: dict, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name in sorted(tensors):
        t = tensors[name]
        data = _raw_bytes(t)
        header[name] = {'dtype': _DTYPES[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * (-(8 + len(hjson)) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path) -> dict:
    """name -> float32 torch tensor (BF16 is widened exactly: its 16 bits become the top
    half of an IEEE float32)."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack_from('<Q', raw, 0)
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        a, b = info['data_offsets']
        buf = raw[base + a: base + b]
        if info['dtype'] == 'BF16':
            bits = np.frombuffer(buf, dtype='<u2').astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif info['dtype'] == 'F32':
            arr = np.frombuffer(buf, dtype='<f4')
        else:
            raise ValueError(f'unsupported dtype {info["dtype"]} for {name}')
        out[name] = torch.from_numpy(arr.reshape(info['shape']).copy())
    return out
