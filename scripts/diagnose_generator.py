"""What a generator gets wrong shower by shower: per-shower feature means and spreads against Geant4, and how
many cells it leaves empty (rerunnable, seeded; the tables in docs/training.md, session 21).

    python scripts/diagnose_generator.py WEIGHTS.safetensors [--features-reference G4.h5] [--cells-reference G4.h5]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from caloquant.contract import draw_energies, draw_latents, make_latent
from caloquant.data import open_showers
from caloquant.models.io import load_generator
from caloquant.resources import geant4_check_sample
from caloquant.training.shape_loss import FEATURE_NAMES, shower_features

G4 = "../shared/data/geant4/geant4_electrons_100-500GeV_part3.h5"


def _generate(gen: torch.nn.Module, ep: np.ndarray, seed: int) -> np.ndarray:
    z = make_latent(draw_latents(seed, len(ep), gen.cfg.latent), ep)
    with torch.no_grad():
        return gen(torch.from_numpy(z)).numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--features-reference", default=G4)
    ap.add_argument("--cells-reference", default=None, help="default: the shipped Geant4 check sample")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = load_generator(args.weights).eval()

    ecal, ep = open_showers(args.features_reference).read(0, 1500)
    ep_gan = draw_energies(args.seed, 256, 100.0, 500.0)
    fake = _generate(gen, ep_gan, args.seed)
    f = shower_features(torch.from_numpy(fake).double(), torch.from_numpy(ep_gan).double()).numpy()
    fr = shower_features(torch.from_numpy(ecal).double(), torch.from_numpy(ep).double()).numpy()
    print("| feature | bin (GeV) | GAN mean +- spread | Geant4 mean +- spread |\n|---|---|---|---|")
    for j, name in enumerate(FEATURE_NAMES):
        for lo, hi in ((100, 200), (400, 500)):
            m, mr = (ep_gan >= lo) & (ep_gan < hi), (ep >= lo) & (ep < hi)
            print(f"| {name} | {lo}-{hi} | {f[m, j].mean():.4g} +- {f[m, j].std():.2g} | "
                  f"{fr[mr, j].mean():.4g} +- {fr[mr, j].std():.2g} |")

    src = open_showers(args.cells_reference or geant4_check_sample())
    ecal, ep = src.read(0, src.n_showers)
    sel = (ep >= 200) & (ep < 300)
    fake = _generate(gen, ep[sel].astype(np.float64), args.seed + 1)
    ref_mean, gan_mean = ecal[sel].mean(axis=0), fake.mean(axis=0)
    bright = ref_mean > 1e-4
    ratio = gan_mean[bright] / ref_mean[bright]
    print(f"\n200-300 GeV, {sel.sum()} showers of {src.path.name}:")
    print(f"- cells exactly zero: GAN {100 * (fake == 0).mean():.1f} %, Geant4 {100 * (ecal[sel] == 0).mean():.1f} %")
    print(f"- cells with mean Geant4 energy above 1e-4 GeV: {bright.sum()}; empty in every GAN shower: "
          f"{100 * (gan_mean[bright] == 0).mean():.1f} %; GAN mean within a factor 2: "
          f"{100 * ((ratio >= 0.5) & (ratio <= 2)).mean():.1f} %")


if __name__ == "__main__":
    main()
