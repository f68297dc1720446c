"""The course's topics: where each one's files live and which built-ins it forbids."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Guard:
    """What the worker makes unreachable while a topic is graded (see guard.py).

    kernels: patterns over dispatcher operator names, any namespace
             ("aten::native_batch_norm", "quantized::layer_norm").
    python:  (module, pattern over the names of its functions and classes) for
             built-ins written in Python (torch.optim.Adam, torch._refs' layer norm).
    """
    kernels: tuple[str, ...] = ()
    python: tuple[tuple[str, str], ...] = ()

    def __add__(self, other: "Guard") -> "Guard":
        return Guard(self.kernels + other.kernels, self.python + other.python)

    def as_data(self) -> dict:
        return {"kernels": list(self.kernels), "python": [list(t) for t in self.python]}


@dataclass(frozen=True)
class Topic:
    name: str                    # "normalization": the word on the command line
    folder: str                  # "03_normalization": under assignments/ and solutions/
    module: str                  # "normalization": the student's module (file module + ".py")
    forbidden: tuple[str, ...] = ()
    # Modules this topic's student file imports that are replaced, while grading this
    # topic, by PyTorch's own classes: a bug in the student's BatchNorm1d then costs
    # points in normalization only, not again in residual.
    stand_ins: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0        # seconds per call in the worker (an honest call takes milliseconds)
    # Seconds a call gets once the same function ran past `timeout` in an earlier check of the
    # submission (impl.HangLog): an endless loop costs one full limit per function, not one
    # per check. None: every call gets the whole limit (the capstone's training is long).
    hang_limit: float | None = 1.0
    guard: Guard = Guard()       # forbidden built-ins, made unreachable at run time

    @property
    def filename(self) -> str:
        return f"{self.module}.py"

    @property
    def graded_name(self) -> str:
        """Topics graded with stand-ins are imported under a private name (see stand_ins)."""
        return f"graded_{self.module}" if self.stand_ins else self.module

    @property
    def hidden_module(self) -> str:
        return f"autograder.hidden.{self.name}"

    @property
    def torch_ref_module(self) -> str:
        return f"autograder.torch_refs.{self.module}"     # named like the student's module

    def solution_path(self, root: Path = ROOT) -> Path:
        return root / "solutions" / self.folder / self.filename

    def assignment_dir(self, root: Path = ROOT) -> Path:
        return root / "assignments" / self.folder


_NORM = ("torch.nn.functional.batch_norm", "torch.nn.functional.layer_norm",
         "torch.nn.functional.instance_norm", "torch.nn.functional.group_norm",
         "torch.nn.functional.rms_norm", "torch.batch_norm", "torch.layer_norm",
         "torch.native_batch_norm", "torch.native_layer_norm", "torch.instance_norm",
         "torch.group_norm", "torch.rms_norm", "torch._native_batch_norm_legit",
         "torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.BatchNorm3d",
         "torch.nn.LayerNorm", "torch.nn.GroupNorm", "torch.nn.InstanceNorm1d",
         "torch.nn.InstanceNorm2d", "torch.nn.SyncBatchNorm", "torch.nn.LazyBatchNorm1d",
         "torch.nn.modules.batchnorm", "torch.nn.modules.normalization", "torch._refs",
         "torch._decomp", "torch.ops.aten", "torch.nn.utils.fusion")   # fusion: fold_batchnorm's
_DROPOUT = ("torch.nn.functional.dropout", "torch.nn.functional.dropout1d",
            "torch.nn.functional.dropout2d", "torch.nn.functional.dropout3d",
            "torch.nn.functional.alpha_dropout", "torch.nn.functional.feature_alpha_dropout",
            "torch.dropout", "torch.dropout_", "torch.alpha_dropout", "torch.feature_dropout",
            "torch.native_dropout", "torch.nn.Dropout", "torch.nn.Dropout1d",
            "torch.nn.Dropout2d", "torch.nn.Dropout3d", "torch.nn.AlphaDropout",
            "torch.nn.modules.dropout", "torch._refs", "torch._decomp", "torch.ops.aten")
_OPTIM = ("torch.optim.SGD", "torch.optim.RMSprop", "torch.optim.Adam", "torch.optim.AdamW",
          "torch.optim.Adamax", "torch.optim.NAdam", "torch.optim.RAdam", "torch.optim.Adagrad",
          "torch.optim.Adadelta", "torch.optim.ASGD", "torch.optim.Rprop", "torch.optim.LBFGS",
          "torch.optim.SparseAdam", "torch.optim.sgd", "torch.optim.adam", "torch.optim.adamw",
          "torch.optim.rmsprop", "torch.optim._functional", "torch._fused_adam_",
          "torch._fused_adamw_", "torch._fused_sgd_")
_AUTOGRAD = ("torch.autograd.gradcheck", "torch.autograd.gradgradcheck",
             "torch.autograd.functional", "torch.func", "torch.gradient",
             "torch.autograd.gradcheck.gradcheck", "functorch")

# Run-time guards: the roads above, where they meet (kernels, Python code of the built-ins).
_NORM_NAMES = r"(batch|layer|group|instance|rms)_norm"
NORM_GUARD = Guard(
    kernels=(_NORM_NAMES, r"_transformer_encoder_layer_fwd"),   # the fused encoder layer-norms too
    python=tuple((m, _NORM_NAMES) for m in ("torch.nn.functional", "torch._refs",
                                            "torch._refs.nn.functional", "torch._decomp.decompositions"))
    + (("torch.nn.modules.batchnorm", ""), ("torch.nn.modules.normalization", ""),  # the classes
       ("torch.nn.utils.fusion", "")))                         # fuse_linear_bn_eval: fold_batchnorm
DROPOUT_GUARD = Guard(
    kernels=(r"dropout",),
    python=tuple((m, r"dropout") for m in ("torch.nn.functional", "torch._refs.nn.functional",
                                           "torch._decomp.decompositions"))
    + (("torch.nn.modules.dropout", ""),))                  # the classes, built or subclassed
OPTIM_GUARD = Guard(
    kernels=(r"::_fused_(adam|adamw|sgd|adagrad)",),
    python=tuple((f"torch.optim.{m}", "") for m in (
        "sgd", "adam", "adamw", "rmsprop", "adamax", "nadam", "radam", "adagrad", "adadelta",
        "asgd", "rprop", "lbfgs", "sparse_adam", "_functional")))
AUTOGRAD_GUARD = Guard(
    kernels=(r"^aten::gradient",),
    python=(("torch.autograd.gradcheck", ""), ("torch.autograd.functional", ""),
            ("torch._functorch.eager_transforms", ""), ("torch._functorch.apis", "")))
ENSEMBLE_GUARD = Guard(python=(("torch._functorch.functional_call", r"^stack_module_state$"),))
ALL_GUARDS = NORM_GUARD + DROPOUT_GUARD + OPTIM_GUARD + AUTOGRAD_GUARD + ENSEMBLE_GUARD

# Native memory and the dispatcher itself: the only ways around the run-time guards, and
# nothing a course exercise needs. Forbidden in every topic (found in the source).
TAMPER = ("ctypes", "_ctypes", "cffi", "torch.library", "torch._C._dispatch_library",
          "torch._C._dispatch_dump", "torch.utils.cpp_extension")

TOPICS: dict[str, Topic] = {t.name: t for t in [
    Topic("autograd", "01_autograd", "autograd_basics", _AUTOGRAD + TAMPER, guard=AUTOGRAD_GUARD),
    Topic("optimizers", "02_optimizers", "optimizers", _OPTIM + TAMPER, guard=OPTIM_GUARD),
    Topic("normalization", "03_normalization", "normalization", _NORM + TAMPER, timeout=5.0,
          guard=NORM_GUARD),
    Topic("dropout", "04_dropout", "dropout", _DROPOUT + TAMPER, guard=DROPOUT_GUARD),
    Topic("residual", "05_residual", "residual", ("torchvision",) + TAMPER,
          stand_ins={"normalization": "from torch.nn import BatchNorm1d, BatchNorm2d, LayerNorm\n"}),
    Topic("ensembles", "06_ensembles", "ensembles", ("torch.func.stack_module_state",) + TAMPER,
          stand_ins={"dropout": "from torch.nn import Dropout\n"}, guard=ENSEMBLE_GUARD),
    Topic("capstone", "07_capstone", "train", _NORM + _DROPOUT + _OPTIM + TAMPER, timeout=120.0,
          hang_limit=None,
          guard=NORM_GUARD + DROPOUT_GUARD + OPTIM_GUARD),
]}


def by_filename(filename: str) -> Topic | None:
    for topic in TOPICS.values():
        if topic.filename == filename:
            return topic
    return None
