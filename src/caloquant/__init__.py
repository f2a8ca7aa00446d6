"""caloquant: reduced-precision fast calorimeter simulation, with the physics to prove it.

Importing the package loads numpy only; PyTorch, OpenVINO and ONNX Runtime are imported lazily by
the modules that need them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("caloquant")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
