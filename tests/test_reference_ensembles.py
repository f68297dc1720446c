"""The reference ensembles (solutions/06_ensembles): averaging, voting, Ensemble, MC dropout.

PyTorch has no built-in for these, so the expected values are written out by
hand (plain loops, softmax, argmax) in the tests themselves.
"""
from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch import nn

from references import load_reference


ens = load_reference("ensembles")
ref_dropout = load_reference("dropout")

DTYPES = [torch.float32, torch.float64]


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)


def vote_by_hand(labels: list[list[int]]) -> list[int]:
    """labels[m][n] -> per n the most common label, ties to the smallest."""
    result = []
    for column in zip(*labels):
        counts = Counter(column)
        best = max(counts.values())
        result.append(min(c for c, k in counts.items() if k == best))
    return result


# --- average_predictions ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("container", [list, tuple, torch.stack])
def test_average_is_the_elementwise_mean_of_the_members(device, dtype, container):
    g = torch.Generator().manual_seed(0)
    members = [torch.randn(6, 4, 3, generator=g, dtype=dtype).to(device) - 2 for _ in range(5)]
    out = ens.average_predictions(container(members))
    expected = sum(members) / 5
    assert out.shape == (6, 4, 3) and out.dtype == dtype and out.device == members[0].device
    torch.testing.assert_close(out, expected, **tol(dtype))


def test_average_applies_nothing_else(device):
    """Negative values survive: no softmax, no clamping, no argmax."""
    members = [torch.tensor([[-3.0, 1.0]], device=device), torch.tensor([[-1.0, 5.0]], device=device)]
    torch.testing.assert_close(ens.average_predictions(members),
                               torch.tensor([[-2.0, 3.0]], device=device))


def test_average_of_one_member_is_that_member(device):
    x = torch.randn(7, 3, device=device)
    torch.testing.assert_close(ens.average_predictions([x]), x)


def test_average_does_not_modify_its_inputs(device):
    members = [torch.randn(4, 2, device=device) for _ in range(3)]
    before = [m.clone() for m in members]
    ens.average_predictions(members)
    assert all(torch.equal(m, b) for m, b in zip(members, before))


# --- majority_vote ---------------------------------------------------------------------

def test_vote_on_labels_with_a_clear_majority(device):
    labels = [torch.tensor(v, device=device) for v in ([0, 1, 2, 2], [0, 2, 2, 1], [1, 1, 2, 1])]
    out = ens.majority_vote(labels)
    assert out.dtype == torch.int64 and out.device == labels[0].device and out.shape == (4,)
    assert out.tolist() == [0, 1, 2, 1]


def test_ties_go_to_the_smallest_class_with_an_even_number_of_members(device):
    # votes per sample: {2,0,2,0} -> 0, {3,1,1,3} -> 1, {2,1,0,3} -> 0, {4,4,1,1} -> 1
    labels = torch.tensor([[2, 3, 2, 4], [0, 1, 1, 4], [2, 1, 0, 1], [0, 3, 3, 1]], device=device)
    assert ens.majority_vote(labels).tolist() == [0, 1, 0, 1]
    assert ens.majority_vote(list(labels)).tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("members", [1, 2, 3, 4, 5, 6])
def test_vote_matches_counting_by_hand_on_random_labels(device, members):
    g = torch.Generator().manual_seed(members)
    labels = torch.randint(0, 4, (members, 300), generator=g)
    out = ens.majority_vote([row.to(device) for row in labels])
    assert out.tolist() == vote_by_hand(labels.tolist())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("members", [1, 2, 4, 5])
def test_vote_on_scores_votes_with_each_members_argmax(device, dtype, members):
    g = torch.Generator().manual_seed(10 + members)
    scores = [torch.randn(200, 5, generator=g, dtype=dtype).to(device) for _ in range(members)]
    expected = vote_by_hand([s.argmax(1).tolist() for s in scores])
    for given in (scores, torch.stack(scores)):
        out = ens.majority_vote(given)
        assert out.dtype == torch.int64 and out.device == scores[0].device
        assert out.tolist() == expected


def test_vote_of_one_model_is_its_own_prediction(device):
    labels = torch.tensor([3, 0, 2, 2, 1], device=device)
    assert torch.equal(ens.majority_vote([labels]), labels)
    scores = torch.randn(9, 4, device=device)
    assert torch.equal(ens.majority_vote([scores]), scores.argmax(1))


def test_vote_uses_every_class_of_the_scores_even_unvoted_ones(device):
    # two members, class 3 wins for sample 0 though classes 0..2 never get a vote there
    scores = torch.zeros(2, 2, 6, device=device)
    scores[:, 0, 3] = 1.0
    scores[0, 1, 5], scores[1, 1, 4] = 1.0, 1.0
    assert ens.majority_vote(scores).tolist() == [3, 4]


# --- Ensemble --------------------------------------------------------------------------

def make_members(n, device, dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    return [nn.Linear(6, 4).to(device=device, dtype=dtype) for _ in range(n)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_mean_mode_averages_softmax_probabilities(device, dtype):
    members = make_members(3, device, dtype)
    model = ens.Ensemble(members)                            # default mode is "mean"
    x = torch.randn(10, 6, device=device, dtype=dtype)
    expected = sum(torch.softmax(m(x), dim=1) for m in members) / 3
    out = model(x)
    assert out.shape == (10, 4) and out.dtype == dtype
    torch.testing.assert_close(out, expected, **tol(dtype))
    torch.testing.assert_close(out.sum(1), torch.ones(10, device=device, dtype=dtype), **tol(dtype))


def test_mean_mode_averages_probabilities_not_logits(device):
    """One confident member and two mild ones: the probability mean picks class 1."""
    logits = [torch.tensor([[10.0, 0.0]]), torch.tensor([[0.0, 3.0]]), torch.tensor([[0.0, 3.0]])]

    class Constant(nn.Module):
        def __init__(self, value):
            super().__init__()
            self.register_buffer("value", value)

        def forward(self, x):
            return self.value.expand(x.shape[0], -1)

    model = ens.Ensemble([Constant(v) for v in logits]).to(device)
    out = model(torch.zeros(1, 3, device=device))
    assert out.argmax(1).item() == 1
    assert (sum(logits) / 3).argmax(1).item() == 0          # the logit mean would say 0


def test_vote_mode_is_the_majority_of_the_members_argmax(device):
    members = make_members(4, device, seed=1)
    model = ens.Ensemble(members, mode="vote")
    x = torch.randn(50, 6, device=device)
    out = model(x)
    assert out.dtype == torch.int64 and out.shape == (50,) and out.device == x.device
    assert out.tolist() == vote_by_hand([m(x).argmax(1).tolist() for m in members])


def test_members_are_held_in_a_module_list_named_models(device):
    members = make_members(2, "cpu")
    model = ens.Ensemble(members, mode="mean")
    assert isinstance(model.models, nn.ModuleList) and len(model.models) == 2
    assert model.models[0] is members[0]
    assert set(model.state_dict()) == {"models.0.weight", "models.0.bias",
                                       "models.1.weight", "models.1.bias"}
    model.to(device).eval()
    assert all(p.device.type == device for p in model.parameters())
    assert not any(m.training for m in model.models)


def test_single_member_ensemble(device):
    (member,) = make_members(1, device)
    x = torch.randn(5, 6, device=device)
    torch.testing.assert_close(ens.Ensemble([member])(x), torch.softmax(member(x), 1))
    assert torch.equal(ens.Ensemble([member], mode="vote")(x), member(x).argmax(1))


def test_unknown_mode_is_a_value_error():
    with pytest.raises(ValueError):
        ens.Ensemble(make_members(2, "cpu"), mode="median")


# --- mc_dropout_predict ----------------------------------------------------------------

def dropout_classes():
    return [nn.Dropout, ref_dropout.Dropout]


def make_mc_model(dropout_cls, device, dtype=torch.float32):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(),
                          dropout_cls(0.5), nn.Linear(16, 3)).to(device=device, dtype=dtype)
    with torch.no_grad():                                    # non-trivial running statistics
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    return model


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dropout_cls", dropout_classes(), ids=["nn.Dropout", "own Dropout"])
def test_mc_dropout_averages_passes_with_dropout_on_and_batchnorm_in_eval(device, dtype, dropout_cls):
    model = make_mc_model(dropout_cls, device, dtype)
    x = torch.randn(20, 8, device=device, dtype=dtype)
    torch.manual_seed(11)
    out = ens.mc_dropout_predict(model, x, n_samples=4)

    # by hand: BN with running statistics, dropout drawing a fresh mask in each pass
    torch.manual_seed(11)
    passes = []
    with torch.no_grad():
        for _ in range(4):
            h = model[0](x)
            h = (h - model[1].running_mean) / torch.sqrt(model[1].running_var + model[1].eps)
            h = h * model[1].weight + model[1].bias
            h = ref_dropout.dropout(torch.relu(h), 0.5, training=True) \
                if dropout_cls is ref_dropout.Dropout else nn.functional.dropout(torch.relu(h), 0.5)
            passes.append(model[4](h))
    assert out.shape == (20, 3) and out.dtype == dtype and out.device == x.device
    torch.testing.assert_close(out, sum(passes) / 4, **tol(dtype))


@pytest.mark.parametrize("dropout_cls", dropout_classes(), ids=["nn.Dropout", "own Dropout"])
def test_mc_dropout_is_stochastic(device, dropout_cls):
    model = make_mc_model(dropout_cls, device).eval()
    x = torch.randn(20, 8, device=device)
    torch.manual_seed(12)
    first, second = ens.mc_dropout_predict(model, x, 1), ens.mc_dropout_predict(model, x, 1)
    assert not torch.allclose(first, second)                 # dropout was on
    with torch.no_grad():
        eval_out = model(x)
    assert not torch.allclose(first, eval_out)


@pytest.mark.parametrize("dropout_cls", dropout_classes(), ids=["nn.Dropout", "own Dropout"])
def test_mc_dropout_leaves_running_stats_and_modes_unchanged(device, dropout_cls):
    model = make_mc_model(dropout_cls, device)
    model.train()
    model[4].eval()                                          # a mixed state must come back as it was
    modes = [m.training for m in model.modules()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ens.mc_dropout_predict(model, torch.randn(20, 8, device=device), n_samples=3)
    assert [m.training for m in model.modules()] == modes
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key           # incl. num_batches_tracked

    model.eval()
    ens.mc_dropout_predict(model, torch.randn(20, 8, device=device), n_samples=2)
    assert not any(m.training for m in model.modules())


def test_mc_dropout_works_on_a_batch_of_one_thanks_to_batchnorm_eval(device):
    model = make_mc_model(nn.Dropout, device).train()
    out = ens.mc_dropout_predict(model, torch.randn(1, 8, device=device), n_samples=2)
    assert out.shape == (1, 3)


def test_mc_dropout_runs_without_autograd(device):
    model = make_mc_model(nn.Dropout, device)
    x = torch.randn(20, 8, device=device, requires_grad=True)
    out = ens.mc_dropout_predict(model, x, n_samples=3)
    assert not out.requires_grad and out.grad_fn is None
    assert all(p.grad is None for p in model.parameters())


def test_mc_dropout_without_dropout_is_the_eval_output(device):
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)).to(device)
    x = torch.randn(20, 8, device=device)
    model(x)                                                  # one training step of statistics
    out = ens.mc_dropout_predict(model, x, n_samples=3)
    with torch.no_grad():
        expected = model.eval()(x)
    torch.testing.assert_close(out, expected)


def test_mc_dropout_restores_modes_when_a_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8), Boom())
    model.train()
    model[1].eval()
    modes = [m.training for m in model.modules()]
    with pytest.raises(RuntimeError, match="boom"):
        ens.mc_dropout_predict(model, torch.randn(4, 8), n_samples=2)
    assert [m.training for m in model.modules()] == modes


# --- Ensemble of members with different architectures ----------------------------------

def make_mixed_members(device, dtype=torch.float32):
    """A Linear layer, a 6-16-4 MLP, a 6-8-8-4 MLP, and one with BatchNorm and dropout (eval)."""
    torch.manual_seed(4)
    members = [nn.Linear(6, 4),
               nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4)),
               nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4)),
               nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.3),
                             nn.Linear(12, 4)).eval()]
    return [m.to(device=device, dtype=dtype) for m in members]


@pytest.mark.parametrize("dtype", DTYPES)
def test_mixed_members_mean_mode_averages_their_probabilities(device, dtype):
    members = make_mixed_members(device, dtype)
    x = torch.randn(10, 6, device=device, dtype=dtype)
    expected = sum(torch.softmax(m(x), dim=1) for m in members) / len(members)
    torch.testing.assert_close(ens.Ensemble(members)(x), expected, **tol(dtype))


def test_mixed_members_vote_mode_and_state_dict(device):
    members = make_mixed_members(device)
    x = torch.randn(40, 6, device=device)
    model = ens.Ensemble(members, mode="vote")
    assert model(x).tolist() == vote_by_hand([m(x).argmax(1).tolist() for m in members])
    keys = set(model.state_dict())
    assert {"models.0.weight", "models.1.2.weight", "models.2.4.bias",
            "models.3.1.running_mean"} <= keys
    assert not any(k.startswith("models.0.") and k != "models.0.weight" and k != "models.0.bias"
                   for k in keys)


# --- bootstrap_indices ------------------------------------------------------------------

def generator_on(device, seed):
    return torch.Generator(device=device).manual_seed(seed)


def test_bootstrap_shape_dtype_device_and_range(device):
    bags = ens.bootstrap_indices(300, 7, generator_on(device, 0))
    assert bags.shape == (7, 300) and bags.dtype == torch.int64 and bags.device.type == device
    assert 0 <= int(bags.min()) and int(bags.max()) <= 299
    one = ens.bootstrap_indices(1, 3, generator_on(device, 0))
    assert one.shape == (3, 1) and torch.equal(one, torch.zeros(3, 1, dtype=torch.int64, device=device))


def test_bootstrap_is_the_documented_randint_call(device):
    """The docstring's one call: the reference draws exactly these numbers."""
    got = ens.bootstrap_indices(50, 4, generator_on(device, 5))
    g = generator_on(device, 5)
    assert torch.equal(got, torch.randint(50, (4, 50), generator=g, device=g.device))


def test_bootstrap_follows_the_generator_not_the_global_state(device):
    torch.manual_seed(1)
    first = ens.bootstrap_indices(50, 4, generator_on(device, 9))
    torch.manual_seed(2)
    assert torch.equal(ens.bootstrap_indices(50, 4, generator_on(device, 9)), first)
    assert not torch.equal(ens.bootstrap_indices(50, 4, generator_on(device, 10)), first)
    g = generator_on(device, 9)
    assert torch.equal(ens.bootstrap_indices(50, 4, g), first)
    assert not torch.equal(ens.bootstrap_indices(50, 4, g), first)      # the generator advanced
    state = torch.get_rng_state()
    ens.bootstrap_indices(50, 4, generator_on(device, 9))
    assert torch.equal(torch.get_rng_state(), state)                    # global state untouched


def test_bootstrap_draws_with_replacement():
    """About 1 - (1 - 1/n)^n = 63.2% distinct indices per bag (6 sigma over 40 bags), every
    index drawn somewhere, and the bags differ."""
    n, members = 1000, 40
    bags = ens.bootstrap_indices(n, members, generator_on("cpu", 1))
    q1, q2 = (1 - 1 / n) ** n, (1 - 2 / n) ** n
    mean = n * (1 - q1)
    sd = ((n * q1 + n * (n - 1) * q2 - (n * q1) ** 2) / members) ** 0.5
    distinct = sum(len(set(row.tolist())) for row in bags) / members
    assert abs(distinct - mean) < 6 * sd, (distinct, mean, sd)
    assert abs(mean / n - 0.632) < 1e-3
    assert torch.bincount(bags.flatten(), minlength=n).min() > 0
    assert not (bags == bags[0]).all()


def test_bootstrap_frequencies_are_uniform():
    bags = ens.bootstrap_indices(5, 20_000, generator_on("cpu", 2))
    freq = torch.bincount(bags.flatten(), minlength=5).double() / bags.numel()
    assert ((freq - 0.2).abs() < 6 * (0.16 / bags.numel()) ** 0.5).all(), freq
