use proptest::prelude::*;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use super::*;

fn xlsx(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut book = Workbook::new();
    build(book.add_worksheet());
    book.save_to_buffer().unwrap()
}

#[test]
fn a_utf8_csv_with_a_bom_reads_its_chinese_headers() {
    let bytes = "\u{feff}姓名,手机号\n张三,13812345678\n".as_bytes();
    let t = Table::read("客户.csv", bytes).unwrap();
    assert_eq!(t.format, SourceFormat::CsvUtf8);
    assert_eq!(t.headers, vec!["姓名", "手机号"]);
    assert_eq!(t.rows, vec![TableRow { line: 2, cells: vec!["张三".into(), "13812345678".into()] }]);
}

#[test]
fn a_gbk_csv_is_decoded_as_gb18030() {
    let (bytes, _, _) = encoding_rs::GB18030.encode("姓名,性别,备注\n李四,女,老客户\n");
    assert!(std::str::from_utf8(&bytes).is_err());
    let t = Table::read("export.csv", &bytes).unwrap();
    assert_eq!(t.format, SourceFormat::CsvGb18030);
    assert_eq!(t.headers, vec!["姓名", "性别", "备注"]);
    assert_eq!(t.rows[0].cells, vec!["李四", "女", "老客户"]);
}

#[test]
fn utf16_tab_separated_text_from_excel_is_read() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "姓名\t手机号\r\n王五\t13912345678\r\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let t = Table::read("unicode.txt", &bytes).unwrap();
    assert_eq!(t.format, SourceFormat::CsvUtf16);
    assert_eq!(t.rows[0].cells, vec!["王五", "13912345678"]);
}

#[test]
fn blank_rows_are_skipped_but_row_numbers_stay_those_of_the_file() {
    let t = Table::read("a.csv", b"\nname,phone\n,\na,1\n\nb,2\n").unwrap();
    assert_eq!(t.headers, vec!["name", "phone"]);
    assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![4, 6]);
}

#[test]
fn semicolons_separate_when_they_dominate_the_header() {
    let t = Table::read("a.csv", b"name;phone;remark\na;1;x, y\n").unwrap();
    assert_eq!(t.rows[0].cells, vec!["a", "1", "x, y"]);
}

#[test]
fn xlsx_numbers_come_out_as_typed_and_dates_as_iso_days() {
    let bytes = xlsx(|ws| {
        ws.write_string(0, 0, "姓名").unwrap();
        ws.write_string(0, 1, "手机号").unwrap();
        ws.write_string(0, 2, "生日").unwrap();
        ws.write_string(0, 3, "积分").unwrap();
        ws.write_string(1, 0, "张三").unwrap();
        ws.write_number(1, 1, 13812345678.0).unwrap();
        let date = ExcelDateTime::from_ymd(1990, 3, 5).unwrap();
        ws.write_datetime_with_format(1, 2, &date, &Format::new().set_num_format("yyyy/m/d")).unwrap();
        ws.write_number(1, 3, 12.5).unwrap();
    });
    let t = Table::read("客户.xlsx", &bytes).unwrap();
    assert_eq!(t.format, SourceFormat::Xlsx);
    assert_eq!(t.headers, vec!["姓名", "手机号", "生日", "积分"]);
    assert_eq!(t.rows[0].cells, vec!["张三", "13812345678", "1990-03-05", "12.5"]);
    assert_eq!(t.rows[0].line, 2);
}

#[test]
fn an_xlsx_is_recognised_by_its_content_whatever_its_name() {
    let bytes = xlsx(|ws| {
        ws.write_string(0, 0, "name").unwrap();
        ws.write_string(2, 0, "a").unwrap();
    });
    let t = Table::read("upload", &bytes).unwrap();
    assert_eq!(t.rows, vec![TableRow { line: 3, cells: vec!["a".into()] }]);
}

#[test]
fn too_many_columns_refuse_the_file() {
    let header: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
    let e = Table::read("a.csv", header.join(",").as_bytes()).unwrap_err();
    assert!(e.to_string().contains("too_many_columns"), "{e}");
    // Trailing empty cells (Excel likes them) do not count.
    let text = format!("a,b{}\n1,2\n", ",".repeat(300));
    assert_eq!(Table::read("a.csv", text.as_bytes()).unwrap().headers, vec!["a", "b"]);
}

#[test]
fn long_cells_are_cut_just_past_the_limit() {
    let text = format!("remark\n{}\n", "长".repeat(5000));
    let t = Table::read("a.csv", text.as_bytes()).unwrap();
    assert_eq!(t.rows[0].cells[0].chars().count(), MAX_CELL_CHARS + 1);
}

#[test]
fn empty_and_garbage_spreadsheets_are_refused_without_panicking() {
    assert!(Table::read("a.csv", b"").is_err());
    assert!(Table::read("a.xlsx", b"PK\x03\x04garbage").is_err());
    assert!(Table::read("a.xls", &[0xD0, 0xCF, 0x11, 0xE0, 1, 2, 3]).is_err());
}

#[test]
fn numbers_print_without_a_trailing_fraction() {
    assert_eq!(number_text(13812345678.0), "13812345678");
    assert_eq!(number_text(-3.0), "-3");
    assert_eq!(number_text(0.25), "0.25");
    assert_eq!(number_text(f64::NAN), "NaN");
    assert_eq!(column_letter(0), "A");
    assert_eq!(column_letter(27), "AB");
}

proptest! {
    #[test]
    fn the_csv_reader_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        if let Ok(t) = Table::read_csv(&bytes) {
            prop_assert!(t.width() <= MAX_COLUMNS);
            prop_assert!(t.rows.iter().all(|r| r.line >= 2));
        }
    }

    #[test]
    fn the_spreadsheet_reader_never_panics_on_random_bytes(tail in proptest::collection::vec(any::<u8>(), 0..500)) {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = Table::read("x.xlsx", &bytes);
        let _ = Table::read("x.xls", &tail);
    }
}

#[test]
fn line_breaks_inside_quoted_cells_do_not_shift_row_numbers() {
    let t = Table::read("a.csv", b"name,remark\na,\"two\nlines\"\nb,x\n").unwrap();
    assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(t.rows[0].cells[1], "two\nlines");
}
