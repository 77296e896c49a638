"""Training the learned model: feature rows and outcomes in, a plain-data `LearnedModel` and its
metrics out.

    result = fit_learned_model(rows, won, seed=0)   # rows: featurize() dicts, won: one bool per row
    result.model.to_json()                          # what is stored; scoring needs no scikit-learn

How it fits:

* Column kinds are decided once from the values of an evenly spread sample of rows (no outcomes
  involved): fixed by key for rule hits (flag), event counts (count), tags and the bio (words);
  otherwise a column whose values read as numbers (95 %) is numeric, one with long or very varied
  text is words, the rest is a category. Columns filled in fewer than `min_count_for(n)` rows
  are left out; the same count decides which categories and words are kept.
* Each column's encoding (mean and scale, quantile bin edges, kept categories, vocabulary) is
  fitted on the rows being trained on, so cross-validation and the hold-out see no statistics of
  the rows they score. Raw values are read once (the slow, pure-Python part) into arrays and a
  sparse row x token matrix; a fold only selects and re-maps them with numpy.
* An L2 logistic regression (lbfgs) with balanced class weights, so a rare outcome still shapes
  the coefficients; C and the numbers' bins are the best of C_GRID x BIN_CHOICES by the 5-fold
  cross-validated AUC (each fold walks the C grid warm-started, which costs little more than one
  fit, once per bin choice), and `cv_auc` is that choice's mean.
  Above CV_MAX_ROWS rows the cross-validation runs on a stratified sample of that size: the AUC
  and the choice of C need no more, and 100,000 rows stay well inside a minute.
* The hold-out AUC is a separate stratified 80/20 split, encodings and model fitted on the 80 %.
  The final model is fitted on all rows, warm-started from the hold-out model.
* The calibration is Platt's sigmoid on decision values of models that did not see the rows:
  the out-of-fold ones when the cross-validation covered every row, else the hold-out's (fold
  models trained on a sample would be more shrunk than the final one). It restores the real base
  rate after the balanced weights.
* BLAS runs single-threaded during the fit: lbfgs makes many small calls, and a second thread only
  adds contention (several times slower on a shared machine).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from leads.scoring.learned import (
    BIO_KEY,
    EVENTS_PREFIX,
    EVENTS_SUFFIX,
    FORMAT,
    MISSING,
    OTHER,
    RULE_PREFIX,
    Factor,
    LearnedModel,
    category_key,
    feature_label,
    is_missing,
    read_count,
    read_number,
    tag_keys,
    text_tokens,
)

MIN_EACH: Final = 50
CV_FOLDS: Final = 5
HOLDOUT_SHARE: Final = 0.2
#: L2 strengths tried (ascending), chosen by the cross-validated AUC.
C_GRID: Final = (0.03, 0.1, 0.3, 1.0)
#: Above this many rows the cross-validation (C choice, cv_auc) runs on a stratified sample of it.
CV_MAX_ROWS: Final = 20_000
MAX_ITER: Final = 1000
BIO_VOCABULARY: Final = 2000
TEXT_VOCABULARY: Final = 500  # any other text column
MAX_CATEGORIES: Final = 200  # per column; tags too
#: Bin edges of a numeric column (numbers rarely act linearly), tried as C is: quintiles or
#: deciles, whichever the cross-validation prefers (on generated leads quintiles by 0.001 AUC, on
#: the public education case study deciles by 0.007: the data decides, not a constant).
BIN_CHOICES: Final = ((0.2, 0.4, 0.6, 0.8), (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9))
NUMERIC_SHARE: Final = 0.95
TEXT_MIN_WORDS: Final = 4.0
SAMPLE_SIZE: Final = 2000  # values per column that decide its kind
TOP_FACTORS: Final = 20

NOT_ENOUGH: Final = ("Training needs at least {needed_won} won and {needed_lost} lost outcomes: "
                     "{won} won and {lost} lost so far — {missing} needed.")
LENGTHS_DIFFER: Final = "rows and won must have the same length ({rows} rows, {won} outcomes)."


class NotEnoughOutcomes(ValueError):
    """Too few won or lost outcomes to train; the message says how many more of each are needed."""

    def __init__(self, *, won: int, lost: int, needed_won: int, needed_lost: int) -> None:
        self.won, self.lost, self.needed_won, self.needed_lost = won, lost, needed_won, needed_lost
        short = [f"{needed - have} more {name}" for name, have, needed in
                 (("won", won, needed_won), ("lost", lost, needed_lost)) if have < needed]
        self.message = NOT_ENOUGH.format(needed_won=needed_won, needed_lost=needed_lost, won=won, lost=lost,
                                         missing=" and ".join(short))
        super().__init__(self.message)


@dataclass(frozen=True)
class TrainingResult:
    """A trained model and its metrics; every metric is for the chosen `regularization_c` and bins."""

    model: LearnedModel
    holdout_auc: float
    cv_auc: float
    cv_fold_aucs: tuple[float, ...]
    n_won: int
    n_lost: int
    #: The features that move the probability most across leads: coef x the feature's standard
    #: deviation, signed, largest magnitude first.
    top_factors: tuple[Factor, ...]
    regularization_c: float
    #: The numeric columns' bin quantiles chosen (one of BIN_CHOICES).
    bin_quantiles: tuple[float, ...]
    #: The scikit-learn objects behind `model`, for checks; not stored.
    estimator: FittedPipeline = field(repr=False, compare=False)


# --- column plans and raw values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    key: str
    kind: str  # numeric, category, words, count, flag
    split: str = ""  # words only: "text" or "tags"


def min_count_for(n_rows: int) -> int:
    """Rows a category, word or column needs before it is learned from (5 up to 50, 0.1 % of rows)."""
    return max(5, min(50, n_rows // 1000))


def plan_columns(rows: Sequence[dict[str, object]]) -> list[ColumnPlan]:
    """The kind of each feature column, from the values alone (no outcomes)."""
    # Kinds and presence are read from an evenly spread sample of rows: enough to tell numbers from
    # words, and a column filled in too few rows to learn from.
    step = max(1, len(rows) // SAMPLE_SIZE)
    samples: dict[str, list[object]] = {}
    for row in rows[::step]:
        for key, value in row.items():
            if value is not False and not is_missing(value):
                samples.setdefault(key, []).append(value)
    needed = min_count_for(len(rows))
    plans = []
    for key in sorted(samples):
        if len(samples[key]) * step < needed:
            continue
        if key.startswith(RULE_PREFIX):
            plans.append(ColumnPlan(key, "flag"))
        elif key.startswith(EVENTS_PREFIX) and key.endswith(EVENTS_SUFFIX):
            plans.append(ColumnPlan(key, "count"))
        elif key == "tags":
            plans.append(ColumnPlan(key, "words", "tags"))
        elif key == BIO_KEY:
            plans.append(ColumnPlan(key, "words", "text"))
        else:
            plan = _plan_by_values(key, samples[key])
            if plan is not None:
                plans.append(plan)
    return plans


def _plan_by_values(key: str, values: list[object]) -> ColumnPlan | None:
    if not values:
        return None
    if sum(isinstance(value, list | tuple | set | frozenset) for value in values) * 2 >= len(values):
        return ColumnPlan(key, "words", "tags")
    if sum(read_number(value) is not None for value in values) >= NUMERIC_SHARE * len(values):
        return ColumnPlan(key, "numeric")
    texts = [value if isinstance(value, str) else str(value) for value in values]
    mean_words = sum(len(text.split()) for text in texts) / len(texts)
    distinct = len({category_key(text) for text in texts})
    if mean_words >= TEXT_MIN_WORDS or (distinct > MAX_CATEGORIES and distinct > 0.3 * len(texts)):
        return ColumnPlan(key, "words", "text")
    return ColumnPlan(key, "category")


@dataclass(frozen=True)
class _Raw:
    """One column's values for every row, read once: floats (NaN = missing), category codes, or a
    binary row x token matrix."""

    plan: ColumnPlan
    values: np.ndarray | None = None
    codes: np.ndarray | None = None
    keys: tuple[str, ...] = ()  # code -> category key, or token id -> token
    matrix: sp.csr_matrix | None = None


def read_columns(rows: Sequence[dict[str, object]], plans: Sequence[ColumnPlan]) -> list[_Raw]:
    return [_read_column(rows, plan) for plan in plans]


def _numbers(rows: Sequence[dict[str, object]], key: str) -> Iterator[float]:
    seen: dict[object, float] = {}  # sizes, budgets and day counts repeat
    for row in rows:
        value = row.get(key)
        try:
            if value is True or value is False:  # a dict would take True for 1
                raise TypeError
            yield seen[value]
        except KeyError:
            number = read_number(value)
            yield seen.setdefault(value, math.nan if number is None else number)
        except TypeError:
            number = read_number(value)
            yield math.nan if number is None else number


def _read_column(rows: Sequence[dict[str, object]], plan: ColumnPlan) -> _Raw:
    key = plan.key
    if plan.kind == "numeric":
        return _Raw(plan, values=np.fromiter(_numbers(rows, key), float, len(rows)))
    if plan.kind == "count":
        return _Raw(plan, values=np.fromiter((read_count(row.get(key)) for row in rows), float, len(rows)))
    if plan.kind == "flag":
        return _Raw(plan, values=np.fromiter((1.0 if row.get(key) else 0.0 for row in rows), float, len(rows)))
    if plan.kind == "category":
        codes: dict[str, int] = {}
        seen: dict[object, int] = {}
        out = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            value = row.get(key)
            try:
                if value is True or value is False:  # a dict would take True for 1
                    raise TypeError
                out[i] = seen[value]
            except KeyError:
                out[i] = seen[value] = codes.setdefault(category_key(value), len(codes))
            except TypeError:
                out[i] = codes.setdefault(category_key(value), len(codes))
        return _Raw(plan, codes=out, keys=tuple(codes))
    reader = tag_keys if plan.split == "tags" else text_tokens
    # A new token gets the next id inside dict lookup itself, so the per-token loop stays in C.
    token_ids: defaultdict[str, int] = defaultdict()
    token_ids.default_factory = token_ids.__len__
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        indices.extend(map(token_ids.__getitem__, reader(row.get(key))))
        indptr.append(len(indices))
    matrix = sp.csr_matrix((np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                           shape=(len(rows), len(token_ids)))
    return _Raw(plan, matrix=matrix, keys=tuple(token_ids))


# --- fitted encodings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoding:
    """One column's fitted encoding: its statistics and the ordered names of its matrix columns."""

    plan: ColumnPlan
    mean: float = 0.0
    scale: float = 1.0
    edges: tuple[float, ...] = ()
    kept: tuple[str, ...] = ()  # categories (then OTHER) or vocabulary, in matrix order

    @property
    def width(self) -> int:
        kind = self.plan.kind
        if kind == "numeric":
            return len(self.edges) + 3  # z, the bins, missing
        if kind == "category":
            return len(self.kept) + 1
        if kind == "words":
            return len(self.kept)
        return 1


def _fit_encoding(raw: _Raw, rows: np.ndarray, quantiles: tuple[float, ...]) -> _Encoding:
    plan, needed = raw.plan, min_count_for(len(rows))
    if plan.kind in ("numeric", "count"):
        values = raw.values[rows]
        values = values[~np.isnan(values)]
        if not len(values):
            return _Encoding(plan)
        scale = float(values.std())
        edges: tuple[float, ...] = ()
        if plan.kind == "numeric":
            edges = tuple(float(edge) for edge in np.unique(np.quantile(values, quantiles)))
        return _Encoding(plan, float(values.mean()), scale if scale > 1e-12 else 1.0, edges)
    if plan.kind == "flag":
        return _Encoding(plan)
    if plan.kind == "category":
        counts = np.bincount(raw.codes[rows], minlength=len(raw.keys))
        return _Encoding(plan, kept=_most_frequent(raw.keys, counts, needed, MAX_CATEGORIES))
    counts = np.asarray(raw.matrix[rows].sum(axis=0)).ravel()
    limit = MAX_CATEGORIES if plan.split == "tags" else BIO_VOCABULARY if plan.key == BIO_KEY else TEXT_VOCABULARY
    return _Encoding(plan, kept=_most_frequent(raw.keys, counts, needed, limit))


def _most_frequent(keys: tuple[str, ...], counts: np.ndarray, needed: int, limit: int) -> tuple[str, ...]:
    frequent = [(-int(count), key) for key, count in zip(keys, counts, strict=True) if count >= needed]
    return tuple(key for _, key in sorted(frequent)[:limit])


def _encode(raw: _Raw, encoding: _Encoding, rows: np.ndarray) -> sp.csr_matrix:
    kind, n = encoding.plan.kind, len(rows)
    if kind == "numeric":
        values = raw.values[rows]
        present = ~np.isnan(values)
        z = np.where(present, (np.nan_to_num(values) - encoding.mean) / encoding.scale, 0.0)
        bins = np.searchsorted(np.asarray(encoding.edges, dtype=float), np.nan_to_num(values), side="right") + 1
        columns = np.where(present, bins, encoding.width - 1)
        data = np.concatenate([z, np.ones(n)])
        row_ids = np.concatenate([np.arange(n), np.arange(n)])
        col_ids = np.concatenate([np.zeros(n, dtype=np.int64), columns])
        return sp.csr_matrix((data, (row_ids, col_ids)), shape=(n, encoding.width))
    if kind in ("count", "flag"):
        values = raw.values[rows]
        if kind == "count":
            values = (values - encoding.mean) / encoding.scale
        return sp.csr_matrix(values.reshape(-1, 1))
    positions = {key: index for index, key in enumerate(encoding.kept)}
    if kind == "category":
        other = len(encoding.kept)
        mapping = np.fromiter((positions.get(key, other) for key in raw.keys), np.int64, len(raw.keys))
        return sp.csr_matrix((np.ones(n), (np.arange(n), mapping[raw.codes[rows]])), shape=(n, encoding.width))
    # Words: project the row x all-tokens matrix onto the kept vocabulary.
    pairs = [(token_id, positions[token]) for token_id, token in enumerate(raw.keys) if token in positions]
    projection = sp.csr_matrix(
        (np.ones(len(pairs)), ([source for source, _ in pairs], [target for _, target in pairs])),
        shape=(len(raw.keys), encoding.width))
    return (raw.matrix[rows] @ projection).tocsr()


def _design(raws: Sequence[_Raw], encodings: Sequence[_Encoding], rows: np.ndarray) -> sp.csr_matrix:
    blocks = [_encode(raw, encoding, rows) for raw, encoding in zip(raws, encodings, strict=True)]
    if not blocks:
        return sp.csr_matrix((len(rows), 0))
    return sp.hstack(blocks, format="csr")


def _feature_ids(encodings: Sequence[_Encoding]) -> list[tuple[str, ...]]:
    """A name per matrix column, stable across fits on different rows (bins by position)."""
    ids: list[tuple[str, ...]] = []
    for encoding in encodings:
        key, kind = encoding.plan.key, encoding.plan.kind
        if kind == "numeric":
            ids.append((key, "z"))
            ids.extend((key, "bin", str(index)) for index in range(len(encoding.edges) + 1))
            ids.append((key, MISSING))
        elif kind == "category":
            ids.extend((key, value) for value in (*encoding.kept, OTHER))
        elif kind == "words":
            ids.extend((key, token) for token in encoding.kept)
        else:
            ids.append((key,))
    return ids


def _fit_design(raws: Sequence[_Raw], train: np.ndarray, quantiles: tuple[float, ...]) -> list[_Encoding]:
    return [_fit_encoding(raw, train, quantiles) for raw in raws]


# --- the estimator ---------------------------------------------------------------------------------------


def _classifier(c: float, *, warm_start: bool = False) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=MAX_ITER, warm_start=warm_start)


@dataclass(frozen=True)
class FittedPipeline:
    """The fitted scikit-learn side: encodings, the logistic regression and the Platt calibrator."""

    plans: tuple[ColumnPlan, ...]
    encodings: tuple[_Encoding, ...]
    classifier: LogisticRegression
    calibrator: LogisticRegression

    def design(self, rows: Sequence[dict[str, object]]) -> sp.csr_matrix:
        raws = read_columns(rows, self.plans)
        return _design(raws, self.encodings, np.arange(len(rows)))

    def predict_proba(self, rows: Sequence[dict[str, object]]) -> np.ndarray:
        """P(won) per row, by scikit-learn's own predict_proba of both stages."""
        decision = self.classifier.decision_function(self.design(rows))
        return self.calibrator.predict_proba(decision.reshape(-1, 1))[:, 1]


def fit_learned_model(rows: Sequence[dict[str, object]], won: Sequence[bool], *, seed: int = 0,
                      min_each: int = MIN_EACH, cv_max_rows: int = CV_MAX_ROWS) -> TrainingResult:
    """Train on feature rows (`featurize()` dicts) and their outcomes; see the module docstring.

    Raises NotEnoughOutcomes with fewer than `min_each` (at least CV_FOLDS) of either outcome.
    """
    if len(rows) != len(won):
        raise ValueError(LENGTHS_DIFFER.format(rows=len(rows), won=len(won)))
    y = np.fromiter((bool(outcome) for outcome in won), bool, len(won))
    n_won, n_lost = int(y.sum()), int(len(y) - y.sum())
    needed = max(min_each, CV_FOLDS)
    if n_won < needed or n_lost < needed:
        raise NotEnoughOutcomes(won=n_won, lost=n_lost, needed_won=needed, needed_lost=needed)

    # Many small BLAS calls (lbfgs over a few thousand coefficients): a second thread only adds
    # contention, several times over on a shared machine.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(rows, y, seed=seed, n_won=n_won, n_lost=n_lost, cv_max_rows=max(cv_max_rows, 10 * CV_FOLDS))


def _fit(rows: Sequence[dict[str, object]], y: np.ndarray, *, seed: int, n_won: int, n_lost: int,
         cv_max_rows: int) -> TrainingResult:
    plans = plan_columns(rows)
    raws = read_columns(rows, plans)
    everyone = np.arange(len(y))
    sample = everyone
    if len(y) > cv_max_rows:
        sample = np.sort(train_test_split(everyone, train_size=cv_max_rows, stratify=y, random_state=seed)[0])
    # One column per (bins, C): each fold fits the C grid from the strongest penalty up,
    # warm-started, which costs little more than one fit, once per bin choice.
    grid = [(quantiles, c) for quantiles in BIN_CHOICES for c in C_GRID]
    out_of_fold = np.zeros((len(sample), len(grid)))
    fold_aucs = np.zeros((CV_FOLDS, len(grid)))
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed).split(sample, y[sample])
    for fold, (train, test) in enumerate(folds):
        for choice, quantiles in enumerate(BIN_CHOICES):
            encodings = _fit_design(raws, sample[train], quantiles)
            design, scored = _design(raws, encodings, sample[train]), _design(raws, encodings, sample[test])
            classifier = _classifier(C_GRID[0], warm_start=True)
            for step, c in enumerate(C_GRID):
                index = choice * len(C_GRID) + step
                classifier.set_params(C=c).fit(design, y[sample[train]])
                out_of_fold[test, index] = classifier.decision_function(scored)
                fold_aucs[fold, index] = roc_auc_score(y[sample[test]], out_of_fold[test, index])
    best = int(np.argmax(fold_aucs.mean(axis=0)))
    quantiles, c = grid[best]

    train, test = train_test_split(everyone, test_size=HOLDOUT_SHARE, stratify=y, random_state=seed)
    encodings = _fit_design(raws, train, quantiles)
    classifier = _classifier(c).fit(_design(raws, encodings, train), y[train])
    held_out = classifier.decision_function(_design(raws, encodings, test))
    holdout_auc = float(roc_auc_score(y[test], held_out))
    # Platt on decision values of models trained on most of the rows: the out-of-fold ones when the
    # cross-validation saw every row, else the hold-out's (fold models trained on a sample would be
    # more shrunk than the final model, and the calibration would overstate its confidence).
    if len(sample) == len(y):
        calibrator = LogisticRegression(C=np.inf).fit(out_of_fold[:, best].reshape(-1, 1), y)
    else:
        calibrator = LogisticRegression(C=np.inf).fit(held_out.reshape(-1, 1), y[test])

    # The final fit starts from the hold-out model's coefficients (matched by feature): the same
    # optimum, reached in fewer iterations.
    start = dict(zip(_feature_ids(encodings), classifier.coef_.ravel(), strict=True))
    intercept = classifier.intercept_.copy()
    encodings = _fit_design(raws, everyone, quantiles)
    design = _design(raws, encodings, everyone)
    classifier = _classifier(c, warm_start=True)
    classifier.coef_ = np.array([[start.get(feature, 0.0) for feature in _feature_ids(encodings)]])
    classifier.intercept_ = intercept
    classifier.fit(design, y)

    means = np.asarray(design.mean(axis=0)).ravel()
    squares = np.asarray(design.multiply(design).mean(axis=0)).ravel()
    stds = np.sqrt(np.maximum(squares - means**2, 0.0))
    coefs = classifier.coef_.ravel()
    model = LearnedModel.from_json(_model_json(encodings, coefs, means, float(classifier.intercept_[0]),
                                               float(calibrator.coef_[0, 0]), float(calibrator.intercept_[0])))
    return TrainingResult(
        model=model, holdout_auc=holdout_auc, cv_auc=float(fold_aucs[:, best].mean()),
        cv_fold_aucs=tuple(float(auc) for auc in fold_aucs[:, best]),
        n_won=n_won, n_lost=n_lost, top_factors=_global_factors(encodings, coefs * stds), regularization_c=c,
        bin_quantiles=quantiles,
        estimator=FittedPipeline(tuple(plans), tuple(encodings), classifier, calibrator),
    )


# --- export ------------------------------------------------------------------------------------------------


def _model_json(encodings: Sequence[_Encoding], coefs: np.ndarray, means: np.ndarray, intercept: float,
                slope: float, calibration_intercept: float) -> dict[str, Any]:
    columns = []
    offset = 0
    for encoding in encodings:
        plan, width = encoding.plan, encoding.width
        coef = [float(value) for value in coefs[offset:offset + width]]
        mean = [float(value) for value in means[offset:offset + width]]
        offset += width
        column: dict[str, Any] = {"key": plan.key, "kind": plan.kind, "label": feature_label(plan.key)}
        if plan.kind == "numeric":
            bins = [[c, m] for c, m in zip(coef[1:-1], mean[1:-1], strict=True)]
            column.update(mean=encoding.mean, scale=encoding.scale, coef=coef[0], mean_z=mean[0],
                          edges=list(encoding.edges), bins=bins, missing=[coef[-1], mean[-1]])
        elif plan.kind == "category":
            column.update(values=[[key, c, m] for key, c, m in zip(encoding.kept, coef, mean, strict=False)],
                          other=[coef[-1], mean[-1]])
        elif plan.kind == "words":
            column.update(split=plan.split,
                          vocabulary=[[key, c, m] for key, c, m in zip(encoding.kept, coef, mean, strict=True)])
        elif plan.kind == "count":
            column.update(mean=encoding.mean, scale=encoding.scale, coef=coef[0], mean_z=mean[0])
        else:
            column.update(coef=coef[0], rate=mean[0])
        columns.append(column)
    return {"format": FORMAT, "intercept": intercept,
            "calibration": {"slope": slope, "intercept": calibration_intercept}, "columns": columns}


def _global_factors(encodings: Sequence[_Encoding], importance: np.ndarray) -> tuple[Factor, ...]:
    named: list[tuple[str, str]] = []
    for encoding in encodings:
        plan, label = encoding.plan, feature_label(encoding.plan.key)
        if plan.kind == "numeric":
            bounds = [_number_text(edge) for edge in encoding.edges]
            named.append((label, "higher"))
            named.extend((label, _bin_text(bounds, index)) for index in range(len(bounds) + 1))
            named.append((label, MISSING))
        elif plan.kind == "category":
            named.extend((label, key) for key in (*encoding.kept, OTHER))
        elif plan.kind == "words" and plan.split == "text":
            named.extend((f"{label} word '{token}'", "present") for token in encoding.kept)
        elif plan.kind == "words":
            named.extend((label, tag) for tag in encoding.kept)
        else:
            named.append((label, "more" if plan.kind == "count" else "yes"))
    order = np.argsort(-np.abs(importance), kind="stable")[:TOP_FACTORS]
    return tuple(Factor(*named[index], float(importance[index])) for index in order if importance[index] != 0)


def _number_text(slog: float) -> str:
    """A bin edge back in the units people wrote (edges are in sign(x) * log1p(|x|))."""
    value = float(f"{math.copysign(math.expm1(abs(slog)), slog):.3g}")
    return f"{int(value):,}" if value.is_integer() else f"{value:g}"


def _bin_text(bounds: list[str], index: int) -> str:
    if not bounds:
        return "any"
    if index == 0:
        return f"below {bounds[0]}"
    if index == len(bounds):
        return f"{bounds[-1]} or more"
    return f"{bounds[index - 1]} to below {bounds[index]}"
