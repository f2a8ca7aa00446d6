"""Build the independent Geant4 check sample shipped inside caloquant (rerunnable, deterministic).

The simulator is fitted on geant4_electrons_100-500GeV.h5; this takes the first 800 showers of the
independent file geant4_electrons_100-500GeV_part2.h5 (seed 1005), which the fit never sees.

    python scripts/make_geant4_check_sample.py ../shared/data/geant4/geant4_electrons_100-500GeV_part2.h5
"""

from __future__ import annotations

import sys
from pathlib import Path

from caloquant.data import open_showers
from caloquant.data.threedgan import ShowerWriter

N_SHOWERS = 800
OUT = Path(__file__).resolve().parents[1] / "src/caloquant/resources/geant4_electrons_check.h5"


def main(source_path: str) -> None:
    src = open_showers(source_path)
    attrs = {
        "generator": "Geant4 11.4.1 (geant4-pybind 0.1.3), data-free EM physics list",
        "physics": "standard EM without data files: Sandia photo-effect, Klein-Nishina Compton, relativistic "
        "pair production and bremsstrahlung, Urban/WentzelVI msc, no Rayleigh; production cut 0.7 mm",
        "particle": "e-",
        "source_file": Path(source_path).name,
        "source_events": f"0..{N_SHOWERS - 1} (Geant4 random seed 1005)",
        "geant4_seconds_per_shower_per_core": 1.3,
        "role": "independent check sample: not used to fit the simulator or train the GAN",
    }
    with ShowerWriter(OUT, attrs=attrs, compression_level=9) as writer:
        for ecal, ep in src.iter_chunks(200):
            take = min(len(ecal), N_SHOWERS - writer.n_written)
            writer.append(ecal[:take], ep[:take])
            if writer.n_written >= N_SHOWERS:
                break
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {N_SHOWERS} showers)")


if __name__ == "__main__":
    main(sys.argv[1])
