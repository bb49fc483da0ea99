"""The NumPy backend: one module per op family, merged into one registry.

Every kernel is vectorised over pixels and channels; Python loops only run
over kernel taps or list arguments.
"""

from . import conv, elementwise, matmul, normalization, pool, reduce, shape

KERNELS: dict = {}
for _module in (conv, elementwise, matmul, normalization, pool, reduce, shape):
    overlap = KERNELS.keys() & _module.KERNELS.keys()
    assert not overlap, f"kernel defined twice: {overlap}"
    KERNELS.update(_module.KERNELS)
