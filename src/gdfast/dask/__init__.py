"""GDRegressor and GDClassifier for data on a Dask cluster: dask arrays (or dask dataframes,
by their values) chunked along the rows, trained with the compiled kernel on the workers, each
on its own chunks; only parameter-sized vectors travel between the workers and the client.

Needs the optional extra: pip install "gdfast[dask]".
"""
try:
    import dask.array  # noqa: F401  (the extra's presence, checked before anything uses it)
except ImportError as error:
    raise ImportError(
        "gdfast.dask needs Dask, an optional extra of gdfast: install it with "
        'pip install "gdfast[dask]" (dask[array] and distributed).') from error

from gdfast.dask._estimators import GDClassifier, GDRegressor

__all__ = ["GDClassifier", "GDRegressor"]
