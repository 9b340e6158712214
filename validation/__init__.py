"""Direct finite-size simulations (one module per model, mirroring solvers/), the comparison
of theory with simulation, and the validation report."""
