"""forbidden.py: forbidden built-ins found in a student's source without running it.

Names are resolved through imports and aliases, so a renamed import is still seen,
and each finding names the top-level function or class it sits in (the grader
charges it only to the checks that reach that scope).
"""
import textwrap

import pytest

from autograder.forbidden import Finding, matches, reachable, scan, top_level_references
from autograder.topics import ROOT, TOPICS

NORM = TOPICS["normalization"].forbidden
OPTIM = TOPICS["optimizers"].forbidden
BN = "torch.nn.functional.batch_norm"


def findings(source: str, rules=NORM) -> list[Finding]:
    return scan(textwrap.dedent(source), rules)


def names_and_scopes(source: str, rules=NORM) -> set[tuple[str, str | None]]:
    return {(f.name, f.scope) for f in findings(source, rules)}


# ----------------------------------------------------------------------------- ways to reach a name

def test_module_alias_F_batch_norm_is_found_in_its_function():
    found = findings("""
        import torch.nn.functional as F

        def batch_norm(x):
            return F.batch_norm(x, None, None, training=True)
    """)
    assert found == [Finding(BN, 5, "batch_norm")]


def test_from_import_with_a_new_name_is_found_where_it_is_used():
    found = findings("""
        from torch.nn.functional import batch_norm as bn

        def f(x):
            return bn(x)
    """)
    assert Finding(BN, 5, "f") in found
    assert all(f.name == BN for f in found)


def test_import_torch_as_t_and_the_full_attribute_chain_is_found():
    assert names_and_scopes("""
        import torch as t

        class K:
            def forward(self, x):
                return t.nn.functional.batch_norm(x)
    """) == {(BN, "K")}


def test_assignment_alias_is_followed_to_its_use():
    found = findings("""
        import torch.nn.functional as F
        f = F.batch_norm

        def g(x):
            return f(x)
    """)
    # Charged where it is used (only g's checks lose credit), not at the module-level alias.
    assert found == [Finding(BN, 6, "g")]


def test_getattr_with_a_constant_name_is_found():
    assert names_and_scopes("""
        import torch.nn.functional as F

        def g(x):
            return getattr(F, "batch_norm")(x)
    """) == {(BN, "g")}


def test_importlib_import_module_is_found():
    assert names_and_scopes("""
        import importlib

        def g(x):
            return importlib.import_module("torch.nn.functional").batch_norm(x)
    """) == {(BN, "g")}


def test_dunder_import_is_found():
    assert names_and_scopes("""
        def g(x):
            return __import__("torch").nn.functional.batch_norm(x)
    """) == {(BN, "g")}


def test_dunder_import_assigned_to_a_name_is_followed():
    assert names_and_scopes("""
        def g(x):
            m = __import__("torch.nn.functional", fromlist=["batch_norm"])
            return m.batch_norm(x)
    """) == {(BN, "g")}


def test_from_torch_import_nn_then_module_class_is_found():
    assert names_and_scopes("""
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.bn = nn.BatchNorm1d(3)
    """) == {("torch.nn.BatchNorm1d", "Net")}


def test_torch_optim_adam_is_found_but_optimizer_base_class_is_not():
    found = findings("""
        import torch

        class MyAdam(torch.optim.Optimizer):
            def step(self):
                return torch.optim.Adam(self.params)
    """, OPTIM)
    assert [(f.name, f.scope) for f in found] == [("torch.optim.Adam", "MyAdam")]


def test_allowed_tensor_methods_are_not_findings():
    assert findings("""
        import torch

        def batch_norm(x):
            mean, var = x.mean(0), x.var(0, correction=0)
            return (x - mean) / torch.sqrt(var + 1e-5) + torch.var_mean(x)[0]
    """) == []


def test_a_name_that_only_starts_like_a_rule_is_not_a_finding():
    assert findings("""
        import torch.nn.functional as F
        batch_norm_helper = 1
        y = F.batch_norm_custom
    """) == []


def test_scope_is_the_enclosing_top_level_def_or_class():
    found = findings("""
        import torch.nn.functional as F

        def outer():
            def inner(x):
                return F.layer_norm(x, (3,))
            return inner

        class Module:
            def forward(self, x):
                return F.batch_norm(x)

        y = F.group_norm
    """)
    # `y = F.group_norm` at module level is only an alias: charged where y is used (nowhere).
    assert {(f.name, f.scope) for f in found} == {
        ("torch.nn.functional.layer_norm", "outer"), (BN, "Module")}


def test_a_syntax_error_propagates():
    with pytest.raises(SyntaxError):
        scan("def f(:\n", NORM)


def test_matches_accepts_the_rule_itself_or_names_inside_it():
    assert matches("torch.optim.adam", OPTIM) == "torch.optim.adam"
    assert matches("torch.optim.adam.Adam", OPTIM) == "torch.optim.adam"
    assert matches("torch.optim.adamax_like", OPTIM) is None
    assert matches("torch.optim.Optimizer", OPTIM) is None


# ----------------------------------------------------------------------------- call graph

def test_top_level_references_and_reachable_follow_calls_and_base_classes():
    refs = top_level_references(textwrap.dedent("""
        def a():
            return b()

        def b():
            return c

        def c():
            pass

        class Base:
            def forward(self):
                return a()

        class Child(Base):
            pass

        def unrelated():
            return 1
    """))
    assert refs == {"a": {"b"}, "b": {"c"}, "c": set(), "Base": {"a"}, "Child": {"Base"},
                    "unrelated": set()}
    assert reachable("Child", refs) == {"Child", "Base", "a", "b", "c"}
    assert reachable("unrelated", refs) == {"unrelated"}
    assert reachable("not_defined", refs) == {"not_defined"}


def test_reference_modules_reach_their_functions_and_not_the_others():
    source = TOPICS["normalization"].solution_path().read_text()
    refs = top_level_references(source)
    assert {"batch_norm", "_BatchNorm"} <= reachable("BatchNorm1d", refs)
    assert "layer_norm" not in reachable("BatchNorm2d", refs)
    assert "layer_norm" in reachable("LayerNorm", refs)
    assert "batch_norm" not in reachable("LayerNorm", refs)
    assert reachable("BatchNormFunction", refs) == {"BatchNormFunction"}


# ----------------------------------------------------------------------------- the references

@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_reference_solution_uses_none_of_its_topics_forbidden_names(topic):
    path = TOPICS[topic].solution_path(ROOT)
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} is not written yet")
    assert scan(path.read_text(), TOPICS[topic].forbidden) == []


def test_every_topic_forbids_something():
    for topic in TOPICS.values():
        assert topic.forbidden, topic.name
    assert BN in NORM and "torch.optim.Adam" in OPTIM
