"""How selected questions read: copied from the summary or asked about it (the model card's question table)."""

from __future__ import annotations

from quals import Scorer
from quals.train import question_quality as qq

SUMMARY = "An earthquake near Valparaiso in central Chile cut power to about 200,000 homes."


def test_longest_common_run():
    assert qq.longest_common_run([], ["a"]) == 0
    assert qq.longest_common_run(list("abcde"), list("xbcdy")) == 3
    assert qq.longest_common_run(list("ab"), list("ba")) == 1


def test_a_question_that_restates_the_summary_is_copied_and_one_that_asks_is_not():
    # the example: the summary with a wh-word in front
    assert qq.is_copied("what near valparaiso in central chile cut power to about 200, 000 homes?", SUMMARY)
    assert not qq.is_copied("where did the earthquake happen?", SUMMARY)
    assert not qq.is_copied("?", SUMMARY)
    # the share is a parameter: 4 of 5 question words in one run of the summary
    q = "what cut power to homes?"
    assert qq.is_copied("who cut power to about?", SUMMARY) and not qq.is_copied(q, SUMMARY)
    assert qq.is_copied(q, SUMMARY, share=0.4)


def test_asks_reads_the_first_word():
    assert qq.asks("Who cut power?") and qq.asks("did it rain?") and qq.asks("how many homes?")
    assert not qq.asks("the president appointed ministers?") and not qq.asks("")


def test_a_pair_gives_its_answer_when_the_question_holds_the_answers_words():
    # the example: the summary's sentence with a question mark, answered by a name in it
    assert qq.gives_answer("no deaths were reported in valparaiso, chile?", "Valparaiso")
    assert qq.gives_answer("what cut power to about 200, 000 homes?", "200,000 homes")  # punctuation dropped
    assert not qq.gives_answer("what near valparaiso cut power to about 200, 000 homes?", "an earthquake")
    assert not qq.gives_answer("what cut power in central chile?", "chile central")  # a run, in order
    assert not qq.gives_answer("who is it?", "...") and not qq.gives_answer("who won?", "")


def test_two_models_show_their_pairs_for_the_same_summaries(bundle_for):
    summaries = [("summeval", SUMMARY), ("polytope", "Anna built a bridge in Paris in 1990."),
                 ("gofigure", "Bob: see you at 5. Amy: ok."), ("goyal21", "The river Thames flows through London.")]
    a = qq.measure(Scorer.load(bundle_for("bart")), summaries, seed=3)
    b = qq.measure(Scorer.load(bundle_for("t5")), summaries, seed=3)
    assert [s["summary"] for s in a["samples"]] == [s["summary"] for s in b["samples"]]
    assert len(a["samples"]) == min(qq.SAMPLES, len(summaries))
    for doc in (a, b):
        assert doc["summaries"] == 4 and sum(v["summaries"] for v in doc["per_set"].values()) == 4
        assert doc["pairs"] == sum(v["pairs"] for v in doc["per_set"].values())
        assert 0 <= doc["copied_share"] <= 1 and 0 <= doc["asks_share"] <= 1 and 0 <= doc["gives_answer_share"] <= 1
        gives = sum(v["gives_answer"] for v in doc["per_set"].values())
        assert doc["gives_answer_share"] == gives / max(1, doc["pairs"])
        assert doc["signature"].startswith("quals|")
