from zhengwu.chinese import han_ratio, looks_english, normalize, split_sentences
from zhengwu.index.analyzer import Analyzer, default_analyzer


def test_normalize_folds_width_case_and_traditional_script():
    assert normalize("往來臺灣通行證ＡＢＣ") == "往来台湾通行证abc"


def test_colloquial_and_official_words_become_the_same_token():
    analyzer = default_analyzer()
    assert "社会保险" in analyzer.tokens("我的社保怎么转移")
    assert "住房公积金" in analyzer.tokens("公积金提取")
    assert "养老保险" in analyzer.tokens("退休金什么时候发")


def test_question_words_are_not_retrieval_tokens():
    tokens = default_analyzer().tokens("请问怎么办理居住证？")
    assert "请问" not in tokens and "怎么" not in tokens
    assert "居住证" in tokens


def test_content_terms_have_no_fragments_of_place_names():
    terms = default_analyzer().content_terms("北京市机动车停车收费标准")
    assert "京市" not in terms
    assert "机动车" in terms


def test_extra_synonym_file_is_honoured(tmp_path):
    extra = tmp_path / "syn.txt"
    extra.write_text("# comment\n新生儿落户 宝宝上户口\n", encoding="utf-8")
    analyzer = Analyzer(extra_synonyms=extra)
    assert analyzer.canonical["宝宝上户口"] == "新生儿落户"


def test_sentences_split_at_chinese_punctuation():
    assert split_sentences("第一句。第二句！第三句？第四句；") == ["第一句。", "第二句！", "第三句？", "第四句；"]


def test_language_detection():
    assert looks_english("How do I renew my passport?")
    assert not looks_english("护照怎么续签？")
    assert han_ratio("!!!") == 0.0


def test_chunk_tokens_equal_tokens_of_the_whole_search_text():
    analyzer = default_analyzer()
    context, body = "中华人民共和国劳动合同法 第一章 总则", "第一条\n第一条 为了完善劳动合同制度，明确双方的权利和义务"
    assert analyzer.chunk_tokens(context, body) == analyzer.tokens(f"{context}\n{body}")


def test_colloquial_terms_expand_to_the_words_of_the_law():
    from zhengwu.index.analyzer import Analyzer

    analyzer = Analyzer()
    assert "饮酒" in analyzer.expansion_tokens("酒驾会被怎么处罚？")
    assert {"饲养", "犬"} <= set(analyzer.expansion_tokens("被狗咬了对方不赔偿怎么办？"))
    assert "后" not in analyzer.expansion_tokens("酒驾会被怎么处罚？")  # a fragment of 饮酒后驾驶 matches anything
    assert analyzer.expansion_tokens("居民身份证在哪里办理") == []  # official words already: nothing added


def test_short_colloquial_terms_match_whole_words_only():
    from zhengwu.index.analyzer import default_analyzer, load_colloquial

    table = load_colloquial(["养狗 遛狗 => 饲养的动物  # curated", "遛狗 => 犬 # issue", "# a comment", "no arrow here"])
    assert table == {"养狗": ("饲养的动物",), "遛狗": ("饲养的动物", "犬")}
    analyzer = default_analyzer()
    layoff = set(analyzer.official_terms("公司裁员了"))
    assert layoff, "裁员 is in the table"
    assert not layoff & set(analyzer.official_terms("劳动仲裁员是怎么选出来的"))  # 裁员 inside 仲裁员
