"""dmft: dynamical mean-field theory of learning dynamics.

Python API (the command line ``dmft`` is a thin layer over it)::

    import dmft
    result = dmft.solve("linear-regression", alpha=2, t_max=10)
    result["test_error"], result.t, result.order["C"]
    result.save("out.h5");  dmft.load("out.h5");  print(dmft.show("out.h5"))
    dmft.plot("out.h5", "fig.png", logt=True)
    dmft.simulate("linear-regression", d=500, seeds=8)
    dmft.validate("linear-regression", sizes=(250, 500, 1000), seeds=8, report="report")
"""
from ._version import __version__
from .api import check_params, load, models, params, plot, show, simulate, solve, sweep, tool, validate
from .model import Model, Param, ParameterError
from .result import Result

__all__ = ["__version__", "solve", "simulate", "validate", "load", "show", "plot", "tool", "sweep", "models", "params",
           "check_params", "Model", "Param", "ParameterError", "Result"]
