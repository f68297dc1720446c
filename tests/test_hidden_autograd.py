"""The hidden autograd checks, graded end to end (the shared suite: tests/hidden_suite.py).

PyTorch's side is autograder/torch_refs/autograd_basics.py: torch.autograd.grad,
and central differences written independently of the reference.
"""
import pytest

from hidden_suite import suite

# The "clone without detach" mistake, run on the trusted side to name it, reads a
# non-leaf tensor's .grad, and PyTorch warns about that (which is the bug).
pytestmark = pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")

globals().update(suite("autograd", "torch_refs (torch.autograd.grad, central differences)"))
