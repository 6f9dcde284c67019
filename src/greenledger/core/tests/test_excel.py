"""Excel helpers: a translated page title always makes a worksheet name Excel accepts."""

import io

from openpyxl import load_workbook

from greenledger.core.excel import sheet_title, workbook_response


def test_sheet_title_replaces_characters_excel_forbids_and_keeps_31():
    assert sheet_title("门禁台账: 进/出 [2026]?*") == "门禁台账- 进-出 -2026---"
    assert len(sheet_title("x" * 40)) == 31
    assert sheet_title("") == "Sheet"


def test_export_with_a_slash_in_the_title_downloads():
    response = workbook_response("passages", "白名单/黑名单", ["车牌"], [["苏D12345"]])
    wb = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))
    assert wb.active.title == "白名单-黑名单"
    assert wb.active["A2"].value == "苏D12345"
