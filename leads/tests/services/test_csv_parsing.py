"""Pure CSV parsing: encodings, delimiters, header aliases, row validation. No database."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.exceptions import ImportFileError
from leads.services import csv_parsing as cp


def probe(data: bytes, chunk: int = 1024 * 1024) -> cp.FileProbe:
    """Feed `data` in chunks of `chunk` bytes, as the upload copy does."""
    result = cp.FileProbe()
    for start in range(0, len(data), chunk):
        result.feed(data[start:start + chunk])
    return result


def parse_text(text: str, delimiter: str = ",") -> tuple[cp.ColumnMap, list[tuple[int, object]]]:
    records = cp.iter_records(io.StringIO(text, newline=""), delimiter)
    _, header = next(records)
    columns = cp.ColumnMap.from_header(header)
    return columns, [(line, columns.parse(line, cells)) for line, cells in records]


class TestHeaders:
    @pytest.mark.parametrize(("header", "field"), [
        ("name", "name"), ("Full Name", "name"), ("FULL_NAME", "name"), ("Contact", "name"),
        ("Job Title", "role"), ("title", "role"), ("Position", "role"), ("ROLE", "role"),
        ("Company Name", "company"), ("Organisation", "company"), ("organization", "company"),
        ("Account", "company"), ("Employer", "company"),
        ("Industry", "industry"), ("Sector", "industry"), ("Vertical", "industry"),
        ("Location", "location"), ("City", "location"), ("Country", "location"), ("Region", "location"),
        ("LinkedIn Bio", "linkedin_bio"), ("Linkedin_Bio", "linkedin_bio"), ("linkedin-bio", "linkedin_bio"),
        ("Bio", "linkedin_bio"), ("Summary", "linkedin_bio"), ("About", "linkedin_bio"),
        ("Email", "email"), ("E-mail", "email"), ("Email Address", "email"), ("Work Email", "email"),
        ("\ufeffname", "name"), ("  Name  ", "name"),
    ])
    def test_alias(self, header: str, field: str) -> None:
        """Each alias maps to its lead field whatever its case, spacing or punctuation."""
        columns = cp.ColumnMap.from_header([header, "company" if field != "company" else "name"])
        assert columns.mapping[field] == header.strip()

    def test_better_alias_wins_and_the_other_column_is_kept(self) -> None:
        """Two columns for one field: the better alias is the field, the other stays in attributes."""
        columns = cp.ColumnMap.from_header(["Title", "Company", "Role"])
        assert columns.mapping == {"role": "Role", "company": "Company"}
        assert columns.extras == ((0, "Title"),)

    def test_first_and_last_name_make_the_name(self) -> None:
        columns, rows = parse_text("First Name,Last Name,Company\nAnn,Lee,Acme\n,Solo,Globex\n")
        assert columns.mapping["name"] == "First Name + Last Name"
        assert [row.values[cp.NAME] for _, row in rows] == ["Ann Lee", "Solo"]

    def test_first_and_last_name_are_attributes_when_a_full_name_exists(self) -> None:
        _, rows = parse_text("Name,First Name,Company\nAnn Lee,Ann,Acme\n")
        assert rows[0][1].attributes == {"First Name": "Ann"}

    def test_unknown_blank_and_duplicate_headers_become_distinct_attribute_keys(self) -> None:
        columns = cp.ColumnMap.from_header(["name", "Notes", "", "Notes"])
        assert [key for _, key in columns.extras] == ["Notes", "column 3", "Notes (2)"]

    @pytest.mark.parametrize("header", [["email", "role"], ["", ""], ["first"] * 0 + ["notes"]])
    def test_name_or_company_is_required(self, header: list[str]) -> None:
        with pytest.raises(ImportFileError) as caught:
            cp.ColumnMap.from_header(header)
        found = [cell for cell in header if cell]
        assert caught.value.status_code == 400
        assert caught.value.code == "missing_columns"
        assert caught.value.details == {"missing": ["name", "company"], "found": found}
        assert caught.value.message == cp.MISSING_COLUMNS.format(found=", ".join(found) or "no column names")


class TestRows:
    def test_values_are_trimmed_and_absent_fields_blank(self) -> None:
        _, rows = parse_text("name,company\n  Ann  , Acme \n")
        assert rows == [(2, cp.ParsedRow(2, ("Ann", "", "Acme", "", "", "", ""), {}))]

    def test_blank_rows_are_not_rows(self) -> None:
        _, rows = parse_text("name,company,notes\n\n,,\n  ,\t,\n")
        assert rows == [(2, None), (3, None), (4, None)]

    def test_more_cells_than_the_header(self) -> None:
        _, rows = parse_text("name,company\nAnn,Acme,oops\n")
        assert rows == [(2, [(None, cp.ROW_TOO_MANY_CELLS.format(cells=3, columns=2))])]

    def test_surplus_blank_cells_are_ignored(self) -> None:
        _, rows = parse_text("name,company\nAnn,Acme,, \n")
        assert rows[0][1] == cp.ParsedRow(2, ("Ann", "", "Acme", "", "", "", ""), {})

    def test_fewer_cells_are_blank(self) -> None:
        _, rows = parse_text("name,role,company,notes\nAnn\n")
        assert rows[0][1] == cp.ParsedRow(2, ("Ann", "", "", "", "", "", ""), {})

    def test_no_name_and_no_company(self) -> None:
        _, rows = parse_text("name,company,role\n,,CEO\n")
        assert rows == [(2, [(None, cp.ROW_NO_NAME_OR_EMAIL)])]

    @pytest.mark.parametrize(("header", "field", "limit"), [
        ("name", "name", 255), ("Job Title", "role", 255), ("company", "company", 255),
        ("industry", "industry", 255), ("City", "location", 255), ("LinkedIn Bio", "linkedin_bio", cp.BIO_MAX),
    ])
    def test_length_limits(self, header: str, field: str, limit: int) -> None:
        """A value at its limit is fine; one character more is an error naming the column."""
        other_header = "name" if field == "company" else "other"  # a lead needs a name
        text = f"name,company,{header}\n" if field not in ("name", "company") else f"{header},{other_header}\n"
        other = "x"
        _, ok = parse_text(text + ("Ann,Acme," if field not in ("name", "company") else "") + "a" * limit
                           + ("" if field not in ("name", "company") else f",{other}") + "\n")
        assert isinstance(ok[0][1], cp.ParsedRow)
        _, bad = parse_text(text + ("Ann,Acme," if field not in ("name", "company") else "") + "a" * (limit + 1)
                            + ("" if field not in ("name", "company") else f",{other}") + "\n")
        reason = cp.ROW_TOO_LONG.format(header=header, length=limit + 1, limit=limit)
        assert bad == [(2, [(field, reason)])]

    @pytest.mark.parametrize(("email", "ok"), [
        ("ann@acme.com", True), ("Ann.Lee+x@sub.acme.co.uk", True), ("ann@acme", False), ("ann", False),
        ("ann @acme.com", False), ("@acme.com", False), ("ann@@acme.com", False), ("ann@acme.", False),
    ])
    def test_email_must_look_like_one(self, email: str, ok: bool) -> None:
        _, rows = parse_text(f'name,Work Email\nAnn,"{email}"\n')
        if ok:
            assert rows[0][1].values[cp.EMAIL] == email
        else:  # the lead is kept without the email, the value kept as an attribute, with a warning
            warning = ("email", cp.WARN_BAD_EMAIL.format(header="Work Email", value=email, key="Work Email (invalid)"))
            assert rows[0][1] == cp.ParsedRow(2, ("Ann", "", "", "", "", "", ""), {"Work Email (invalid)": email},
                                              (warning,))

    def test_several_problems_in_one_row_are_all_reported(self) -> None:
        _, rows = parse_text(f"name,company\n{'n' * 256},{'c' * 256}\n")
        assert rows[0][1] == [
            ("name", cp.ROW_TOO_LONG.format(header="name", length=256, limit=255)),
            ("company", cp.ROW_TOO_LONG.format(header="company", length=256, limit=255)),
        ]

    def test_formula_looking_cells_are_data(self) -> None:
        _, rows = parse_text('name,company,notes\n"=HYPERLINK(""http://x"",""y"")",+1,@SUM(A1)\n')
        assert rows[0][1] == cp.ParsedRow(2, ('=HYPERLINK("http://x","y")', "", "+1", "", "", "", ""),
                                          {"notes": "@SUM(A1)"})


class TestRecords:
    def test_line_numbers_count_physical_lines(self) -> None:
        """A record starts one line after the previous one ended, quoted newlines included."""
        text = 'name,bio\n"Ann","a\nb\r\nc"\r\nBob,x\n\nCarol,"\n"\nDan,y'
        lines = [line for line, _ in cp.iter_records(io.StringIO(text, newline=""), ",")]
        assert lines == [1, 2, 5, 6, 7, 9]

    def test_unclosed_quote_beyond_the_field_limit(self) -> None:
        text = 'name,bio\nAnn,"never closed\n' + "x" * (csv.field_size_limit() + 10)
        records = cp.iter_records(io.StringIO(text, newline=""), ",")
        next(records)
        with pytest.raises(cp.CsvSyntaxError) as caught:
            list(records)
        assert caught.value.line == 2
        assert caught.value.message.startswith("The file could not be read from line 2 on (")


class TestDelimiter:
    @pytest.mark.parametrize(("text", "expected"), [
        ("name,company\nAnn,Acme\n", ","),
        ("name;company;bio\nAnn;Acme;likes, commas, a lot\n", ";"),
        ("name\tcompany\nAnn\tAcme, Inc.\n", "\t"),
        ("name|company|location\nAnn|Acme|Paris, France\n", "|"),
        ('name,bio\nAnn,"one; two; three; four"\nBob,"a; b; c"\n', ","),
        ("name\nAnn\nBob\n", ","),
        ("Full Name;Job Title\nAnn;CEO", ";"),
    ])
    def test_sniff(self, text: str, expected: str) -> None:
        assert cp.sniff_delimiter(text, complete=True) == expected

    def test_a_cut_off_last_record_is_ignored(self) -> None:
        text = 'name;company;bio\nAnn;Acme;x\nBob;Globex;"a, b, c, d, e, f, g, h'
        assert cp.sniff_delimiter(text, complete=False) == ";"


class TestFileProbe:
    def test_utf8_with_bom(self) -> None:
        result = probe(codecs.BOM_UTF8 + "name\nZoë\n".encode())
        assert result.finish() == "utf-8-sig"

    def test_plain_ascii_and_utf8(self) -> None:
        assert probe(b"name\nAnn\n").finish() == "utf-8-sig"
        assert probe("name\nZoë Müller €\n".encode()).finish() == "utf-8-sig"

    def test_utf8_split_across_chunks(self) -> None:
        """A multi-byte character cut by a chunk boundary is still UTF-8."""
        assert probe("name\nZoë Müller €\n".encode(), chunk=1).finish() == "utf-8-sig"

    def test_cp1252(self) -> None:
        result = probe("name;company\nZoë;Müller € Söhne\n".encode("cp1252"))
        assert result.finish() == "cp1252"

    def test_cp1252_after_a_long_ascii_prefix(self) -> None:
        data = b"name\n" + b"Ann\n" * 300_000 + "Zoë\n".encode("cp1252")
        assert probe(data).finish() == "cp1252"

    def test_utf16_with_bom(self) -> None:
        assert probe("name\tcompany\nZoë\tMüller\n".encode("utf-16")).finish() == "utf-16"

    @pytest.mark.parametrize(("data", "reason"), [
        (b"name\nAnn\x81\n", "it is neither UTF-8 nor Windows-1252/latin-1; first non-UTF-8 byte 9"),
        ("name\nZoë\n".encode() + "Zoë\n".encode("latin-1"),
         "the file mixes UTF-8 with another encoding, first at byte 13"),
        (codecs.BOM_UTF8 + b"name\nZo\xeb\n", "the file says it is UTF-8 but is not, at byte 11"),
        (b"name\nZo\xc3", "the file ends in the middle of a UTF-8 character"),
    ])
    def test_undecodable(self, data: bytes, reason: str) -> None:
        with pytest.raises(ImportFileError) as caught:
            probe(data).finish()
        assert (caught.value.status_code, caught.value.code) == (400, "undecodable_file")
        assert caught.value.message == cp.UNDECODABLE.format(reason=reason)

    def test_shift_jis_is_refused_not_garbled(self) -> None:
        data = ("名前,会社\n" + "山田太郎,株式会社サンプル\n" * 20).encode("shift_jis")
        with pytest.raises(ImportFileError) as caught:
            probe(data).finish()
        assert caught.value.code == "undecodable_file"

    @pytest.mark.parametrize(("data", "kind"), [
        (b"PK\x03\x04rest-of-zip", "a ZIP archive (an Excel .xlsx workbook is one)"),
        (b"\x1f\x8b\x08\x00", "a gzip-compressed file"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or Word document"),
        (b"name\nAnn\x00\n", cp.BINARY_KIND),
    ])
    def test_binary_is_refused_from_the_first_chunk(self, data: bytes, kind: str) -> None:
        with pytest.raises(ImportFileError) as caught:
            cp.FileProbe().feed(data)
        assert (caught.value.status_code, caught.value.code) == (415, "unsupported_media_type")
        assert caught.value.message == cp.NOT_CSV.format(kind=kind)

    def test_nul_after_the_first_chunk(self) -> None:
        with pytest.raises(ImportFileError) as caught:
            probe(b"name\n" + b"Ann\n" * 5000 + b"\x00", chunk=1024).finish()
        assert caught.value.status_code == 415

    def test_empty(self) -> None:
        with pytest.raises(ImportFileError) as caught:
            probe(b"").finish()
        assert (caught.value.status_code, caught.value.code, caught.value.message) == (400, "empty_file",
                                                                                        cp.EMPTY_FILE)

    @pytest.mark.parametrize(("data", "lines"), [
        (b"a\nb\nc", 3), (b"a\r\nb\r\n", 3), (b"a\rb\rc\r", 4), (b"a\r\nb\nc\rd", 4),
    ])
    def test_line_estimate_is_an_upper_bound(self, data: bytes, lines: int) -> None:
        assert probe(data, chunk=1).line_estimate == lines


cell_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(cell_text, cell_text, cell_text), min_size=1, max_size=20))
def test_csv_writer_round_trip(rows: list[tuple[str, str, str]]) -> None:
    """Whatever csv.writer writes, each row comes back with its trimmed values, blank or reported."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["name", "company", "notes"])
    writer.writerows(rows)
    _, parsed = parse_text(out.getvalue())
    assert len(parsed) == len(rows)
    for (name, company, notes), (_, result) in zip(rows, parsed, strict=True):
        name, company, notes = name.strip(), company.strip(), notes.strip()
        if not name:
            assert result is None if not (company or notes) else result == [(None, cp.ROW_NO_NAME_OR_EMAIL)]
        elif cp.UNSAFE_TEXT.search(name):  # control or bidi characters: refused, naming them
            assert isinstance(result, list) and result[0][0] == "name"
        else:
            assert result.values == (name, "", company, "", "", "", "")
            assert result.attributes == ({"notes": notes} if notes else {})
