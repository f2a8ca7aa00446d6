"""The paper's training recipe: loss = 6 BCE + 0.2 AUX + 0.1 ECAL, label smoothing, Adam 5e-4 / 1e-4.

AUX and ECAL losses are mean absolute percentage errors (x100) as in the public 3DGAN code; the ECAL
target is Ep times the detector's sampling fraction, fitted (quadratic in Ep) on the training data.
One discriminator step on real and fake, then one generator step, per iteration.

Beyond the paper (each opt-in, each measured in docs/training.md): a shape loss against the training data's
profiles and feature moments (`w_shape`), generator steps without the discriminator (`adversarial=False`),
an exponential moving average of the generator's weights (`ema_decay`), and checkpoint selection on the GAN
issue's required list (`select="required"`).
"""

from __future__ import annotations

import copy
import json
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from caloquant._atomic import owned_folder
from caloquant.engines.base import generate_batches
from caloquant.engines.torch_engine import TorchEngine
from caloquant.errors import CheckpointError, InputValueError, require_positive
from caloquant.metadata import native_bf16
from caloquant.models import Discriminator, GANConfig, Generator
from caloquant.models.io import save_generator
from caloquant.physics.features import EventFeatures
from caloquant.physics.gan_requirements import features_and_bin_means, required_checks, required_score
from caloquant.physics.selection import selection_metric
from caloquant.training.batches import BatchSource, step_rng
from caloquant.training.checkpoint import load_checkpoint, save_checkpoint
from caloquant.training.precise_bn import recalibrate_batchnorm
from caloquant.training.shape_loss import RunningCellMeans, ShapeReference, shape_loss

__all__ = ["TrainConfig", "Trainer"]



@dataclass(frozen=True)
class TrainConfig:
    model: str = "paper"
    batch_size: int = 128
    steps: int = 1000
    lr_g: float = 5e-4
    lr_d: float = 1e-4
    w_bce: float = 6.0
    w_aux: float = 0.2
    w_ecal: float = 0.1
    real_label: float = 0.9
    fake_label: float = 0.1
    seed: int = 1
    bf16: bool = field(default_factory=native_bf16)  # autocast only where bf16 is native: emulated is slower
    threads: int = 2
    val_every: int = 100
    ckpt_every: int = 25
    device: str = "cpu"
    channels_last: bool = False
    compile: bool = False
    d_warmup: int = 0  # first steps of a run train only the discriminator (warm-started generators)
    precise_bn: int = 2048  # showers that re-estimate BatchNorm statistics before validating (0: running ones)
    d_input_power: float = 1.0  # the discriminator sees cell energies to this power (1: the paper's linear input)
    w_shape: float = 0.0  # weight of the shape loss against training-data statistics (0: the paper's recipe)
    ema_decay: float = 0.0  # exponential moving average of the generator's weights, validated and shipped (0: off)
    select: str = "metric"  # best checkpoint by the 3DGAN selection metric, or by the required shape score
    adversarial: bool = True  # False: generator steps on the shape and ECAL losses only (needs w_shape > 0)
    shape_straight_through: bool = False  # cell term through the final ReLU in bright cells (run E, training.md)
    w_core: float = 0.0  # shape loss: weight of the beam cell's per-layer profile (run F3, training.md)
    w_faint_layers: float = 0.0  # shape loss: the faint-cell excess per layer (stripes; training.md)
    w_cell: float = 1.0  # shape loss: weight of the bright-cell term (run F5 raised it; training.md)
    w_response: float = 0.0  # shape loss: the mean sampling fraction per bin, log ratio (run F7; training.md)
    cell_means: str = "batch"  # shape loss's bright-cell term on this batch's mean images or running ones (F8)
    g_dropout: bool = True  # False: the generator's dropout stays off in training (run F7; training.md)

    def __post_init__(self) -> None:
        require_positive(**{n: getattr(self, n) for n in ("batch_size", "steps", "threads", "val_every",
                                                          "ckpt_every")})
        require_positive("number", lr_g=self.lr_g, lr_d=self.lr_d)  # also refuses a NaN learning rate
        for name in ("precise_bn", "d_warmup"):
            if getattr(self, name) < 0:
                raise InputValueError(f"{name} {getattr(self, name)}: must be zero or positive")
        for name in ("w_shape", "w_core", "w_faint_layers", "w_cell", "w_response"):
            if not getattr(self, name) >= 0:  # also refuses NaN
                raise InputValueError(f"{name} {getattr(self, name)}: must be zero or positive")
        if not 0 <= self.ema_decay < 1:
            raise InputValueError(f"ema_decay {self.ema_decay}: expected 0 <= ema_decay < 1")
        if not self.adversarial and self.w_shape <= 0:
            raise InputValueError("a run without the adversarial loss needs a shape loss (w_shape > 0)")
        if self.cell_means not in ("batch", "running"):
            raise InputValueError(f"cell_means {self.cell_means!r}: expected batch or running")
        if self.select not in ("metric", "required"):
            raise InputValueError(f"select {self.select!r}: expected metric or required")
        if not 0 < self.d_input_power <= 1:
            raise InputValueError(f"d_input_power {self.d_input_power}: expected a value in (0, 1]")
        if self.model not in ("paper", "tiny"):
            raise InputValueError(f"model {self.model!r}: expected paper or tiny")

    def gan_config(self) -> GANConfig:
        return GANConfig.paper() if self.model == "paper" else GANConfig.tiny()


def _dropout_off(model: nn.Module) -> None:
    """Dropout layers to eval (identity) with the rest in train mode. The shape loss matches the mean
    image of the showers it sees; with dropout on it fits the noisy ensemble, whose final ReLU lets
    noise through in cells the deterministic network leaves empty: F5 read y std 1.08 and sampling
    fraction 2.18 % in training and 0.92 / 2.08 % as shipped (Geant4: 1.08 / 2.25 %)."""
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()


def _mape(target: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    return 100.0 * ((target - pred).abs() / target.abs().clamp_min(1e-12)).mean()


class Trainer:
    def __init__(self, run_dir: str | Path, cfg: TrainConfig, data: BatchSource,
                 validation: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.cfg = cfg
        self.data = data
        self.device = torch.device(cfg.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InputValueError("device cuda: no CUDA device is available on this machine")
        torch.set_num_threads(cfg.threads)
        gcfg = cfg.gan_config()
        torch.manual_seed(cfg.seed)
        self.gen = Generator(gcfg).to(self.device)
        self.disc = Discriminator(gcfg, input_power=cfg.d_input_power).to(self.device)
        if cfg.channels_last:
            self.gen = self.gen.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            self.disc = self.disc.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        # torch.compile wraps the modules for the forward passes; weights stay in self.gen / self.disc
        self._gen_fwd = torch.compile(self.gen) if cfg.compile else self.gen
        self._disc_fwd = torch.compile(self.disc) if cfg.compile else self.disc
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=cfg.lr_g)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr_d)
        self.bce = nn.BCELoss()
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.ecal_coeffs: list[float] | None = None
        self.validation = validation
        self._val_features: EventFeatures | None = None
        self._val_images: dict[str, np.ndarray] | None = None
        self.gen_ema = copy.deepcopy(self.gen) if cfg.ema_decay > 0 else None
        self._shape_ref: Any = None
        self._running_cells = RunningCellMeans() if cfg.cell_means == "running" else None
        self.warm_started = False
        self._stop = False
        self.wall_seconds = 0.0

    # -- state -------------------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {"train_config": asdict(self.cfg), "gan_config": self.cfg.gan_config().to_json(),
                "ecal_coeffs": self.ecal_coeffs, "best": self.best, "wall_seconds": self.wall_seconds,
                "data": self.data.describe(),
                "validation_showers": 0 if self.validation is None else len(self.validation[1]),
                "rng": "stateless: every batch, latent and dropout mask is "
                "drawn from SeedSequence(seed, (stream, step))"}

    def _model_info(self, **extra: Any) -> dict[str, Any]:
        return {"step": self.step, "batch_size": self.cfg.batch_size, "samples_seen": self.step * self.cfg.batch_size,
                "energy_range_gev": list(self.data.energy_range), "data": self.data.describe(),
                "wall_seconds": round(self.wall_seconds, 1), **extra}

    def _modules(self) -> dict[str, nn.Module]:
        modules: dict[str, nn.Module] = {"generator": self.gen, "discriminator": self.disc}
        if self.gen_ema is not None:
            modules["generator_ema"] = self.gen_ema
        return modules

    def save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.run_dir, step=self.step, modules=self._modules(),
                        optimizers={"generator": self.opt_g, "discriminator": self.opt_d},
                        extra=self._extra_state())

    def try_resume(self) -> bool:
        if not (self.run_dir / "state.json").exists():
            return False
        state = load_checkpoint(self.run_dir, modules=self._modules(),
                                optimizers={"generator": self.opt_g, "discriminator": self.opt_d})
        if GANConfig.from_json(state["gan_config"]) != self.cfg.gan_config():
            raise CheckpointError(f"{self.run_dir}: checkpoint is for model {state['gan_config']['name']!r}, "
                                  f"not {self.cfg.model!r}")
        trained = state["train_config"]
        if (float(trained.get("ema_decay", 0.0)) > 0) != (self.cfg.ema_decay > 0):
            raise CheckpointError(f"{self.run_dir}: run trained with ema_decay {trained.get('ema_decay', 0.0)}, "
                                  f"not {self.cfg.ema_decay}")
        trained_power = float(state["train_config"].get("d_input_power", 1.0))
        if trained_power != self.cfg.d_input_power:  # the discriminator would see another representation
            raise CheckpointError(f"{self.run_dir}: discriminator trained with d_input_power {trained_power}, "
                                  f"not {self.cfg.d_input_power}")
        for opt, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:  # the command line, not the checkpoint, sets the learning rates
                group["lr"] = lr
        self.step = int(state["step"])
        self.ecal_coeffs = state["ecal_coeffs"]
        self.best = state["best"]
        self.wall_seconds = float(state.get("wall_seconds", 0.0))
        return True

    def init_generator(self, path: str | Path) -> None:
        """Warm-start the generator from saved weights (e.g. the shipped model) when no checkpoint exists;
        the discriminator and the optimizers start fresh."""
        from caloquant.models.io import load_generator

        loaded = load_generator(path)
        if loaded.cfg != self.gen.cfg:
            raise CheckpointError(f"{path}: generator is {loaded.cfg.name!r}, this run trains {self.cfg.model!r}")
        self.gen.load_state_dict(loaded.state_dict())
        if self.gen_ema is not None:
            self.gen_ema.load_state_dict(loaded.state_dict())
        self.warm_started = True

    # -- recipe ------------------------------------------------------------------------------------
    def fit_ecal_target(self, n: int = 1024) -> None:
        """Sampling fraction versus Ep of the training data: a quadratic fit of sum(image)/Ep."""
        ecal, ep = self.data.batch(2**31 - 1, n)
        sf = ecal.reshape(len(ecal), -1).sum(axis=1) / ep
        self.ecal_coeffs = [float(c) for c in np.polyfit(ep / 100.0, sf, 2)]

    def fit_shape_reference(self, n: int = 8192) -> None:
        """Geant4 (or simulator) statistics the shape loss compares with; recomputed on resume, a pure
        function of the training data and the seed."""
        ecal, ep = self.data.batch(2**31 - 2, n)
        self._shape_ref = ShapeReference.from_showers(ecal, ep.astype(np.float64)).to(self.device)

    def ecal_target(self, ep: torch.Tensor) -> torch.Tensor:
        c2, c1, c0 = self.ecal_coeffs  # type: ignore[misc]
        u = ep / 100.0
        return ep * (c0 + c1 * u + c2 * u * u)

    def train_step(self) -> dict[str, float]:
        cfg, dev = self.cfg, self.device
        torch.manual_seed(int(np.random.SeedSequence(cfg.seed, spawn_key=(12, self.step)).generate_state(1)[0]))
        real_np, ep_np = self.data.batch(self.step, cfg.batch_size)
        rng = step_rng(cfg.seed, 13, self.step)
        n_d = rng.standard_normal((len(ep_np), self.gen.cfg.latent)).astype(np.float32)
        n_g = rng.standard_normal((len(ep_np), self.gen.cfg.latent)).astype(np.float32)
        real = torch.from_numpy(real_np).to(dev)
        ep = torch.from_numpy(ep_np.astype(np.float32)).to(dev)
        scale = (ep / 100.0)[:, None]
        b = len(ep)
        ones, zeros = torch.full((b,), cfg.real_label, device=dev), torch.full((b,), cfg.fake_label, device=dev)
        autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16)
        self.gen.train()
        if not cfg.g_dropout:
            _dropout_off(self.gen)
        self.disc.train()
        if not cfg.adversarial:
            return self._shape_only_step(torch.from_numpy(n_g).to(dev) * scale, ep, autocast)
        # Real and fake go through the discriminator as ONE batch: its BatchNorm layers (the last one
        # right before the heads) would otherwise normalise each batch on its own, which fixes the batch
        # mean of the real/fake logit and leaves the discriminator blind to what separates the two.
        # discriminator
        with autocast:
            with torch.no_grad():  # the discriminator step never backpropagates into the generator
                fake = self._gen_fwd(torch.from_numpy(n_d).to(dev) * scale)
            p_both, aux_both, _ = self._disc_fwd(torch.cat([real, fake.to(real.dtype)]))
            p_real, p_fake = p_both[:b], p_both[b:]
            aux_real, aux_fake = aux_both[:b], aux_both[b:]
        d_bce = self.bce(p_real.float().clamp(1e-7, 1 - 1e-7), ones) + \
            self.bce(p_fake.float().clamp(1e-7, 1 - 1e-7), zeros)
        d_aux = _mape(ep / 100.0, aux_real.float()) + _mape(ep / 100.0, aux_fake.float())
        loss_d = cfg.w_bce * d_bce + cfg.w_aux * d_aux
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        if self.step < cfg.d_warmup:
            # A warm-started generator facing a fresh discriminator would follow the gradients of a random
            # critic (and of an untrained energy head) and lose what it learned; until the discriminator has
            # caught up, the generator objective is only evaluated, on the discriminator step's fakes.
            with torch.no_grad():
                loss_g, g_bce, g_aux, g_ecal = self._generator_objective(p_fake, aux_fake, fake, ep)
            return self._as_floats(loss_d=loss_d, loss_g=loss_g, d_bce=d_bce, d_aux=d_aux, g_bce=g_bce,
                                   g_aux=g_aux, g_ecal=g_ecal)
        # generator
        with autocast:
            fake, fake_ste = self._generate_for_shape(torch.from_numpy(n_g).to(dev) * scale)
            p_both, aux_both, _ = self._disc_fwd(torch.cat([real, fake.to(real.dtype)]))
            p_fake, aux_fake = p_both[b:], aux_both[b:]
        loss_g, g_bce, g_aux, g_ecal = self._generator_objective(p_fake, aux_fake, fake, ep)
        shape_terms: dict[str, torch.Tensor] = {}
        if cfg.w_shape > 0:
            g_shape, shape_terms = self._shape_loss(fake, ep, fake_ste)
            loss_g = loss_g + cfg.w_shape * g_shape
            shape_terms = {"g_shape": g_shape, **{f"shape_{k}": v for k, v in shape_terms.items()}}
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self._update_ema()
        return self._as_floats(loss_d=loss_d, loss_g=loss_g, d_bce=d_bce, d_aux=d_aux, g_bce=g_bce, g_aux=g_aux,
                               g_ecal=g_ecal, **shape_terms)

    def _generate_for_shape(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(showers, the same showers with a straight-through final ReLU) for the shape loss's cell term;
        unless `shape_straight_through` both are the plain forward pass (compiled where asked)."""
        if self.cfg.w_shape <= 0 or not self.cfg.shape_straight_through:
            fake = self._gen_fwd(z)
            return fake, fake
        pre = self.gen.preactivation(z)
        fake = torch.relu(pre)
        return fake, pre + (fake - pre).detach()

    def _shape_loss(self, fake: torch.Tensor, ep: torch.Tensor, cells: torch.Tensor
                    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The shape loss with this run's optional terms, for both kinds of generator step."""
        return shape_loss(fake, ep, self._shape_ref, cells=cells, core_weight=self.cfg.w_core,
                          faint_layers_weight=self.cfg.w_faint_layers, cell_weight=self.cfg.w_cell,
                          response_weight=self.cfg.w_response, running=self._running_cells)

    def _shape_only_step(self, z: torch.Tensor, ep: torch.Tensor, autocast: Any) -> dict[str, float]:
        """A generator step on the shape and ECAL losses alone: no discriminator, about 2.3x cheaper per
        shower. For fine-tuning an adversarially trained generator toward Geant4's statistics."""
        with autocast:
            fake, fake_ste = self._generate_for_shape(z)
        g_ecal = _mape(self.ecal_target(ep), fake.float().sum(dim=(1, 2, 3)))
        g_shape, terms = self._shape_loss(fake, ep, fake_ste)
        loss_g = self.cfg.w_ecal * g_ecal + self.cfg.w_shape * g_shape
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self._update_ema()
        return self._as_floats(loss_g=loss_g, g_ecal=g_ecal, g_shape=g_shape,
                               **{f"shape_{k}": v for k, v in terms.items()})

    @torch.no_grad()
    def _update_ema(self) -> None:
        """Polyak averaging with the usual warm-up, decay min(d, (1 + t) / (10 + t)): early weights are
        forgotten quickly. BatchNorm statistics are not averaged; precise BN re-estimates them."""
        if self.gen_ema is None:
            return
        t = self.step - self.cfg.d_warmup
        decay = min(self.cfg.ema_decay, (1 + t) / (10 + t))
        for p_ema, p in zip(self.gen_ema.parameters(), self.gen.parameters(), strict=True):
            p_ema.lerp_(p.detach(), 1.0 - decay)
        for b_ema, b in zip(self.gen_ema.buffers(), self.gen.buffers(), strict=True):
            b_ema.copy_(b)

    def _generator_objective(self, p_fake: torch.Tensor, aux_fake: torch.Tensor, fake: torch.Tensor,
                             ep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """6 BCE(fake, 1) + 0.2 AUX + 0.1 ECAL: (total, bce, aux, ecal)."""
        cfg = self.cfg
        g_bce = self.bce(p_fake.float().clamp(1e-7, 1 - 1e-7), torch.ones(len(ep), device=ep.device))
        g_aux = _mape(ep / 100.0, aux_fake.float())
        g_ecal = _mape(self.ecal_target(ep), fake.float().sum(dim=(1, 2, 3)))
        return cfg.w_bce * g_bce + cfg.w_aux * g_aux + cfg.w_ecal * g_ecal, g_bce, g_aux, g_ecal

    @staticmethod
    def _as_floats(**values: torch.Tensor) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in values.items()}

    def inference_generator(self) -> Generator:
        """The generator as it would ship: BatchNorm statistics re-estimated for the current weights
        (`precise_bn` showers of the training distribution), or the running ones when that is 0."""
        gen = self.gen_ema if self.gen_ema is not None else self.gen
        if self.cfg.precise_bn == 0:
            return gen
        return recalibrate_batchnorm(gen, latent=self.gen.cfg.latent, energy_range=self.data.energy_range,
                                     n_showers=self.cfg.precise_bn, batch_size=self.cfg.batch_size,
                                     seed=self.cfg.seed + 2, dropout=self.cfg.g_dropout)

    def validate(self, gen: nn.Module) -> dict[str, Any]:
        """3DGAN selection metric of `gen` (see inference_generator) on the fixed validation set."""
        assert self.validation is not None
        ecal, ep = self.validation
        if self._val_features is None:
            self._val_features, self._val_images = features_and_bin_means([(ecal, ep)])
        engine = TorchEngine(gen, "fp32", threads=None)
        feats, images = features_and_bin_means(generate_batches(engine, ep=ep.astype(np.float64),
                                                                seed=self.cfg.seed + 1))
        m = selection_metric(feats, self._val_features)
        sf = float((feats.total / feats.ep).mean())
        checks = required_checks(feats, self._val_features, images, self._val_images or {})
        return {"metric": m.value, "moment_error": m.moment_error, "shape_error": m.shape_error,
                "sf_error": m.sampling_fraction_error, "sampling_fraction": sf,
                "required_score": required_score(checks), "required_failed": sum(not c.passed for c in checks),
                "required_checks": len(checks),
                "required_off": [f"{c.bin} {c.name} {c.value:+.3g}" for c in checks if not c.passed]}

    def _validate_and_keep(self, log: Any, on_step: Callable[[int, dict[str, float]], None] | None,
                           record: dict[str, Any]) -> None:
        """Validate the generator as it would ship, keep it if it beats the best so far, log the record."""
        shipped_form = self.inference_generator()
        val = self.validate(shipped_form)
        record["val"] = val
        key = "metric" if self.cfg.select == "metric" else "required_score"
        if self.best is None or val[key] < self.best.get(key, float("inf")):
            self.best = {"step": self.step, **val}
            save_generator(self.run_dir / "best_generator.safetensors", shipped_form,
                           info=self._model_info(selection_metric=val["metric"], required_score=val["required_score"],
                                                 selected_by=key, ema_decay=self.cfg.ema_decay,
                                                 precise_bn_showers=self.cfg.precise_bn))
        log.write(json.dumps(record) + "\n")
        log.flush()
        if on_step:
            on_step(self.step, record)

    # -- loop --------------------------------------------------------------------------------------
    def _request_stop(self, *_: Any) -> None:
        self._stop = True

    def run(self, *, on_step: Callable[[int, dict[str, float]], None] | None = None,
            time_budget_s: float | None = None) -> str:
        """Train until cfg.steps, or until `time_budget_s` of wall time have passed in this call (a leased
        GPU's minutes); SIGINT/SIGTERM stop cleanly after the current step. Returns the reason. A run that
        fails before its first checkpoint leaves no folder behind (if it made one)."""
        with owned_folder(self.run_dir, keep=lambda p: (p / "state.json").exists()):
            return self._run(on_step, time_budget_s)

    def _run(self, on_step: Callable[[int, dict[str, float]], None] | None, time_budget_s: float | None) -> str:
        started = time.monotonic()
        if self.ecal_coeffs is None:
            self.fit_ecal_target()
        if self.cfg.w_shape > 0 and self._shape_ref is None:
            self.fit_shape_reference()
        old = {s: signal.signal(s, self._request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        log = (self.run_dir / "log.jsonl").open("a")
        reason = "finished"
        try:
            if self.step == 0 and self.warm_started and self.validation is not None and self.best is None:
                # the warm start's own standing: the row every later validation is compared with
                self._validate_and_keep(log, on_step, {"step": 0, "wall_s": 0.0})
            while self.step < self.cfg.steps:
                t0 = time.perf_counter()
                losses = self.train_step()
                self.step += 1
                self.wall_seconds += time.perf_counter() - t0
                record: dict[str, Any] = {"step": self.step, **losses, "wall_s": round(self.wall_seconds, 1)}
                if self.validation is not None and self.step % self.cfg.val_every == 0:
                    self._validate_and_keep(log, on_step, record)
                else:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    if on_step:
                        on_step(self.step, record)
                if self.step % self.cfg.ckpt_every == 0 or self.step == self.cfg.steps:
                    self.save()
                if self._stop:
                    reason = "interrupted"
                    break
                if time_budget_s is not None and time.monotonic() - started >= time_budget_s:
                    reason = "time budget spent"
                    break
        finally:
            log.close()
            for s, h in old.items():
                signal.signal(s, h)
        self.save()
        save_generator(self.run_dir / "last_generator.safetensors", self.gen, info=self._model_info())
        return reason
