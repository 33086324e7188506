"""`python -m bench voc DATASET_DIR`: the request grammar's development set is measured when it is there."""

import json
from pathlib import Path

from bench import voc


def _dataset(folder: Path, with_semeval: bool) -> Path:
    (folder / "uci_sentences").mkdir(parents=True)
    for name in ("amazon_cells_labelled.txt", "yelp_labelled.txt"):
        (folder / "uci_sentences" / name).write_text("Great phone.\t1\nIt broke in a day.\t0\n", encoding="utf-8")
    (folder / "maalej").mkdir()
    for label in ("Bug", "Feature", "UserExperience", "Rating"):
        review = {"comment": "Please add a widget." if label == "Feature" else "Nice.", "label": label, "rating": 4}
        (folder / "maalej" / f"{label}.json").write_text(json.dumps([review]) [:-1] + ",]", encoding="utf-8")
    if with_semeval:
        (folder / voc.SEMEVAL_FOLDER).mkdir()
        (folder / voc.SEMEVAL_FOLDER / voc.SEMEVAL_FILES[0]).write_text(
            'id,sentence,label\n1_1,"""It would also be nice to export to PDF.""",1\n'
            '1_2,"""The export fails on large files.""",0\n1_3,"""Apply the mobile feature to the web version!""",1\n',
            encoding="utf-8")
    return folder


def test_the_suggestion_set_is_measured_when_present(tmp_path: Path) -> None:
    result = voc.run(_dataset(tmp_path, with_semeval=True))
    # Two suggestions, one found ("would also be nice", not the bare "Apply …"); the bug report is no request.
    assert result["new"]["semeval_suggestions"] == {"p": 1.0, "r": 0.5, "f1": 0.667}
    assert "SemEval-19 suggestions" in voc.table(result)


def test_without_the_suggestion_set_the_row_is_left_out(tmp_path: Path) -> None:
    result = voc.run(_dataset(tmp_path, with_semeval=False))
    assert "semeval_suggestions" not in result["new"]
    assert result["new"]["maalej_features"]["r"] == 1.0


def test_a_model_learned_from_the_suggestions_is_measured_beside_the_grammar(tmp_path: Path) -> None:
    folder = _dataset(tmp_path, with_semeval=True)
    rows = ['1_{0},"""Please add an export to PDF {0}.""",1', '2_{0},"""The export crashes on big files {0}.""",0']
    lines = ["id,sentence,label", *(row.format(n) for n in range(6) for row in rows)]
    for name in voc.SEMEVAL_FILES:
        (folder / voc.SEMEVAL_FOLDER / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = voc.run(folder)
    # The requests and the failures share no words but "the export": the model tells them apart.
    assert result["learned_reference"]["semeval_held_out"] == {"p": 1.0, "r": 1.0, "f1": 1.0}
    assert "learned from SemEval" in voc.table(result)
