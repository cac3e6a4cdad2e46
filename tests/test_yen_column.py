"""Issue 18 item 4 in the workbook: 集計 takes a yen per point for each grant (empty by default), and each
input sheet's 見込額（円） column shows, for every row with points of its own, the points its indicator
would gain if that row reached its top × that yen (blank while the yen cell is empty, or nothing to gain:
a best-of ladder below the indicator's score, a sum at its cap). The expected values are found here by
scoring changed answers with the scorer, not from the code that writes the column."""

import random

import pytest
from catalog_fixtures import rules_catalog
from openpyxl import load_workbook

from xlsx_tool.catalog.entity import Entity
from xlsx_tool.catalog.loading import load_shipped_catalog, parse_catalog
from xlsx_tool.catalog.model import ANSWER_MET, LevelsRule, SumRule, TiersRule, answer_key
from xlsx_tool.collect.batch import Expectation, inspect_file
from xlsx_tool.collect.tamper import check_tampering
from xlsx_tool.scoring.scorer import score
from xlsx_tool.workbook.filler import fill_workbook, random_answers
from xlsx_tool.workbook.meta import COL_ID, FIRST_DATA_ROW, HEADER_ROW, input_sheet_names
from xlsx_tool.workbook.writer import write_workbook

ENTITY = Entity(name="平塚市", code="142034", prefecture="神奈川県", insured=73333)
YEN_LABEL = "1点あたりの金額（円・見込み）"  # the wording of the input cell
YEN = {0: 80_453, 1: 157_776}  # by grant position: any yen a user could type (the README's example)


def _yen_cells(wb, cat):
    """grant id -> (sheet, coordinate) of the 集計 cell its 見込額 multiplies, found by its label row."""
    ws = wb["集計"]
    header = next(c.row for c in ws["B"] if c.value == YEN_LABEL)
    by_name = {ws[f"B{r}"].value: f"C{r}" for r in range(header + 1, header + 1 + len(cat.grants))}
    return {g.id: ("集計", by_name[g.name]) for g in cat.grants}


def _set_yen(src, dst, cat, yen):
    wb = load_workbook(src)
    for i, (sheet, coord) in enumerate(_yen_cells(wb, cat).values()):
        wb[sheet][coord].value = yen[i]
    wb.save(dst)
    return dst


def _yen_column(ws):
    return next(c.column_letter for c in ws[HEADER_ROW] if c.value == "見込額（円）")


def _expected(cat, answers, yen_of):
    """id -> the yen its row shows (None: the row has no 見込額 cell; "": shown blank): the points its
    indicator gains when the row alone reaches its top (a sub-item met, with the one it requires; a
    ladder at its last level), found by scoring the changed answers, × the grant's yen."""
    res = score(cat, answers)
    out = {}
    for grant, _, _, ind in cat.indicators():
        yen = yen_of.get(grant.id)

        def shown(gain):
            return "" if yen is None or gain <= 0 else gain * yen

        def gain_of(change):
            return score(cat, {**answers, **change}).indicators[ind.id] - res.indicators[ind.id]
        if isinstance(ind.rule, (SumRule, LevelsRule)):
            out[ind.id] = None  # its sub-items carry the points
            for sub in ind.subitems:
                if isinstance(ind.rule, LevelsRule):
                    out[sub.id] = shown(gain_of({answer_key(sub): sub.bands[-1].label}))
                elif sub.points:
                    change = {answer_key(sub): ANSWER_MET}
                    if sub.requires and answers.get(sub.requires) != ANSWER_MET:
                        change[sub.requires] = ANSWER_MET
                    out[sub.id] = shown(gain_of(change))
                else:
                    out[sub.id] = None
        else:
            out[ind.id] = shown(ind.points - res.indicators[ind.id])
            for sub in ind.subitems if isinstance(ind.rule, TiersRule) else ():
                out[sub.id] = None  # counted, no points of their own
    return out


def _shown(path, cat):
    """id -> the value of its row's 見込額 formula as a reader that does not calculate sees it (an empty text
    read as ""); rows without the formula are left out."""
    formulas, values = load_workbook(path), load_workbook(path, data_only=True)
    out = {}
    for sheet in input_sheet_names(cat).values():
        ws = formulas[sheet]
        col = _yen_column(ws)
        for row in range(FIRST_DATA_ROW, ws.max_row + 1):
            ident = ws[f"{COL_ID}{row}"].value
            if ident is not None and ws[f"{col}{row}"].data_type == "f":
                value = values[sheet][f"{col}{row}"].value
                out[ident] = "" if value is None else value
    return out


def _with_cell(expected):
    return {k: v for k, v in expected.items() if v is not None}


def test_summary_has_an_empty_unlocked_yen_cell_per_grant_and_the_column_is_blank_until_it_is_filled(tmp_path):
    cat = load_shipped_catalog("R8", "municipality")
    book = write_workbook(cat, ENTITY, tmp_path / "book.xlsx")
    wb = load_workbook(book)
    for sheet, coord in _yen_cells(wb, cat).values():
        cell = wb[sheet][coord]
        assert cell.value is None and cell.protection.locked is False, coord
    notes = [c.value for c in wb["集計"]["B"] if isinstance(c.value, str) and "estimate --from-last-year" in c.value]
    assert notes, "集計 says where the yen per point can come from"
    # a blank book: every row with points of its own has the column, blank (cached "") while no yen is typed
    expected = _with_cell(_expected(cat, {}, {}))
    assert _shown(book, cat) == expected and set(expected.values()) == {""}


def _repeated_catalog():
    """The rules catalog and a 支援 sum whose dependent sub-item repeats a 推進 answer (same_as + requires)."""
    data = rules_catalog()
    support = data["grants"][1]
    support["goals"][0]["groups"][0]["indicators"].append(
        {"id": "S1-p2", "number": "2", "text": "イはアが該当のときのみ加点", "points": 10, "rule": {"type": "sum"},
         "provenance": data["provenance"],
         "subitems": [{"id": "S1-p2-a", "label": "ア", "text": "小項目 ア", "points": 6},
                      {"id": "S1-p2-b", "label": "イ", "text": "小項目 イ", "points": 4, "requires": "S1-p2-a",
                       "same_as": "P1-p1-a"}]})
    for node in (support, support["goals"][0], support["goals"][0]["groups"][0]):
        node["points"] += 10
    data["total"] += 10
    return parse_catalog(data, "repeated")


CATALOGS = {"R8": lambda: load_shipped_catalog("R8", "municipality"),
            "rules": lambda: parse_catalog(rules_catalog(), "rules"), "repeated": _repeated_catalog}


@pytest.mark.parametrize("which", list(CATALOGS))
def test_cached_yen_of_a_filled_book_is_points_not_reached_times_the_typed_yen(tmp_path, which):
    """A book whose 集計 yen cells were typed (openpyxl, saved), then filled: what a preview shows (the
    cached values) is each row's points not reached × its grant's yen; 0 lost: blank."""
    cat = CATALOGS[which]()
    blank = write_workbook(cat, ENTITY, tmp_path / "blank.xlsx")
    with_yen = _set_yen(blank, tmp_path / "yen.xlsx", cat, YEN)
    answers = random_answers(cat, random.Random(18), blank_rate=0.2)
    if which == "repeated":  # イ answered (through the 推進 sub-item it repeats) but not counted: ア unlocks it
        answers.update({"P1-p1-a": ANSWER_MET, "S1-p2-a": "非該当"})
    filled = fill_workbook(with_yen, answers, tmp_path / "filled.xlsx", cat)
    yen_of = {g.id: YEN[i] for i, g in enumerate(cat.grants)}
    expected = _with_cell(_expected(cat, answers, yen_of))
    shown = _shown(filled, cat)
    assert shown == expected
    assert any(v not in ("", 0) for v in shown.values()) and "" in shown.values()  # some missed, some met


def test_typing_the_yen_is_not_tampering_but_changing_the_column_is(tmp_path):
    cat = load_shipped_catalog("R8", "municipality")
    blank = write_workbook(cat, ENTITY, tmp_path / "blank.xlsx")
    with_yen = _set_yen(blank, tmp_path / "yen.xlsx", cat, YEN)
    filled = fill_workbook(with_yen, random_answers(cat, random.Random(4), 0.0), tmp_path / "filled.xlsx", cat)
    assert not check_tampering(load_workbook(filled), cat).tampered
    result = inspect_file(filled, Expectation(cat, frozenset({"142034"})))  # the fast reader, as collect reads
    assert result.reader == "fast" and result.status == "accepted", result
    wb = load_workbook(filled)
    ws = wb["推進交付金"]
    col = _yen_column(ws)
    coord = next(f"{col}{r}" for r in range(FIRST_DATA_ROW, ws.max_row) if ws[f"{col}{r}"].data_type == "f")
    ws[coord].value = 999_999  # the formula typed over
    wb.save(tmp_path / "tampered.xlsx")
    found = check_tampering(load_workbook(tmp_path / "tampered.xlsx"), cat)
    assert found.changed == [f"推進交付金!{coord}"]


@pytest.mark.libreoffice
def test_libreoffice_calculates_the_yen_column_as_points_not_reached_times_the_yen(tmp_path, soffice):
    """Live formulas: the books recalculated in LibreOffice show each missed row's points × the typed yen,
    and blank in the same book with the yen cells left empty."""
    from xlsx_tool.workbook.recalc import recalculate

    books, cases = [], []
    for n, cat in enumerate(make() for make in CATALOGS.values()):
        blank = write_workbook(cat, ENTITY, tmp_path / f"blank{n}.xlsx")
        answers = random_answers(cat, random.Random(n), blank_rate=0.2)
        without = fill_workbook(blank, answers, tmp_path / f"noyen{n}.xlsx", cat)
        with_yen = fill_workbook(_set_yen(blank, tmp_path / f"yen{n}.xlsx", cat, YEN), answers,
                                 tmp_path / f"typed{n}.xlsx", cat)
        books += [without, with_yen]
        cases += [(cat, _expected(cat, answers, {})),
                  (cat, _expected(cat, answers, {g.id: YEN[i] for i, g in enumerate(cat.grants)}))]
    for (cat, expected), calculated in zip(cases, recalculate(books, tmp_path / "lo")):
        shown, want = _shown(calculated, cat), _with_cell(expected)
        assert shown.keys() == want.keys(), calculated.name
        wrong = {k: (shown[k], v) for k, v in want.items()
                 if not (shown[k] == v if isinstance(v, str) else shown[k] == pytest.approx(v))}
        assert not wrong, (calculated.name, wrong)
        typed = calculated.name.startswith("typed")
        assert any(v != "" for v in want.values()) if typed else set(want.values()) == {""}, calculated.name
