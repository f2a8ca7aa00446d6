"""A loss with a direct gradient for the shower's shape, against Geant4 statistics fixed before training.

The adversarial term alone tells the generator that its showers look wrong, not where: cell energies span
six decades, and a discriminator reading them barely reacts to a halo or to energy in the early layers
(docs/training.md). This term compares, per 100 GeV bin of the batch, what the physics checks compare:
the mean image cell by cell (relative difference, so a 1e-5 GeV cell counts as much as the core), the
mean longitudinal and lateral profiles (log space), and the mean and spread of per-shower features (sampling fraction,
longitudinal centroid and width, lateral width, 1x1 / 3x3 / 5x5 containment). The reference is the
training showers' own, symmetrised over the eight mirror/swap images, in 50 GeV bins interpolated
linearly to each generated shower's primary energy, so it never costs a real batch.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from caloquant.errors import InputValueError
from caloquant.geometry import ECAL
from caloquant.physics.gan_requirements import BRIGHT_GEV, FAINT_GEV  # the cell terms weigh cells as the check
from caloquant.training.batches import symmetry_images

__all__ = ["FEATURE_NAMES", "ShapeReference", "shape_loss", "shower_features"]

FEATURE_NAMES = ("sampling fraction", "z centroid", "z width", "lateral width", "1x1 fraction", "3x3 fraction",
                 "5x5 fraction")
REF_BIN_GEV = 50.0
LOSS_BINS = ((100.0, 200.0), (200.0, 300.0), (300.0, 400.0), (400.0, 500.0))
EPS_CELL = 3e-8  # per GeV of Ep: 1e-5 GeV at 300 GeV, the faintest mean cell the artefact check weighs
EPS_LAYER = 1e-6
EPS_LATERAL = 1e-7


def shower_features(image: torch.Tensor, ep: torch.Tensor) -> torch.Tensor:
    """(B, 7) per-shower features of FEATURE_NAMES; image (B, x, y, layer) in GeV. Works on numpy-made
    tensors too (float64 for the reference)."""
    total = image.sum(dim=(1, 2, 3)).clamp_min(1e-9)
    idx = torch.arange(image.shape[-1], dtype=image.dtype, device=image.device)

    def centroid_width(profile: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        p = profile / total[:, None]
        mean = (p * idx).sum(dim=1)
        var = (p * (idx[None] - mean[:, None]) ** 2).sum(dim=1)
        return mean, (var + 1e-6).sqrt()

    z_mean, z_std = centroid_width(image.sum(dim=(1, 2)))
    _, x_std = centroid_width(image.sum(dim=(2, 3)))
    _, y_std = centroid_width(image.sum(dim=(1, 3)))
    bx, by = ECAL.beam_cell
    core = [image[:, bx - h:bx + h + 1, by - h:by + h + 1, :].sum(dim=(1, 2, 3)) / total for h in (0, 1, 2)]
    return torch.stack([total / ep, z_mean, z_std, 0.5 * (x_std + y_std), *core], dim=1)


def _symmetrised(image: np.ndarray) -> np.ndarray:
    """Mean of the eight mirror/swap images of one (x, y, layer) image."""
    return symmetry_images(np.repeat(image[None], 8, axis=0), np.arange(8)).mean(axis=0)


@dataclass
class ShapeReference:
    """Geant4 statistics per 50 GeV bin: mean image / Ep (symmetrised), per-shower feature means and stds."""

    centres: np.ndarray  # (K,) bin centres in GeV
    image: np.ndarray  # (K, x, y, layer) mean of image / Ep
    feature_mean: np.ndarray  # (K, F)
    feature_std: np.ndarray  # (K, F)

    @classmethod
    def from_showers(cls, ecal: np.ndarray, ep: np.ndarray, chunk: int = 512) -> ShapeReference:
        lo, hi = np.floor(ep.min() / REF_BIN_GEV), np.ceil(ep.max() / REF_BIN_GEV)
        edges = np.arange(lo, hi + 1) * REF_BIN_GEV
        feats = np.concatenate([
            shower_features(torch.from_numpy(np.asarray(ecal[s:s + chunk], dtype=np.float64)),
                            torch.from_numpy(np.asarray(ep[s:s + chunk], dtype=np.float64))).numpy()
            for s in range(0, len(ep), chunk)])
        centres, images, means, stds = [], [], [], []
        for a, b in itertools.pairwise(edges):
            sel = np.flatnonzero((ep >= a) & (ep < b) if b < edges[-1] else (ep >= a) & (ep <= b))
            if len(sel) < 20:
                continue
            acc = np.zeros(ecal.shape[1:], dtype=np.float64)
            for s in range(0, len(sel), chunk):
                part = sel[s:s + chunk]
                acc += (ecal[part] / ep[part, None, None, None]).sum(axis=0, dtype=np.float64)
            centres.append(float(ep[sel].mean()))
            images.append(_symmetrised(acc / len(sel)))
            means.append(feats[sel].mean(axis=0))
            stds.append(feats[sel].std(axis=0))
        if len(centres) < 2:
            raise InputValueError(f"shape loss: the training data fill {len(centres)} 50 GeV bins with 20 showers or "
                                  "more; the reference needs at least two")
        return cls(np.array(centres), np.stack(images), np.stack(means), np.stack(stds))

    def weights(self, ep: torch.Tensor) -> torch.Tensor:
        """(B, K) linear-interpolation weights of each primary energy between bin centres (clamped)."""
        c = torch.as_tensor(self.centres, dtype=torch.float32, device=ep.device)
        e = ep.float().clamp(float(c[0]), float(c[-1]))
        j = torch.searchsorted(c, e, right=True).clamp(1, len(c) - 1)
        t = (e - c[j - 1]) / (c[j] - c[j - 1])
        w = torch.zeros(len(e), len(c), device=ep.device)
        w.scatter_(1, (j - 1)[:, None], (1 - t)[:, None])
        w.scatter_add_(1, j[:, None], t[:, None])
        return w

    def to(self, device: torch.device) -> _DeviceReference:
        return _DeviceReference(self, device)


class _DeviceReference:
    def __init__(self, ref: ShapeReference, device: torch.device) -> None:
        self.ref = ref
        self.image = torch.as_tensor(ref.image, dtype=torch.float32, device=device)
        self.mean = torch.as_tensor(ref.feature_mean, dtype=torch.float32, device=device)
        self.std = torch.as_tensor(ref.feature_std, dtype=torch.float32, device=device).clamp_min(1e-6)


def _relative_l1(a: torch.Tensor, b: torch.Tensor, eps: float) -> torch.Tensor:
    """Mean of |a - b| / (a + b + eps): 0 where equal, 1/3 a factor 2 off, 1 where one side is empty. Its
    gradient at an empty cell is about 2 / b (the log distance's would be 1 / eps), so cells the
    generator leaves empty are pulled up at their own scale instead of flooding the image."""
    return ((a - b).abs() / (a + b + eps)).mean()


class RunningCellMeans:
    """The generator's mean image per loss bin, averaged over recent batches (weight `alpha` for the
    newest). The cell term of a cell that few showers fill, taken on one batch's mean, sees a right-skewed
    number: relative L1 saturates for a bright outlier and costs 1 for an empty batch, so its minimum
    sits where the generator's true mean is too bright (F7's failing cells: layers 2-5 near the axis,
    2-3x Geant4's). Taken on the running mean the term is evaluated near the true mean; the gradient
    still flows through the newest batch, scaled back by 1 / alpha (run F8)."""

    def __init__(self, alpha: float = 0.1) -> None:
        self.alpha = alpha
        self.sample: dict[int, torch.Tensor] = {}
        self.target: dict[int, torch.Tensor] = {}

    def term(self, k: int, sample: torch.Tensor, target: torch.Tensor, cells: torch.Tensor, eps: float
             ) -> torch.Tensor:
        """The cell term over the mean images' `cells` (a mask), with this batch's means folded in."""
        if k in self.sample:
            a = self.alpha
            sample = (1 - a) * self.sample[k] + a * sample
            target = (1 - a) * self.target[k] + a * target
            scale = 1.0 / a
        else:
            scale = 1.0
        self.sample[k], self.target[k] = sample.detach(), target.detach()
        value = _relative_l1(sample[cells], target[cells], eps)
        return value.detach() + scale * (value - value.detach())


def _log_l1(a: torch.Tensor, b: torch.Tensor, eps: float) -> torch.Tensor:
    return ((a + eps).log() - (b + eps).log()).abs().mean()


def shape_loss(fake: torch.Tensor, ep: torch.Tensor, ref: _DeviceReference, *, cells: torch.Tensor | None = None,
               min_per_bin: int = 4, core_weight: float = 0.0, faint_layers_weight: float = 0.0,
               cell_weight: float = 1.0, response_weight: float = 0.0,
               running: RunningCellMeans | None = None
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Sum of six terms, each averaged over the 100 GeV bins the batch covers, the first three weighing
    cells as the artefact check does: the cell term (relative difference of the mean images over the cells
    whose Geant4 mean exceeds BRIGHT_GEV), the halo term (the same over cells between FAINT_GEV and
    BRIGHT_GEV), the faint term (log(1 + excess) of the energy in the cells below FAINT_GEV over
    Geant4's); then layer and lateral profile L1 distances in log space, and feature moment distances in
    units of Geant4's spread. One average over every cell (before session 22) let the 93 % of cells that
    Geant4 leaves nearly empty outweigh the thousand that hold the shower.

    `cells`, the same showers with a final ReLU that lets the gradient through (Generator.preactivation),
    feeds the cell term only, and only in cells whose reference mean exceeds BRIGHT_GEV, so that cells the
    generator leaves empty learn that Geant4 fills them (through every cell it flooded the image). The
    profiles and features see the showers as they are: through them a straight gradient would push cells
    that change nothing (measured: the feature term rose from 20 to 34 in 12 steps instead of falling).

    `core_weight` adds a seventh term: the mean energy of the beam's cell in each layer (log L1), the
    shower's core, which run F spread over 3 x 3 cells while the 1x1-containment moment, one number in
    fourteen, barely pulled (docs/training.md). `faint_layers_weight` adds the faint term per layer
    (the mean over layers of log(1 + excess) of each layer's faint cells): the shipped F3 drew a stripe of
    faint cells across layer 18 that the one sum over all faint cells averaged away. `cell_weight` scales
    the cell term: F3 held the beam cell but left its eight neighbours at a fifth of Geant4's energy.
    `response_weight` adds the log ratio of the bin's mean sampling fraction to Geant4's: in the moments
    term it is one number in fourteen, in Geant4's spread, and F3-F5 stayed 5-10 % low. `running`
    takes the cell term on running mean images instead of this batch's (RunningCellMeans)."""
    image = fake.float() / ep[:, None, None, None]
    cell_image = image if cells is None else cells.float() / ep[:, None, None, None]
    feats = shower_features(fake.float(), ep)
    w = ref.ref.weights(ep)
    parts: dict[str, list[torch.Tensor]] = {"cell": [], "halo": [], "faint": [], "layer": [], "lateral": [],
                                            "moments": []}
    if core_weight > 0:
        parts["core"] = []
    if faint_layers_weight > 0:
        parts["faint_layers"] = []
    if response_weight > 0:
        parts["response"] = []
    bx, by = ECAL.beam_cell
    for k, (lo, hi) in enumerate(LOSS_BINS):
        sel = torch.nonzero((ep >= lo) & (ep < hi)).squeeze(1)
        if len(sel) < min_per_bin:
            continue
        wb = w[sel].mean(dim=0)  # the reference mean image at these showers' energies
        target = torch.tensordot(wb, ref.image, dims=1)
        mean_img = image[sel].mean(dim=0)
        # straight-through only feeds the bright cells' term: empty far cells stay quiet
        cell_mean = mean_img if cells is None else cell_image[sel].mean(dim=0)
        g4_gev = target * ep[sel].mean()
        bright, faint = g4_gev > BRIGHT_GEV, g4_gev < FAINT_GEV
        halo = ~bright & ~faint
        if running is None:
            parts["cell"].append(cell_weight * _relative_l1(cell_mean[bright], target[bright], EPS_CELL))
        else:
            parts["cell"].append(cell_weight * running.term(k, cell_mean, target, bright, EPS_CELL))
        parts["halo"].append(_relative_l1(mean_img[halo], target[halo], EPS_CELL))
        excess = mean_img[faint].sum() / target[faint].sum().clamp_min(1e-12) - 1.0
        parts["faint"].append(torch.log1p(torch.relu(excess)))
        parts["layer"].append(_log_l1(mean_img.sum(dim=(0, 1)), target.sum(dim=(0, 1)), EPS_LAYER))
        parts["lateral"].append(0.5 * (_log_l1(mean_img.sum(dim=(1, 2)), target.sum(dim=(1, 2)), EPS_LATERAL)
                                       + _log_l1(mean_img.sum(dim=(0, 2)), target.sum(dim=(0, 2)), EPS_LATERAL)))
        if core_weight > 0:
            parts["core"].append(core_weight * _log_l1(mean_img[bx, by], target[bx, by], EPS_LAYER))
        if faint_layers_weight > 0:  # per layer: (x, y, layer) masked sums over x and y
            mask = faint.to(mean_img.dtype)
            ref_layers = (target * mask).sum(dim=(0, 1)).clamp_min(1e-12)
            excess_layers = (mean_img * mask).sum(dim=(0, 1)) / ref_layers - 1.0
            parts["faint_layers"].append(faint_layers_weight * torch.log1p(torch.relu(excess_layers)).mean())
        f = feats[sel]
        mu = w[sel] @ ref.mean  # per-shower reference at its energy
        sd = w[sel] @ ref.std
        scale = sd.mean(dim=0)
        if response_weight > 0:  # the bin's mean sampling fraction, log ratio to Geant4's
            parts["response"].append(response_weight * (f[:, 0].mean().log() - mu[:, 0].mean().log()).abs())
        d_mean = ((f - mu).mean(dim=0) / scale).abs()
        d_std = (f.std(dim=0) - sd.mean(dim=0)).abs() / scale
        parts["moments"].append((d_mean + d_std).mean())
    if not parts["cell"]:
        zero = fake.sum() * 0.0
        return zero, {k: zero.detach() for k in parts}
    terms = {k: torch.stack(v).mean() for k, v in parts.items()}
    return sum(terms.values()), terms  # type: ignore[return-value]
