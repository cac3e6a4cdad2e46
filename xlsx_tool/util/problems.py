"""The one message catalogue: every problem a reader or a check reports, under a stable code, with its
Japanese text and the fix, and the one error type that carries it with where it was found (file,
sheet, cell). Codes never change meaning; a new problem gets a new code (as pyxform keeps its error
codes in one place).

Readers (read/), the answer decoder (catalog/answers.py) and the collector raise or record these;
nothing else writes such text. A template's fields are filled with ``str.format``; {file}, {sheet} and
{cell} are the problem's location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Template:
    text: str  # what is wrong (Japanese), with {fields}
    fix: str = ""  # what to do about it (Japanese), with {fields}


_SAVE_AS_XLSX = "Excel で開き、［名前を付けて保存］の［ファイルの種類］で『Excel ブック (*.xlsx)』を選んで保存し直してください"

_CATALOGUE = {
    # -- the file, before it is opened as a workbook (read/file_checks.py, collect/batch.py)
    "file.missing": Template("ファイルが見つかりません"),
    "file.lock_file": Template("Excel の作業中の一時ファイルです（提出ファイルではありません）"),
    "file.not_a_book": Template("Excel ブックではありません（拡張子 {suffix}）"),
    "file.ods": Template("OpenDocument 形式（.ods、LibreOffice Calc などの形式）のファイルです。このツールでは読めません",
                         _SAVE_AS_XLSX + "（LibreOffice Calc では『Excel 2007-365 (.xlsx)』）"),
    "file.xlsb": Template("Excel バイナリ ブック (.xlsb) です。このツールでは読めません", _SAVE_AS_XLSX),
    "file.strict": Template("Strict Open XML 形式で保存されたブックです。このツールでは読めません", _SAVE_AS_XLSX),
    "file.zip": Template("Excel ブックではなく zip 圧縮ファイルです（中のブック: {books}）",
                         "zip を展開し、中のブックをそのまま提出してください"),
    "file.zip_no_book": Template("Excel ブックではなく zip 圧縮ファイルで、中に Excel ブックがありません（{names}）",
                                 "記入したブック (.xlsx) を提出してください"),
    "file.encrypted": Template("パスワードで暗号化されたブックです", "パスワードを解除して保存し直してください"),
    "file.xls": Template("旧形式の Excel ブック (.xls) です", "Excel で .xlsx 形式で保存し直してください"),
    "file.empty": Template("空のファイルです（ダウンロードや保存が途中で失敗した可能性があります）"),
    "file.text": Template("Excel ブックではなくテキスト（CSV など）です。拡張子（{suffix}）だけが Excel の形式に見えるよう変えられています",
                          "Excel でブックとして保存したファイルを提出してください"),
    "file.not_xlsx": Template("Excel ブック (.xlsx) ではありません"),
    "file.missing_parts": Template("Excel ブックの必須部品がありません（ファイルが壊れています）"),
    "file.not_zip": Template("ファイルが壊れています（zip 形式として読めません。ダウンロードし直してください）"),
    "file.broken": Template("ファイルが壊れています（{detail}）"),
    "file.too_many_parts": Template("zip の部品数が多すぎます（{count}）", "不正なファイルの可能性があります"),
    "file.too_large": Template("展開後のサイズが大きすぎます（{megabytes} MB）", "不正なファイル（zip 爆弾）の可能性があります"),
    "file.ratio": Template("圧縮率が異常です（{part}: {ratio} 倍）", "不正なファイル（zip 爆弾）の可能性があります"),
    "file.size_lie": Template("zip の部品 {part} が、記録された大きさ（{declared} バイト）を超えて展開されます",
                              "不正なファイル（zip 爆弾）か壊れたファイルのため読み込みません。元のブックを提出し直してください"),
    "file.xml_entity": Template("XML に DOCTYPE/ENTITY 宣言があります（{part}）",
                                "不正なファイル（XML エンティティ攻撃）の可能性があるため読み込みません"),
    # -- a catalog's structure (catalog/checks.py): "path: text / English → fix"
    "catalog.id_pattern": Template("id '{ident}' は英字で始まる英数字・'-'・'_' のみ使えます / "
                                   "id must start with a letter and use only A-Z a-z 0-9 - _", "id を書き換えてください"),
    "catalog.id_duplicate": Template("id '{ident}' が重複しています（{first} と同じ） / duplicate id", "一意な id にしてください"),
    "catalog.id_reserved": Template("id '{ident}' は予約語です（{reserved}） / reserved id", "別の id にしてください"),
    "catalog.id_collision": Template("id '{ident}' は '{other}' と記号・大文字小文字しか違いません（ブックの名前が重なります） / "
                                     "ids collide in workbook names", "はっきり異なる id にしてください"),
    "catalog.grant_duplicate": Template("同じ交付金が複数回あります / duplicate grant", "交付金ごとに 1 回だけ記述してください"),
    "catalog.points_sum": Template("配点 {declared} が{what}の合計 {parts} と一致しません / declared points {declared} "
                                   "!= sum of {what} {parts}", "配点または内訳を修正してください"),
    "catalog.group_duplicate": Template("同じ指標群が複数あります / duplicate group kind", "指標群ごとに 1 つにまとめてください"),
    "catalog.published_points": Template("公表配点 {published} と異なります (カタログ: {declared}) / differs from the "
                                         "published table {source}", "目標・指標群の配点を公表資料に合わせてください"),
    "catalog.needs_subitems": Template("rule '{rule}' には subitems が必要です / rule needs sub-items",
                                       "subitems を追加するか rule を direct にしてください"),
    "catalog.no_subitems": Template("rule '{rule}' では subitems を使えません / rule takes no sub-items",
                                    "subitems を削除するか rule を sum / tiers にしてください"),
    "catalog.requires": Template("'{requires}' は同じ指標内の他の小項目ではありません / "
                                 "must name another sub-item of the same indicator", "正しい id にしてください"),
    "catalog.sum_points_missing": Template("rule 'sum' では各小項目に points が必要です（{ids}） / "
                                           "every sub-item needs points", "points を記入してください"),
    "catalog.cap_too_high": Template("rule.cap {cap} が配点 {points} を超えています / cap exceeds points",
                                     "cap を配点以下にしてください"),
    "catalog.unreachable": Template("小項目の合計（上限 {cap}）で到達できる点 {reachable} が配点 {points} と一致しません / "
                                    "sub-item points cannot reach the indicator points", "小項目の点数か配点を修正してください"),
    "catalog.ladder_bands": Template("rule 'levels' では各小項目に段階（bands）が必要です（{ids}） / every sub-item "
                                     "needs levels", "bands を記入するか rule を sum にしてください"),
    "catalog.bands_elsewhere": Template("段階（bands）は rule 'levels' の小項目だけに書けます（{ids}） / levels only "
                                        "under rule 'levels'", "bands を削除するか rule を levels にしてください"),
    "catalog.band_labels": Template("小項目 {id} の段階の記号が重複しているか「なし」です / level labels must be "
                                    "distinct and not なし", "記号を ア・イ・ウ・エ や ①～④ のように付け直してください"),
    "catalog.ladder_unreachable": Template("段階で到達できる点 {reachable} が配点 {points} と一致しません / levels cannot "
                                           "reach the indicator points", "段階の点数・combine・配点を修正してください"),
    "catalog.same_as": Template("same_as '{same_as}' は、同じ点数・段階で回答欄のある他の小項目ではありません / must name "
                                "another asked sub-item with the same points and levels", "正しい小項目 id にするか same_as を削除してください"),
    "catalog.tier_points": Template("rule 'tiers' では小項目に points を書きません / tiers give points by count",
                                    "小項目の points を削除してください"),
    "catalog.tier_unreachable": Template("tiers の met {met} が小項目数 {count} を超えています / tier can never be reached",
                                         "met を小項目数以下にしてください"),
    "catalog.top_tier": Template("最上位 tier の点 {top} が配点 {points} と一致しません / top tier must equal the points",
                                 "どちらかを修正してください"),
    "catalog.top_threshold": Template("最上位 threshold の点 {top} が配点 {points} と一致しません / "
                                      "top threshold must equal the points", "どちらかを修正してください"),
    "catalog.step": Template("配点 {points} が刻み step {step} で割り切れません / points not a multiple of step",
                             "step を修正してください"),
    "catalog.not_ascending": Template("{name} の {key} は昇順（重複なし）でなければなりません / {key} must strictly increase",
                                      "並べ替えてください"),
    "catalog.points_descending": Template("{name} の points は昇順でなければなりません / points must not decrease",
                                          "修正してください"),
    # -- a catalog workbook being imported (catalog/excel_cells.py, catalog/excel_import.py); the cell is the place
    "xlsx.duplicate_id": Template("id '{ident}' が重複しています（シート「{first_sheet}」 {first_row} 行目と同じ）",
                                  "一意な id にしてください"),
    "xlsx.formula": Template("数式は使えません（{value}）", "値を直接入力してください"),
    "xlsx.date": Template("日付・時刻として入力されています（{value}）", "セルの表示形式を「文字列」にして入力し直してください"),
    "xlsx.blank": Template("空欄です", "{header}を入力してください"),
    "xlsx.not_integer": Template("整数ではありません（{value}）", "{minimum} 以上の整数を入力してください"),
    "xlsx.below_minimum": Template("{number} は {minimum} 未満です", "{minimum} 以上の整数を入力してください"),
    "xlsx.not_number": Template("数値ではありません（{value}）", "数値を入力してください"),
    "xlsx.not_a_choice": Template("「{text}」は{header}として使えません", "次のいずれかにしてください: {allowed}"),
    "xlsx.national_pair": Template("全国該当数と全国団体数は組で記入します", "両方を記入するか、両方を空欄にしてください"),
    "xlsx.unknown_subitem": Template("小項目id「{subitem}」は「{table}」シートにありません",
                                     "「{table}」シートの小項目id を記入してください"),
    "xlsx.no_column": Template("見出し「{header}」の列がありません", "1 行目に「{header}」列を戻してください（書き出したブックを参照）"),
    "xlsx.no_field_row": Template("項目「{header}」の行がありません",
                                  "A 列が「{header}」の行を戻してください（書き出したブックを参照）"),
    "xlsx.no_sheet": Template("シートがありません", "シート「{table}」を戻してください（書き出したブックを参照）"),
    "xlsx.status_blank": Template("出典資料・出典メモがあるのに出典区分が空欄です", "出典区分をリストから選んでください"),
    "xlsx.year_format": Template("年度「{year}」の形式が違います", "R8 のように R と令和の年数で書いてください"),
    "xlsx.grant_twice": Template("交付金 {grant} の行が 2 つあります", "交付金ごとに 1 行にしてください"),
    "xlsx.unknown_grant": Template("交付金id '{grant}' が「{table}」シートにありません", "「{table}」シートにある交付金idにしてください"),
    "xlsx.group_twice": Template("目標 {goal} に指標群 {kind} の行が 2 つあります", "指標群ごとに 1 行にしてください"),
    "xlsx.goal_differs": Template("目標 {goal} の{header}が {first_row} 行目（{first_value}）と異なります",
                                  "同じ目標の行はすべて同じ値にしてください"),
    "xlsx.no_group_row": Template("目標 {goal} に指標群 {kind} の行が「{table}」シートにありません",
                                  "「{table}」シートに行を追加するか、指標群を直してください"),
    "xlsx.unknown_goal": Template("目標id '{goal}' が「{table}」シートにありません", "「{table}」シートにある目標idにしてください"),
    "xlsx.unused_parameter": Template("採点方法 {rule} では{header}を使いません", "空欄にしてください"),
    "xlsx.ratio_incomplete": Template("比率には分子と分母の両方が必要です（{header}が空欄）",
                                      "{header}を入力するか、比率の列をすべて空欄にしてください"),
    "xlsx.unknown_indicator": Template("指標id '{indicator}' が「{table}」シートにありません",
                                       "「{table}」シートにある指標idにしてください"),
    "xlsx.steps_unused": Template("指標 {indicator} の採点方法は {rule} のため、採点区分は使いません",
                                  "この行を削除するか、「{table}」シートで採点方法を tiers / thresholds にしてください"),
    "xlsx.step_needs": Template("採点方法 {rule} の区分には{header}が必要です", "{header}を入力してください"),
    "xlsx.grant_no_goals": Template("交付金 {grant} に目標がありません", "「{table}」シートに目標を追加するか、この行を削除してください"),
    "xlsx.group_no_indicators": Template("この指標群に指標がありません",
                                         "「{table}」シートに指標を追加するか、この行を削除してください"),
    "xlsx.no_steps": Template("採点方法 {rule} の区分が「{table}」シートにありません", "「{table}」シートに区分の行を追加してください"),
    # -- thresholds, reference and parameters files (catalog/thresholds.py, catalog/reference.py, money/estimate.py)
    "thresholds.yaml": Template("YAML の書式誤り / YAML syntax error: {detail}"),
    "thresholds.no_example": Template("{catalog} 用の例示の採点基準は同梱されていません", "--thresholds FILE で指定してください"),
    "thresholds.unreadable": Template("読めません（UTF-8 で保存してください）: {detail}"),
    "thresholds.other_catalog": Template("採点基準ファイルはカタログ {file_catalog} 用です（指定のカタログは {catalog}）"),
    "thresholds.unknown_indicator": Template("カタログ {catalog} にない指標 id です"),
    "data.unreadable_yaml": Template("読めません（UTF-8 の YAML で保存してください）: {detail}"),
    "params.unknown_frames": Template("未定義の配分枠 {frames}（使えるのは {known}）"),
    "params.frame_shares": Template("frames の割合は 0 以上で、合計が 1 でなければなりません"),
    "params.unknown_grants": Template("grants は {known} のみ指定できます"),
    "params.size_classes": Template("size_classes には 5 つの規模区分すべてが必要です: {known}"),
    "params.size_shares": Template("size_classes の割合の合計は 1 でなければなりません"),
    "params.prefecture_frame": Template("保険者機能強化推進枠と成果指向型支援枠は都道府県には適用されません（資料002）",
                                        "promotion_frame と outcome_oriented を 0 にするか削除してください"),
    "params.oriented_support": Template("成果指向型支援枠は推進交付金の枠です（資料002）",
                                        "support の frames から outcome_oriented を削除してください"),
    "params.cushion": Template("cushion（激変緩和）には floor（下限の倍率）か ceiling（上限の倍率）が必要で、"
                               "floor は ceiling 以下でなければなりません", "例: cushion: {{floor: 0.9, ceiling: 1.2}}"),
    # -- a file's schema (pydantic's error types, catalog/loading.py): what is wrong and how to fix it
    "schema.extra_forbidden": Template("未定義のキーです", "キー名の綴りを確認し、不要なら削除してください"),
    "schema.missing": Template("必須のキーがありません", "このキーを追加してください"),
    "schema.literal_error": Template("許可されていない値です", "許可された値のいずれかにしてください"),
    "schema.enum": Template("許可されていない値です", "許可された値のいずれかにしてください"),
    "schema.union_tag_invalid": Template("rule.type が不明です", "sum / tiers / thresholds / direct のいずれかにしてください"),
    "schema.other": Template("値が不正です", "値を修正してください"),
    # -- last year's answers carried into this year's book (workbook/carry.py)
    "carry.split": Template("今年度は小項目ごとの回答に変わりました（小項目を回答してください）"),
    "carry.gone": Template("今年度の様式にない項目です"),
    "carry.changed": Template("今年度は回答の形式または配点が変わりました"),
    "carry.other_item": Template("今年度の同じ番号は別の項目です（前年度「{before}」→ 今年度「{after}」）",
                                 "前年度の項目が今年度どこにあるかは対応表（--mapping）で指定できます"),
    "carry.not_a_choice": Template("前年度の回答「{value}」は今年度の選択肢にありません"),
    # -- official results in the tally's layout (catalog/official.py, read/tables.py)
    "official.no_tally": Template("このカタログには集計表の列番号がありません", "令和6～8年度の市町村分の同梱カタログを使ってください"),
    "official.other_year": Template("年度 {year} の行です（このブックは {catalog_year}）",
                                    "このブックの年度の結果だけを渡すか、--year を結果の年度にしてください"),
    "official.unknown_column": Template("列番号 {column} は {year} の集計表の得点の列ではありません",
                                        "該当状況調査票集計表の {year} の列番号か確かめてください"),
    "official.points": Template("列番号 {column} の得点 {points} はこの項目の点（0 または {allowed}）ではありません",
                                "集計表の得点をそのまま記入してください"),
    "official.twice": Template("列番号 {column} が {first} と異なる得点で重複しています", "どちらか一方にしてください"),
    "official.goal4_disagree": Template("目標Ⅳの列番号 {column} の得点が、同じ項目の列番号 {other}（もう一方の交付金）と"
                                        "異なります", "集計表では同じ値です。結果の写しを確かめてください"),
    "official.levels_gap": Template("{indicator}（{label}）の上の段階に得点がありますが、段階 {missing} に得点が"
                                    "ありません", "段階は下から順に到達します。結果の写しを確かめてください"),
    "official.header": Template("見出しに {missing} の列がありません", "1 行目を 団体コード,年度,列番号,得点 にしてください"),
    "official.value": Template("{column} の値「{value}」を読めません", "{expected}を記入してください"),
    "official.with_carry": Template("--results と --carry は同時に使えません（どちらも回答欄に記入します）",
                                    "どちらか一方にしてください"),
    "official.needs_code": Template("--results には団体コードが必要です（結果ファイルの行を団体コードで選びます）",
                                    "--code か --roster を指定してください"),
    "official.not_in_roster": Template("団体コード {code} は名簿にないため使っていません", "名簿に加えるか、結果ファイルから除いてください"),
    "official.refused": Template("公表結果の行に誤りがあるため作成しませんでした: {problems}"),
    "official.no_rows_blank": Template("公表結果に団体コード {code} の行がないため、回答欄は空欄で作成しました",
                                       "名簿の団体コードと結果ファイルの団体コードを確かめてください"),
    "official.no_rows": Template("団体コード {code} の行がありません", "名簿の団体コードと結果ファイルの団体コードを確かめてください"),
    # -- the bridge refusing an action on the open book (bridge/)
    "bridge.rows_missing": Template("回答欄が {count} か所見つかりません（行が削除または移動された可能性があります）",
                                    "配布された様式に回答を入力し直してください。"),
    "bridge.invalid_answers": Template("入力できない回答が {count} 件あるため実行しません",
                                       "下の一覧の回答欄を直してから、もう一度実行してください（入力シートは変更していません）。"),
    "bridge.previous_unreadable": Template("前年度のブックを読み込めません: {detail}"),
    "bridge.previous_other_kind": Template("前年度のブックは区分が異なります（{catalog}）",
                                           "同じ団体区分のブックを選んでください。"),
    "bridge.previous_other_entity": Template("前年度のブックは別の団体（団体コード {code}）のものです",
                                             "自団体のブックを選んでください。"),
    "bridge.previous_other_year": Template("選ばれたブックは{previous}のものです（今年度は{current}）。"),
    "bridge.current_invalid": Template("今年度の回答に入力できない値が {count} 件あります（採点では 0 点または上限で集計）。"),
    "bridge.unknown_action": Template("不明な処理です: {action}（{known} のいずれか）"),
    "bridge.previous_path": Template("前年度回答の取込には前年度ブックのパスが必要です"),
    "bridge.structure_locked": Template("ブックの構成がパスワードで保護されているため、結果のシートを追加できません",
                                        "パスワードを外すか、xlsx-tool report --format xlsx を使ってください。"),
    "bridge.cannot_add_sheet": Template(
        "結果のシート「{sheet}」を追加できませんでした（Excel の応答: {detail}）。ブックの構成が保護されていると"
        "シートを追加できず、Mac の Excel ではこのツールから保護を解除できません",
        "［校閲］タブの［ブックの保護］をクリックして保護を解除し（このツールが作ったブックにはパスワードは"
        "ありません）、もう一度実行してください。"),
    "bridge.foreign_sheet": Template("シート「{sheet}」はこのツールが作成したものではないため、書き換えません",
                                     "シート名を変えてから、もう一度実行してください。"),
    # -- building the Excel add-in (bridge/addin.py)
    "addin.no_conf_sheet": Template("xlwings のアドインに設定シート「{sheet}」がありません（xlwings の版が想定と異なります）"),
    "addin.conf_sheet_unknown": Template("xlwings のアドインの設定シートを特定できません（xlwings の版が想定と異なります）"),
    "addin.no_conf_row": Template("xlwings のアドインの設定シートに「{key}」の行がありません"),
    "addin.conf_taken": Template("xlwings のアドインの設定シートの「{key}」には既に値があります"),
    "addin.callback": Template("--callback は {known} のいずれかです"),
    "addin.not_xlam": Template("出力は .xlam のファイル名にしてください: {out}"),
    "addin.file_name": Template("アドインのファイル名は {known} にしてください",
                                "xlwings のボタンはファイル名のモジュール（ここでは {module}）の main() を呼びます"),
    "addin.no_template": Template("xlwings のアドインのひな形が見つかりません: {source}"),
    "addin.no_callback": Template("{source} にリボンのコールバック {callback} がありません（xlwings の版が想定と異なります）"),
    "addin.no_ribbon_relationship": Template("{source} にリボン {part} への関連付けがありません（xlwings の版が想定と異なります）"),
    # -- the rest: a catalog that cannot become a workbook, a report over its source, a catalog named on the command line
    "xlsx.cannot_open": Template("ブックを開けません / cannot open: {detail}", "書き出した .xlsx ファイルを指定してください"),
    "xlsx.too_long": Template("{length} 文字あり、セルの上限 {limit} 文字を超えます", "文を分けてください"),
    "xlsx.control_characters": Template("セルに保存できない制御文字（復帰 \\r など）があります", "削除してください"),
    "report.same_file": Template("出力先が入力ブックと同じです。元のブックは変更しません", "別のファイル名を指定してください"),
    "cli.not_a_catalog": Template("年度（例: R7）でもファイルでもありません。同梱: {names}"),
    "cli.work_not_empty": Template("作業フォルダ {work} が空ではありません"),
    "engine.unknown": Template("xlwings のエンジン「{name}」は使えません"),
    "engine.cannot_load": Template("xlwings の {name} エンジンを読み込めません: {detail}"),
    "fill.unknown_ids": Template("回答欄が見つからない id: {ids}"),
    "recalc.no_soffice": Template("LibreOffice (soffice) が見つかりません: apt-get install -y libreoffice-calc-nogui"),
    # -- the workbook as one of ours (read/core.py and the engines)
    "book.cannot_open": Template("ブックを開けません（ファイルが壊れている可能性があります）: {detail}"),
    "book.cannot_load": Template("ブックを読み込めません（ファイルが壊れている可能性があります）: {detail}"),
    "book.no_meta": Template("このツールで作成した自己評価シートではありません（識別情報シートがありません）"),
    "book.meta_removed": Template("識別情報シート（非表示）がありません。Excel の「ドキュメント検査」で非表示のワークシートを"
                                  "削除すると、こうなります（回答欄のドロップダウンも使えなくなっています）",
                                  "検査する前のブック、または配布された様式に回答を入れて保存し直してください"
                                  "（提出されたこのブックは、collect では表紙の記載から識別して集計されます）"),
    "book.not_ours": Template("このツールで作成した自己評価シートではありません（識別情報が一致しません）"),
    "book.no_catalog": Template("対応するカタログを読み込めません: {detail}"),
    "book.other_catalog": Template("ブックのカタログ ({book}) と指定のカタログ ({given}) が異なります",
                                   "年度・区分を確認してください"),
    "book.other_version": Template("ブックはカタログ {catalog} の別の版から作成されています（内容ハッシュ不一致）",
                                   "作成時のカタログを --catalog で指定してください"),
    "book.thresholds_needed": Template("このブックは採点基準ファイルを使って作成されています",
                                       "--thresholds でそのファイルを指定してください"),
    "book.other_thresholds": Template("指定の採点基準ファイル（{given}）はブック作成時のもの（{book}）と異なります",
                                      "ブックの数式は作成時の基準で得点を計算しています。作成時のファイルを指定するか"
                                      "（例示で作成したブックは --thresholds example または指定なし）、別の基準で採点する"
                                      "には、その基準でブックを作成し直してください"),
    "book.no_input_sheet": Template("入力シート「{sheet}」がありません（シート名が変更された可能性があります）"),
    "book.no_eligibility_sheet": Template("「{sheet}」シートがありません（市町村の様式にのみあります）"),
    "book.not_a_number": Template("{sheet}!{cell}: 「{value}」は数値ではありません"),
    # -- tables: results, averages, mapping (read/tables.py), the roster (collect/roster.py)
    "table.missing": Template('ファイルが見つかりません'),
    "table.unreadable_book": Template('ブックを読めません（壊れている可能性があります）: {detail}'),
    "table.encoding": Template('文字コードを判別できません', 'UTF-8 か Shift_JIS (cp932) で保存してください'),
    "table.empty": Template('空のファイルです'),
    "table.not_a_number": Template('数値ではありません（{value}）', '数値にしてください'),
    "table.blank": Template('空欄です', '記入するか行を削除してください'),
    "table.unknown_key": Template('「{key}」はカタログ {catalog} にない区分です', 'total / promotion / support / 目標 id (P1) / 指標群 (P1.process) / 指標 id にしてください'),
    "table.mapping_pair": Template('previous_id と current_id の両方が必要です'),
    "table.unknown_layout": Template('列見出しから形式を判別できません', '全国結果は code,total（団体コード,合計）列、平均値は key,mean（区分キー,平均点）列が必要です'),
    "roster.missing": Template('名簿ファイルが見つかりません'),
    "roster.unreadable": Template('名簿を読めません: {detail}'),
    "roster.no_column": Template('列「{column}」がありません', '見出しに code（団体コード）と name（団体名）を入れてください'),
    "roster.unknown_columns": Template('不明な列 {columns}', '列名を確認してください（使える列: {known}）'),
    "roster.no_code": Template('団体コードが空欄です'),
    "roster.duplicate_code": Template('団体コード {code} が {first} 行目と重複しています'),
    "roster.no_name": Template('団体名が空欄です'),
    "roster.insured": Template('第1号被保険者数「{value}」は 0 以上の整数ではありません'),
    "roster.no_previous": Template('前年度ブック {previous} が見つかりません'),
    "roster.empty": Template('名簿に団体の行がありません'),
    "roster.counted_twice": Template("構成市町村 {member} は {other}でも保険者または構成市町村として数えられています",
                                     "広域連合・一部事務組合は 1 行（1 保険者）にまとめ、各市町村はどれか 1 つの保険者"
                                     "にだけ含めてください"),
    # -- codes, roster, command line (catalog/entity.py, collect/roster.py, cli/)
    "code.format": Template("団体コード「{value}」は 6 桁（または検査数字を除いた 5 桁）の数字ではありません",
                            "全国地方公共団体コード（例: 千代田区 131016）を半角数字で指定してください"),
    "code.check_digit": Template("団体コード「{value}」の検査数字（6 桁目）が正しくありません（{body} の検査数字は {digit}）",
                                 "団体コードを確かめてください（{body}{digit} ではありませんか）"),
    "code.completed": Template("団体コード {value} は検査数字のない 5 桁のため、検査数字を補って {code} としました"),
    "cli.text_not_book": Template("「{file}」は CSV などのテキストファイルで、Excel ブックではありません",
                                  "{command} には記入済みの自己評価ワークブック (.xlsx) を指定してください。"
                                  "公表された結果の CSV は generate --results（回答欄に入れる）または "
                                  "report --compare（比較）で使います"),
    "cli.eligibility_missing": Template("判定に必要な入力がありません: {missing}", "{fix}"),
    "cli.tampered": Template("このブックは様式が変更されているため、取りまとめ（collect）では受け付けられません: {reasons}",
                             "配布された様式に回答を記入し直してください（回答欄以外のセルや行は変更しないでください）"),
    # -- a returned book changed outside its input cells (collect/tamper.py)
    "tamper.missing_sheet": Template('シート「{sheet}」がありません（名前の変更または削除）'),
    "tamper.moved_rows": Template('入力欄の行が挿入または削除されています（{rows}）'),
    "tamper.changed": Template('計算式または固定の文字が変更されています（{cells}）'),
    "tamper.unlocked": Template('保護されたセルのロックが解除されています（{cells}）'),
    # -- a catalog file (catalog/loading.py)
    "catalog.top_level": Template('カタログの最上位はマッピングでなければなりません / top level must be a mapping'),
    "catalog.unreadable": Template('ファイルを読めません / cannot read: {detail}'),
    "catalog.yaml": Template('YAML の書式誤り / YAML syntax error: {detail}'),
    "catalog.not_shipped": Template('この年度・区分の同梱カタログはありません（同梱: {names}）', '独自のカタログは --catalog PATH で指定してください'),
    # -- one answer (catalog/answers.py); {value} is the cell's value as quoted (catalog/answers.quoted)
    "answer.not_a_choice": Template("回答「{value}」は選択肢にありません", "「{choices}」のいずれかをリストから選んでください"),
    "answer.choice_spelling": Template("回答「{value}」は選択肢にありません",
                                       "「{normalised}」に直してください（全角・半角や空白の違い）"),
    "answer.number_as_text": Template("「{value}」が数値ではなく文字列として入力されています",
                                      "半角の数値 {number} を入力し直してください（全角の数字・空白・先頭の ' は使えません）"),
    "answer.not_allowed": Template("「{value}」は入力できません", "{allowed}を入力してください"),
    "answer.out_of_range": Template("「{value}」は入力できる範囲外です", "{allowed}を入力してください"),
    "answer.at": Template("シート「{sheet}」のセル {cell}（{label}）"),
    # -- a returned book in a collection (collect/batch.py)
    "collect.path_missing": Template("「{path}」が見つかりません",
                                     "提出されたブックのフォルダ（またはファイル）の名前を確かめてください"),
    "collect.from_cover": Template("識別情報シートがないため、表紙の記載から識別しました"),
    "collect.unanswered": Template("未回答が {count} 項目あります（0 点として集計）"),
    "collect.unprotected": Template("シート保護が解除されています（{sheets}。内容の変更はありません）"),
    "collect.not_ours": Template("このツールで作成した自己評価シートではありません（識別情報も表紙もありません）"),
    "collect.other_year": Template("年度または区分が異なります（{other} の様式です。{expected}の様式で提出してください）"),
    "collect.other_version": Template("様式の版が異なります（別の版のカタログから作成されています）",
                                      "最新の様式で提出してください"),
    "collect.own_catalog": Template("このブックは独自カタログ『{name}』から作られています",
                                    "collect に --catalog でそのカタログを指定してください"),
    "collect.shipped_catalog": Template("このブックは同梱のカタログ『{name}』から作られています（集計に指定したカタログは"
                                        "『{given}』）", "同梱のカタログで集計するには --catalog・--thresholds を付けずに実行してください"),
    "collect.catalog_edited": Template("このブックはカタログ『{name}』の別の版から作られています（集計に指定したカタログと"
                                       "内容が異なります）", "ブックを作成したときのカタログを --catalog で指定してください"),
    "collect.thresholds_needed": Template("このブックは採点基準ファイル（{tag}）を使って作成されています",
                                          "collect に --thresholds でそのファイルを指定してください"),
    "collect.no_code": Template("団体コードが記入されていないため、どの団体のブックか特定できません"),
    "collect.not_in_roster": Template("団体コード {code} は名簿にありません"),
    "collect.member_book": Template("団体コード {code} は名簿では {insurer}（広域連合・一部事務組合）の構成市町村です",
                                    "交付金では 1 保険者のため、{insurer} のブック 1 冊で提出してください"),
    "collect.invalid_answers": Template("入力できない回答が {count} 件あります", "次の回答欄を直して提出し直してください"),
    "collect.more_problems": Template("ほか {count} 件"),
    "collect.no_answers": Template("回答が 1 件も入力されていません（記入前の様式のままです）",
                                   "回答欄に記入してから提出し直してください"),
    "collect.dangling_link": Template("リンク（ショートカット）の先のファイルがありません",
                                      "リンク先のブックをこのフォルダにコピーしてください"),
    "collect.cannot_access": Template("ファイルを開けません（{detail}）", "ファイルのアクセス権を確認してください"),
    "collect.folder_unreadable": Template("フォルダの中を読み取れません（アクセス権がありません）",
                                          "フォルダのアクセス権を確認するか、中のブックを読めるフォルダにコピーしてください"),
    "collect.not_regular": Template("通常のファイルではありません（パイプやデバイスなど）", "提出されたブックそのものを置いてください"),
    "collect.worker_died": Template("読み込み中に処理が異常終了しました（メモリ不足などで読み取りのプロセスが止まりました）",
                                    "ブックを Excel で開いて保存し直し、再提出を依頼してください"),
    "collect.timed_out": Template("制限時間内に読み込めませんでした（不正なファイルの可能性があります）",
                                  "ブックを Excel で開いて保存し直し、再提出を依頼してください"),
    "collect.duplicate": Template("同じ団体（{code}）のブックが複数あります。より新しく保存された {kept} を採用しました"),
    "collect.other_rejected": Template("同じ団体の別のブック（{files}）は不受理のため、このブックを集計しました",
                                       "不受理のブックが新しい再提出なら、その理由を確認して再提出を依頼してください"),
    # -- the prefecture analysis (cli/analyze.py)
    "analyze.unknown_source": Template("「{path}」は分析できる入力ではありません",
                                       "返送されたブックのフォルダかブック (.xlsx/.xlsm)、または集計表の形式"
                                       "（団体コード,年度,列番号,得点）の CSV を指定してください"),
    "analyze.no_rows": Template("{file} にこの団体の行がありません"),
    "analyze.rows_refused": Template("この団体の行を使えません: {problems}", "該当する行を直して、もう一度実行してください"),
    "analyze.no_members": Template("分析できる団体が 1 つもありません（理由は上の一覧のとおりです）",
                                   "入力と名簿（--roster）を確認してください"),
    "analyze.previous_catalog": Template("前年度（{year}）のカタログを読み込めません: {detail}",
                                         "--previous-year で前年度を指定してください"),
    # -- writing outputs (util/atomic.py): {file} is the output the user asked for
    "output.permission": Template("{file} に書き込めません（{detail}）",
                                  "Excel などで開いている場合は閉じてから、または書き込めるフォルダを --out に指定して、"
                                  "もう一度実行してください"),
    "output.disk_full": Template("{file} を書き込めません（ディスクの空き容量が不足しています）",
                                 "空き容量を確保するか、別のドライブのフォルダを指定してください"),
    "output.occupied": Template("{file} を書き込めません（同じ名前のフォルダがあるか、途中がフォルダではありません）",
                                "その名前のフォルダを移動するか、別の出力先を指定してください"),
    "output.failed": Template("{file} を書き込めません（{detail}）", "出力先を確認して、もう一度実行してください"),
    "output.kept_previous": Template("出力を中止しました。{folder} の前回の出力はそのまま残っています"),
    # -- money (money/calibrate.py, cli/money.py estimate, report --compare labels)
    "money.mode": Template("試算の方法の指定が正しくありません",
                           "前年度の交付額から見込むには --from-last-year とその入力（--grant など）を、全団体の結果から"
                           "配分を試算するには --results と --params（と --entity などのオプション）を指定してください"
                           "（どちらか一方）"),
    "money.needs": Template("--from-last-year には {missing} の指定が必要です",
                            "例: xlsx-tool estimate --from-last-year --grant 推進 --last-year R5 --last-amount 32893000 "
                            "--last-score 985 --year R6 --score 245"),
    "money.not_a_number": Template("「{value}」は数値ではありません", "半角または全角の数字で指定してください（例: 32893000）"),
    "money.not_a_year": Template("「{value}」は年度ではありません", "R6 または 令和6年度 の形で指定してください"),
    "money.not_positive": Template("{option} は 0 より大きい値にしてください（指定値: {value}）"),
    "money.missing_figure": Template("{grant}の{what}（{year}）は同梱の資料にありません（推測はしません）",
                                     "公表値を {option} で指定してください"),
    "money.partial_set": Template("{file} は {count} 団体分で、全国の{kind} {nation} 団体に足りません。"
                                  "一部の団体だけで全国の予算を配分すると、実際の交付額とかけ離れた額になります",
                                  "全国の結果の一覧を指定するか、入力した {count} 団体の間での按分として見るなら "
                                  "--share-among-given を付けてください（広域連合・一部事務組合は 1 保険者で 1 行。"
                                  "全国の保険者数が {nation} と異なるならパラメータ entities_in_nation で指定）"),
    "money.share_among_given": Template("入力した {count} 団体の間での按分（全国 {nation} 団体の配分ではありません）"),
    "money.sample_scope": Template("比較対象 {count} 団体"),
    "money.no_entity": Template("--entity の団体コード {code} は {file} にありません",
                                "結果ファイルの団体コードを確認してください（広域連合・一部事務組合の構成市町村は、その保険者の"
                                "団体コードで指定します）"),
    "estimate.flag": Template("団体コード {code} の列「{column}」の値 {value} は 0 か 1 ではありません",
                              "該当する場合は 1、該当しない場合は 0 を入力してください"),
    "estimate.oriented_needs": Template("団体コード {code} は成果指向型（outcome_oriented = 1）ですが、列「{column}」が空欄です",
                                        "outcome_oriented_split: {split} では按分にこの値を使います。値を入れるか、"
                                        "パラメータの outcome_oriented_split を変えてください"),
    "estimate.counted_twice": Template("団体コード {code} の構成市町村 {member} は団体コード {other} の行でも数えられています",
                                       "広域連合・一部事務組合は 1 行（1 保険者）にまとめ、各市町村はどれか 1 つの行にだけ"
                                       "含めてください"),
    "estimate.last_amount": Template("団体コード {code} の列「{column}」（前年度の交付額）{value} が負の値です",
                                     "前年度の交付額を円で入力してください（ない場合は空欄）"),
    "estimate.frame_moved": Template("{grant}の{frame}: 該当する団体が結果にない（その列がないか、すべて 0）ため、"
                                     "その予算を{to}に含めて配分しました",
                                     "結果ファイルにその列を加えるか、パラメータの frames からその枠を外してください"),
    "estimate.cushion_not_conserved": Template(
        "{grant}の激変緩和: 配分額のある全団体が下限か上限に達したため、予算との差 {gap} 円（負は予算超過）を"
        "調整できません", "パラメータの cushion の floor / ceiling を見直してください"),
    "money.missed_yen_note": Template("概算（円）は、その項目で各交付金の得点が増える点数 × その交付金の 1 点あたりの金額"
                                      "（{where}: {given}。目標Ⅳ の項目は両方の交付金で得点し、金額のない交付金の分は"
                                      "含みません）。仮定: 1 点あたりの金額は得点によらず一定（前年度の交付額からの見込み "
                                      "estimate --from-last-year など）。実際の交付額は全国の得点と予算で決まります"),
    "money.typed_yen_unused": Template("集計シートの 1点あたりの金額（{grant}）「{value}」は 0 より大きい数値ではないため、"
                                       "概算（円）に使っていません", "円の金額を数値で入力してください（例: 80453）"),
    "money.yen_per_point": Template("--yen-per-point「{value}」は 交付金=1 点あたりの円 の形ではありません",
                                    "例: --yen-per-point 推進=80453 --yen-per-point 支援=157776"),
}
CATALOGUE: Mapping[str, Template] = MappingProxyType(_CATALOGUE)


def message(code: str, /, **fields) -> str:
    """The Japanese text of `code` with its fix, fields filled: "text。fix" (or the text alone)."""
    template = CATALOGUE[code]
    text = template.text.format(**fields)
    return f"{text}。{template.fix.format(**fields)}" if template.fix else text


def located(code: str, where: str, /, **fields) -> str:
    """A catalog check's line: "where: text → fix" (the form catalog/excel_import.py maps back to cells)."""
    template = CATALOGUE[code]
    text = f"{where}: {template.text.format(**fields)}" if where else template.text.format(**fields)
    return f"{text} → {template.fix.format(**fields)}" if template.fix else text


@dataclass(frozen=True)
class Problem:
    """One problem: its code, the fields of its template, and where it was found."""

    code: str
    fields: Mapping[str, object] = field(default_factory=dict)
    file: str = ""
    sheet: str = ""
    cell: str = ""

    @property
    def _values(self) -> dict[str, object]:
        return {"file": self.file, "sheet": self.sheet, "cell": self.cell, **self.fields}

    @property
    def text(self) -> str:
        return CATALOGUE[self.code].text.format(**self._values)

    @property
    def fix(self) -> str:
        return CATALOGUE[self.code].fix.format(**self._values)

    @property
    def message(self) -> str:
        return message(self.code, **self._values)

    def to_json(self) -> dict:
        return {"code": self.code, "file": self.file, "sheet": self.sheet, "cell": self.cell,
                "message": self.text, "fix": self.fix}


class ToolError(Exception):
    """The one error type: a problem from the catalogue. Subclasses only name what failed (a file, a book);
    ``problem.message`` is the Japanese text with its fix."""

    def __init__(self, code: str, /, *, file: str = "", sheet: str = "", cell: str = "", **fields):
        self.problem = Problem(code, MappingProxyType(dict(fields)), str(file), sheet, cell)
        super().__init__(self.problem.message)

    @property
    def code(self) -> str:
        return self.problem.code
