"""two-layer against projected GD on the Gaussian model (random tensors, two_layer.md §7.2):
Setting 1 (m = 4, singular initial Gram, a(0) = (1, 1, -1, -1)) with the comparison of `dmft validate`, and its
power: a theory with the wrong noise level fails against the same simulations.
Full run: `dmft validate --config data/examples/two_layer_setting1.toml t_max=6 --sizes 100,200
--seeds 32` (docs/models/two_layer.md)."""
import dmft

SETTING1 = dict(m=4, alpha_bar=1.5, tau=1.0, h=(0.1, 0.5), target="noise", a_init=(1, 1, -1, -1),
                c_init=(1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1), t_max=2.0, dt=0.1,
                richardson=True, simulation="gaussian", sim_step=0.01)
CHECKED = ("train_error", "test_error", "a_1", "a_3", "nu", "cd0", "ctt_1_3", "c0_1_2")


def test_setting1_agrees_with_gd_on_the_gaussian_model_and_a_wrong_theory_does_not():
    from validation.compare import compare
    sims = [dmft.simulate("two-layer", d=100, seeds=16, **SETTING1)]
    outcome = compare(dmft.solve("two-layer", **SETTING1), sims)
    summary = outcome.summary["observables"]
    assert outcome.passed, {k: v["max_abs_z"] for k, v in summary.items()}
    assert all(summary[name]["passed"] for name in CHECKED)
    wrong = compare(dmft.solve("two-layer", **{**SETTING1, "tau": 0.8}), sims)
    assert not wrong.passed and not wrong.summary["observables"]["train_error"]["passed"]


def test_single_index_symmdmft_agrees_with_gd_on_the_gaussian_model():
    """Symmetric start, single-index target built from the same tensors (phi^g = G(u*)); measured
    with 32 seeds to t = 4: max |z| 1.1-1.8 for train/test error, a, v, C_d(t,0), nu."""
    from validation.compare import compare
    given = dict(m=4, alpha_bar=1.5, tau=0.5, h=(0.5, 0.5), target="single-index", init="mf", a0=1.0,
                 t_max=2.0, dt=0.1, richardson=True, simulation="gaussian", sim_step=0.01)
    sims = [dmft.simulate("two-layer", d=100, seeds=12, **given)]
    outcome = compare(dmft.solve("two-layer", **given), sims)
    assert outcome.passed, {k: v["max_abs_z"] for k, v in outcome.summary["observables"].items()}
    assert outcome.summary["observables"]["v"]["by_size"]["100"]["max_abs_diff"] < 0.02
