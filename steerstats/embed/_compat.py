"""Import open_clip even where torchvision's compiled operators cannot load.

open_clip imports torchvision for its image transforms (``torchvision.transforms``: Resize,
CenterCrop, ToTensor, Normalize, InterpolationMode) and for ``FrozenBatchNorm2d``, all pure Python.
``import torchvision`` also loads the C++ extension ``torchvision/_C.so`` (detection operators:
nms, roi_align, deform_conv2d, ...). When torchvision was built for another torch (e.g. a CUDA
build next to a CPU torch: ``_C.so`` links ``libtorch_cuda.so``), that load fails quietly and
``torchvision/_meta_registrations.py`` then dies on its unconditional
``torch.library.register_fake("torchvision::nms")`` with
``RuntimeError: operator torchvision::nms does not exist``.

The shim, used only after the normal ``import torchvision`` has failed with exactly that error,
declares the two operator schemas that module registers fake kernels for (``nms`` and ``qnms``,
same signatures as torchvision's C++ ``TORCH_LIBRARY`` block) with kernels that raise, forgets the
half-imported torchvision modules and imports torchvision again. Everything pure-Python then works
(transforms produce the same tensors: see ``tests/test_embed_compat.py``); the detection operators
stay unavailable and say so when called. Users with a torchvision matching their torch never take
this path.
"""

from __future__ import annotations

import sys
import threading
import warnings
from types import ModuleType

_SHIMMED_OPS = ("nms", "qnms")
_SCHEMA = "{name}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
_lock = threading.Lock()
_state: dict[str, object] = {"shim": False, "library": None}


class TorchvisionOpsUnavailableWarning(UserWarning):
    """torchvision imported without its compiled operators (nms, roi_align, ...)."""


def torchvision_shim_active() -> bool:
    """True when this process imported torchvision through the compatibility shim."""
    return bool(_state["shim"])


def _is_missing_op_error(err: BaseException) -> bool:
    text = str(err)
    return "operator torchvision::" in text and "does not exist" in text


def _forget_torchvision() -> None:
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]


def _declare_missing_ops() -> None:
    import torch

    lib = torch.library.Library("torchvision", "FRAGMENT")
    for name in _SHIMMED_OPS:
        lib.define(_SCHEMA.format(name=name))

        def _unavailable(dets, scores, iou_threshold, _name=name):  # type: ignore[no-untyped-def]
            raise RuntimeError(
                f"torchvision::{_name} is unavailable: torchvision's compiled operators do not "
                f"load with this torch ({torch.__version__}); install a torchvision built for it"
            )

        lib.impl(name, _unavailable, "CompositeExplicitAutograd")
    _state["library"] = lib  # the registrations live as long as this object


def import_torchvision() -> ModuleType:
    """``import torchvision``, falling back to the shim described in the module docstring."""
    with _lock:
        try:
            import torchvision
        except RuntimeError as err:
            if not _is_missing_op_error(err):
                raise
            _forget_torchvision()
            if _state["library"] is None:
                _declare_missing_ops()
            import torchvision

            _state["shim"] = True
            warnings.warn(
                "torchvision's compiled operators do not load with this torch "
                f"({err}); imported it without them. Image transforms work; detection "
                "operators (nms, roi_align, ...) are unavailable.",
                TorchvisionOpsUnavailableWarning,
                stacklevel=2,
            )
        return torchvision


def import_open_clip() -> ModuleType:
    """``import open_clip`` after making sure torchvision imports (see :func:`import_torchvision`)."""
    import_torchvision()
    import open_clip

    return open_clip
