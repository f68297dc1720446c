"""The hidden optimizers checks, graded end to end (the shared suite: tests/hidden_suite.py).

PyTorch's side is torch.optim itself (autograder/torch_refs); each check is about
90 requests to a worker, so the suite's packing of mistakes matters most here.
"""
from hidden_suite import suite

globals().update(suite("optimizers", "torch.optim"))
