"""ctdc_risk: risk and protective factors for child trafficking in CTDC victim-case data.

Importing the package is cheap on purpose: heavy libraries (scikit-learn, LightGBM, SHAP,
MLflow, statsmodels) are imported inside the functions that use them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ctdc-risk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
