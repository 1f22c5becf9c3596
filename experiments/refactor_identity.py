"""Digests of training runs and fills, to check that a refactor keeps them bit-identical.

    python experiments/refactor_identity.py > after.json     # on the new code
    git stash; python experiments/refactor_identity.py > before.json; git stash pop
    diff before.json after.json

Tiny networks (width 8, T = 50) on a random 96x96 image, one thread: the
weights, EMA and losses of every method's training (a texture, a damaged
image with its valid map, a corpus, a resume), and for every sampler the
fill, its progress ticks, and the windowed fill of a larger image.  Runs on
the code before and after a refactor; the two JSON files must be equal.
"""
import hashlib, json, sys
import torch
from inpaint.config import TrainConfig
from inpaint.diffusion import DiffusionConfig
from inpaint.unet import ModelConfig
from inpaint.train import train
from inpaint.fill import fill, SamplerConfig
try:
    from inpaint.windows import fill_windows
except ImportError:
    from inpaint.restore import fill_windows
from inpaint.restore import train_restorer

torch.set_num_threads(1)
out = {}
def h(t): return hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()[:16]
def hs(sd): return h(torch.cat([v.flatten().float() for v in sd.values()]))
g = torch.Generator().manual_seed(1)
img = torch.rand(1, 3, 96, 96, generator=g) * 2 - 1
def cfg(method, steps=6, **kw):
    return TrainConfig(model=ModelConfig(method=method, image_channels=3, width=8, depth=2),
                       diffusion=DiffusionConfig(timesteps=50), crop=32, batch=4, steps=steps, precision="fp32", **kw)
models = {}
for m, kw in [("regression", {}), ("diffusion", {}), ("repaint", {}), ("diffusion", {"cond_dropout": 0.3, "lr_decay": "cosine"})]:
    ck = train(img, cfg(m, **kw))
    key = m + ("-cfg" if kw else "")
    out["train-" + key] = [hs(ck.model), hs(ck.ema), h(ck.losses), ck.config.augment]
    models[key] = ck
known = torch.ones(1, 1, 96, 96, dtype=torch.bool); known[..., 30:60, 20:50] = False
ck = train_restorer(img, known, cfg("diffusion"))
out["train-restorer"] = [hs(ck.model), h(ck.losses)]
ck = train([img, img[..., :64, :80]], cfg("diffusion"), name="corpus")
out["train-corpus"] = [hs(ck.model), h(ck.losses)]
ck0 = train(img, cfg("diffusion", 3)); ck1 = train(img, cfg("diffusion", 6), start=ck0)
out["train-resume"] = [hs(ck1.model), h(ck1.losses)]
x = img[..., :64, :64]; k = known[..., :64, :64]
for name, ckname, s in [
    ("regression", "regression", SamplerConfig()),
    ("default", "diffusion", SamplerConfig()),
    ("noise", "diffusion", SamplerConfig(start="noise")),
    ("ddpm", "diffusion", SamplerConfig("ddpm", 10)),
    ("ddpm-analytic", "diffusion", SamplerConfig("ddpm", 10, variance="analytic")),
    ("ddim", "diffusion", SamplerConfig("ddim", 10, eta=0.2)),
    ("dpmpp", "diffusion", SamplerConfig("dpmpp-2m", 8, grid="karras")),
    ("dpmpp-sde", "diffusion", SamplerConfig("dpmpp-2m-sde", 8, sigma_max=10)),
    ("pc", "diffusion", SamplerConfig("pc", 6)),
    ("repaint", "repaint", SamplerConfig()),
    ("repaint-q", "repaint", SamplerConfig("repaint", 20, jump_n_sample=3)),
    ("guidance", "diffusion-cfg", SamplerConfig(steps=6, guidance=1.0)),
    ("cfg-repaint", "diffusion-cfg", SamplerConfig("repaint", 20, jump_n_sample=2)),
]:
    ckp = models[ckname]
    ticks = []
    y = fill(ckp.network(), ckp.config, x, k, sampler=s, samples=2, generator=torch.Generator().manual_seed(3),
             progress=lambda d, t: ticks.append((d, t)))
    out["fill-" + name] = [h(y), len(ticks), ticks[-1] if ticks else None]
    ticks = []
    if name in ("default", "repaint-q", "regression", "pc"):
        y = fill_windows(ckp.network(), ckp.config, img, known, sampler=s, generator=torch.Generator().manual_seed(4),
                         progress=lambda d, t: ticks.append((d, t)), max_side=48, margin=8)
        out["windows-" + name] = [h(y), len(ticks), ticks[-1], h(torch.tensor(ticks))]
json.dump(out, sys.stdout, indent=0)
