"""A Hydra sweeper that tunes a study with Optuna (4 or newer): ``hydra/sweeper=ctdc_optuna``.

Shipped with ctdc-risk; found by Hydra's plugin scan of the ``hydra_plugins`` namespace
package. Settings are :class:`~hydra_plugins.ctdc_optuna_sweeper.config.OptunaSweeperConf`;
the search space is read from ``hydra.sweeper.params`` and the command line in Hydra's
override grammar (see ``_space``).
"""
