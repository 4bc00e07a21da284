"""The in-memory fit's passes over X (gdfast.linear_model._passes) on a Dask cluster: each
chunk's sums on the worker that holds it, added up in one round trip, so that the averaged
model's objective and the certificate at a stop mean what they mean in memory."""
from gdfast.dask._chunks import reduce_chunks
from gdfast.linear_model._passes import LinearModelPasses


class ChunkedPasses(LinearModelPasses):
    """LinearModelPasses over a row-chunked dask X: the same sums, each one a reduction of
    the chunks' own (prepare: the fit's chunk preparation, weights rescaled to average 1
    over the n_samples training rows)."""

    def __init__(self, X, y, sample_weight, prepare, mean, inv_scale, fit_intercept, config,
                 n_samples):
        super().__init__(X, y, sample_weight, mean, inv_scale, fit_intercept, config)
        self.prepare, self.n_samples, self.blocks = prepare, n_samples, None

    def _reduce(self, method, *arguments):
        return reduce_chunks(_chunk_sums, self.X, self.y, self.sample_weight, self.prepare,
                             self.mean, self.inv_scale, self.fit_intercept, self.config,
                             method, arguments)

    def loss_sums(self, parameters, direction=None, multipliers=(0.0,)):
        return self._reduce("loss_sums", parameters, direction, tuple(multipliers))

    def loss_and_gradient_sums(self, parameters):
        return self._reduce("loss_and_gradient_sums", parameters)

    def curvature_sums(self, direction, curvature):
        return self._reduce("curvature_sums", direction, curvature)


def _chunk_sums(X, y, sample_weight, prepare, mean, inv_scale, fit_intercept, config, method,
                arguments):
    """One chunk's sums: its training rows as the fit's epochs see them."""
    X, y, sample_weight = prepare(X, y, sample_weight)
    passes = LinearModelPasses(X, y, sample_weight, mean, inv_scale, fit_intercept, config)
    return getattr(passes, method)(*arguments)
