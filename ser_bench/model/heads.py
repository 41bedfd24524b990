"""Evaluation heads: the lookup of head plugins, the fit check, and helpers for head authors.

A head (a :class:`~ser_bench.plugin_api.types.HeadSpec` registered through the ``ser_bench_heads`` hook) says how
a test clip gets a class from the labelled support set. The core knows no head by name: the built-in
ones (``siamese``, ``prototype``, ``knn``, ``linear``, ``linear_svm``) live in ``plugins/heads/``.
Importing this module never imports torch, numpy or scikit-learn.
"""
from __future__ import annotations

NEEDS = ("embedding", "pair")


def embed(model, x):
    """``model.embed(x)`` without gradients: what a head compares or fits on. ``x`` is on the model's
    device (``run --device``); so is the embedding, and a head returns its predictions from there (the
    caller brings them to the CPU for the metrics)."""
    import torch

    with torch.no_grad():
        return model.embed(x)


def _probe(fit_predict, model, x_test, x_support, y_support):
    """``fit_predict(support embeddings, labels, test embeddings)`` as a ``LongTensor``, with the
    one-class and empty-test cases of :func:`sklearn_probe`."""
    import torch

    labels = y_support.cpu().numpy()
    present = sorted(set(labels.tolist()))
    if len(present) == 1 or len(x_test) == 0:
        return torch.full((len(x_test),), present[0], dtype=torch.long)
    z_s, z_t = embed(model, x_support).cpu().numpy(), embed(model, x_test).cpu().numpy()
    return torch.as_tensor(fit_predict(z_s, labels, z_t), dtype=torch.long)


def sklearn_probe(estimator, model, x_test, x_support, y_support):
    """Fit a scikit-learn classifier on the support embeddings and predict the test clips.

    ``estimator`` is an unfitted classifier (a pipeline is fine). A support set of a single class
    predicts that class (scikit-learn classifiers refuse to fit one class); only classes present in
    the support set are ever predicted. Returns a ``LongTensor``.
    """
    return _probe(lambda z_s, labels, z_t: estimator.fit(z_s, labels).predict(z_t), model, x_test, x_support, y_support)


def standardised_probe(classifier, model, x_test, x_support, y_support):
    """:func:`sklearn_probe` with ``classifier`` behind a ``StandardScaler`` fitted on the support set
    only: the shape of every linear head.

    The scaler and the classifier are fitted and applied as ``make_pipeline(StandardScaler(),
    classifier)`` does, step by step, so the predictions are the pipeline's; the pipeline itself (its
    cloning, routing and checks, a tenth of a few-shot probe) is left out.
    """
    def fit_predict(z_s, labels, z_t):
        scaler, fitted = _standardised_fit(classifier, z_s, labels)
        return fitted.predict(scaler.transform(z_t))

    return _probe(fit_predict, model, x_test, x_support, y_support)


_LAST_FIT: list = [None, None]  # [key, (scaler, classifier)] of the last fit in this process


def _standardised_fit(classifier, z_s, labels):
    """Fit a ``StandardScaler`` on ``z_s``, then ``classifier`` on the scaled ``z_s``; returns ``(scaler,
    fitted classifier)``. The one fit of :func:`standardised_probe` and :func:`standardised_probabilities`.

    A split asks for its predictions and then for its probabilities on the same support set: the second
    call reuses the first's fit (the last fit is kept, keyed by the classifier's class and parameters and
    the bytes of the support embeddings and labels), so a logistic regression is fitted once per split."""
    import hashlib

    from sklearn.preprocessing import StandardScaler

    key = (type(classifier).__qualname__, repr(sorted(classifier.get_params().items())), z_s.shape,
           str(z_s.dtype), hashlib.sha1(z_s.tobytes()).digest(), hashlib.sha1(labels.tobytes()).digest())
    if _LAST_FIT[0] == key:
        return _LAST_FIT[1]
    scaler = StandardScaler()
    classifier.fit(scaler.fit_transform(z_s), labels)
    _LAST_FIT[:] = [key, (scaler, classifier)]
    return scaler, classifier


def standardised_probabilities(classifier, model, x_test, x_support, y_support, n_classes: int):
    """The class probabilities (``predict_proba``) of ``classifier`` fitted as :func:`standardised_probe`
    fits it, as a float64 ``(len(x_test), n_classes)`` tensor: columns of classes absent from the support
    set are 0, and a support set of a single class gives that class probability 1.

    The fit is the same code, so on the same inputs a deterministic classifier is the one whose
    predictions :func:`standardised_probe` returns.
    """
    import torch

    labels = y_support.cpu().numpy()
    present = sorted(set(labels.tolist()))
    out = torch.zeros(len(x_test), n_classes, dtype=torch.float64)
    if len(x_test) == 0:
        return out
    if len(present) == 1:
        out[:, present[0]] = 1.0
        return out
    z_s, z_t = embed(model, x_support).cpu().numpy(), embed(model, x_test).cpu().numpy()
    scaler, fitted = _standardised_fit(classifier, z_s, labels)
    columns = torch.as_tensor(fitted.classes_, dtype=torch.long)
    out[:, columns] = torch.as_tensor(fitted.predict_proba(scaler.transform(z_t)), dtype=torch.float64)
    return out


def get_head(registry, name: str, params: dict | None = None):
    """The prediction function of head ``name``, with the head's ``params`` bound (its defaults, then
    ``params``, e.g. a tuned ``C``):
    ``predict(model, x_test, x_support, y_support, n_classes, rule=...) -> class index tensor``.

    An unknown name raises the registry's error (close matches and the full list).
    """
    from functools import partial

    spec = registry.get("heads", name)
    bound = {**dict(spec.params), **dict(params or {})}
    return partial(spec.predict, **bound) if bound else spec.predict


def get_probabilities(registry, name: str, params: dict | None = None):
    """The class-probability function of head ``name`` with its ``params`` bound as :func:`get_head` binds
    them: ``probabilities(model, x_test, x_support, y_support, n_classes, rule=...) -> (len(x_test),
    n_classes)`` float tensor whose rows sum to 1; ``None`` for a head that gives no probabilities.

    An unknown name raises the registry's error (close matches and the full list).
    """
    from functools import partial

    spec = registry.get("heads", name)
    if spec.probabilities is None:
        return None
    bound = {**dict(spec.params), **dict(params or {})}
    return partial(spec.probabilities, **bound) if bound else spec.probabilities


def incompatibility(head, loss_spec, encoder_spec) -> str | None:
    """Why ``head`` (a :class:`~ser_bench.plugin_api.types.HeadSpec`) cannot evaluate this loss/encoder pair, or
    ``None`` when it can. Decided from ``head.needs``, never from the head's name."""
    if encoder_spec.kind not in loss_spec.encoder_kinds:
        return (f"loss {loss_spec.name!r} trains {'/'.join(loss_spec.encoder_kinds)} encoders, "
                f"not the {encoder_spec.kind} encoder {encoder_spec.name!r}")
    if head.needs == "pair" and (encoder_spec.kind != "siamese" or loss_spec.output != "pair"):
        return (f"the {head.name} head needs a Siamese encoder trained with a pair loss; loss {loss_spec.name!r} "
                f"trains {loss_spec.output}s and encoder {encoder_spec.name!r} is {encoder_spec.kind}")
    if head.needs not in NEEDS:
        return f"head {head.name!r} needs {head.needs!r}, which is none of {', '.join(NEEDS)}"
    return None

