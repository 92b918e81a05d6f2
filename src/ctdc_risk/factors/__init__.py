"""Factor lenses: associations, SHAP, stability, and the factor table."""
