"""`python -m bench voc [DATASET_DIR]`: sentiment and themes on public labelled data, old method vs new.

The data sets live outside the repository (default `../shared/data/voc` beside it; see its README for
licences): the UCI "Sentiment Labelled Sentences" (Amazon + Yelp, 1 positive / 0 negative) and the
Maalej app reviews (Bug, Feature, UserExperience, Rating). Nothing is fitted to them: they only measure.

Scoring the two-class UCI set: "mixed" counts as the side its polarity leans to; "neutral" and "not
analysed" are wrong either way. Macro-F1 is the mean of the positive and negative F1.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bench.voc_legacy import legacy_sentiment, legacy_themes
from bot.intake.scoring import score_response

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "voc"
MACRO_F1_TARGET = 0.82
NEGATIVES_TARGET = 0.70
BUGS_F1_TARGET = 0.55
FEATURES_F1_TARGET = 0.45


def load_uci(folder: Path) -> list[tuple[str, str]]:
    """(sentence, 'positive'|'negative') from the Amazon and Yelp files."""
    rows = []
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt"):
        for line in (folder / "uci_sentences" / name).read_text(encoding="utf-8").splitlines():
            sentence, _, label = line.rpartition("\t")
            if sentence and label.strip() in ("0", "1"):
                rows.append((sentence.strip(), "positive" if label.strip() == "1" else "negative"))
    return rows


def load_maalej(folder: Path) -> list[dict]:
    """Each review: {"comment", "label", "rating"}; the files end with a comma before "]"."""
    reviews = []
    for name in ("Bug", "Feature", "UserExperience", "Rating"):
        text = (folder / "maalej" / f"{name}.json").read_text(encoding="utf-8")
        for record in json.loads(re.sub(r",\s*\]\s*$", "]", text)):
            reviews.append({"comment": str(record.get("comment") or ""), "label": record.get("label") or name,
                            "rating": record.get("rating")})
    return reviews


SEMEVAL_FOLDER = "semeval2019_task9"
SEMEVAL_FILES = ("V1.4_Training.csv", "SubtaskA_EvaluationData_labeled.csv", "SubtaskA_Trial_Test_Labeled.csv")


def load_semeval(folder: Path) -> list[tuple[str, bool]]:
    """(sentence, is a suggestion) from SemEval-2019 Task 9 Subtask A, when its files are in
    DATASET_DIR/semeval2019_task9 (a clone of github.com/Semeval2019Task9/Subtask-A): suggestions for
    improvement on a developer feedback forum (UserVoice), CC BY-NC-SA 4.0. The development set of the
    request grammar: measured only, nothing from it is copied or shipped. Empty when absent."""
    return [row for name in SEMEVAL_FILES for row in load_semeval_file(folder / SEMEVAL_FOLDER / name)]


def load_semeval_file(path: Path) -> list[tuple[str, bool]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return [(row[1].strip().strip('"'), row[-1] == "1") for row in csv.reader(handle)
                if len(row) >= 3 and row[-1] in ("0", "1")]


def learned_reference(folder: Path, reviews: list[dict]) -> dict | None:
    """How far a model *learned* from another domain's requests carries to app reviews: TF-IDF (1-2 grams)
    + logistic regression trained on SemEval's training sentences only, probability >= .5, a review
    counted as a request when any of its sentences is. A measurement, not shipped (the set is
    non-commercial); it tells whether a learned model would beat the grammar on the Maalej set."""
    training = load_semeval_file(folder / SEMEVAL_FOLDER / SEMEVAL_FILES[0])
    held_out = [row for name in SEMEVAL_FILES[1:] for row in load_semeval_file(folder / SEMEVAL_FOLDER / name)]
    if not training or not held_out:
        return None
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LogisticRegression(C=2.0, class_weight="balanced", max_iter=2000).fit(
        vectorizer.fit_transform([text for text, _ in training]), [gold for _, gold in training])

    def asks(texts: list[str]) -> list[bool]:
        return [bool(p >= 0.5) for p in model.predict_proba(vectorizer.transform(texts))[:, 1]]

    def review_asks(comment: str) -> bool:
        return any(asks([s for s in re.split(r"(?<=[.!?])\s+|\n", comment) if s.strip()] or [comment]))

    return {"semeval_held_out": _prf(asks([text for text, _ in held_out]), [gold for _, gold in held_out]),
            "maalej_features": _prf([review_asks(r["comment"]) for r in reviews], [r["label"] == "Feature" for r in reviews])}


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _prf(predicted: list[bool], gold: list[bool]) -> dict:
    tp = sum(p and g for p, g in zip(predicted, gold, strict=True))
    precision = tp / max(1, sum(predicted))
    recall = tp / max(1, sum(gold))
    return {"p": round(precision, 3), "r": round(recall, 3), "f1": round(_f1(precision, recall), 3)}


def _side(label: str, polarity: float) -> str:
    if label == "mixed":
        return "positive" if polarity >= 0 else "negative"
    return label


def sentiment_scores(predicted: list[str], gold: list[str]) -> dict:
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)
    f1s = {}
    for side in ("positive", "negative"):
        f1s[side] = _prf([p == side for p in predicted], [g == side for g in gold])
    return {"accuracy": round(accuracy, 3), "macro_f1": round((f1s["positive"]["f1"] + f1s["negative"]["f1"]) / 2, 3),
            "negatives_caught": f1s["negative"]["r"],
            "neutral_share": round(sum(p not in ("positive", "negative") for p in predicted) / len(predicted), 3),
            # Every UCI sentence is English: any "not analysed" is the language check erring.
            "not_analysed_share": round(sum(p == "not_analysed" for p in predicted) / len(predicted), 3)}


def _new(text: str, kind: str = "nps", score: int | None = None) -> tuple[str, list[str]]:
    scored = score_response(kind, score, text)
    return _side(scored.sentiment_label, scored.sentiment_polarity), list(scored.themes)


def _old(text: str, kind: str = "nps", score: int | None = None) -> tuple[str, list[str]]:
    return legacy_sentiment(text), legacy_themes(text)


def measure(method: Callable[..., tuple[str, list[str]]], uci: list[tuple[str, str]], reviews: list[dict],
            suggestions: list[tuple[str, bool]] = ()) -> dict:
    started = time.perf_counter()
    uci_out = [method(sentence) for sentence, _ in uci]
    review_out = [method(review["comment"]) for review in reviews]
    seconds = time.perf_counter() - started
    extra = {}
    if suggestions:
        extra["semeval_suggestions"] = _prf(["feature_request" in method(sentence)[1] for sentence, _ in suggestions],
                                            [gold for _, gold in suggestions])
    # The survey score beside the text (stars 1-5 as CSAT): what a scored comment gets in cxloop.
    scored = [review for review in reviews if review["rating"] in (1, 2, 4, 5)]
    scored_out = [method(review["comment"], "csat", review["rating"]) for review in scored]
    return {
        "uci": sentiment_scores([label for label, _ in uci_out], [label for _, label in uci]),
        "maalej_bugs": _prf(["bugs" in themes for _, themes in review_out], [r["label"] == "Bug" for r in reviews]),
        "maalej_features": _prf(["feature_request" in themes for _, themes in review_out],
                                [r["label"] == "Feature" for r in reviews]),
        "no_theme_uci": round(sum(not themes for _, themes in uci_out) / len(uci_out), 3),
        "no_theme_maalej": round(sum(not themes for _, themes in review_out) / len(review_out), 3),
        "maalej_scored_negatives_caught": sentiment_scores(
            [label for label, _ in scored_out],
            ["negative" if r["rating"] <= 2 else "positive" for r in scored])["negatives_caught"],
        "comments_per_s": round((len(uci_out) + len(review_out)) / seconds),
        **extra,
    }


def run(dataset_dir: str | Path | None = None) -> dict:
    folder = Path(dataset_dir) if dataset_dir else DEFAULT_DIR
    target = (f"UCI macro-F1 >= {MACRO_F1_TARGET}, negatives caught >= {NEGATIVES_TARGET}; Maalej F1 bugs >= "
              f"{BUGS_F1_TARGET}, feature requests >= {FEATURES_F1_TARGET}")
    if not (folder / "uci_sentences").is_dir() or not (folder / "maalej").is_dir():
        return {"name": "voice of customer", "target": target, "met": True,
                "skipped": f"no data sets in {folder} (pass the folder: python -m bench voc DATASET_DIR)"}
    uci, reviews, suggestions = load_uci(folder), load_maalej(folder), load_semeval(folder)
    _new("warm up the lexicons")
    result = {"name": f"voice of customer: {len(uci)} UCI sentences, {len(reviews)} Maalej reviews ({folder})",
              "target": target, "old": measure(_old, uci, reviews, suggestions),
              "new": measure(_new, uci, reviews, suggestions)}
    reference = learned_reference(folder, reviews)
    if reference:
        result["learned_reference"] = reference
    new = result["new"]
    result["met"] = (new["uci"]["macro_f1"] >= MACRO_F1_TARGET and new["uci"]["negatives_caught"] >= NEGATIVES_TARGET
                     and new["maalej_bugs"]["f1"] >= BUGS_F1_TARGET
                     and new["maalej_features"]["f1"] >= FEATURES_F1_TARGET)
    return result


def table(result: dict) -> str:
    """Old and new side by side."""
    if "skipped" in result:
        return f"voc skipped: {result['skipped']}"
    rows = [("UCI accuracy", lambda m: m["uci"]["accuracy"]), ("UCI macro-F1", lambda m: m["uci"]["macro_f1"]),
            ("UCI negatives caught", lambda m: m["uci"]["negatives_caught"]),
            ("UCI neutral/unanalysed share", lambda m: m["uci"]["neutral_share"]),
            ("UCI called not English (all are)", lambda m: m["uci"]["not_analysed_share"]),
            ("Maalej bugs P/R/F1", lambda m: "{p}/{r}/{f1}".format(**m["maalej_bugs"])),
            ("Maalej features P/R/F1", lambda m: "{p}/{r}/{f1}".format(**m["maalej_features"])),
            ("no theme (UCI / Maalej)", lambda m: f"{m['no_theme_uci']} / {m['no_theme_maalej']}"),
            ("Maalej scored negatives caught", lambda m: m["maalej_scored_negatives_caught"]),
            ("comments/s (1 core)", lambda m: m["comments_per_s"])]
    if "semeval_suggestions" in result["new"]:
        rows.append(("SemEval-19 suggestions P/R/F1 (dev)", lambda m: "{p}/{r}/{f1}".format(**m["semeval_suggestions"])))
    lines = [f"{'':32} {'today (legacy)':>18} {'new':>18}"]
    lines += [f"{label:32} {str(get(result['old'])):>18} {str(get(result['new'])):>18}" for label, get in rows]
    if "learned_reference" in result:
        reference = result["learned_reference"]
        lines.append("learned from SemEval (TF-IDF + logistic regression, not shipped): its held-out sentences P/R/F1 "
                     "{p}/{r}/{f1}".format(**reference["semeval_held_out"])
                     + "; Maalej features P/R/F1 {p}/{r}/{f1}".format(**reference["maalej_features"]))
    return "\n".join(lines)
