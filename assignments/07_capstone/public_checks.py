"""Public checks for the capstone: run them with

    python -m autograder check capstone

from the folder that holds assignments/ (your normalization, dropout, residual
and optimizers must work too). The train_model checks run one or three epochs on
a few random samples, so they take well under a second. The hidden checks also
train your model with your train_model on the digits and score held-out accuracy
within a time budget.
"""
import torch

from autograder.checks import RemoteError, cause, check, fetch, module_types, raised, torch_on

TOPIC = "capstone"
OWN = {"BatchNorm1d": "normalization", "Dropout": "dropout", "ResidualBlock": "residual"}

SOFTMAX_AT_THE_END = cause(
    "softmax at the end of the model",
    "the model ends in a softmax, so it returns probabilities; return raw logits "
    "(F.cross_entropy applies log_softmax itself, and argmax is the same on logits).")
BATCH_OF_ONE = cause(
    "BatchNorm batch of one",
    "a last batch of one sample reached BatchNorm in training mode (ValueError); skip "
    "batches with fewer than 2 samples, or drop the last incomplete batch.")
LEFT_IN_TRAINING = cause(
    "model left in training mode",
    "train_model returned the model in training mode; call model.eval() before returning "
    "it, so BatchNorm uses its running statistics and Dropout is off.")
NOT_ZEROED = cause(
    "gradients not zeroed",
    "the gradients were never zeroed, so every backward() added to the sum of all earlier "
    "ones; call optimizer.zero_grad() before each loss.backward().")


def _judge_model(got):
    found = {cls: module for _, cls, module in got["modules"]}
    missing = [f"{c} (from {m}.py)" for c, m in OWN.items() if not found.get(c, "").endswith(m)]
    if missing:
        return "build_model must use your own layers; missing: " + ", ".join(missing) + "."
    out = got["out"]
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (7, 10):
        return f"build_model(64, 10) maps (7, 64) to {getattr(out, 'shape', type(out).__name__)}; expected (7, 10) logits."
    if bool(((out >= 0) & (out <= 1)).all()) and bool(((out.sum(1) - 1).abs() < 1e-4).all()):
        return ("build_model's output rows are probabilities (each in [0, 1], summing to 1); "
                f"it must return logits.\n{SOFTMAX_AT_THE_END}")
    return None


@check(points=1, public=True, judge=_judge_model)
def build_model_shape_and_layers(impl, t):
    """build_model(64, 10) maps (N, 64) to (N, 10) logits (no softmax) and contains your own layers."""
    model = impl.build_model(64, 10).to(str(t.device))      # built on the CPU (its docstring)
    model.eval()
    return {"out": model(t.randn(7, 64)), "modules": module_types(model)}


def _data(t, n):
    """n random samples of 64 features, labels in 0..9."""
    return t.randn(n, 64), t.randint(0, 10, (n,))


def _weights(impl, model):
    """The model's parameters as one flat vector, read where the model lives; None for no model."""
    try:
        return torch_on(impl).nn.utils.parameters_to_vector(model.parameters())
    except AttributeError:                  # train_model returned no model
        return None
    except RemoteError as exc:
        if exc.is_a("NotImplementedError"):
            raise
        return None


def _moved(before, after) -> bool:
    return (isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor)
            and before.shape == after.shape and not torch.equal(before, after.to(before.device)))


NOT_TRAINED = "train_model did not change the model's weights."


def _judge_batch_of_one(got):
    if got["error"] == "ValueError":
        return f"train_model raised ValueError on 65 samples with batch_size=64.\n{BATCH_OF_ONE}"
    if got["error"]:
        return f"train_model raised {got['error']} on 65 samples with batch_size=64."
    return None if got["trained"] else NOT_TRAINED


@check(points=1, public=True, judge=_judge_batch_of_one)
def train_model_last_batch_of_one(impl, t):
    """train_model, one epoch on 65 samples with batch_size=64: trains, and the last batch of ONE does not crash."""
    X, y = _data(t, 65)
    model = impl.build_model(64, 10)
    before = _weights(impl, model)
    error = raised(lambda: impl.train_model(model, X, y, epochs=1, batch_size=64))
    return {"error": error, "trained": _moved(before, _weights(impl, model))}


def _judge_eval_mode(got):
    if got["model.training"] is not False:
        return f"train_model returned a model whose .training is {got['model.training']}.\n{LEFT_IN_TRAINING}"
    return None if got["trained"] else NOT_TRAINED


@check(points=1, public=True, judge=_judge_eval_mode)
def train_model_returns_eval_mode(impl, t):
    """train_model, one epoch on 128 samples: returns the model trained, in eval mode."""
    X, y = _data(t, 128)
    model = impl.build_model(64, 10)
    before = _weights(impl, model)
    model = impl.train_model(model, X, y, epochs=1, batch_size=64)
    return {"model.training": fetch(model.training), "trained": _moved(before, _weights(impl, model))}


def _judge_zeroed(got):
    one, three = got["p.grad after 1 epoch"], got["p.grad after 3 epochs"]
    if isinstance(one, torch.Tensor) and isinstance(three, torch.Tensor) \
            and float((three - one).norm()) > 0.5 * float(one.norm()):
        return ("With lr=0 every step computes the same gradient, yet after 3 epochs (one full batch "
                f"each) p.grad is not the gradient of one step.\n{NOT_ZEROED}")
    return None if got["trained"] else "With lr=1e-3, " + NOT_TRAINED


@check(points=1, public=True, judge=_judge_zeroed)
def train_model_zeroes_gradients(impl, t):
    """train_model zeroes the gradients before every backward (a Linear model, lr=0, full batches)."""
    X, y = _data(t, 64)
    nn = torch_on(impl).nn
    weights = {"weight": 0.1 * t.randn(10, 64), "bias": 0.1 * t.randn(10)}
    out = {}
    for epochs, lr in ((1, 0.0), (3, 0.0), (1, 1e-3)):
        model = nn.Linear(64, 10)
        model.load_state_dict(weights)
        before = _weights(impl, model)
        impl.train_model(model, X, y, epochs=epochs, batch_size=64, lr=lr)
        if lr:
            out["trained"] = _moved(before, _weights(impl, model))
        else:
            out[f"p.grad after {epochs} epoch{'s' if epochs > 1 else ''}"] = fetch(model.weight.grad)
    return out
