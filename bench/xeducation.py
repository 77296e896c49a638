"""Real leads with real outcomes: the X Education lead-scoring data, prepared for the upload, and a plain
scikit-learn baseline on the same columns.

    path = source_path()                        # ../shared/data/xeducation-leads.csv, or None
    info = prepare(path, out_csv)                # the copy the bench uploads (see PREPARED below)
    result = baseline_cv_auc(out_csv)            # LogisticRegression, 5-fold stratified CV AUC

The data's own README (beside the file) says which columns leak the outcome (filled in by sales after
contact) and that "Select" is the web form's default, meaning "not answered". The copy the bench
uploads: a `Name` column ("Lead 660737") in place of the identifiers `Prospect ID` and `Lead Number`
(the import needs a name or a company, and the file has neither; a name is no feature, so neither
side learns from a lead's number), the leaky columns removed, "Select" blanked, every other column
as it is, `Converted` kept as the upload's outcome column. The baseline reads the same columns.
Nothing here talks to the product: it writes a file and fits scikit-learn in the bench's process.
"""

from __future__ import annotations

import csv
import math
import subprocess
from pathlib import Path
from typing import Any

from bench.stack import REPO

SOURCE = Path("shared") / "data" / "xeducation-leads.csv"  # beside the repository: ../shared/data/
ID_COLUMNS = ("Prospect ID", "Lead Number")
NAME_FROM = "Lead Number"
OUTCOME = "Converted"
# Filled in by the sales team after contact: they leak the outcome (the data's README).
LEAKY = ("Tags", "Lead Quality", "Lead Profile", "Asymmetrique Activity Index", "Asymmetrique Profile Index",
         "Asymmetrique Activity Score", "Asymmetrique Profile Score", "Last Notable Activity")
NOT_ANSWERED = "Select"
# The product's cross-validation: StratifiedKFold(5, shuffle=True, random_state=0) over the leads in
# id order (leads/services/training.py, seed 0 as the training job calls it).
CV_FOLDS = 5
CV_SEED = 0

# An offer an online-education company would score these leads for.
OFFER = {
    "name": "Online professional courses",
    "value_props": ["Industry-recognised certificates, fully online",
                    "Learn alongside a full-time job: evening and weekend cohorts",
                    "Career services: mentoring, interview preparation and placement help"],
    "ideal_use_cases": ["Working professionals", "Career changers", "Education"],
    "adjacent_industries": ["E-Learning", "Professional Training & Coaching"],
}


def source_path(explicit: Path | None = None) -> Path | None:
    """`explicit`, else ../shared/data/xeducation-leads.csv beside the repository (for a git worktree,
    beside its main checkout too); None when there is none (a clone of the project has no ../shared)."""
    if explicit is not None:
        return explicit if explicit.is_file() else None
    candidates = [REPO.parent / SOURCE]
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=REPO,
                                capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        common = ""
    if common:
        candidates.append(Path(common).parent.parent / SOURCE)
    return next((path for path in candidates if path.is_file()), None)


def prepare(source: Path, out: Path) -> dict[str, Any]:
    """Write the upload copy of `source` to `out`; returns what was done (rows, columns, cells blanked)."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        # The file ends every line with a comma: an unnamed empty last column.
        keep = [i for i, name in enumerate(header) if name and name not in LEAKY and name not in ID_COLUMNS]
        missing = [name for name in (*LEAKY, NAME_FROM, OUTCOME) if name not in header]
        if missing:
            raise ValueError(f"{source} has no column {', '.join(missing)}")
        name_at = header.index(NAME_FROM)
        rows, blanked, won = 0, 0, 0
        outcome_at = header.index(OUTCOME)
        with out.open("w", encoding="utf-8", newline="") as target:
            writer = csv.writer(target)
            writer.writerow(["Name", *(header[i] for i in keep)])
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                cells = []
                for i in keep:
                    cell = row[i] if i < len(row) else ""
                    if cell == NOT_ANSWERED:
                        cell, blanked = "", blanked + 1
                    cells.append(cell)
                writer.writerow([f"Lead {row[name_at]}", *cells])
                rows += 1
                won += row[outcome_at].strip() == "1"
    return {"rows": rows, "won": won, "lost": rows - won, "columns": [header[i] for i in keep],
            "dropped": list(LEAKY), "identifiers": list(ID_COLUMNS), "select_blanked": blanked,
            "name_from": NAME_FROM}


def _read(path: Path) -> tuple[list[str], list[list[str]], list[int], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    features = [name for name in header if name not in ("Name", OUTCOME)]
    at = [header.index(name) for name in features]
    outcome_at = header.index(OUTCOME)
    names = [row[header.index("Name")] for row in rows]
    return features, [[row[i] for i in at] for row in rows], [int(row[outcome_at]) for row in rows], names


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def baseline_cv_auc(prepared: Path) -> dict[str, Any]:
    """A plain scikit-learn logistic regression on the prepared file's columns (all but Name and Converted):
    one-hot categoricals (a blank is a category of its own), numeric columns median-imputed and
    standardised, default C; the mean ROC AUC over the product's folds (CV_FOLDS, CV_SEED, file order)."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features, rows, won, _ = _read(prepared)
    numeric = [j for j in range(len(features))
               if all(_is_number(row[j]) for row in rows if row[j].strip()) and any(row[j].strip() for row in rows)]
    categorical = [j for j in range(len(features)) if j not in numeric]
    x_numeric = np.array([[float(row[j]) if row[j].strip() else np.nan for j in numeric] for row in rows])
    x_categorical = np.array([[row[j].strip() for j in categorical] for row in rows], dtype=object)
    x = np.concatenate([x_numeric.astype(object), x_categorical], axis=1)
    n_num = len(numeric)
    pipeline = make_pipeline(
        ColumnTransformer([
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(range(n_num))),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(range(n_num, x.shape[1]))),
        ]),
        LogisticRegression(max_iter=2000),
    )
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=CV_SEED)
    aucs = cross_val_score(pipeline, x, np.array(won), cv=folds, scoring="roc_auc")
    return {"cv_auc": float(aucs.mean()), "cv_folds": [float(a) for a in aucs],
            "numeric": [features[j] for j in numeric], "categorical": [features[j] for j in categorical],
            "rows": len(rows), "model": "LogisticRegression(C=1.0), OneHotEncoder + SimpleImputer(median) + "
                                        f"StandardScaler; StratifiedKFold({CV_FOLDS}, shuffle, seed {CV_SEED})"}


def nested_cv_auc(prepared: Path) -> dict[str, Any]:
    """The product's training function with nothing chosen on the rows it is judged on: for each of
    the product's folds, `fit_learned_model` on the other four (which picks its L2 strength and bins
    by its own inner cross-validation) and the stored model's pure-Python probabilities on the fold.

    Rows are the prepared file's columns as uploaded attributes (`attributes.<column>`, a blank
    missing); through the upload some land in lead fields (City as location) with the same values.
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from leads.scoring.learned import LearnedModel, probability
    from leads.services.training import fit_learned_model

    features, rows, won, _ = _read(prepared)
    feature_rows = [{f"attributes.{name}": (value if value.strip() else None) for name, value in zip(features, row,
                                                                                                      strict=True)}
                    for row in rows]
    y = np.array(won, dtype=bool)
    aucs, choices = [], []
    for train, test in StratifiedKFold(CV_FOLDS, shuffle=True, random_state=CV_SEED).split(feature_rows, y):
        result = fit_learned_model([feature_rows[i] for i in train], y[train].tolist(), seed=CV_SEED)
        model = LearnedModel.from_json(result.model.to_json())
        scores = [probability(model, feature_rows[i]) for i in test]
        aucs.append(float(roc_auc_score(y[test], scores)))
        choices.append({"c": result.regularization_c, "bins": len(result.bin_quantiles) + 1})
    return {"cv_auc": float(np.mean(aucs)), "cv_folds": aucs, "choices": choices}


def names_in_file_order(prepared: Path) -> list[str]:
    return _read(prepared)[3]
