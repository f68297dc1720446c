"""The course's topics: where each one's files live and which built-ins it forbids."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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

    @property
    def filename(self) -> str:
        return f"{self.module}.py"

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
         "torch.nn.modules.batchnorm", "torch.nn.modules.normalization")
_DROPOUT = ("torch.nn.functional.dropout", "torch.nn.functional.dropout1d",
            "torch.nn.functional.dropout2d", "torch.nn.functional.dropout3d",
            "torch.nn.functional.alpha_dropout", "torch.nn.functional.feature_alpha_dropout",
            "torch.dropout", "torch.dropout_", "torch.alpha_dropout", "torch.feature_dropout",
            "torch.native_dropout", "torch.nn.Dropout", "torch.nn.Dropout1d",
            "torch.nn.Dropout2d", "torch.nn.Dropout3d", "torch.nn.AlphaDropout",
            "torch.nn.modules.dropout")
_OPTIM = ("torch.optim.SGD", "torch.optim.RMSprop", "torch.optim.Adam", "torch.optim.AdamW",
          "torch.optim.Adamax", "torch.optim.NAdam", "torch.optim.RAdam", "torch.optim.Adagrad",
          "torch.optim.Adadelta", "torch.optim.ASGD", "torch.optim.Rprop", "torch.optim.LBFGS",
          "torch.optim.SparseAdam", "torch.optim.sgd", "torch.optim.adam", "torch.optim.adamw",
          "torch.optim.rmsprop", "torch.optim._functional", "torch._fused_adam_",
          "torch._fused_adamw_", "torch._fused_sgd_")
_AUTOGRAD = ("torch.autograd.gradcheck", "torch.autograd.gradgradcheck",
             "torch.autograd.functional", "torch.func", "torch.gradient",
             "torch.autograd.gradcheck.gradcheck", "functorch")

# Reaching into the grader's own machinery inside the worker (its recorder, its in-place
# check, other objects in the process): forbidden in every topic.
TAMPER = ("sys.modules", "sys._getframe", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
          "inspect.stack", "inspect.currentframe", "inspect.getouterframes", "ctypes", "worker",
          "wire", "builtins.__import__")

TOPICS: dict[str, Topic] = {t.name: t for t in [
    Topic("autograd", "01_autograd", "autograd_basics", _AUTOGRAD + TAMPER),
    Topic("optimizers", "02_optimizers", "optimizers", _OPTIM + TAMPER),
    Topic("normalization", "03_normalization", "normalization", _NORM + TAMPER, timeout=5.0),
    Topic("dropout", "04_dropout", "dropout", _DROPOUT + TAMPER),
    Topic("residual", "05_residual", "residual", ("torchvision",) + TAMPER,
          stand_ins={"normalization": "from torch.nn import BatchNorm1d, BatchNorm2d, LayerNorm\n"}),
    Topic("ensembles", "06_ensembles", "ensembles", ("torch.func.stack_module_state",) + TAMPER,
          stand_ins={"dropout": "from torch.nn import Dropout\n"}),
    Topic("capstone", "07_capstone", "train", _NORM + _DROPOUT + _OPTIM + TAMPER, timeout=120.0),
]}


def by_filename(filename: str) -> Topic | None:
    for topic in TOPICS.values():
        if topic.filename == filename:
            return topic
    return None
