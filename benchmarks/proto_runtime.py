"""The runtime question (issue 24), decided with numbers: one LM decoding step through torch and two CPU runtimes.

The same random-weight LM of a released size (`benchmarks.common.random_lm`) runs its one-position decoding step
(cross-attention to 12 text positions, a KV cache of `--cache` positions) through:

- torch fp32: the reference (oneDNN packed weights, the scripted step, as `main.py generate` runs it);
- torch int8: today's fast mode (fbgemm int8 per channel + the scripted step);
- torch int4: `aten._weight_int4pack_mm_for_cpu`, group-wise 4-bit, bfloat16 activations, the scripted step;
- ONNX Runtime: the step as one ONNX graph whose linears are `com.microsoft.MatMulNBits` (8 and 4 bits, per
  block of inputs, int8 activations: accuracy_level 4);
- OpenVINO: the same graph in float32, weights compressed by NNCF (INT8_ASYM per channel, INT4_SYM per group).

A mode is "runtime precision[/group]", e.g. "torch int4/64", "ort int4/32", "openvino int4/128"; "int4a" is
asymmetric 4-bit (a zero point per group, as torch's int4 format) for the runtimes.

The runtime graphs take the KV cache as bound inputs (keys stored transposed, [B, H, Dh, T]) and return only the
new position's keys and values, which the caller writes into the cache in place: no copy of the whole cache per
step. Attention over the cache uses an additive mask, so a step costs the same at every position.

Printed per mode and batch (2 rows: one take with CFG; 8 rows: 4 variations with CFG): the median ms per step
over `--steps` steps (modes interleaved, `--repeats` rounds), its ratio to torch int8 in the same run, and the
quality of one step's logits on the same inputs (a cache filled by 16 fp32 steps): max |logit - fp32 logit| and
the mean KL(fp32 || mode) of the next-token distributions in nats.

    python benchmarks/proto_runtime.py [--size musicgen-small|audiogen-medium] [--threads 2] [--rows 2 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, random_lm  # noqa: E402
from core.nn.lm import Conditions  # noqa: E402
from core.nn.quantize import apply_precision, quantize_lm, quantize_lm_int4  # noqa: E402

SIZES = {
    "musicgen-small": dict(dim=1024, num_heads=16, num_layers=24),
    "audiogen-medium": dict(dim=1536, num_heads=24, num_layers=48),
    "tiny": dict(dim=128, num_heads=2, num_layers=2),  # a smoke run of the script
}
TEXT = 12
FILL = 16


# ---------------------------------------------------------------- torch modes
def torch_lm(size: str, precision: str, group: int):
    """The LM in `precision` ("fp32", "int8", "int4"), scripted step where the kernels allow it."""
    lm = random_lm(**SIZES[size])
    quantized = {"int8": quantize_lm, "int4": lambda lm: quantize_lm_int4(lm, group)}.get(precision)
    apply_precision(lm, precision, quantized(lm) if quantized else None)
    return lm


class TorchStep:
    def __init__(self, lm, rows: int, cache: int, text: torch.Tensor) -> None:
        self.lm, self.rows, self.cache = lm, rows, cache
        dim = lm.cfg.transformer.dim
        lm.transformer.setup_caches(rows, cache, torch.float32, torch.device("cpu"))
        with torch.inference_mode():
            self.cross_kv = lm.transformer.cross_kv(text[:rows].expand(rows, TEXT, dim).contiguous())
        self.cond = Conditions(cross=text[:rows])

    def set_cache(self, ks: list[torch.Tensor], vs: list[torch.Tensor]) -> None:
        for layer, k, v in zip(self.lm.transformer.layers, ks, vs, strict=True):
            layer.self_attn.cache.k[:, :, : k.shape[2]] = k
            layer.self_attn.cache.v[:, :, : v.shape[2]] = v

    def step(self, tokens: torch.Tensor, position: int) -> torch.Tensor:
        with torch.inference_mode():
            out = self.lm(tokens[..., None], self.cond, start=position, cross_kv=self.cross_kv)
        return out[:, :, 0].float()  # [B, K, card]


# ---------------------------------------------------------------- the ONNX graph of one step
def _weights(lm) -> dict:
    """Float32 numpy copies of what the step reads (taken from an fp32 LM before any precision is applied)."""
    return {name: p.detach().float().numpy().copy() for name, p in lm.state_dict().items()}


class GraphBuilder:
    """The decoding step as an ONNX graph (opset 17 + com.microsoft MatMulNBits)."""

    def __init__(
        self, w: dict, cfg, rows: int, cache: int, linear: str, bits: int = 8, block: int = 32, asym: bool = False
    ) -> None:
        from onnx import TensorProto, helper, numpy_helper

        self.h, self.np_h, self.TP = helper, numpy_helper, TensorProto
        self.w, self.cfg, self.rows, self.cache = w, cfg, rows, cache
        self.linear_kind, self.bits, self.block, self.asym = linear, bits, block, asym
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, array: np.ndarray, base: str = "c") -> str:
        name = self.name(base)
        self.inits.append(self.np_h.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(self.h.make_node(op_type, inputs, [out], domain=domain or None, **attrs))
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None) -> str:
        """x [..., K] @ weight.T ([N, K]) (+ bias)."""
        n, k = weight.shape
        if self.linear_kind == "float":
            out = self.op("MatMul", [x, self.const(weight.T.copy())])
        else:
            packed, scales, zeros = matmul_nbits_weight(weight, self.bits, self.block, self.asym)
            attrs = dict(K=k, N=n, bits=self.bits, block_size=self.block, accuracy_level=4)
            inputs = [x, self.const(packed), self.const(scales)] + ([self.const(zeros)] if zeros is not None else [])
            out = self.op("MatMulNBits", inputs, "com.microsoft", **attrs)
        return out if bias is None else self.op("Add", [out, self.const(bias)])

    def norm(self, x: str, prefix: str) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.const(self.w[f"{prefix}.weight"]), self.const(self.w[f"{prefix}.bias"])],
            axis=-1,
            epsilon=1e-5,
        )

    def heads(self, x: str, dh: int) -> str:
        """[B, 1, D] -> [B, H, 1, Dh]."""
        shaped = self.op("Reshape", [x, self.const(np.array([self.rows, 1, -1, dh], np.int64))])
        return self.op("Transpose", [shaped], perm=[0, 2, 1, 3])

    def merge(self, x: str) -> str:
        """[B, H, 1, Dh] -> [B, 1, D]."""
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.const(np.array([self.rows, 1, self.cfg.dim], np.int64))])

    def layer(self, x: str, i: int, mask: str, outputs: list[str]) -> str:
        cfg, w, p = self.cfg, self.w, f"transformer.layers.{i}."
        d, dh = cfg.dim, cfg.head_dim
        scale = self.const(np.array(1 / np.sqrt(dh), np.float32))
        qkv = self.linear(
            self.norm(x, p + "norm1"), w[p + "self_attn.in_proj_weight"], w.get(p + "self_attn.in_proj_bias")
        )
        q, k, v = (
            self.heads(
                self.op(
                    "Slice",
                    [
                        qkv,
                        self.const(np.array([j * d], np.int64)),
                        self.const(np.array([(j + 1) * d], np.int64)),
                        self.const(np.array([2], np.int64)),
                    ],
                ),
                dh,
            )
            for j in range(3)
        )
        k_cache, v_cache = f"k{i}", f"v{i}"  # [B, H, Dh, T], [B, H, T, Dh]
        cached = self.op("Add", [self.op("Mul", [self.op("MatMul", [q, k_cache]), scale]), mask])  # [B, H, 1, T]
        own = self.op(
            "Mul",
            [self.op("ReduceSum", [self.op("Mul", [q, k]), self.const(np.array([-1], np.int64))], keepdims=1), scale],
        )
        probs = self.op("Softmax", [self.op("Concat", [cached, own], axis=-1)], axis=-1)
        p_cache = self.op(
            "Slice",
            [
                probs,
                self.const(np.array([0], np.int64)),
                self.const(np.array([self.cache], np.int64)),
                self.const(np.array([3], np.int64)),
            ],
        )
        p_own = self.op(
            "Slice",
            [
                probs,
                self.const(np.array([self.cache], np.int64)),
                self.const(np.array([self.cache + 1], np.int64)),
                self.const(np.array([3], np.int64)),
            ],
        )
        attended = self.op("Add", [self.op("MatMul", [p_cache, v_cache]), self.op("Mul", [p_own, v])])
        x = self.op(
            "Add",
            [
                x,
                self.linear(
                    self.merge(attended), w[p + "self_attn.out_proj.weight"], w.get(p + "self_attn.out_proj.bias")
                ),
            ],
        )
        outputs += [self.op("Identity", [self.op("Transpose", [k], perm=[0, 1, 3, 2])]), self.op("Identity", [v])]
        if cfg.cross_attention:
            in_w, in_b = w[p + "cross_attention.in_proj_weight"], w.get(p + "cross_attention.in_proj_bias")
            q = self.heads(
                self.linear(self.norm(x, p + "norm_cross"), in_w[:d], None if in_b is None else in_b[:d]), dh
            )
            probs = self.op("Softmax", [self.op("Mul", [self.op("MatMul", [q, f"ck{i}"]), scale])], axis=-1)
            attended = self.op("MatMul", [probs, f"cv{i}"])
            x = self.op(
                "Add",
                [
                    x,
                    self.linear(
                        self.merge(attended),
                        w[p + "cross_attention.out_proj.weight"],
                        w.get(p + "cross_attention.out_proj.bias"),
                    ),
                ],
            )
        hidden = self.linear(self.norm(x, p + "norm2"), w[p + "linear1.weight"], w.get(p + "linear1.bias"))
        erf = self.op("Erf", [self.op("Mul", [hidden, self.const(np.array(1 / np.sqrt(2), np.float32))])])
        gelu = self.op(
            "Mul",
            [
                self.op("Mul", [hidden, self.const(np.array(0.5, np.float32))]),
                self.op("Add", [erf, self.const(np.array(1.0, np.float32))]),
            ],
        )
        return self.op("Add", [x, self.linear(gelu, w[p + "linear2.weight"], w.get(p + "linear2.bias"))])

    def build(self, n_q: int, card: int):
        h, TP, cfg, B = self.h, self.TP, self.cfg, self.rows
        H, Dh = cfg.num_heads, cfg.head_dim
        inputs = [
            h.make_tensor_value_info("x", TP.FLOAT, [B, 1, cfg.dim]),
            h.make_tensor_value_info("mask", TP.FLOAT, [B, 1, 1, self.cache]),
        ]
        outputs: list[str] = []
        x = "x"
        for i in range(cfg.num_layers):
            inputs += [
                h.make_tensor_value_info(f"k{i}", TP.FLOAT, [B, H, Dh, self.cache]),
                h.make_tensor_value_info(f"v{i}", TP.FLOAT, [B, H, self.cache, Dh]),
            ]
            if cfg.cross_attention:
                inputs += [
                    h.make_tensor_value_info(f"ck{i}", TP.FLOAT, [B, H, Dh, TEXT]),
                    h.make_tensor_value_info(f"cv{i}", TP.FLOAT, [B, H, TEXT, Dh]),
                ]
            x = self.layer(x, i, "mask", outputs)
        x = self.norm(x, "out_norm")
        logits = self.op(
            "Concat",
            [self.linear(x, self.w[f"linears.{k}.weight"], self.w.get(f"linears.{k}.bias")) for k in range(n_q)],
            axis=1,
        )
        names = ["logits"] + [f"new_{kind}{i}" for i in range(cfg.num_layers) for kind in ("k", "v")]
        self.nodes.append(h.make_node("Identity", [logits], ["logits"]))
        for name, source in zip(names[1:], outputs, strict=True):
            self.nodes.append(h.make_node("Identity", [source], [name]))
        shapes = [[B, n_q, card]] + [[B, H, Dh, 1] if name.startswith("new_k") else [B, H, 1, Dh] for name in names[1:]]
        outs = [h.make_tensor_value_info(name, TP.FLOAT, shape) for name, shape in zip(names, shapes, strict=True)]
        graph = h.make_graph(self.nodes, "decode_step", inputs, outs, self.inits)
        opsets = [h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)]
        return h.make_model(graph, opset_imports=opsets, ir_version=9)


def matmul_nbits_weight(
    weight: np.ndarray, bits: int, block: int, asym: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """MatMulNBits' B [N, K / block, block * bits / 8] uint8, scales [N * K / block] and zero points: symmetric
    (none given: the default 2^(bits-1)) or, with `asym`, per block from its range (uint8, packed like B)."""
    n, k = weight.shape
    groups = weight.reshape(n, k // block, block)
    half, top = 1 << (bits - 1), (1 << bits) - 1
    if asym:
        low, high = groups.min(-1, keepdims=True), groups.max(-1, keepdims=True)
        scale = np.where(high > low, (high - low) / top, 1.0).astype(np.float32)
        zero = np.clip(np.round(-low / scale), 0, top).astype(np.uint8)  # [N, G, 1]
    else:
        scale = np.abs(groups).max(-1, keepdims=True) / (half - 1 if bits == 8 else half - 0.5)
        scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
        zero = np.full(scale.shape, half, np.uint8)
    q = np.clip(np.round(groups / scale) + zero, 0, top).astype(np.uint8)  # [N, G, block]
    zeros = zero[..., 0] if asym else None  # [N, G]
    if bits == 4:
        q = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
        if zeros is not None:
            zeros = np.pad(zeros, ((0, 0), (0, zeros.shape[1] % 2)))
            zeros = (zeros[:, 0::2] | (zeros[:, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(q), scale.reshape(-1), None if zeros is None else zeros.reshape(-1)


class GraphStep:
    """A runtime's session of the step graph, with the cache as bound numpy buffers."""

    def __init__(self, run, lm_cfg, rows: int, cache: int, text_kv: list[tuple[np.ndarray, np.ndarray]]) -> None:
        cfg = lm_cfg.transformer
        H, Dh = cfg.num_heads, cfg.head_dim
        self.run, self.cfg, self.rows, self.cache = run, cfg, rows, cache
        self.k = [np.zeros((rows, H, Dh, cache), np.float32) for _ in range(cfg.num_layers)]
        self.v = [np.zeros((rows, H, cache, Dh), np.float32) for _ in range(cfg.num_layers)]
        self.mask = np.full((rows, 1, 1, cache), -np.inf, np.float32)
        self.feeds = {"mask": self.mask}
        for i in range(cfg.num_layers):
            self.feeds[f"k{i}"], self.feeds[f"v{i}"] = self.k[i], self.v[i]
            if cfg.cross_attention:
                ck, cv = text_kv[i]
                self.feeds[f"ck{i}"] = np.ascontiguousarray(ck[:rows].transpose(0, 1, 3, 2))
                self.feeds[f"cv{i}"] = np.ascontiguousarray(cv[:rows])

    def set_cache(self, ks, vs) -> None:
        for i, (k, v) in enumerate(zip(ks, vs, strict=True)):
            t = k.shape[2]
            self.k[i][..., :t] = k.numpy().transpose(0, 1, 3, 2)
            self.v[i][:, :, :t] = v.numpy()
        self.mask[..., : ks[0].shape[2]] = 0.0

    def step(self, x: np.ndarray, position: int) -> np.ndarray:
        """x [B, 1, D] (embeddings + position) -> logits; the new keys / values go into the cache at `position`."""
        self.feeds["x"] = x
        if position >= self.cache:
            raise ValueError("cache full")
        self.mask[..., :position] = 0.0
        self.mask[..., position:] = -np.inf
        outs = self.run(self.feeds)
        for i in range(self.cfg.num_layers):
            self.k[i][..., position : position + 1] = outs[1 + 2 * i]
            self.v[i][:, :, position : position + 1] = outs[2 + 2 * i]
        return outs[0]


def ort_session(model, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # ORT's pool spins after each run by default: in one process with torch's OpenMP threads on 2 cores that
    # starved torch's steps 5-20x in the first runs of this script
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    binding = session.io_binding()
    bound: dict[str, int] = {}

    def run(feeds: dict) -> list[np.ndarray]:
        for name, array in feeds.items():  # numpy buffers bound in place: no copy of the cache
            if bound.get(name) != array.ctypes.data:
                binding.bind_cpu_input(name, array)
                bound[name] = array.ctypes.data
        for name in names:
            binding.bind_output(name, "cpu")
        session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()

    return run


def openvino_session(model, threads: int, mode: str | None, group: int):
    import openvino as ov

    core = ov.Core()
    with tempfile.TemporaryDirectory() as tmp:
        import onnx

        path = Path(tmp) / "step.onnx"
        onnx.save(model, str(path), save_as_external_data=True, location="step.data")
        ov_model = ov.convert_model(str(path))
    if mode is not None:
        import nncf

        kind = getattr(nncf.CompressWeightsMode, mode)
        kwargs = dict(group_size=group, ratio=1.0) if mode.startswith("INT4") else {}
        ov_model = nncf.compress_weights(ov_model, mode=kind, **kwargs)
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    compiled = core.compile_model(ov_model, "CPU", config)
    request = compiled.create_infer_request()
    outputs = compiled.outputs

    def run(feeds: dict) -> list[np.ndarray]:
        for name, array in feeds.items():
            request.set_tensor(name, ov.Tensor(array, shared_memory=True))
        request.infer()
        return [request.get_tensor(o).data for o in outputs]

    return run


# ---------------------------------------------------------------- measuring
DEFAULT_MODES = (
    "torch fp32",
    "torch int8",
    "torch int4/32",
    "torch int4/128",
    "ort int8/32",
    "ort int4/32",
    "ort int4/128",
    "openvino int8",
    "openvino int4/128",
)


def make_mode(mode: str, fp32, args):
    """A torch LM, or ("ort" | "ov", spec) for a runtime graph: "torch int4/64" = torch, int4, group 64."""
    runtime, _, rest = mode.partition(" ")
    precision, _, group = rest.partition("/")
    group = int(group or args.group)
    if runtime == "torch":
        return fp32 if precision == "fp32" else torch_lm(args.size, precision, group)
    if runtime == "ort":
        if precision == "fp32":
            return "ort", dict(linear="float")
        return "ort", dict(linear="nbits", bits=int(precision[3]), block=group, asym=precision.endswith("a"))
    return "ov", {"int8": "INT8_ASYM", "int4": "INT4_SYM", "int4a": "INT4_ASYM", "fp32": None}[precision]


def embed(lm_weights: dict, tokens: torch.Tensor, position: int, dim: int) -> np.ndarray:
    from core.nn.transformer import sin_embedding

    x = sum(F.embedding(tokens[:, k], torch.from_numpy(lm_weights[f"emb.{k}.weight"])) for k in range(tokens.shape[1]))
    x = x + sin_embedding(torch.tensor([position]), dim, 10_000.0, torch.float32)
    return x[:, None, :].numpy()


def kl_and_diff(reference: torch.Tensor, other: torch.Tensor) -> tuple[float, float]:
    ref, oth = torch.log_softmax(reference.double(), -1), torch.log_softmax(other.double(), -1)
    kl = float((ref.exp() * (ref - oth)).sum(-1).mean())
    return float((reference - other).abs().max()), kl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="musicgen-small")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--cache", type=int, default=256, help="KV cache positions (a 5 s take: 250)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per mode and round")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--group", type=int, default=128, help="group size of modes named without one")
    parser.add_argument("--modes", nargs="+", default=None, help="a subset of the modes")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine())
    print(
        f"{args.size}, {args.threads} threads, cache {args.cache} positions, {args.steps} steps x {args.repeats} rounds"
    )
    fp32 = random_lm(**SIZES[args.size])
    weights, lm_cfg = _weights(fp32), fp32.cfg
    dim, n_q, card = lm_cfg.transformer.dim, lm_cfg.n_q, lm_cfg.card
    generator = torch.Generator().manual_seed(0)
    text = torch.randn(max(args.rows), TEXT, dim, generator=generator)
    with torch.inference_mode():
        text_kv = [tuple(t.numpy() for t in kv) for kv in fp32.transformer.cross_kv(text)]
    tokens = torch.randint(0, card, (max(args.rows), n_q, FILL + 1), generator=generator)
    apply_precision(fp32, "fp32")
    modes = args.modes or list(DEFAULT_MODES)
    table = {}
    for rows in args.rows:
        # a cache filled by FILL fp32 steps on the same tokens: every mode reads it, then steps once more
        ref = TorchStep(fp32, rows, args.cache, text)
        logits = [ref.step(tokens[:rows, :, t], t) for t in range(FILL + 1)]
        layers = fp32.transformer.layers
        ks = [layer.self_attn.cache.k[:, :, :FILL].clone() for layer in layers]
        vs = [layer.self_attn.cache.v[:, :, :FILL].clone() for layer in layers]
        reference = logits[-1]
        steppers, quality = {}, {}
        for mode in modes:
            made = make_mode(mode, fp32, args)
            if isinstance(made, tuple):
                kind, spec = made
                if kind == "ort":
                    model = GraphBuilder(weights, lm_cfg.transformer, rows, args.cache, **spec).build(n_q, card)
                    stepper = GraphStep(ort_session(model, args.threads), lm_cfg, rows, args.cache, text_kv)
                else:
                    model = GraphBuilder(weights, lm_cfg.transformer, rows, args.cache, "float").build(n_q, card)
                    group = int(mode.partition("/")[2] or args.group)
                    stepper = GraphStep(
                        openvino_session(model, args.threads, spec, group), lm_cfg, rows, args.cache, text_kv
                    )
                stepper.set_cache(ks, vs)
                out = torch.from_numpy(np.array(stepper.step(embed(weights, tokens[:rows, :, FILL], FILL, dim), FILL)))
                steppers[mode] = lambda p, s=stepper, r=rows: s.step(embed(weights, tokens[:r, :, 0], p, dim), p)
            else:
                stepper = TorchStep(made, rows, args.cache, text)
                stepper.set_cache(ks, vs)
                out = stepper.step(tokens[:rows, :, FILL], FILL)
                steppers[mode] = lambda p, s=stepper, r=rows: s.step(tokens[:r, :, 0], p)
            for position in range(FILL + 1, FILL + 4):  # warm-up: TorchScript optimizes from its second call
                steppers[mode](position)
            quality[mode] = kl_and_diff(reference, out.reshape(reference.shape))
            print(
                f"  built {mode} ({rows} rows): max |diff| {quality[mode][0]:.3g}, KL {quality[mode][1]:.3g}",
                flush=True,
            )
        times = {mode: [] for mode in modes}
        positions = range(args.cache - 1 - args.steps, args.cache - 1)
        for _ in range(args.repeats):
            for mode in modes:  # interleaved: a slow spell on the host slows one round of every mode
                for position in positions:
                    start = time.perf_counter()
                    steppers[mode](position)
                    times[mode].append(time.perf_counter() - start)
        for mode in modes:
            table[(mode, rows)] = (statistics.median(times[mode]) * 1e3, *quality[mode])
        del steppers
        print_table({key: value for key, value in table.items() if key[1] == rows})
    print("\nall rows:")
    print_table(table)


def print_table(table: dict) -> None:
    print(f"\n{'mode':17s} {'rows':>4s} {'ms/step':>8s} {'vs int8':>8s} {'max|dlogit|':>12s} {'KL nats':>9s}")
    for (mode, rows), (ms, diff, kl) in table.items():
        base = table.get(("torch int8", rows), (ms,))[0]
        print(f"{mode:17s} {rows:4d} {ms:8.1f} {base / ms:7.2f}x {diff:12.3g} {kl:9.2e}", flush=True)


if __name__ == "__main__":
    main()
