"""A turingformer export as a plain PyTorch ``nn.Module`` — a standalone file (docs/export.md).

This module imports only ``torch`` (and ``safetensors`` to read a file): copy it beside your code
to load an export without turingformer::

    import turingformer_torch as tt            # this file, copied (or: from turingformer.export import torch_module as tt)
    net = tt.load("bb3.safetensors")           # in the file's float type, or tt.load(path, dtype=torch.float32)
    net.dims["q2:state=B"]                     # the index of a named residual dimension

An export is **inexact**: every exact rational weight of the compiled model rounded once to the
float type. It computes what turingformer's runtime computes (``turingformer/runtime/transformer.py``):

* **attention** is average-hard: score φ(x) = −|x| (or −min(|x|, 1) for ``score="clipped"``) of
  ⟨q, k⟩, the maximisers (``winners``, a 0/1 mask) tie and share the weight 1/r. Two forms,
  chosen by ``form`` (a module attribute, ``net.form = "pattern"``):

  - ``"sum"`` (default, the runtime's): out = (Σ_winners v_j) / r — sum first, divide once, the
    form that keeps float runs exact longest (docs/precision.md). An intervention on
    ``*.winners`` (or ``*.scores``) takes effect; ``*.pattern`` is reported only;
  - ``"pattern"``: out = pattern · V with pattern = winners / r — an intervention on
    ``*.pattern`` takes effect (and on ``*.winners``, ``*.scores``), at the price of the
    weighted rounding fl(1/r)·v_j, which breaks long float runs earlier.

* **σ** is ``clamp(x, 0, 1)``; the **positional encoding** pos(k) = (1, k, 1/k, 1/k²) is
  computed in the graph; residual connections add; there is no layer norm, softmax or mask but
  the decoder's causal one.
* **hook points** carry turingformer's own hook names as module paths (``decoder.3.attn.pattern``,
  ``loop.1.ffn.hidden``, ``output.y``; docs/hooks.md): plain identity modules, so PyTorch forward
  hooks, nnsight and TransformerLens' ``HookedRootModule`` see them (:func:`load`'s
  ``hook_point`` and ``root``).

Two network shapes: :class:`EncoderDecoder` (the Pérez construction: :meth:`~EncoderDecoder.forward`
teacher-forced over whole sequences, :meth:`~EncoderDecoder.step` with a key/value cache,
:meth:`~EncoderDecoder.generate`) and :class:`Looped` (the looped computer: :meth:`~Looped.forward`
runs loops, :meth:`~Looped.generate` is the loop driver). Both take any leading batch dimensions.
``net.run(input)`` decodes a run back into the trace ``turingformer run --json`` prints — that
needs turingformer, whose construction decodes it.
"""

from __future__ import annotations

import json

import torch
from torch import nn

#: The export format this loader reads (``turingformer.export.spec.FORMAT`` / ``VERSION``).
FORMAT, VERSION = "turingformer-export", 1
#: The key of the safetensors metadata entry that holds the description (JSON).
METADATA_KEY = "turingformer"
FORMS = ("sum", "pattern")


class HookPoint(nn.Module):
    """The identity: a named place where an activation can be read or replaced (``register_forward_hook``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def read_config(text: str) -> dict:
    """The description stored in an export; ValueError when it is not one this loader reads."""
    config = json.loads(text)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError("not a turingformer export")
    if config.get("version") != VERSION:
        raise ValueError(f"export version {config.get('version')!r}; this loader reads version {VERSION}")
    return config


class Linear(nn.Linear):
    """``x Wᵀ + b``: an ``nn.Linear`` whose weights are loaded, never initialised at random."""

    def reset_parameters(self) -> None:
        """Nothing: the weights come from the export's state_dict."""


def _linear(source: int, target: int) -> Linear:
    return Linear(source, target, dtype=torch.float64)


class Attention(nn.Module):
    """One average-hard attention head (module docstring): maps ``query``/``key`` (to the head's
    support), ``value`` (into the residual) and the hooks ``scores``, ``winners``, ``pattern``, ``out``."""

    def __init__(self, d: int, support: int, score: str, root: "Network", hook_point: type):
        super().__init__()
        self.query, self.key, self.value = _linear(d, support), _linear(d, support), _linear(d, d)
        self.scores, self.winners, self.pattern, self.out = (hook_point() for _ in range(4))
        self.clipped = score == "clipped"
        self._root = (root,)          # a tuple, so that the root is not registered as a child

    def keys_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.key(x), self.value(x)

    def forward(self, x: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                allowed: torch.Tensor | None = None) -> torch.Tensor:
        """The attention output for queries ``x`` (..., nq, d) over ``keys`` (..., nk, s) and
        ``values`` (..., nk, d); ``allowed`` (nq, nk) masks keys out (the decoder's causal mask)."""
        dots = self.query(x) @ keys.transpose(-1, -2)
        magnitude = dots.abs()
        if self.clipped:
            magnitude = magnitude.clamp(max=1)
        scores = -magnitude
        if allowed is not None:
            scores = scores.masked_fill(~allowed, float("-inf"))
        scores = self.scores(scores)
        if scores.shape[-1]:
            winners = (scores == scores.amax(dim=-1, keepdim=True)).to(values.dtype)
        else:                           # no key at all (an empty input): attention returns 0
            winners = scores.new_zeros(scores.shape)
        if allowed is not None:
            winners = winners * allowed
        winners = self.winners(winners)
        r = winners.sum(dim=-1, keepdim=True).clamp(min=1)
        pattern = self.pattern(winners / r)
        if self._root[0].form == "pattern":
            return self.out(pattern @ values)
        return self.out((winners @ values) / r)


class MLP(nn.Module):
    """A σ-net: affine maps ``0``, ``1``, … with σ = clamp(·, 0, 1) between them; the hooks
    ``hidden`` (one σ layer) or ``hidden.0``, ``hidden.1``, … and the output hook ``last``
    (``out`` of an FFN, ``y`` of the output net)."""

    def __init__(self, d: int, spec: dict, last: str, hook_point: type):
        super().__init__()
        widths = [d, *spec["hidden"], d]
        self.layers = spec["layers"]
        for k in range(self.layers):
            self.add_module(str(k), _linear(widths[k], widths[k + 1]))
        hooks = [hook_point() for _ in spec["hidden"]]
        self.hidden = hooks[0] if len(hooks) == 1 else nn.ModuleDict({str(k): h for k, h in enumerate(hooks)})
        self.add_module(last, hook_point())
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k in range(self.layers):
            x = self._modules[str(k)](x)
            if k < self.layers - 1:
                hook = self.hidden[str(k)] if isinstance(self.hidden, nn.ModuleDict) else self.hidden
                x = hook(x.clamp(0, 1))
        return self._modules[self.last](x)


class Layer(nn.Module):
    """One block: the residual hooks, attention heads (their outputs add; ``attn`` or ``attn.0``,
    ``attn.1``, …), an optional cross-attention over the encoder, an optional σ-FFN. Hook names
    are the runtime's: ``resid_pre``, ``attn``, ``resid_mid``, ``cross``, ``resid_cross``, ``ffn``,
    then ``resid_post`` (decoder) or ``out`` (encoder, loop)."""

    def __init__(self, d: int, spec: dict, score: str, root: "Network", hook_point: type, last: str):
        super().__init__()
        self.resid_pre = hook_point()
        heads = [Attention(d, h["support"], score, root, hook_point) for h in spec["heads"]]
        if len(heads) == 1:
            self.attn = heads[0]
        elif heads:
            self.attn = nn.ModuleDict({str(h): head for h, head in enumerate(heads)})
        self.heads = heads
        self.resid_mid = hook_point()
        self.cross = None
        if spec.get("cross"):
            self.cross = Attention(d, spec["cross"]["support"], score, root, hook_point)
        if "cross" in spec:             # a decoder layer: a_i = p_i + its cross-attention (if any)
            self.resid_cross = hook_point()
        self.ffn = MLP(d, spec["ffn"], "out", hook_point) if spec.get("ffn") else None
        self.add_module(last, hook_point())
        self.last = last

    def forward(self, x: torch.Tensor, *, cache: "KVCache | None" = None, layer: int = 0, causal: bool = False,
                memory: "tuple[torch.Tensor, torch.Tensor] | None" = None) -> torch.Tensor:
        """The block on ``x`` (..., T, d), every position a query. A ``causal`` self-attention lets
        position t (the cache's length + t) see the cached positions and itself; ``memory`` is
        the encoder's cross keys and values."""
        x = self.resid_pre(x)
        mid = x
        offset = 0 if cache is None else cache.length
        for head in self.heads:
            keys, values = head.key(x), head.value(x)
            if cache is not None:
                keys, values = cache.extend(layer, keys, values)
            allowed = None
            if causal and x.shape[-2] > 1:      # one query (a cached step) sees every cached key
                T, n = x.shape[-2], keys.shape[-2]
                allowed = (torch.arange(n, device=x.device)[None, :]
                           <= offset + torch.arange(T, device=x.device)[:, None])
            mid = mid + head(x, keys, values, allowed)
        mid = self.resid_mid(mid)
        if self.cross is not None:
            mid = mid + self.cross(mid, *memory)
        if hasattr(self, "resid_cross"):
            mid = self.resid_cross(mid)
        out = mid if self.ffn is None else mid + self.ffn(mid)
        return self._modules[self.last](out)


class KVCache:
    """The decoder's key/value cache: per layer, the keys and values of every position decoded so
    far (buffers that double when full), and the encoder's cross keys and values (``memory``)."""

    def __init__(self, memory: list):
        self.memory = memory
        self.keys: dict[int, torch.Tensor] = {}
        self.values: dict[int, torch.Tensor] = {}
        self.length = 0

    def extend(self, layer: int, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append positions ``length``.. to ``layer``'s cache; the cached keys and values so far."""
        new, end = keys.shape[-2], self.length + keys.shape[-2]
        for store, rows in ((self.keys, keys), (self.values, values)):
            buffer = store.get(layer)
            if buffer is None or buffer.shape[-2] < end:
                bigger = rows.new_empty((*rows.shape[:-2], max(2 * end, 64), rows.shape[-1]))
                if buffer is not None:
                    bigger[..., :self.length, :] = buffer[..., :self.length, :]
                store[layer] = buffer = bigger
            buffer[..., self.length:end, :] = rows
        return self.keys[layer][..., :end, :], self.values[layer][..., :end, :]


class Network(nn.Module):
    """What both shapes share: the description (``config``), the named dimensions (``dims``:
    name → index of the residual stream; ``spaces``: hook → its dimensions' names), the attention
    ``form``, the halting rule and :meth:`run`."""

    def __init__(self, config: dict, hook_point: type = HookPoint):
        super().__init__()
        self.config = config
        self.dims = {name: k for k, name in enumerate(config["dims"])}
        self.spaces = {"residual": list(config["dims"]), **config["spaces"]}
        self.form = config.get("form", "sum")
        halting = config.get("halting")
        self.halting = None if halting is None else ([self.dims[n] for n in halting["dims"]], halting["value"])

    @property
    def d(self) -> int:
        return len(self.dims)

    def _halted(self, out: torch.Tensor) -> torch.Tensor:
        """Whether the output vectors ``out`` (..., d) satisfy the halting rule (never, without one)."""
        if self.halting is None:
            return torch.zeros(out.shape[:-1], dtype=torch.bool, device=out.device)
        dims, value = self.halting
        return (out[..., dims] == value).all(dim=-1)

    def run(self, input: str | None = None, *, max_steps: int | None = None, progress=None):
        """The run decoded into the user's terms by the model's own construction: the same trace as
        ``turingformer run --json`` (needs turingformer; :func:`turingformer.export.run`)."""
        from turingformer.export.runners import run
        return run(self, input, max_steps=max_steps, progress=progress)

    def extra_repr(self) -> str:
        return f"{self.config['network']} of {self.config['name'] or self.config['model_kind']!r}, d={self.d}, form={self.form!r}"


class EncoderDecoder(Network):
    """An encoder–decoder (spec: JMLR eqs. 4–9): ``encoder.0``, ``decoder.1`` … ``decoder.L``, the
    output net ``output``, the token ``embedding`` and the seed y₀."""

    def __init__(self, config: dict, hook_point: type = HookPoint):
        super().__init__(config, hook_point)
        d, score = self.d, config["score"]
        self.vocabulary = {token: k for k, token in enumerate(config["vocabulary"])}
        self.positional = config["positional"]
        self.embedding = nn.Parameter(torch.zeros(len(self.vocabulary), d, dtype=torch.float64))
        self.register_buffer("seed", torch.zeros(d, dtype=torch.float64))
        self.encoder = nn.ModuleDict({str(l): Layer(d, spec, score, self, hook_point, "out")
                                      for l, spec in enumerate(config["encoder"])})
        self.decoder = nn.ModuleDict({str(l): Layer(d, spec, score, self, hook_point, "resid_post")
                                      for l, spec in enumerate(config["decoder"], start=1)})
        self.output = MLP(d, config["output"], "y", hook_point)

    def tokens(self, symbols) -> torch.Tensor:
        """The token ids of a sequence of encoder tokens (vocabulary symbols)."""
        unknown = [s for s in symbols if s not in self.vocabulary]
        if unknown:
            raise ValueError(f"token {unknown[0]!r} is not in the vocabulary {list(self.vocabulary)}")
        return torch.tensor([self.vocabulary[s] for s in symbols], dtype=torch.long, device=self.seed.device)

    def pos(self, first: int, count: int) -> torch.Tensor:
        """pos(k) for k = first, …, first + count − 1, computed in the graph: (count, d)."""
        k = torch.arange(first, first + count, dtype=self.seed.dtype, device=self.seed.device)
        out = k.new_zeros((count, self.d))
        for index, e in self.positional:       # k**e as |e| − 1 products and one division, as in the graph
            power = torch.ones_like(k)
            for _ in range(abs(e)):
                power = power * k
            out[:, index] = power if e >= 0 else 1 / power
        return out

    def encode(self, input_ids: torch.Tensor) -> list:
        """Run the encoder on token ids (..., n); per decoder layer its cross keys and values (or None)."""
        x = self.embedding[input_ids] + self.pos(1, input_ids.shape[-1])
        for layer in self.encoder.values():
            x = layer(x)
        return [None if layer.cross is None else (layer.cross.key(x), layer.cross.value(x))
                for layer in self.decoder.values()]

    def _decode(self, h: torch.Tensor, memory: list, cache: KVCache | None) -> torch.Tensor:
        for l, layer in enumerate(self.decoder.values()):
            h = layer(h, cache=cache, layer=l, causal=True, memory=memory[l])
        return self.output(h)

    def forward(self, input_ids: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Teacher-forced: the outputs y₁ … y_T (..., T, d) for the decoder inputs y₀ … y_{T−1}
        (..., T, d) on the input ``input_ids`` (..., n); every position at once, causally."""
        return self._decode(y + self.pos(1, y.shape[-2]), self.encode(input_ids), None)

    def start(self, input_ids: torch.Tensor) -> KVCache:
        """An empty key/value cache over the encoded input (for :meth:`step`)."""
        return KVCache(self.encode(input_ids))

    def step(self, y: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """One autoregressive step: y_i (..., d) in, y_{i+1} out, i = ``cache.length`` (then + 1)."""
        h = y[..., None, :] + self.pos(cache.length + 1, 1)
        out = self._decode(h, cache.memory, cache)
        cache.length += 1
        return out[..., 0, :]

    def halted(self, y: torch.Tensor) -> torch.Tensor:
        """Whether each output y (..., d) says the computation is over (the model's halting rule)."""
        return self._halted(y)

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, max_steps: int = 10_000) -> torch.Tensor:
        """y₀, y₁, … (..., T + 1, d) decoded with the cache until every sequence of the batch
        halted (that step included) or ``max_steps`` steps; a halted sequence's later rows are
        what the network computes after it halted."""
        cache = self.start(input_ids)
        y = self.seed.expand(*input_ids.shape[:-1], self.d)
        ys, done = [y], self._halted(y) & False
        for _ in range(max_steps):
            y = self.step(y, cache)
            ys.append(y)
            done = done | self._halted(y)
            if bool(done.all()):
                break
        return torch.stack(ys, dim=-2)


class Looped(Network):
    """A looped encoder (looped spec §3): blocks ``loop.0`` … applied to the punch card, loop after
    loop; ``card`` is the card X₀ the model's own run starts from (n × d)."""

    def __init__(self, config: dict, hook_point: type = HookPoint):
        super().__init__(config, hook_point)
        self.register_buffer("card", torch.zeros(config["columns"], self.d, dtype=torch.float64))
        self.loop = nn.ModuleDict({str(l): Layer(self.d, spec, config["score"], self, hook_point, "out")
                                   for l, spec in enumerate(config["blocks"])})

    def forward(self, X: torch.Tensor | None = None, loops: int = 1) -> torch.Tensor:
        """The card (..., n, d) after ``loops`` loops (default: one, from :attr:`card`)."""
        X = self.card if X is None else X
        for _ in range(loops):
            for block in self.loop.values():
                X = block(X)
        return X

    def halted(self, X: torch.Tensor) -> torch.Tensor:
        """Whether each card (..., n, d) says the program halted (read in its first column)."""
        return self._halted(X[..., 0, :])

    @torch.no_grad()
    def generate(self, X: torch.Tensor | None = None, max_loops: int = 100_000) -> torch.Tensor:
        """The loop driver: X₀, X₁, … (T + 1, ..., n, d) until every card of the batch halted or
        ``max_loops`` loops; a halted card stays as it halted."""
        X = self.card if X is None else X
        cards, done = [X], self.halted(X)
        for _ in range(max_loops):
            if bool(done.all()):
                break
            X = torch.where(done[..., None, None], X, self(X))
            cards.append(X)
            done = done | self.halted(X)
        return torch.stack(cards)


def build(config: dict, *, hook_point: type = HookPoint, root: type | None = None) -> Network:
    """The (zero) network a description describes: :class:`EncoderDecoder` or :class:`Looped`.

    ``hook_point``: the identity module class of every hook (TransformerLens' ``HookPoint``, say);
    ``root``: a base class mixed into the network's (TransformerLens' ``HookedRootModule``: the
    network is then one, and its ``setup()`` is called)."""
    cls = {"encoder-decoder": EncoderDecoder, "looped": Looped}[config["network"]]
    if root is not None:
        cls = type(f"{root.__name__}{cls.__name__}", (cls, root), {})
    net = cls(config, hook_point)
    if root is not None and hasattr(net, "setup"):
        net.setup()
    return net


def load(path, *, dtype: torch.dtype | None = None, device=None, hook_point: type = HookPoint,
         root: type | None = None) -> Network:
    """The network of the export at ``path`` (safetensors: a standard ``state_dict`` and the
    description in its metadata), in ``dtype`` (default: the file's) on ``device``; :func:`build`
    for the rest."""
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
        if METADATA_KEY not in metadata:
            raise ValueError(f"{path} is a safetensors file but no turingformer export")
        state = {key: f.get_tensor(key) for key in f.keys()}
    net = build(read_config(metadata[METADATA_KEY]), hook_point=hook_point, root=root)
    net.load_state_dict(state, strict=True)
    return net.to(device=device, dtype=dtype or state["seed" if "seed" in state else "card"].dtype).requires_grad_(False)


def save(net: Network, path) -> None:
    """Write ``net`` as an export: its ``state_dict`` (safetensors) and its description."""
    from safetensors.torch import save_file
    state = {key: value.detach().to("cpu").contiguous() for key, value in net.state_dict().items()}
    save_file(state, str(path), metadata={METADATA_KEY: json.dumps(net.config, ensure_ascii=False)})
