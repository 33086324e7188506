from __future__ import annotations

import time

import pytest

from bot.common.vocabulary import DEFAULT_THEMES, KINDS, SCORE_RANGES, SURVEY_KINDS
from bot.intake.keywords import KeywordIndex, compile_keyword, tokenize
from bot.intake.scoring import (
    Scored,
    categorize,
    compile_taxonomy,
    detect_themes,
    match_themes,
    score_response,
)
from bot.intake.sentiment import Sentiment, analyze_sentiment

# --- categorize ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "score", "expected"),
    [
        ("nps", 0, "detractor"),
        ("nps", 6, "detractor"),
        ("nps", 7, "passive"),
        ("nps", 8, "passive"),
        ("nps", 9, "promoter"),
        ("nps", 10, "promoter"),
        ("csat", 1, "detractor"),
        ("csat", 2, "detractor"),
        ("csat", 3, "passive"),
        ("csat", 4, "promoter"),
        ("csat", 5, "promoter"),
        ("psat", 2, "detractor"),
        ("psat", 3, "passive"),
        ("psat", 4, "promoter"),
        ("ces", 1, "detractor"),
        ("ces", 3, "detractor"),
        ("ces", 4, "passive"),
        ("ces", 5, "passive"),
        ("ces", 6, "promoter"),
        ("ces", 7, "promoter"),
    ],
)
def test_categorize_boundaries(kind: str, score: int, expected: str) -> None:
    assert categorize(kind, score) == expected


@pytest.mark.parametrize(
    ("kind", "score"), [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("ces", 8), ("psat", 0)]
)
def test_categorize_rejects_out_of_range(kind: str, score: int) -> None:
    with pytest.raises(ValueError):
        categorize(kind, score)


def test_categorize_escalation_and_missing_score() -> None:
    assert categorize("escalation", None) is None
    assert categorize("escalation", 3) is None
    assert categorize("nps", None) is None


def test_categorize_rejects_unknown_kind_and_bool() -> None:
    with pytest.raises(ValueError):
        categorize("survey", 3)
    with pytest.raises(ValueError):
        categorize("csat", True)  # type: ignore[arg-type]


def test_kind_constants_agree() -> None:
    assert KINDS == ("nps", "csat", "ces", "psat", "escalation")
    assert set(SURVEY_KINDS) == set(SCORE_RANGES)
    assert SCORE_RANGES["nps"] == (0, 10) and SCORE_RANGES["ces"] == (1, 7)


# --- tokenize / themes -----------------------------------------------------------------------


def test_tokenize_lowercases_and_keeps_inner_apostrophes() -> None:
    assert tokenize("It DOESN’T work, 'really'!") == ["it", "doesn't", "work", "really"]
    assert tokenize("Café naïve 2FA") == ["café", "naïve", "2fa"]
    assert tokenize(None) == [] and tokenize("") == []


def test_detect_themes_on_a_typical_complaint() -> None:
    themes = detect_themes("The app is slow and crashes constantly, too expensive")
    assert {"performance", "bugs", "pricing"} <= set(themes)


def test_themes_come_back_in_taxonomy_order_once() -> None:
    themes = detect_themes("Too expensive. Slow, slow, slow. Bugs everywhere, buggy and crashing. Pricey!")
    order = list(DEFAULT_THEMES)
    assert themes == sorted(set(themes), key=order.index)
    assert len(themes) == len(set(themes))


@pytest.mark.parametrize("text", ["bug", "Bugs!", "so buggy", "it crashed", "keeps crashing"])
def test_bug_variants_match(text: str) -> None:
    assert "bugs" in detect_themes(text)


@pytest.mark.parametrize("text", ["debugger", "I used the debugger", "debugging works well", "bugle"])
def test_substrings_do_not_match(text: str) -> None:
    assert "bugs" not in detect_themes(text)


def test_multi_word_phrases_match_on_token_boundaries() -> None:
    assert "feature_request" in detect_themes("Small feature request: dark mode")
    assert "usability" in detect_themes("Not very user-friendly")
    assert "bugs" in detect_themes("Export doesn’t work")
    assert "reliability" in detect_themes("The site went down twice")
    # "down" on its own is not an outage.
    assert "reliability" not in detect_themes("scroll down to the bottom")


def test_custom_taxonomy_replaces_defaults() -> None:
    taxonomy = {"shipping": ["late delivery", "courier"], "pricing": ("expensive",), "kb": "knowledge base"}
    assert detect_themes("Late delivery and too expensive", taxonomy) == ["shipping", "pricing"]
    assert detect_themes("Check the knowledge base", taxonomy) == ["kb"]
    assert detect_themes("slow app", taxonomy) == []


def test_empty_keyword_is_a_config_error() -> None:
    with pytest.raises(ValueError):
        compile_taxonomy({"broken": ["  ", "ok"]})


def test_detect_themes_empty_text() -> None:
    assert detect_themes(None) == [] and detect_themes("   ") == []


def test_long_comment_is_fast() -> None:
    text = ("lorem ipsum dolor sit amet " * 800)[:20_000]
    started = time.perf_counter()
    score_response("nps", 2, text)
    assert time.perf_counter() - started < 1.0


# --- sentiment / score_response --------------------------------------------------------------


def test_sentiment_labels() -> None:
    assert analyze_sentiment("I love it, great support").label == "positive"
    assert analyze_sentiment("terrible, awful, broken").label == "negative"
    assert analyze_sentiment(None) == Sentiment(0.0, "neutral")
    assert analyze_sentiment("   ") == Sentiment(0.0, "neutral")


def test_sentiment_polarity_rounded_and_bounded() -> None:
    polarity = analyze_sentiment("The app is slow and crashes constantly, too expensive").polarity
    assert -1.0 <= polarity <= 1.0
    assert polarity == round(polarity, 3)


def test_score_response_combines_everything() -> None:
    scored = score_response("nps", 3, "The app is slow and crashes constantly, too expensive")
    assert isinstance(scored, Scored)
    assert scored.category == "detractor"
    assert scored.sentiment_label == "negative"
    assert {"performance", "bugs", "pricing"} <= set(scored.themes)
    assert isinstance(scored.themes, tuple)


def test_score_response_escalation_without_comment() -> None:
    assert score_response("escalation", None, None) == Scored(None, 0.0, "neutral", ())


def test_score_response_rejects_bad_score() -> None:
    with pytest.raises(ValueError):
        score_response("nps", 11, "great")


@pytest.mark.parametrize("text, theme", [
    ("Support took four days to answer a simple ticket", "support"),
    ("Getting a refund was easy, thanks", "billing"),
])
def test_simple_or_easy_alone_is_not_usability(text: str, theme: str) -> None:
    themes = detect_themes(text)
    assert "usability" not in themes and theme in themes, themes


def test_ease_of_use_is_still_usability() -> None:
    assert "usability" in detect_themes("Simple to use and easy to navigate")


# --- issue 17: bug-report failure vocabulary and feature-request grammar (sentences written for these tests) --


@pytest.mark.parametrize(("text", "words"), [
    ("The app won't open on my Pixel since Tuesday.", "won't open"),
    ("Unable to sync my calendar with the web version.", "unable to sync"),
    ("It fails to save the draft every single time.", "fails to save"),
    ("Keeps logging me out whenever I switch apps.", "keeps logging me out"),
    ("I tap Submit and nothing happens.", "nothing happens"),
    ("Had to reinstall it twice this week.", "reinstall"),
    ("The widget doesnt load anymore.", "doesn't load"),  # typed without the apostrophe
    ("Everything is sluggish after the new update.", "after the new update"),
])
def test_bug_report_failures_are_bugs_and_show_their_words(text: str, words: str) -> None:
    assert match_themes(text).get("bugs") == words


@pytest.mark.parametrize("text", [
    "No crashes since the update, well done.",
    "I can't work without this tool any more.",
    "Never had a single error message in two years.",
])
def test_denied_or_praising_failures_are_not_bugs(text: str) -> None:
    assert "bugs" not in detect_themes(text)


@pytest.mark.parametrize(("text", "words"), [
    ("Please add a way to export to PDF.", "please add"),
    ("Could you please include a calendar view?", "could you please include"),
    ("I would love to see an offline mode.", "would love to see"),
    ("Would be five stars if it had a search box.", "would be five stars"),
    ("You should have an option to mute the reminders.", "should have"),
    ("Can you guys add a widget?", "can you guys add"),
    ("It needs a proper dark theme.", "it needs"),
    ("Add folders for the notes. Thanks!", "add"),
    ("Great little tool. Needs more colour themes.", "needs more"),
    ("Why is there no undo button?", "why is there no"),
    ("It doesn't support two accounts on one phone.", "doesn't support"),
    ("It would be nice if the app let me pick the start day of the week.", "would be nice"),
    # Look-alike rules keep the real asks: a condition that is a change, a wish with a verb of the
    # product, a proposal for the product, a lack after "should … but".
    ("Would give 5 stars if you added folders.", "would give 5 stars"),
    ("I wish I could change the font.", "i wish"),
    ("I wish I had the option to sort by date.", "i wish"),  # "had" + a noun: a wish, not regret
    ("Wish you would add a widget.", "wish you"),
    ("Please make it available on tablets.", "please make"),
    ("Please improve the search.", "please improve"),
    ("I suggest adding a search bar.", "i suggest"),
    ("Please support landscape mode.", "please support"),
    ("It should have a widget, but it doesn't.", "it should"),
    # A degree word inside the evaluative conditional, a proposal in the passive or as a need, an
    # imperative with another verb of giving, and a collective ask.
    ("It would also be nice to export to PDF.", "would also be nice"),
    ("It would be very useful to filter the report by region.", "would be very useful"),
    ("A shared inbox would be a great addition.", "would be a great addition"),
    ("An export to Excel should be added.", "should be added"),
    ("The dashboard should be made available on mobile.", "should be made available"),
    ("A bulk edit should be added for our team.", "should be added"),
    ("We need an offline mode for field reps.", "we need an"),
    ("Provide a way to bulk edit tags.", "provide"),
    ("Let us choose the default currency.", "let us choose"),
    ("Please let users pick their own time zone.", "please let users"),
    ("Can we get a dark mode?", "can we get"),
    ("You could add a CSV export.", "you could add"),
    ("Please expose the segment field in the API.", "please expose"),
    # A verb that is also a noun is an imperative with an object; a lack named with its article.
    ("Support a second calendar, please.", "support"),
    ("Change the default currency to EUR.", "change"),
    ("It's missing a bulk edit. I have to update 300 records one at a time.", "missing a"),
    ("Good value, but we are missing a HubSpot integration.", "missing a"),
])
def test_feature_requests_are_found_by_their_grammar(text: str, words: str) -> None:
    assert match_themes(text).get("feature_request") == words


@pytest.mark.parametrize("text", [
    "I don't need any new feature, it does everything.",
    "I would love this app even more if I could afford it",  # praise, not an ask
    "I would like a refund for last month.",  # a billing request
    "I should have bought the yearly plan.",  # regret
    "It should work offline but it doesn't.",  # a bug
    "It needs to be fixed before the weekend.",  # a bug
    "Would be five stars if it actually worked.",  # a bug, phrased as a wish
    "Please make it work again on Android.",
    "It doesn't allow me to share the list.",
    "You shouldn't add more ads.",
    "I had to add my card twice.",  # "add" not opening a sentence
])
def test_what_is_not_an_ask_for_a_feature(text: str) -> None:
    assert "feature_request" not in detect_themes(text)


def test_keyword_index_keeps_order_prefixes_and_long_phrases() -> None:
    index = KeywordIndex([(compile_keyword("t", k), k) for k in ("please", "please add", "force close*", "crash*")])
    tokens = tokenize("Please add X, it force closes and crashed")
    assert [(start, tag) for start, _, tag in index.find(tokens)] == [
        (0, "please"), (0, "please add"), (4, "force close*"), (7, "crash*")]


@pytest.mark.parametrize(("score", "label", "reason"), [
    (7, "neutral", "a request, no complaint words"),
    (10, "positive", "promoter score; text neutral"),
    (2, "negative", "detractor score; text neutral"),
])
def test_asking_for_a_feature_is_not_a_complaint(score, label, reason) -> None:
    """TextBlob alone reads "dark" as negative: a request for dark mode is no complaint."""
    scored = score_response("nps", score, "Please add dark mode")
    assert (scored.sentiment_label, scored.sentiment_reason) == (label, reason)
    assert "feature_request" in scored.themes


def test_a_request_with_a_complaint_cue_stays_negative() -> None:
    scored = score_response("nps", 7, "Please add an export, support never replied about it")
    assert scored.sentiment_label == "negative" and "never replied" in scored.sentiment_reason


def test_a_tone_only_reading_names_the_word_that_decided_it() -> None:
    """When only TextBlob's lexicon leans, the reason names its word instead of "negative tone"."""
    assert analyze_sentiment("The colours look dark to me").reason == 'words: "dark"'


@pytest.mark.parametrize("text", [
    # Comparison: "should" names the expected behaviour the product has.
    "Works exactly as it should.",
    "Does what it should, no more.",
    # Condemnation, and an expectation then its denial (a bug report).
    "It should be illegal to charge this much.",
    "It should sync by itself but it doesn't.",
    # Rating hyperbole: a wish about the stars, or a top rating without a condition that is a change.
    "I wish I could give it zero stars.",
    "I wish I could give 10 stars!",
    "If there was a way to give 0 stars I would.",
    "I would give it 5 stars.",
    "Would give it five stars but it keeps crashing.",
    # Regret about the speaker's own past, and greetings.
    "I wish I had found this app sooner.",
    "I wish I never downloaded this.",
    "Wish you all the best, great work!",
    "I wish you guys good luck.",
    # A refusal idiom, advice to other users, backing the makers, a compatibility problem.
    "There's no way I'm paying for this.",
    "I suggest you stay away from this app.",
    "I suggest everyone download this game.",
    "You should support the developers by buying the pro version.",
    "Please support this indie dev!",
    "It doesn't support my phone.",
    # Service asks after a determiner; a valuation of the product as it is.
    "They should offer a refund.",
    "Please provide a full refund.",
    "Would pay for this, it is that good.",
    # A comparison asks nothing.
    "It has more options than any other launcher.",
    # Failures: a failed operation, what a bug report names, a fix hoped for in a coming version.
    "Why can't I log in anymore?",
    "Hope you make the glitches go away.",
    "Please make it usable again.",
    "Hope it gets fixed in the next version.",
    # A verdict on the product, not a proposal.
    "Please improve the app.",
    "Please make it better.",
    # Service, instruction and idiom with a verb of giving or letting; advice to other users.
    "Please let me know when this is fixed.",
    "Let me tell you, this app is great.",
    "Let me down again, third outage this month.",
    "Make sure you read the docs first.",
    "Give it a try, you'll love it.",
    "Please give me a call back.",
    "Consider buying the pro version, it is worth it.",
    "Create an account and you're done.",
    "Restore my data now!",
    # The same verbs as nouns opening a sentence, the subject: no ask.
    "Support took four days to answer a simple ticket.",
    "Support was helpful, though it took a while to get a real answer.",
    "Support tickets take forever.",
    "Change is hard for our team.",
    "Offer expired before we could sign.",
    # Idioms, a purchase, a service asked for, and a noun phrase as the subject (an independent review).
    "Make the most of the new reports, they're great.",
    "Make no mistake, this is the best CRM.",
    "Let me be honest, the sync is great.",
    "We need a few more seats, please send a quote.",
    "It would be really nice if someone could call me back.",
    "Enable button is greyed out for non-admins.",
    "Offer us a discount and we will take the annual plan.",
    # What an order or a bill misses, and a failure, are not a product's lack.
    "We are missing an invoice for October.",
    "Search is unreliable, results are missing half the time.",
])
def test_look_alikes_of_an_ask_are_not_feature_requests(text: str) -> None:
    assert "feature_request" not in detect_themes(text)
