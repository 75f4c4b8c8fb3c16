"""PDF text extracted as Kangxi radicals or compatibility ideographs ("⽝只登记", as Chromium- and many
Word-made PDFs extract) is folded to the ideographs citizens type, and nothing else changes."""

from zhengwu.documents.loaders._common import fold_cjk_variants


def test_radicals_and_compatibility_ideographs_become_the_unified_ideographs():
    assert fold_cjk_variants("狂⽝病免疫证明，5个⼯作⽇，⼴州市") == "狂犬病免疫证明，5个工作日，广州市"
    assert fold_cjk_variants("\uf900") == "豈"  # a compatibility ideograph


def test_punctuation_and_full_width_forms_are_left_as_written():
    text = "申请材料：１．身份证（原件）；ＡＢＣ"
    assert fold_cjk_variants(text) == text
