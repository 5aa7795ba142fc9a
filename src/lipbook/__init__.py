"""lipbook: the shared package of the *Lipschitz Lectures* book.

Every chapter imports it. Modules, one concept each (the README's "Layout" says more):

- :mod:`lipbook.device`       where tensors live, and seeding (``book_seed``: LIPBOOK_SEED)
- :mod:`lipbook.toy`          2D target distributions, point grids and mode coverage
- :mod:`lipbook.nets`         MLP critics and generators, batched over K settings
- :mod:`lipbook.constraints`  clipping, gradient penalty, spectral norm, GN, GraN
- :mod:`lipbook.lipschitz`    bounds on a network's Lipschitz constant; f and ∇ₓf at points
- :mod:`lipbook.wasserstein`  exact W1 (POT) and the critic's dual estimate
- :mod:`lipbook.dual`         constrained critics fitted to the Kantorovich–Rubinstein dual
- :mod:`lipbook.losses`       the Wasserstein, hinge and non-saturating GAN losses
- :mod:`lipbook.config`       ``WGANConfig`` and the table of methods
- :mod:`lipbook.members`      what K settings trained at once need
- :mod:`lipbook.engines`      the autograd and explicit gradient engines
- :mod:`lipbook.backprop`     the explicit engine's recursions
- :mod:`lipbook.results`      ``TrainResult``, the evaluation history, ``trend`` and its verdict
- :mod:`lipbook.train`        the toy WGAN trainer (``train``, ``sweep``, ``sweep_seeds``)
- :mod:`lipbook.runner`       latest-request-wins worker thread
- :mod:`lipbook.controls`     the playground's controls and settings
- :mod:`lipbook.widgets`      the live playground
- :mod:`lipbook.plots`        figures of critics, runs and sweeps
- :mod:`lipbook.explorer`     the kernel-free explorer of a slider chapter
- :mod:`lipbook.book`         glue, tables, number formatting, medians, offline animations
- :mod:`lipbook.checks`       argument checks, and the bad-input policy every module follows
"""

from importlib.metadata import PackageNotFoundError, version

from .device import book_seed, get_device, seed_everything

try:
    __version__ = version("lipbook")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["book_seed", "get_device", "seed_everything", "__version__"]
