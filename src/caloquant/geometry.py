"""The calorimeter every part of caloquant describes: one place for shapes, units and axes.

A CLIC-like silicon-tungsten ECAL prototype as used by the 3DGAN papers (Khattak et al.; Rehm et al.,
arXiv 2103.10142): 25 x 25 cells of 5.1 mm, 25 layers of tungsten each followed by 0.5 mm silicon.
Showers are arrays indexed (x, y, layer) with depth last; the beam enters at normal incidence at the
centre of cell (12, 12) (0-based). Energies are in GeV deposited in silicon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ECAL", "CalorimeterGeometry"]

_X0_TUNGSTEN_MM = 3.504  # PDG radiation length of tungsten
_X0_SILICON_MM = 93.70  # PDG radiation length of silicon


@dataclass(frozen=True)
class CalorimeterGeometry:
    """Geometry of the sampling calorimeter.

    Attributes:
        n_x, n_y: cells per layer along x and y.
        cell_size_mm: transverse cell pitch.
        absorber_mm: tungsten thickness in front of each silicon layer, front to back.
        silicon_mm: silicon thickness of every layer.
        beam_cell: (x, y) index of the cell the beam enters, 0-based.
    """

    n_x: int = 25
    n_y: int = 25
    cell_size_mm: float = 5.1
    absorber_mm: tuple[float, ...] = field(default_factory=lambda: (2.4,) * 17 + (4.8,) * 8)
    silicon_mm: float = 0.5
    beam_cell: tuple[int, int] = (12, 12)

    def summary_line(self) -> str:
        """One line that identifies the geometry: written into shower files and simulator parameters, and
        compared when parameters fitted for one calorimeter are loaded for another."""
        n_thin = sum(1 for a in self.absorber_mm if a == self.absorber_mm[0])
        return (f"{self.n_x}x{self.n_y} cells of {self.cell_size_mm} mm; {self.n_layers} layers: {n_thin} x "
                f"{self.absorber_mm[0]} mm + {self.n_layers - n_thin} x {self.absorber_mm[-1]} mm W, each followed "
                f"by {self.silicon_mm} mm Si")

    @property
    def n_layers(self) -> int:
        return len(self.absorber_mm)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one shower: (x, y, layer)."""
        return (self.n_x, self.n_y, self.n_layers)

    @property
    def n_cells(self) -> int:
        return self.n_x * self.n_y * self.n_layers

    def layer_x0(self) -> np.ndarray:
        """Radiation lengths of each layer (absorber plus silicon)."""
        return np.asarray(self.absorber_mm) / _X0_TUNGSTEN_MM + self.silicon_mm / _X0_SILICON_MM

    def silicon_depth_x0(self) -> np.ndarray:
        """Depth in X0 of the middle of each silicon layer, measured from the calorimeter front."""
        absorber = np.asarray(self.absorber_mm) / _X0_TUNGSTEN_MM
        si = self.silicon_mm / _X0_SILICON_MM
        before = np.concatenate([[0.0], np.cumsum(absorber + si)[:-1]])
        return before + absorber + 0.5 * si

    def total_x0(self) -> float:
        return float(self.layer_x0().sum())

    def cell_centres_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """Transverse cell-centre coordinates relative to the beam impact point (the centre of beam_cell)."""
        x = (np.arange(self.n_x) - self.beam_cell[0]) * self.cell_size_mm
        y = (np.arange(self.n_y) - self.beam_cell[1]) * self.cell_size_mm
        return x, y

    def cell_radii(self) -> np.ndarray:
        """(n_x, n_y): each cell centre's distance from the beam impact point, in cells."""
        x, y = self.cell_centres_mm()
        return np.hypot(x[:, None], y[None, :]) / self.cell_size_mm

    def describe(self) -> dict[str, object]:
        """A JSON-ready description, stored in file attributes and metadata."""
        return {
            "shape": list(self.shape),
            "axes": "x, y, layer (depth last)",
            "cell_size_mm": self.cell_size_mm,
            "absorber": "tungsten",
            "absorber_mm": list(self.absorber_mm),
            "silicon_mm": self.silicon_mm,
            "beam_cell": list(self.beam_cell),
            "total_x0": round(self.total_x0(), 3),
            "units": "GeV deposited in silicon",
        }


ECAL = CalorimeterGeometry()
"""The default calorimeter of the 3DGAN papers."""
